"""The staff case page and /cases: what a case looks like to staff, what an action's outcome
says, and the two ways in (the list, a reminder's "open case" button)."""

from __future__ import annotations

import html
from datetime import date

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import format_date
from cases.intake.citizen_cases import STAFF_EVENT_TEXTS
from cases.intake.form_engine import PROCEDURE_NAMES, Procedure
from cases.intake.forms import PROVISIONAL_NOTE
from cases.law.deadline_rules import RULES, citation
from cases.org.organisation import Organisation
from cases.org.users import Role, User
from cases.petitions.handover import PetitionHandover, live_handovers
from cases.procedures.access import StaffCaseView, open_cases_for
from cases.procedures.action_steps import ActionResult, Outcome
from cases.procedures.actions import Action, CaseActions
from cases.procedures.event_words import ACTOR_NAMES, PARTY_ROLES
from cases.procedures.history import STAFF
from cases.procedures.statuses import staff_status_text
from cases.store.db import Database
from cases.store.time import LEGAL_TZ
from handlers.case_file import send_case_file
from handlers.keyboards import button, grid
from handlers.petition_agency import handover_status, list_status, open_for_agency
from handlers.staff.callbacks import Nav, StaffAction, StaffInput, nav
from handlers.staff.keyboards import copy_sent_keyboard, staff_case_keyboard
from handlers.staff.texts import (
    ALREADY_TEXT,
    COPY_SENT_ASK,
    DONE_TEXTS,
    ERROR_TEXTS,
    FORWARDED_DONE,
    NOT_AVAILABLE,
)
from handlers.texts import current_locale, event_text, t

HISTORY_SHOWN = 8
LIST_LIMIT = 20  # keeps /cases inside Telegram's 4096 characters


# -- the case page ------------------------------------------------------------------------------


def staff_case_text(view: StaffCaseView) -> str:
    """The case as staff see it: personal numbers masked per ``cases.procedures.access``
    tables."""
    locale = current_locale()
    lines = [
        f"<b>{html.escape(_(PROCEDURE_NAMES[view.procedure]))}</b> <code>{view.number}</code>",
        t(
            "Status: {status}",
            status=handover_status(view) or _(staff_status_text(view.procedure, view.status)),
        ),
        t("Received on: {date}", date=view.received_on),
        t("Matter: {subject}", subject=html.escape(view.subject)),
    ]
    for party in view.parties:
        role, _sep, rest = party.partition(": ")
        label = PARTY_ROLES.get(role)
        colon = "：" if locale == "zh" else ": "
        lines.append(f"• {html.escape(_(label) + colon + rest if label else party)}")
    if view.deadlines:
        lines += ["", "<b>" + _("Time limits") + "</b>"]
    for deadline in view.deadlines:
        rule = RULES.get(deadline.rule_id)
        basis = deadline.basis if locale == "zh" or rule is None else rule.basis_en
        line = "• " + t(
            "{what}: by {date} ({basis}).",
            what=_(deadline.title),
            date=deadline.due_on,
            basis=basis,
        )
        if deadline.paused_since is not None:
            line += " " + t("Paused since {date}.", date=deadline.paused_since)
        if deadline.extension_days:
            line += " " + t("Extended by {days} days.", days=deadline.extension_days)
        if deadline.provisional:
            line += " " + _(PROVISIONAL_NOTE)
        lines.append(line)
    if view.events:
        lines += ["", "<b>" + _("History") + "</b>"]
    for event in view.events[-HISTORY_SHOWN:]:
        text = event_text(event.kind, event.detail, STAFF, STAFF_EVENT_TEXTS)
        when = format_date(event.at.astimezone(LEGAL_TZ).date(), locale)
        actor = _(ACTOR_NAMES.get(event.actor_role, event.actor_role))
        if event.actor_name:
            actor = f"{event.actor_name} · {actor}"
        lines.append(f"• {when} — {html.escape(text)} ({html.escape(actor)})")
    return "\n".join(lines)


async def show(
    message: Message,
    view: StaffCaseView,
    user: User,
    actions: CaseActions,
    note: str | None = None,
) -> None:
    """The case page with the buttons of the actions this person may take on it now."""
    text = staff_case_text(view)
    if note:
        text = f"{note}\n\n{text}"
    await message.answer(
        text, reply_markup=staff_case_keyboard(view, actions.available(view, user), user)
    )


def _facts(result: ActionResult) -> dict[str, object]:
    """ISO dates in an action's facts become dates (written with the weekday)."""
    return {
        key: date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else value
        for key, value in result.facts.items()
    }


