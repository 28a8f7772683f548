"""The petition office's side: the handover buttons and statuses on the staff page, assign
(交办) or transfer (转送) with a typed reason, confirmation, and the answer to an objection."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.forms import Procedure
from cases.intake.validation import TextLimits, ValidationError, clean_text
from cases.org.organisation import Organisation
from cases.org.users import Role, User
from cases.petitions.handover import (
    OFFICE_ROLES,
    Outcome,
    PetitionHandover,
)
from cases.procedures.access import (
    StaffCaseView,
    handed_over,
)
from cases.procedures.statuses import CaseStatus
from cases.store.db import Database
from handlers.keyboards import button, grid
from handlers.petition_agency.citizen import (
    send_opinion_files,
)
from handlers.petition_agency.common import (
    ALREADY,
    ASSIGN_LABEL,
    EXTENSION_ASKED,
    EXTENSION_DONE,
    EXTENSION_WAITING_LABEL,
    NOT_AVAILABLE,
    READ_LABEL,
    TRANSFER_LABEL,
    AgencyStep,
    HandoverAction,
    HandoverInput,
    HandoverStep,
    PetitionAgencyAction,
    query_message,
    stored_date,
    text_fingerprint,
)
from handlers.texts import current_locale, t

# -- the petition office ------------------------------------------------------------------------


def handover_buttons(view: StaffCaseView, user: User) -> list[InlineKeyboardButton]:
    """The office's two ways to pass a petition on, under the staff case page (a petition at
    the office, not yet handed over). The service checks again on every press."""
    if view.procedure is not Procedure.petition or user.role not in OFFICE_ROLES:
        return []
    if view.status is CaseStatus.decided and any(
        e.kind == "concluded" and e.detail.get("agency_id") for e in view.events
    ):
        return [button(_(READ_LABEL), HandoverAction(step=HandoverStep.read, case_id=view.id))]
    if user.role is Role.admin and _extension_waiting(view):
        # The agency has no head in the bot: the request reached the administrators, who
        # decide it on the agency's page (XF 34; cases.petitions.handover.page_view).
        return [
            button(
                _(EXTENSION_WAITING_LABEL),
                PetitionAgencyAction(step=AgencyStep.view, case_id=view.id),
            )
        ]
    if view.status is CaseStatus.submitted and _objection_waiting(view):
        return [
            button(
                _("✅ Agree with the objection: take it back"),
                HandoverAction(step=HandoverStep.agree, case_id=view.id),
            ),
            button(
                _("✖️ Do not agree: the agency handles it"),
                HandoverAction(step=HandoverStep.disagree, case_id=view.id),
            ),
        ]
    if view.status is not CaseStatus.submitted or handed_over(view):
        return []
    return [
        button(_(ASSIGN_LABEL), HandoverAction(step=HandoverStep.assign, case_id=view.id)),
        button(_(TRANSFER_LABEL), HandoverAction(step=HandoverStep.transfer, case_id=view.id)),
    ]


HANDOVER_STATUS: dict[str, str] = {
    # The office's status line for a petition an agency holds or held (XF 22-23): where it is
    # now, not the generic "received, to be accepted or forwarded" (keys: handover events).
    "assigned": N_(
        "Assigned to {agency} on {date}; waiting for the agency to accept it (it tells the "
        "petitioner by {x3_due})"
    ),
    "forwarded": N_("Forwarded to {agency} on {date} (closed here)"),
    "petition_returned": N_(
        "Returned by {agency} (not within its competence); to be assigned or transferred again"
    ),
    "petition_objected": N_(
        "{agency} objects that the matter is not within its competence: agree (take it back) "
        "or not"
    ),
    "petition_objection_refused": N_(
        "Assigned to {agency}; its objection was not agreed, it must accept the matter and tell "
        "the petitioner by {x3_due}"
    ),
    "petition_agency_accepted": N_(
        "Accepted by {agency} on {date}; handling opinion due by {conclude_due}"
    ),
    "petition_transferred": N_("Transferred to {body} on {date} (closed here)"),
    "concluded": N_("Handling opinion issued by {agency} on {date}"),
}
_HANDOVER_KINDS = frozenset(
    {
        "petition_assigned",
        "petition_returned",
        "petition_objected",
        "petition_objection_refused",
        "petition_agency_accepted",
        "petition_transferred",
    }
)


LIST_STATUS: dict[str, str] = {
    # The office's case list (/cases): where a petition an agency holds is (live_handovers).
    "assigned": N_("Assigned to {agency}, to be accepted"),
    "objected": N_("{agency} objects: agree or not"),
    "accepted": N_("Being handled by {agency}"),
}


def list_status(state: tuple[str, str], org: Organisation) -> str:
    """One line of the office's case list for a petition an agency holds."""
    key, agency_id = state
    agency = next((a for a in org.agencies if a.id == agency_id), None)
    name = agency.display_name(current_locale()) if agency else agency_id
    return t(LIST_STATUS[key], agency=html.escape(name))


