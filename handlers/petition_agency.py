"""Petitions between the petition office and the agencies (XF 22-23, 32-35): the chat side of
``cases.petitions.handover``.

- The petition office, on the staff page of a petition still at the office: "Assign to an
  agency (交办)" lists the agencies of the organisation file as buttons, asks the reason, shows
  it back and assigns on confirmation; "Transfer to another body (转送)" asks the receiving
  body's name and the reason, then transfers and closes the case here.
- The agency's liaison or head, from the notice or a reminder ("Open case") or /petitions: the
  petition as their role may see it, and "Accept (受理)", "Send the handling opinion" (text and
  files, kept with their SHA-256 as the respondent's reply is), "Ask for an extension" (reason,
  then days), and for the head "Approve" / "Refuse" a pending extension.
- The citizen, under the opinion notice: its documents.

Buttons carry ids only; every press goes to the service, which authorises it again against the
stored case and handover (a forged button for another agency's petition is refused), and every
change is a compare-and-set there (a double press acts once). Typed text waits in the FSM state
until its button; the button carries the text's fingerprint, so an older button cannot act on a
newer text.
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import date
from enum import StrEnum

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_, format_date
from cases.intake.forms import Procedure
from cases.intake.validation import TextLimits, ValidationError, clean_text
from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation
from cases.org.users import Role, User
from cases.petitions.handover import (
    AGENCY_ROLES,
    EXTENSION_PENDING,
    MAX_OPINION_TEXT,
    OBJECTION_ENDED,
    OFFICE_ROLES,
    PERIOD_ENDED,
    AgencyPetitionView,
    Outcome,
    PetitionHandover,
    Result,
)
from cases.procedures.access import (
    StaffCaseView,
    extension_left,
    handed_over,
    may_approve_extension,
)
from cases.procedures.actions import MAX_REPLY_FILES, ReplyFile
from cases.procedures.statuses import CaseStatus
from cases.store.db import Database
from handlers.callbacks import OpinionFiles, RowId
from handlers.filters import HasRole, NotCommand, When
from handlers.keyboards import button, grid
from handlers.texts import current_locale, t

NOT_AVAILABLE = N_("This case is not available to you.")
ALREADY = N_("This was already done, or the case has moved on.")
EXTENSION_CHOICES = (5, 10, 15, 30)
ASSIGN_LABEL = N_("📤 Assign to an agency (交办)")
# Not "outside the county": the 纪委监委 (XF 22(2), 30) and the next level are not agencies of
# the organisation file, whether in the county or not.
TRANSFER_LABEL = N_("🚚 Transfer to another body (转送)")
READ_LABEL = N_("📄 The agency's handling opinion")
EXTENSION_WAITING_LABEL = N_("⏳ The agency's extension request: decide")
EXTENSION_ASKED = "petition_extension_requested"
EXTENSION_DONE = frozenset({"petition_extension_approved", "petition_extension_refused"})


class HandoverStep(StrEnum):
    read = "r"  # the agency's handling opinion, for the office overseeing it
    assign = "a"  # list the agencies
    pick = "p"  # an agency chosen: ask the reason
    transfer = "t"  # ask the receiving body
    confirm = "y"  # do it (with the reason's fingerprint)
    agree = "g"  # the agency's objection: agreed, the petition comes back (XF 23(3))
    disagree = "n"  # the agency's objection: not agreed, the agency must handle it


class HandoverAction(CallbackData, prefix="ho"):
    """``ho:<step>:<case_id>:<agency>:<h>``: ``agency`` an organisation-file id (empty for a
    transfer), ``h`` the fingerprint of the typed reason a confirmation acts on."""

    step: HandoverStep
    case_id: RowId
    agency: str = Field(default="", pattern=r"^([a-z][a-z0-9_]{0,39})?$")
    h: str = Field(default="", pattern=r"^[0-9a-f]{0,8}$")


class AgencyStep(StrEnum):
    view = "v"
    accept = "a"
    opinion = "o"  # start the opinion draft
    send = "s"  # send the drafted opinion
    drop = "d"  # discard the draft
    extend = "e"  # ask for an extension: the reason first
    days = "n"  # the days of the extension (``n``)
    approve = "y"  # the head approves request ``n``
    refuse = "r"  # the head refuses request ``n``
    object = "x"  # not within the agency's competence: the reason first (XF 23(3))
    returned = "z"  # return it, with the typed reason (its fingerprint ``h``)


class PetitionAgencyAction(CallbackData, prefix="pa"):
    """``pa:<step>:<case_id>:<n>:<h>``: ``n`` the days of an extension or the request id."""

    step: AgencyStep
    case_id: RowId
    n: int = Field(default=0, ge=0, lt=2**31)
    h: str = Field(default="", pattern=r"^[0-9a-f]{0,8}$")


class HandoverInput(StatesGroup):
    body = State()  # the office types the receiving body (transfer)
    reason = State()  # the office types the reason


class AgencyInput(StatesGroup):
    opinion = State()  # the agency drafts the handling opinion
    extension = State()  # the agency types the extension's reason
    objection = State()  # the agency types why the matter is not within its competence


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _message(query: CallbackQuery) -> Message | None:
    return query.message if isinstance(query.message, Message) else None


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
        date=_date(on),
        x3_due=running.get("X3") or _date(detail.get("x3_due")),
        conclude_due=running.get("X4") or _date(detail.get("conclude_due")),
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
    message = _message(query)
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
            date=_date(opinion.get("decided_on")),
        )
        + "\n\n"
        + html.escape(str(opinion.get("text") or "")),
    )
    await _send_files(bot, user.telegram_id, number, list(opinion.get("files") or []))


async def on_pick(
    query: CallbackQuery,
    callback_data: HandoverAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
    org: Organisation,
) -> None:
    message = _message(query)
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
    message = _message(query)
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
        step=HandoverStep.confirm, case_id=case_id, agency=agency_id, h=_fingerprint(text)
    )
    await message.answer(prompt, reply_markup=grid([button(_("Yes, confirm"), confirm)]))


async def on_confirm(
    query: CallbackQuery,
    callback_data: HandoverAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    message = _message(query)
    data = await state.get_data()
    reason = str(data.get("reason") or "")
    pending = (
        data.get("case_id") == callback_data.case_id
        and str(data.get("agency") or "") == callback_data.agency
        and reason
        and _fingerprint(reason) == callback_data.h
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
                x3_due=_date(result.facts.get("x3_due")),
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
    message = _message(query)
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
                x3_due=_date(result.facts.get("x3_due")),
            )
        )


def _date(value: object) -> object:
    return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else "—"


# -- the agency ---------------------------------------------------------------------------------


def agency_page(view: AgencyPetitionView) -> str:
    colon = "：" if current_locale() == "zh" else ": "
    lines = [
        t("<b>Petition {number}</b>", number=f"<code>{html.escape(view.number)}</code>"),
        _("Received") + colon + format_date(view.received_on, current_locale()),
    ]
    if view.sensitive:
        lines.append(
            _(
                "Report (检举控告): the reporter's identity is kept by the petition office "
                "(《信访工作条例》第三十条)."
            )
        )
    elif view.petitioner:
        lines.append(_("Petitioner") + colon + html.escape(view.petitioner))
    if view.place:
        lines.append(_("Where") + colon + html.escape(view.place))
    lines += [
        _("Request") + colon + html.escape(view.request),
        _("Facts and reasons") + colon + html.escape(view.facts),
        _("Reason for the assignment") + colon + html.escape(view.handover.reason),
        _("Petition office") + colon + html.escape(view.office_contact),
    ]
    for deadline in view.deadlines:
        lines.append(
            "• "
            + t(
                "{what}: by {date} ({basis}).",
                what=_(deadline.title),
                date=deadline.due_on,
                basis=deadline.basis,
            )
        )
    if view.objection_due is not None and view.may_object:
        lines.append(
            "• "
            + t(
                "Object if the matter is not within your agency's competence: by {date} "
                "(《信访工作条例》第二十三条第三款); after it your agency must handle it.",
                date=view.objection_due,
            )
        )
    if view.handover.objection_pending:
        lines.append(_("Objection sent: waiting for the petition office's answer."))
    elif view.handover.objection_refused and view.handover.status == "assigned":
        lines.append(
            _("The petition office did not agree with the objection: your agency must handle it.")
        )
    if view.pending_extension is not None:
        lines.append(
            t(
                "Extension requested: {days} days. Reason: {reason}",
                days=view.pending_extension.days,
                reason=html.escape(view.pending_extension.reason),
            )
        )
    if view.opinion_sent:
        lines.append(_("The handling opinion was sent to the petitioner."))
    return "\n".join(lines)


def agency_keyboard(
    view: AgencyPetitionView, user: User, engine: DeadlineEngine
) -> InlineKeyboardMarkup:
    case_id = view.id
    buttons = []
    agency = user.role in AGENCY_ROLES  # an administrator only decides an extension
    if agency and view.handover.status == "assigned":
        buttons.append(
            button(
                _("✅ Accept and tell the petitioner (受理)"),
                PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id),
            )
        )
        if view.may_object:  # X3a: five working days (XF 23(3))
            buttons.append(
                button(
                    _("↩️ Not within our competence (提出异议)"),
                    PetitionAgencyAction(step=AgencyStep.object, case_id=case_id),
                )
            )
    x4 = view.running("X4")
    if agency and view.handover.status == "accepted":
        buttons.append(
            button(
                _("📄 Send the handling opinion (出具处理意见)"),
                PetitionAgencyAction(step=AgencyStep.opinion, case_id=case_id),
            )
        )
        if (
            x4 is not None
            and view.pending_extension is None
            and extension_left(x4, engine) != 0
            and not view.period_ended
        ):
            buttons.append(
                button(
                    _("⏳ Ask for an extension (申请延期)"),
                    PetitionAgencyAction(step=AgencyStep.extend, case_id=case_id),
                )
            )
    pending = view.pending_extension
    if (
        view.handover.status == "accepted"
        and pending is not None
        and x4 is not None
        and may_approve_extension(x4, user, engine)
    ):
        buttons += [
            button(
                t("Approve the extension ({days} days)", days=pending.days),
                PetitionAgencyAction(step=AgencyStep.approve, case_id=case_id, n=pending.id),
            ),
            button(
                _("Refuse the extension"),
                PetitionAgencyAction(step=AgencyStep.refuse, case_id=case_id, n=pending.id),
            ),
        ]
    buttons.append(
        button(_("🔄 Refresh"), PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    )
    return grid(buttons)


async def show_agency_petition(
    message: Message, case_id: int, user: User, handover: PetitionHandover, note: str = ""
) -> bool:
    """The petition as this agency person may see it; False when it is not theirs."""
    view = await handover.page_view(case_id, user)
    if view is None:
        return False
    text = agency_page(view)
    await message.answer(
        f"{note}\n\n{text}" if note else text,
        reply_markup=agency_keyboard(view, user, handover.engine),
    )
    return True


async def open_for_agency(
    query: CallbackQuery, case_id: int, user: User, handover: PetitionHandover
) -> bool:
    """ "Open case" from a notice or reminder, for agency staff (handlers.staff.open_staff_case
    asks here first): True when it was their petition and it is shown."""
    message = _message(query)
    if message is None or user.role not in AGENCY_ROLES:
        return False
    if await handover.agency_view(case_id, user) is None:
        return False
    await query.answer()
    return await show_agency_petition(message, case_id, user, handover)


async def command_petitions(message: Message, user: User, handover: PetitionHandover) -> None:
    items = await handover.agency_petitions(user)
    if not items:
        await message.answer(_("No petitions are assigned to your agency now."))
        return
    labels = {"assigned": N_("to accept"), "accepted": N_("being handled")}
    await message.answer(
        _("Petitions assigned to your agency:"),
        reply_markup=grid(
            [
                button(
                    f"{number} · {_(labels.get(status, status))}",
                    PetitionAgencyAction(step=AgencyStep.view, case_id=case_id),
                )
                for case_id, number, status in items
            ]
        ),
    )


_RESULT_DONE: dict[AgencyStep, str] = {
    AgencyStep.accept: N_(
        "Accepted. The petitioner is told in your agency's name; the handling opinion is due "
        "by {conclude_due} (《信访工作条例》第三十四条)."
    ),
    AgencyStep.send: N_(
        "The handling opinion was sent to the petitioner with the 30-day review window "
        "(《信访工作条例》第三十五条). The petition office sees it in the case history."
    ),
    AgencyStep.days: N_("The extension request was sent to the head of your agency."),
    AgencyStep.approve: N_(
        "Approved: the handling period now ends on {new_due}. The petitioner is told the "
        "reason (《信访工作条例》第三十四条)."
    ),
    AgencyStep.refuse: N_("The extension was refused; the liaison is told."),
    AgencyStep.returned: N_(
        "Your objection and its reason went to the petition office (《信访工作条例》第二十三条"
        "第三款). If it agrees, it takes the petition back; if not, your agency must handle it. "
        "Until then you may still accept it."
    ),
}


async def _after(
    query: CallbackQuery,
    result: Result,
    step: AgencyStep,
    case_id: int,
    user: User,
    handover: PetitionHandover,
) -> None:
    message = _message(query)
    if result.outcome is Outcome.not_allowed:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    if message is None:
        return
    facts = {k: _date(v) if k.endswith(("_due", "_on")) else v for k, v in result.facts.items()}
    if result.outcome is Outcome.already:
        note = _(ALREADY)
    elif result.outcome is Outcome.refused:
        note = "❗ " + t(result.error or ALREADY, **facts)
    else:
        facts = {
            k: _date(v) if k.endswith(("_due", "_on")) else v for k, v in result.facts.items()
        }
        note = t(_RESULT_DONE[step], **facts)
    if not await show_agency_petition(message, case_id, user, handover, note):
        await message.answer(note)


async def on_agency_view(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    message = _message(query)
    if message is None or not await handover.page_view(callback_data.case_id, user):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await show_agency_petition(message, callback_data.case_id, user, handover)


async def on_accept(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    user: User,
    handover: PetitionHandover,
) -> None:
    result = await handover.accept(callback_data.case_id, user)
    await _after(query, result, AgencyStep.accept, callback_data.case_id, user, handover)


async def on_decide(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    user: User,
    handover: PetitionHandover,
) -> None:
    approve = callback_data.step is AgencyStep.approve
    result = await handover.decide_extension(
        callback_data.case_id, user, request_id=callback_data.n, approve=approve
    )
    await _after(query, result, callback_data.step, callback_data.case_id, user, handover)


def _draft_keyboard(case_id: int) -> InlineKeyboardMarkup:
    return grid(
        [
            button(
                _("📨 Send the opinion"),
                PetitionAgencyAction(step=AgencyStep.send, case_id=case_id),
            ),
            button(_("Cancel"), PetitionAgencyAction(step=AgencyStep.drop, case_id=case_id)),
        ],
        width=2,
    )


async def on_opinion(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    view = await handover.agency_view(callback_data.case_id, user)
    message = _message(query)
    if view is None or message is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    if view.handover.status != "accepted":
        await show_agency_petition(message, view.id, user, handover, _(ALREADY))
        return
    await state.set_state(AgencyInput.opinion)
    await state.set_data({"case_id": view.id, "text": "", "files": []})
    await message.answer(
        t(
            "Petition {number}: send the written handling opinion as text (the request, the "
            "facts and reasons, the outcome and its legal basis, 《信访工作条例》第三十二条) and "
            "any documents as files, then press “Send the opinion”.",
            number=f"<code>{html.escape(view.number)}</code>",
        ),
        reply_markup=_draft_keyboard(view.id),
    )


async def opinion_text(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    data = await state.get_data()
    text = (str(data.get("text") or "") + "\n" + message.text.strip()).strip()
    if len(text) > MAX_OPINION_TEXT:
        await message.answer(
            "❗ " + t("The opinion may be at most {limit} characters.", limit=MAX_OPINION_TEXT)
        )
        return
    await state.update_data(text=text)
    await _progress(message, int(data["case_id"]), text, data.get("files") or [])


async def opinion_file(message: Message, state: FSMContext, bot: Bot) -> None:
    from handlers.intake.files import download_attachment

    data = await state.get_data()
    files: list[dict[str, object]] = list(data.get("files") or [])
    if len(files) >= MAX_REPLY_FILES:
        await message.answer(
            "❗ " + t("At most {limit} files can be sent here.", limit=MAX_REPLY_FILES)
        )
        return
    attachment = await download_attachment(message, bot)
    if isinstance(attachment, ValidationError):
        await message.answer("❗ " + attachment.render(current_locale()))
        return
    if all(f.get("file_unique_id") != attachment.file_unique_id for f in files):
        files.append(
            ReplyFile(
                kind=attachment.kind,
                file_id=attachment.file_id,
                file_unique_id=attachment.file_unique_id,
                size=attachment.size,
                sha256=attachment.sha256,
                file_name=attachment.file_name,
                mime_type=attachment.mime_type,
            ).model_dump()
        )
        await state.update_data(files=files)
    await _progress(message, int(data["case_id"]), str(data.get("text") or ""), files)


async def _progress(message: Message, case_id: int, text: str, files: list) -> None:
    await message.answer(
        t(
            "Received: {chars} characters of text, {count} files. Send more, or press “Send "
            "the opinion”.",
            chars=len(text),
            count=len(files),
        ),
        reply_markup=_draft_keyboard(case_id),
    )


async def on_send(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    data = await state.get_data()
    drafted = data.get("case_id") == callback_data.case_id
    if not drafted:
        view = await handover.agency_view(callback_data.case_id, user)
        result = Result(Outcome.not_allowed if view is None else Outcome.already)
    else:
        files = tuple(ReplyFile(**f) for f in data.get("files") or [])
        result = await handover.conclude(
            callback_data.case_id, user, text=str(data.get("text") or ""), files=files
        )
        if result.outcome is Outcome.done or result.outcome is Outcome.already:
            await state.clear()
    await _after(query, result, AgencyStep.send, callback_data.case_id, user, handover)


async def on_drop(
    query: CallbackQuery, callback_data: PetitionAgencyAction, state: FSMContext
) -> None:
    data = await state.get_data()
    if data.get("case_id") == callback_data.case_id:
        await state.clear()
    await query.answer(_("The draft was discarded."))


async def draft_other(message: Message) -> None:
    await message.answer(_("Please send the opinion as text, a document or a photo."))


async def on_extend(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    view = await handover.agency_view(callback_data.case_id, user)
    message = _message(query)
    if view is None or message is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    if view.pending_extension is not None:
        await message.answer("❗ " + _(EXTENSION_PENDING))
        return
    x4 = view.running("X4")
    if view.period_ended and x4 is not None:  # a stale button: say so before a reason is typed
        await message.answer("❗ " + t(PERIOD_ENDED, conclude_due=x4.due_on))
        return
    await state.set_state(AgencyInput.extension)
    await state.set_data({"case_id": view.id})
    await message.answer(
        t(
            "Petition {number}: why does the handling need more time? Type the reason; the "
            "petitioner is told it if the head approves (《信访工作条例》第三十四条).",
            number=f"<code>{html.escape(view.number)}</code>",
        )
    )


async def extension_text(
    message: Message, state: FSMContext, user: User, handover: PetitionHandover
) -> None:
    assert message.text is not None
    data = await state.get_data()
    case_id = data.get("case_id")
    view = await handover.agency_view(case_id, user) if isinstance(case_id, int) else None
    x4 = view.running("X4") if view else None
    if view is None or x4 is None:
        await state.clear()
        await message.answer(_(NOT_AVAILABLE))
        return
    try:
        reason = clean_text(message.text, max_len=500)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await state.update_data(reason=reason)
    left = extension_left(x4, handover.engine)
    limit = left if left is not None else max(EXTENSION_CHOICES)
    choices = sorted({d for d in EXTENSION_CHOICES if d <= limit} | {limit})
    await message.answer(
        t("Extend by how many days? Up to {left} days are left.", left=limit),
        reply_markup=grid(
            [
                button(
                    t("{days} days", days=d),
                    PetitionAgencyAction(
                        step=AgencyStep.days, case_id=view.id, n=d, h=_fingerprint(reason)
                    ),
                )
                for d in choices
                if d > 0
            ],
            width=2,
        ),
    )


async def on_days(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    data = await state.get_data()
    reason = str(data.get("reason") or "")
    if data.get("case_id") != callback_data.case_id or _fingerprint(reason) != callback_data.h:
        view = await handover.agency_view(callback_data.case_id, user)
        result = Result(Outcome.not_allowed if view is None else Outcome.already)
    else:
        result = await handover.request_extension(
            callback_data.case_id, user, days=callback_data.n, reason=reason
        )
        if result.outcome is Outcome.done:
            await state.clear()
    await _after(query, result, AgencyStep.days, callback_data.case_id, user, handover)


async def on_object(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    view = await handover.agency_view(callback_data.case_id, user)
    message = _message(query)
    if view is None or message is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    if view.handover.status != "assigned":
        await show_agency_petition(message, view.id, user, handover, _(ALREADY))
        return
    if not view.may_object:  # a stale button: say so before a reason is typed in vain
        note = "❗ " + t(OBJECTION_ENDED, objection_due=view.objection_due or "—")
        await show_agency_petition(message, view.id, user, handover, note)
        return
    await state.set_state(AgencyInput.objection)
    await state.set_data({"case_id": view.id})
    await message.answer(
        t(
            "Petition {number}: why is the matter not within your agency's competence? Type "
            "the reason; the petition office reads it (《信访工作条例》第二十三条: within five "
            "working days of the assignment).",
            number=f"<code>{html.escape(view.number)}</code>",
        )
    )


async def objection_text(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    data = await state.get_data()
    case_id = data.get("case_id")
    if not isinstance(case_id, int):
        await state.clear()
        return
    try:
        reason = clean_text(message.text, max_len=500)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await state.update_data(reason=reason)
    confirm = PetitionAgencyAction(
        step=AgencyStep.returned, case_id=case_id, h=_fingerprint(reason)
    )
    await message.answer(
        t(
            "Return the petition to the petition office?\nReason: {reason}",
            reason=html.escape(reason),
        ),
        reply_markup=grid([button(_("Yes, confirm"), confirm)]),
    )


async def on_returned(
    query: CallbackQuery,
    callback_data: PetitionAgencyAction,
    state: FSMContext,
    user: User,
    handover: PetitionHandover,
) -> None:
    data = await state.get_data()
    reason = str(data.get("reason") or "")
    if data.get("case_id") != callback_data.case_id or _fingerprint(reason) != callback_data.h:
        view = await handover.agency_view(callback_data.case_id, user)
        result = Result(Outcome.not_allowed if view is None else Outcome.already)
    else:
        result = await handover.object(callback_data.case_id, user, reason=reason)
        if result.outcome is not Outcome.refused:
            await state.clear()
    if result.outcome is Outcome.done:
        message = _message(query)
        await query.answer()
        if message is not None:
            await message.answer(_(_RESULT_DONE[AgencyStep.returned]))
        return
    await _after(query, result, AgencyStep.returned, callback_data.case_id, user, handover)


# -- the citizen --------------------------------------------------------------------------------

OPINION_CAPTION = N_("Petition {number}, handling opinion document {index}: {name}")
FILE_GONE = N_("This file can no longer be sent; please ask the petition office for a copy.")


async def on_opinion_files(
    query: CallbackQuery, callback_data: OpinionFiles, user: User, db: Database, bot: Bot
) -> None:
    """The opinion's documents, to the petitioner of the case only."""
    row = await db.fetch_one(
        "SELECT c.number, e.detail FROM cases c JOIN case_events e ON e.case_id = c.id"
        " AND e.kind = 'concluded' WHERE c.id = ? AND c.citizen_id = ? ORDER BY e.id DESC"
        " LIMIT 1",
        (callback_data.case_id, user.telegram_id),
    )
    files = json.loads(row["detail"]).get("files") or [] if row else []
    if row is None or not files:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await _send_files(bot, user.telegram_id, str(row["number"]), files)


