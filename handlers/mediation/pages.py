"""The mediation page: its texts, the page with its buttons, the form states, and the
helpers every step shares (show the page, the case of an open question, a refusal)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_, format_date
from cases.intake.forms import Procedure
from cases.mediation.common import Result
from cases.mediation.parties import (
    LinkState,
)
from cases.mediation.service import Mediation, Page, Viewer
from cases.org.users import User
from cases.procedures.privacy import mask_id_numbers, mask_numbers
from cases.procedures.statuses import staff_status_text
from cases.store.time import LEGAL_TZ
from handlers.mediation_callbacks import MedAction, MediationButton
from handlers.texts import current_locale, t


class MediationForm(StatesGroup):
    op_name = State()
    op_phone = State()
    op_decide = State()
    session_time = State()
    session_place = State()
    move_time = State()
    move_place = State()
    terms = State()
    followup_note = State()
    ext_reason = State()


RESULT_TEXTS: dict[Result, str] = {
    Result.already: N_("This was already done, or the mediation has moved on."),
    Result.not_allowed: N_("This is not available to you."),
    Result.closed: N_("The mediation of this case has ended; this is no longer possible."),
    Result.joined: N_("The other party has already joined; no new link is needed."),
    Result.period_ended: N_(
        "The mediation period has already ended, so it can no longer be extended (the county's "
        "rule). Please record the outcome of the mediation."
    ),
    Result.no_lead: N_(
        "Your room has no lead registered to approve an extension. Ask an administrator."
    ),
}
LINK_TEXTS: dict[LinkState, str] = {
    LinkState.unknown: N_("This link is not valid. Please ask the person who sent it."),
    LinkState.used: N_(
        "This link has already been used. Each link works once; please ask the mediator for "
        "a new one if needed."
    ),
    LinkState.expired: N_("This link has expired. Please ask the mediator for a new one."),
    LinkState.closed: N_("The mediation of this case has ended; the link no longer works."),
    LinkState.joined: N_(
        "You have already joined this mediation with this link. Send /mediate to see it."
    ),
    LinkState.own_case: N_(
        "This link is for the other party of your dispute: please forward it to them."
    ),
}
TIME_TEXTS: dict[str, str] = {
    "format": N_("Please type the date and time of the session, for example {example}."),
    "no_time": N_("Please add the time of the session, for example {example}."),
    "ambiguous": N_(
        "Is that in the morning or in the afternoon? Please add 上午 or 下午, or use the "
        "24-hour clock, for example {example}."
    ),
    "past": N_("This time has already passed. Please type a time still to come."),
}
CONSENT_TEXTS = {
    "unknown": N_("not yet known"),
    "given": N_("agrees to mediation"),
    "refused": N_("refused mediation"),
}


def page_button(
    label: str, action: MedAction, item_id: int = 0, version: int = 0
) -> list[InlineKeyboardButton]:
    data = MediationButton(action=action, item_id=item_id, version=version).pack()
    return [InlineKeyboardButton(text=label, callback_data=data)]


def when_text(moment: datetime) -> str:
    local = moment.astimezone(LEGAL_TZ)
    return f"{format_date(local.date(), current_locale())} {local:%H:%M}"


def time_example(mediation: Mediation) -> str:
    day = (mediation.now() + timedelta(days=7)).astimezone(LEGAL_TZ).date()
    return f"{day.isoformat()} 09:30"


# -- the page ----------------------------------------------------------------------------------


def render_page(page: Page) -> tuple[str, InlineKeyboardMarkup | None]:
    case = page.case
    lines = [
        t(
            "<b>Mediation, case {number}</b>",
            number=f"<code>{html.escape(case.number)}</code>",
        ),
        t("Mediation room: {room}", room=html.escape(case.room_name)),
        t("Status: {status}", status=_(staff_status_text(Procedure.mediation, case.status))),
        t(
            "Mediator: {name}",
            name=html.escape(case.mediator_name)
            if case.mediator_name
            else _("not yet assigned (the room's mediators)"),
        ),
    ]
    other = page.other
    if page.viewer is Viewer.mediator:
        if page.applicant_name:
            lines.append(t("Applicant: {name}", name=html.escape(page.applicant_name)))
        lines.append(
            t(
                "Other party: {name}, {state}",
                name=html.escape(other.name) if other.name else _("not joined in the chat"),
                state=_(CONSENT_TEXTS.get(other.consent, other.consent)),
            )
        )
        if other.phone:
            lines.append(t("Other party's phone: {phone}", phone=html.escape(other.phone)))
    elif page.viewer is Viewer.applicant:
        # Whether the other side agreed, never what they typed (their name and phone).
        lines.append(
            t("Other party: {state}", state=_(CONSENT_TEXTS.get(other.consent, other.consent)))
        )
    elif page.viewer is Viewer.other_party:
        lines.append(
            t(
                "Your details: {name}, {phone}",
                name=html.escape(other.name or ""),
                phone=html.escape(other.phone or ""),
            )
        )
    lines.append("")
    if page.sessions:
        lines.append(_("Sessions:"))
        for session, answers in page.sessions:
            line = "• " + t(
                "{when}, {place}",
                when=when_text(session.starts_at),
                place=html.escape(session.place),
            )
            if page.viewer is Viewer.mediator and answers:
                said = ", ".join(
                    f"{_(SIDE_NAMES.get(a.side, a.side))}: "
                    + (_("will come") if a.coming else _("cannot come"))
                    for a in answers
                )
                line += f" ({said})"
            lines.append(line)
    else:
        lines.append(_("No session scheduled yet."))
    if page.viewer is Viewer.mediator and page.period is not None:
        due = format_date(page.period.due_on, current_locale())
        lines.append(
            t(
                "Mediation period (the county's rule, not a statute): ended on {due}, overdue. "
                "Please record the outcome.",
                due=due,
            )
            if page.today > page.period.due_on
            else t("Mediation period (the county's rule, not a statute): ends on {due}.", due=due)
        )
        if page.extension is not None:
            lines.append(
                t(
                    "Extension by {days} days: {status}.",
                    days=page.extension["days"],
                    status=_(EXTENSION_STATUS[str(page.extension["status"])]),
                )
            )
    outcome = page.outcome
    if outcome is not None and outcome["agreed"]:
        # Typed by the mediator, perhaps copied from the paper agreement: ID numbers masked
        # for everyone, phone numbers kept for the mediator only (who may call the parties).
        terms = str(outcome["terms"] or "")
        terms = mask_id_numbers(terms) if page.viewer is Viewer.mediator else mask_numbers(terms)
        lines.append(t("Agreement: {terms}", terms=html.escape(terms)))
        if page.viewer is Viewer.mediator and outcome["followup_due_on"]:
            if outcome["followup_at"]:
                lines.append(
                    _("Follow-up visit recorded: the agreement was kept.")
                    if outcome["followup_kept"]
                    else _("Follow-up visit recorded: the agreement was not kept.")
                )
            else:
                lines.append(
                    t(
                        "Follow-up visit (回访) due on {due}.",
                        due=datetime.fromisoformat(outcome["followup_due_on"]).date(),
                    )
                )
    return "\n".join(lines), page_keyboard(page)


SIDE_NAMES = {
    "applicant": N_("applicant"),
    "other_party": N_("other party"),
    "mediator": N_("mediator"),
}
EXTENSION_STATUS = {
    "pending": N_("awaiting the room lead"),
    "approved": N_("approved"),
    "refused": N_("refused"),
    "lapsed": N_("lapsed (the period ended first)"),
}


def page_keyboard(page: Page) -> InlineKeyboardMarkup | None:
    case = page.case
    rows: list[list[InlineKeyboardButton]] = []
    if page.viewer is Viewer.mediator and case.running:
        if page.other.consent == "unknown":
            rows.append(page_button(_("The other party agrees"), MedAction.consent, case.id))
            rows.append(page_button(_("The other party refuses"), MedAction.refused, case.id))
        if page.other.user_id is None:
            rows.append(page_button(_("Link for the other party"), MedAction.link, case.id))
        rows.append(page_button(_("Schedule a session"), MedAction.session, case.id))
        for session, _answers in page.sessions:
            label = when_text(session.starts_at)
            rows.append(
                page_button(
                    t("Move {when}", when=label), MedAction.move, session.id, session.version
                )
                + page_button(
                    t("Cancel {when}", when=label), MedAction.cancel, session.id, session.version
                )
            )
        rows.append(
            page_button(_("Agreement reached"), MedAction.agreed, case.id)
            + page_button(_("No agreement"), MedAction.failed, case.id)
        )
        if page.period is not None and page.extension is None and page.today <= page.period.due_on:
            rows.append(page_button(_("Ask to extend the period"), MedAction.extend, case.id))
    if (
        page.lead
        and page.extension is not None
        and page.extension["status"] == "pending"
        and case.running
    ):
        rows.append(
            page_button(_("Approve the extension"), MedAction.approve, case.id)
            + page_button(_("Refuse the extension"), MedAction.refuse_ext, case.id)
        )
    outcome = page.outcome
    if page.viewer is Viewer.mediator and outcome is None and case.status == "settled":
        # Settled from the staff case page: the terms and the follow-up are still to record.
        rows.append(page_button(_("Record the agreement's terms"), MedAction.agreed, case.id))
    if (
        page.viewer is Viewer.mediator
        and outcome is not None
        and outcome["agreed"]
        and not outcome["followup_at"]
    ):
        rows.append(
            page_button(_("The agreement was kept"), MedAction.kept, case.id)
            + page_button(_("The agreement was not kept"), MedAction.broken, case.id)
        )
    if page.viewer in (Viewer.applicant, Viewer.other_party) and case.running:
        for session, _answers in page.sessions:
            label = when_text(session.starts_at)
            rows.append(
                page_button(
                    t("👍 I will come ({when})", when=label),
                    MedAction.come,
                    session.id,
                    session.version,
                )
            )
            rows.append(
                page_button(
                    t("I cannot come ({when})", when=label),
                    MedAction.cannot,
                    session.id,
                    session.version,
                )
            )
        if page.viewer is Viewer.other_party:
            rows.append(
                page_button(_("I do not agree to mediation"), MedAction.op_refuse, case.id)
            )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def show_page(
    message: Message, mediation: Mediation, case_id: int, user: User | None, user_id: int
) -> bool:
    page = await mediation.page(case_id, user, user_id)
    if page is None:
        await message.answer(_("This is not available to you."))
        return False
    text, keyboard = render_page(page)
    await message.answer(text, reply_markup=keyboard)
    return True


async def form_case(message: Message, state: FSMContext) -> int | None:
    """The case an open mediation question is about; None (and the question closed) when the
    conversation state lost it."""
    case_id = (await state.get_data()).get("case_id")
    if isinstance(case_id, int):
        return case_id
    await state.clear()
    await message.answer(_("This question is no longer open. Send /mediate."))
    return None


async def alert_refusal(query: CallbackQuery, result: Result) -> None:
    await query.answer(
        _(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])), show_alert=True
    )


async def answered_as(
    query: CallbackQuery, case_id: int, mediation: Mediation, user: User | None, side: Viewer
) -> bool:
    """Answer the press when this person is ``side`` of the case; otherwise say they may not
    (a forged or stale button) and return False."""
    if await mediation.viewer(case_id, user, query.from_user.id) is not side:
        await alert_refusal(query, Result.not_allowed)
        return False
    await query.answer()
    return True