def handover_status(view: StaffCaseView) -> str | None:
    """The status line of a petition passed on by the office (None: the generic one serves)."""
    if view.procedure is not Procedure.petition:
        return None
    events = [
        e
        for e in view.events
        if e.kind in _HANDOVER_KINDS or (e.kind == "concluded" and e.detail.get("agency_id"))
    ]
    if not events:
        return None
    last = events[-1]
    key = last.kind
    if key == "petition_assigned":
        key = "forwarded" if last.detail.get("forwarded") else "assigned"
    detail = last.detail
    on = (
        detail.get("assigned_on")
        or detail.get("accepted_on")
        or detail.get("transferred_on")
        or detail.get("decided_on")
    )
    running = {d.rule_id: d.due_on for d in view.deadlines}  # an extension moves X4
    return t(
        HANDOVER_STATUS[key],
        agency=html.escape(str(detail.get("agency_name") or "—")),
        body=html.escape(str(detail.get("body_name") or "—")),
        date=stored_date(on),
        x3_due=running.get("X3") or stored_date(detail.get("x3_due")),
        conclude_due=running.get("X4") or stored_date(detail.get("conclude_due")),
    )


def _objection_waiting(view: StaffCaseView) -> bool:
    """The agency objected (XF 23(3)) and the office has not answered (from the history)."""
    kinds = [e.kind for e in view.events if e.kind in _HANDOVER_KINDS]
    return bool(kinds) and kinds[-1] == "petition_objected"


def _extension_waiting(view: StaffCaseView) -> bool:
    """An agency's extension request not decided yet (from the case history)."""
    if view.procedure is not Procedure.petition or view.status is not CaseStatus.accepted:
        return False
    asked = {e.detail.get("request_id") for e in view.events if e.kind == EXTENSION_ASKED}
    decided = {e.detail.get("request_id") for e in view.events if e.kind in EXTENSION_DONE}
    return bool(asked - decided)


async def on_assign(
    query: CallbackQuery,
    callback_data: HandoverAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
    org: Organisation,
) -> None:
    message = query_message(query)
    if message is None or not await handover.office_may_hand_over(callback_data.case_id, user):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await state.clear()
    locale = current_locale()
    buttons = [
        button(
            agency.display_name(locale),
            HandoverAction(
                step=HandoverStep.pick, case_id=callback_data.case_id, agency=agency.id
            ),
        )
        for agency in org.agencies
    ]
    await message.answer(
        _("Which agency must handle this petition? (《信访工作条例》第二十二条)"),
        reply_markup=grid(buttons, width=2),
    )


async def on_read(
    query: CallbackQuery,
    callback_data: HandoverAction,
    user: User,
    handover: PetitionHandover,
    db: Database,
    bot: Bot,
) -> None:
    """The handling opinion as the agency sent it, with its files (the office oversees)."""
    opinion = await handover.opinion_for_office(callback_data.case_id, user)
    if opinion is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    number = str(
        await db.fetch_value("SELECT number FROM cases WHERE id = ?", (callback_data.case_id,))
    )
    await bot.send_message(
        user.telegram_id,
        t(
            "Handling opinion of {agency} on petition {number}, issued {date}:",
            agency=html.escape(str(opinion.get("agency_name") or "")),
            number=f"<code>{html.escape(number)}</code>",
            date=stored_date(opinion.get("decided_on")),
        )
        + "\n\n"
        + html.escape(str(opinion.get("text") or "")),
    )
    await send_opinion_files(bot, user.telegram_id, number, list(opinion.get("files") or []))


async def on_pick(
    query: CallbackQuery,
    callback_data: HandoverAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
    org: Organisation,
) -> None:
    message = query_message(query)
    if message is None or not await handover.office_may_hand_over(callback_data.case_id, user):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    agency = next((a for a in org.agencies if a.id == callback_data.agency), None)
    if agency is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await state.set_state(HandoverInput.reason)
    await state.set_data({"case_id": callback_data.case_id, "agency": agency.id})
    await message.answer(
        t(
            "Assign to {agency}: please type the reason (why this agency must handle it). The "
            "citizen and the agency read it.",
            agency=html.escape(agency.display_name(current_locale())),
        )
    )