async def _send_files(bot: Bot, chat_id: int, number: str, files: list[dict]) -> None:
    """Each document of an opinion with its SHA-256 (as recorded when the agency sent it)."""
    for index, item in enumerate(files, start=1):
        caption = t(
            OPINION_CAPTION,
            number=f"<code>{html.escape(number)}</code>",
            index=index,
            name=html.escape(str(item.get("file_name") or item.get("kind") or "")),
        )
        if item.get("sha256"):
            caption += f"\nSHA-256 <code>{item['sha256']}</code>"
        try:
            if item.get("kind") == "photo":
                await bot.send_photo(chat_id, item["file_id"], caption=caption)
            elif item.get("kind") == "voice":
                await bot.send_voice(chat_id, item["file_id"], caption=caption)
            else:
                await bot.send_document(chat_id, item["file_id"], caption=caption)
        except TelegramBadRequest as error:
            if "file" not in error.message.lower():
                raise
            await bot.send_message(chat_id, _(FILE_GONE))


# -- the router ---------------------------------------------------------------------------------


def build_router() -> Router:
    """A new Router per call (a router belongs to one Dispatcher; tests build many)."""
    router = Router(name="petition-agency")
    office = HasRole(*OFFICE_ROLES)
    agency = HasRole(*AGENCY_ROLES)
    decider = HasRole(*AGENCY_ROLES, Role.admin)  # an administrator stands in for a head
    cb = router.callback_query
    cb.register(on_read, office, HandoverAction.filter(F.step == HandoverStep.read))
    cb.register(on_assign, office, HandoverAction.filter(F.step == HandoverStep.assign))
    cb.register(on_pick, office, HandoverAction.filter(F.step == HandoverStep.pick))
    cb.register(on_transfer, office, HandoverAction.filter(F.step == HandoverStep.transfer))
    cb.register(on_confirm, office, HandoverAction.filter(F.step == HandoverStep.confirm))
    cb.register(
        on_objection,
        office,
        HandoverAction.filter(F.step.in_({HandoverStep.agree, HandoverStep.disagree})),
    )
    cb.register(on_agency_view, decider, PetitionAgencyAction.filter(F.step == AgencyStep.view))
    cb.register(on_accept, agency, PetitionAgencyAction.filter(F.step == AgencyStep.accept))
    cb.register(on_opinion, agency, PetitionAgencyAction.filter(F.step == AgencyStep.opinion))
    cb.register(on_send, agency, PetitionAgencyAction.filter(F.step == AgencyStep.send))
    cb.register(on_drop, agency, PetitionAgencyAction.filter(F.step == AgencyStep.drop))
    cb.register(on_extend, agency, PetitionAgencyAction.filter(F.step == AgencyStep.extend))
    cb.register(on_days, agency, PetitionAgencyAction.filter(F.step == AgencyStep.days))
    cb.register(
        on_decide,
        decider,
        PetitionAgencyAction.filter(F.step.in_({AgencyStep.approve, AgencyStep.refuse})),
    )
    cb.register(on_object, agency, PetitionAgencyAction.filter(F.step == AgencyStep.object))
    cb.register(on_returned, agency, PetitionAgencyAction.filter(F.step == AgencyStep.returned))
    cb.register(on_opinion_files, HasRole(Role.citizen), OpinionFiles.filter())
    text = When(F.text & ~F.text.startswith("/"))
    router.message.register(command_petitions, agency, Command("petitions"))
    router.message.register(
        office_text, office, StateFilter(HandoverInput.body, HandoverInput.reason), text
    )
    drafting = StateFilter(AgencyInput.opinion)
    router.message.register(opinion_text, agency, drafting, text)
    router.message.register(opinion_file, agency, drafting, When(F.photo | F.document | F.voice))
    router.message.register(draft_other, agency, drafting, NotCommand())
    router.message.register(extension_text, agency, StateFilter(AgencyInput.extension), text)
    router.message.register(objection_text, agency, StateFilter(AgencyInput.objection), text)
    return router


__all__ = [
    "HandoverAction",
    "PetitionAgencyAction",
    "build_router",
    "handover_buttons",
    "open_for_agency",
]