async def report(
    message: Message,
    result: ActionResult,
    action: Action,
    case_id: int,
    user: User,
    actions: CaseActions,
) -> None:
    """After an action: what happened, then the case as it is now."""
    if result.outcome is Outcome.already:
        note = _(ALREADY_TEXT)
    elif result.outcome is Outcome.refused and result.error in ERROR_TEXTS:
        note = "❗ " + t(result.error, **_facts(result))
    elif result.outcome is Outcome.refused:
        note = "❗ " + _(
            "This is not possible now: the time limit may have ended, or nothing is left to "
            "extend or suspend."
        )
    elif result.outcome is Outcome.not_allowed:
        note = _(NOT_AVAILABLE)
    else:
        forwarded = result.facts.get("forwarded_to")
        done = FORWARDED_DONE[str(forwarded)] if forwarded else DONE_TEXTS[action]
        note = t(done, **_facts(result))
        if result.facts.get("provisional") is True:
            note += " " + _(PROVISIONAL_NOTE)
    view = await actions.staff_view(case_id, user)
    if view is None:
        await message.answer(note)
        return
    await show(message, view, user, actions, note)


async def ask_copy_sent(
    message: Message, view: StaffCaseView, state: FSMContext, today: date
) -> None:
    """申请书副本已发送: on which day did the respondent receive it (buttons, or typed)."""
    simplified = view.simplified
    await state.set_state(StaffInput.text)
    await state.set_data({"case_id": view.id, "action": Action.copy_sent.value})
    await message.answer(
        t(
            COPY_SENT_ASK,
            number=f"<code>{view.number}</code>",
            days=5 if simplified else 10,
            basis=citation("FY", "54" if simplified else "48")[
                0 if current_locale() == "zh" else 1
            ],
        ),
        reply_markup=copy_sent_keyboard(view, today),
    )


async def open_staff_case(
    query: CallbackQuery,
    case_id: int,
    user: User,
    actions: CaseActions,
    db: Database,
    org: Organisation,
    action: str = "view",
    handover: PetitionHandover | None = None,
) -> bool:
    """The "open case" button of a reminder or notice pressed by staff (from /mycases'
    ``case:view:<id>``): the application as filed, then the page with its actions. False
    when this person may not see the case: the caller answers."""
    message = query.message if isinstance(query.message, Message) else None
    if user.role is Role.citizen or action != "view" or message is None:
        return False
    if handover is not None and await open_for_agency(query, case_id, user, handover):
        return True  # a petition assigned to this person's agency (XF 22-23)
    view = await actions.staff_view(case_id, user)
    if view is None:
        # The respondent agency answering a reconsideration (FY 48) reads the extract only.
        if not await send_case_file(message, case_id, user, db, org, actions.engine):
            return False
        await query.answer()
        return True
    await query.answer()
    await send_case_file(message, case_id, user, db, org, actions.engine)
    await show(message, view, user, actions)
    return True


async def on_view(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    org: Organisation,
    actions: CaseActions,
) -> None:
    view = await actions.staff_view(callback_data.case_id, user)
    if view is None or not isinstance(query.message, Message):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await state.clear()
    if callback_data.action is Nav.open:
        await send_case_file(query.message, view.id, user, db, org, actions.engine)
    await show(query.message, view, user, actions)


# -- /cases -------------------------------------------------------------------------------------


async def _list(
    message: Message, user: User, db: Database, org: Organisation | None = None
) -> None:
    cases = await open_cases_for(db, user, limit=LIST_LIMIT)
    if not cases:
        await message.answer(_("There are no open cases for you."))
        return
    lines = [t("Open cases, soonest time limit first ({count}):", count=len(cases)), ""]
    buttons = []
    # Petitions an agency holds say which agency and at which step (XF 22-23).
    held = await live_handovers(db, [c.id for c in cases if c.procedure is Procedure.petition])
    for case in cases:
        status = (
            list_status(held[case.id], org)
            if case.id in held and org is not None
            else _(staff_status_text(case.procedure, case.status))
        )
        line = f"<code>{case.number}</code> · {status} · {html.escape(case.subject)}"
        label = case.number
        if case.next_rule_id and case.next_due_on:
            rule = RULES.get(case.next_rule_id)
            what = _(rule.title) if rule else case.next_rule_id
            line += "\n   " + t("Next: {what}, by {date}", what=what, date=case.next_due_on)
            if case.provisional:
                line += " " + _("(provisional)")
            label += " · " + format_date(case.next_due_on, current_locale())
        lines.append(line)
        buttons.append(button(label, nav(case.id, Nav.open)))
    await message.answer("\n".join(lines), reply_markup=grid(buttons))


async def command_cases(
    message: Message,
    state: FSMContext,
    user: User,
    db: Database,
    org: Organisation | None = None,
) -> None:
    await _forget_pending_input(state)
    await _list(message, user, db, org)


async def _forget_pending_input(state: FSMContext) -> None:
    """Leaving for the list ends a half-done action: its prompt is no longer on screen."""
    if await state.get_state() == StaffInput.text.state:
        await state.clear()


async def on_list(
    query: CallbackQuery,
    state: FSMContext,
    user: User,
    db: Database,
    org: Organisation | None = None,
) -> None:
    await query.answer()
    await _forget_pending_input(state)
    if isinstance(query.message, Message):
        await _list(query.message, user, db, org)