async def on_transfer(
    query: CallbackQuery,
    callback_data: HandoverAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    message = query_message(query)
    if message is None or not await handover.office_may_hand_over(callback_data.case_id, user):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await state.set_state(HandoverInput.body)
    await state.set_data({"case_id": callback_data.case_id, "agency": ""})
    await message.answer(
        _(
            "Transfer to a body that is not one of the county's listed agencies (a higher "
            "level, or the discipline inspection and supervision commission for a report): "
            "please type the name of the body that receives the petition (for example "
            "襄阳市信访局 or 谷城县纪委监委)."
        )
    )


async def office_text(message: Message, state: FSMContext, org: Organisation) -> None:
    """The receiving body's name, then the reason; shown back with a confirmation button."""
    assert message.text is not None
    data = await state.get_data()
    case_id = data.get("case_id")
    if not isinstance(case_id, int):
        await state.clear()
        return
    try:
        limit = TextLimits.SHORT if await state.get_state() == HandoverInput.body.state else 500
        text = clean_text(message.text, max_len=limit)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    if await state.get_state() == HandoverInput.body.state:
        await state.update_data(body=text)
        await state.set_state(HandoverInput.reason)
        await message.answer(
            t(
                "Transfer to {body}: please type the reason (why that body is competent). The "
                "citizen reads it.",
                body=html.escape(text),
            )
        )
        return
    await state.update_data(reason=text)
    agency_id = str(data.get("agency") or "")
    if agency_id:
        agency = next((a for a in org.agencies if a.id == agency_id), None)
        where = agency.display_name(current_locale()) if agency else agency_id
        prompt = t(
            "Assign the petition to {agency}?\nReason: {reason}",
            agency=html.escape(where),
            reason=html.escape(text),
        )
    else:
        prompt = t(
            "Transfer the petition to {body} and close it here?\nReason: {reason}",
            body=html.escape(str(data.get("body") or "")),
            reason=html.escape(text),
        )
    prompt += "\n\n" + _(
        "If this is a report (检举控告): it must not go to the person or body reported "
        "(《信访工作条例》第三十条). Confirming means the choice is deliberate."
    )
    confirm = HandoverAction(
        step=HandoverStep.confirm, case_id=case_id, agency=agency_id, h=text_fingerprint(text)
    )
    await message.answer(prompt, reply_markup=grid([button(_("Yes, confirm"), confirm)]))


async def on_confirm(
    query: CallbackQuery,
    callback_data: HandoverAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    message = query_message(query)
    data = await state.get_data()
    reason = str(data.get("reason") or "")
    pending = (
        data.get("case_id") == callback_data.case_id
        and str(data.get("agency") or "") == callback_data.agency
        and reason
        and text_fingerprint(reason) == callback_data.h
    )
    if not pending:
        # A second press after it was done, or an old button: the server decides.
        result = await handover.already_or_not(callback_data.case_id, user)
    elif callback_data.agency:
        result = await handover.assign(
            callback_data.case_id,
            user,
            agency_id=callback_data.agency,
            reason=reason,
            confirmed_report=True,
        )
    else:
        result = await handover.transfer(
            callback_data.case_id, user, body_name=str(data.get("body") or ""), reason=reason
        )
    if result.outcome is not Outcome.refused and pending:
        await state.clear()
    if result.outcome is Outcome.not_allowed:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    if message is None:
        return
    if result.outcome is Outcome.already:
        await message.answer(_(ALREADY))
    elif result.outcome is Outcome.refused:
        await message.answer("❗ " + _(result.error or ALREADY))
    elif result.facts.get("forwarded"):
        await message.answer(
            t(
                "Done: the petition was forwarded to {agency}; no handling-opinion time limit "
                "applies here (《信访工作条例》第二十九条、第三十条). The petitioner is told.",
                agency=html.escape(str(result.facts["agency"])),
            )
        )
    elif callback_data.agency:
        await message.answer(
            t(
                "Done: assigned to {agency}. Its liaisons are told; it must tell the petitioner "
                "by {x3_due} whether it accepts the matter (《信访工作条例》第二十三条).",
                agency=html.escape(str(result.facts["agency"])),
                x3_due=stored_date(result.facts.get("x3_due")),
            )
        )
    else:
        await message.answer(
            t(
                "Done: transferred to {body}; the petitioner is told where it went and the "
                "case is closed here.",
                body=html.escape(str(result.facts["body"])),
            )
        )


async def on_objection(
    query: CallbackQuery,
    callback_data: HandoverAction,
    user: User,
    handover: PetitionHandover,
) -> None:
    """The office answers the agency's objection (XF 23(3))."""
    agree = callback_data.step is HandoverStep.agree
    result = await handover.decide_objection(callback_data.case_id, user, agree=agree)
    if result.outcome is Outcome.not_allowed:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    if result.outcome is not Outcome.done:
        await message.answer(_(ALREADY))
    elif agree:
        await message.answer(
            t(
                "Agreed: the petition is back at the office, {agency} is told. Assign or "
                "transfer it again from the case page.",
                agency=html.escape(str(result.facts["agency"])),
            )
        )
    else:
        await message.answer(
            t(
                "Not agreed: {agency} is told that it must handle the matter and tell the "
                "petitioner by {x3_due}.",
                agency=html.escape(str(result.facts["agency"])),
                x3_due=stored_date(result.facts.get("x3_due")),
            )
        )
