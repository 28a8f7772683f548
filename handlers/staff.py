"""Staff work on cases: the staff case page with its actions, and /cases.

Only administrators, office staff and mediators reach this router (``HasRole`` on the router); a
citizen's forged ``staff:`` button falls through to the polite stale-button answer. Every press is
authorised again by ``cases.procedures.actions`` (role, case visibility, the action the case's
status offers now), so a button from before the case moved on answers "already done".

Buttons carry ids only. Text typed by staff (a reason, what is missing) waits in the FSM state
:class:`StaffInput` until the final button; the extension button also carries the extension
total it was offered with, so a double press extends once. The "copy sent" buttons carry the
receipt date they were shown with (today / yesterday); a typed date is read with
``cases.intake.validation.parse_date``.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_, format_date
from cases.intake.forms import PROCEDURE_NAMES, PROVISIONAL_NOTE, Procedure
from cases.intake.service import STAFF_EVENT_TEXTS, IntakeService
from cases.intake.validation import TextLimits, ValidationError, clean_text, parse_date
from cases.law.deadline_rules import RULES, citation
from cases.org.organisation import Organisation
from cases.org.users import Role, User
from cases.petitions.handover import PetitionHandover, live_handovers
from cases.procedures.access import (
    EXTENSION_RULES,
    StaffCaseView,
    available_actions,
    extendable_deadline,
    extension_left,
    open_cases_for,
    review_period_ended,
    staff_case_view,
)
from cases.procedures.actions import (
    PETITION_COMPLAINT,
    RECEIPT_BEFORE_ACCEPTANCE,
    RECEIPT_IN_FUTURE,
    REVIEW_PERIOD_ENDED,
    Action,
    ActionInput,
    ActionResult,
    CaseActions,
    Outcome,
)
from cases.procedures.history import STAFF
from cases.procedures.statuses import CaseStatus, staff_status_text
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock, legal_today
from handlers.case_file import application_button, send_case_file
from handlers.filters import HasRole, NotCommand, When
from handlers.keyboards import button, grid
from handlers.petition_agency import (
    handover_buttons,
    handover_status,
    list_status,
    open_for_agency,
)
from handlers.texts import current_locale, event_text, t

STAFF_ROLES = (Role.admin, Role.office_staff, Role.mediator)
HISTORY_SHOWN = 8
LIST_LIMIT = 20  # keeps /cases inside Telegram's 4096 characters
EXTENSION_CHOICES = (5, 10, 15, 30)
SUPPLY_EXTENSION_CHOICES = (3, 5, 10)
"""Working days added to the 补正 period (F7 is counted in working days, FY 31(2), 88(2))."""


class Nav(StrEnum):
    """Buttons that move around, not act."""

    view = "view"
    open = "open"  # from /cases: the application as filed, then the page
    list = "list"


class Step(StrEnum):
    """What a press of an action's button means."""

    ask = ""  # the first press: ask for the choice, the reason or the confirmation
    confirm = "y"  # confirmed (with the reason's fingerprint when one was typed)
    ordinary = "o"  # accept: the ordinary procedure
    simplified = "s"  # accept: the simplified procedure (FY 53)
    terminating = "t"  # suspend: death, incapacity, end of an organisation (FY 39(1) 1, 2, 4)
    other_ground = "g"  # suspend: another ground


class StaffAction(CallbackData, prefix="staff"):
    """``staff:<action>:<case_id>:<step>:<v>:<days>:<h>:<on>`` (at most 58 bytes; Telegram
    allows 64): ``v`` is the extension total the button was shown with (a double press extends
    once), ``days`` the days it adds, ``h`` the fingerprint of the typed reason it acts on,
    ``on`` the receipt day a "copy sent" button stands for."""

    action: Action | Nav
    case_id: int = Field(ge=0, lt=2**63)  # a forged huge id must not reach SQLite
    step: Step = Step.ask
    v: int = Field(default=0, ge=0, lt=1000)
    days: int = Field(default=0, ge=0, lt=1000)
    h: str = Field(default="", pattern=r"^[0-9a-f]{0,8}$")
    on: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2})?$")

    @property
    def day(self) -> date | None:
        """The receipt day of a "copy sent" button (aiogram packs no dates: ISO text)."""
        try:
            return date.fromisoformat(self.on) if self.on else None
        except ValueError:
            return None


class StaffInput(StatesGroup):
    text = State()


ACTION_LABELS: dict[Action, str] = {
    Action.accept: N_("✅ Accept (受理)"),
    Action.refuse: N_("⛔ Do not accept (不予受理)"),
    Action.correct: N_("📝 Ask for more material (补正)"),
    Action.corrected: N_("📥 Material received (补正材料已收到)"),
    Action.extend: N_("⏳ Extend the time limit (延长)"),
    Action.suspend: N_("⏸ Suspend (中止)"),
    Action.resume: N_("▶️ Resume (恢复审理)"),
    Action.decide: N_("⚖️ Decision made (作出决定)"),
    Action.conclude: N_("📄 Handling opinion issued (出具处理意见)"),
    Action.agreed: N_("🤝 Agreement reached (调解成功)"),
    Action.failed: N_("✖️ No agreement (调解不成)"),
    Action.copy_sent: N_("📤 Copy sent to the respondent (申请书副本已发送)"),
    Action.extend_supply: N_("⏳ More time to supply material (延长补正期限)"),
    Action.deem_withdrawn: N_("🗂 Deemed withdrawn (视为放弃)"),
    Action.reply_received: N_("📬 Reply and evidence received (答复和证据已收到)"),
}
PETITION_ACCEPT = N_("✅ Accept / forward (受理·转送)")
PETITION_ACCEPT_BY_KIND: dict[str, str] = {
    # XF 29: suggestions go to the bodies concerned; XF 30: reports go to 纪检监察.
    "suggestion": N_("📨 Forward to the body concerned (转送有关机关)"),
    "report": N_("📨 Forward to the discipline inspection body (转纪检监察机关)"),
}
FORWARDED_DONE: dict[str, str] = {
    "competent_body": N_(
        "Done: the suggestion is forwarded to the body concerned; no handling-opinion time "
        "limit applies (Regulations on Letters and Visits Work, Art. 29). The petitioner is "
        "told."
    ),
    "discipline_body": N_(
        "Done: the report is forwarded to the discipline inspection and supervision body "
        "(Regulations on Letters and Visits Work, Art. 30). The petitioner is told, with "
        "nothing about the persons or the matter reported."
    ),
}
CONFIRM_TEXTS: dict[Action, str] = {
    Action.reply_received: N_(
        "Confirm: the respondent's written reply and evidence in case {number} arrived on "
        "paper today (Administrative Reconsideration Law, Art. 48)? The reply period closes and "
        "its reminders stop."
    ),
    Action.decide: N_("Confirm: the reconsideration decision in case {number} was made today?"),
    Action.conclude: N_(
        "Confirm: the written handling opinion in case {number} was issued today?"
    ),
    Action.agreed: N_("Confirm: the mediation in case {number} ended with an agreement today?"),
    Action.failed: N_("Confirm: the mediation in case {number} ended without an agreement?"),
    Action.deem_withdrawn: N_(
        "Confirm: the applicant in case {number} did not supply the material by {supply_due} "
        "and gave no good reason? The application is then deemed abandoned and the case "
        "closes (Administrative Reconsideration Law, Art. 31(2)). If there was a good reason, "
        "record the material as received instead."
    ),
}
ASK_TEXTS: dict[Action, str] = {
    Action.refuse: N_(
        "Case {number}: type the reason for not accepting the application. The applicant "
        "receives it (Administrative Reconsideration Law, Art. 30(2))."
    ),
    Action.correct: N_(
        "Case {number}: list in one message everything the applicant must supply or correct; "
        "only one such notice may be sent (Administrative Reconsideration Law, Art. 31(1)). "
        "The applicant gets 10 working days."
    ),
    Action.extend: N_(
        "Case {number}: type the reason for the extension. The applicant is told it, and you "
        "are recorded as the approver."
    ),
    Action.suspend: N_("Case {number}: type the reason for suspending. The applicant is told it."),
    Action.extend_supply: N_(
        "Case {number}: type the good reason why the applicant cannot supply the material in "
        "time. The applicant is told it, and you are recorded as the approver "
        "(Administrative Reconsideration Law, Art. 31(2))."
    ),
}
REASON_NOT_PENDING = N_(
    "Nothing was done: this button was for a typed reason that has since been replaced or "
    "set aside. Use the buttons under your latest reason, or choose the action again."
)
REASON_CONFIRM_TEXTS: dict[Action, str] = {
    Action.reply_received: N_(
        "Confirm: the respondent's written reply and evidence in case {number} arrived on "
        "paper today (Administrative Reconsideration Law, Art. 48)? The reply period closes and "
        "its reminders stop."
    ),
    Action.refuse: N_(
        "Case {number}: not accept the application, with this reason? The applicant receives "
        "it as written, and this cannot be undone.\n\n{reason}"
    ),
    Action.correct: N_(
        "Case {number}: send this request for material? Only one such notice may be sent.\n\n"
        "{reason}"
    ),
}
"""Irreversible actions on a typed text: the text is shown back and acts only when confirmed,
so a message typed later for something else (the prompt stays open) cannot refuse a case."""
COPY_SENT_ASK = N_(
    "Case {number}: on which day did the respondent receive the application copy? The "
    "respondent's reply period runs from that day ({days} working days, {basis}). Choose "
    "below or type the date."
)
ERROR_TEXTS = frozenset({REVIEW_PERIOD_ENDED, RECEIPT_IN_FUTURE, RECEIPT_BEFORE_ACCEPTANCE})
DONE_TEXTS: dict[Action, str] = {
    Action.accept: N_("Done: the case is accepted. The applicant is told."),
    Action.refuse: N_("Done: the application is not accepted. The applicant is told."),
    Action.correct: N_(
        "Done: the applicant is asked for the material, by {supply_due}. The acceptance review "
        "is paused."
    ),
    Action.corrected: N_("Done: a new acceptance review runs until {review_due}."),
    Action.extend: N_("Done: the time limit now ends on {new_due}. The applicant is told."),
    Action.suspend: N_("Done: the case is suspended. The applicant is told."),
    Action.resume: N_("Done: handling resumed; the decision is due by {decision_due}."),
    Action.decide: N_(
        "Done: the decision is recorded. The applicant is told that they may sue within 15 days."
    ),
    Action.conclude: N_(
        "Done: the handling opinion is recorded. The petitioner is told that they may ask for "
        "a review within 30 days."
    ),
    Action.agreed: N_(
        "Done: the agreement is recorded; judicial confirmation is due by {confirm_due}."
    ),
    Action.failed: N_("Done: the mediation is closed. The applicant is told the other routes."),
    Action.copy_sent: N_(
        "Done: the respondent received the copy on {received_on}; its written reply is due "
        "by {reply_due}. The respondent's liaison is reminded."
    ),
    Action.extend_supply: N_("Done: the material is now due by {new_due}. The applicant is told."),
    Action.deem_withdrawn: N_(
        "Done: the application is deemed abandoned and recorded. The applicant is told."
    ),
    Action.reply_received: N_(
        "Done: the respondent's written reply and evidence are recorded as received; the reply "
        "period is closed and its reminders stop."
    ),
}
PARTY_ROLES: dict[str, str] = {
    "applicant": N_("applicant"),
    "respondent": N_("respondent"),
    "third_party": N_("third party"),
    "agent": N_("agent"),
    "other_party": N_("other party"),
    "representative": N_("representative"),
}
ACTOR_NAMES: dict[str, str] = {
    # The same msgids as the reminder texts (scheduling.sender), so one translation serves both.
    "citizen": N_("applicant"),
    "other_party": N_("other party"),
    "mediator": N_("mediator"),
    "office_staff": N_("office staff"),
    "agency_liaison": N_("agency liaison"),
    "agency_head": N_("agency head"),
    "admin": N_("administrator"),
    "system": N_("system"),
}
ALREADY_TEXT = N_("This was already done, or the case has moved on. Here is its current state.")
NOT_AVAILABLE = N_("This case is not available to you.")


# -- rendering ----------------------------------------------------------------------------------


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


def _accept_label(view: StaffCaseView) -> str:
    kind = view.petition_kind or PETITION_COMPLAINT
    return PETITION_ACCEPT_BY_KIND.get(kind, PETITION_ACCEPT)


def staff_case_keyboard(view: StaffCaseView, user: User, today: date) -> InlineKeyboardMarkup:
    buttons = []
    for action in available_actions(view, user, today=today):
        label = (
            _accept_label(view)
            if action is Action.accept and view.procedure is Procedure.petition
            else ACTION_LABELS[action]
        )
        buttons.append(button(_(label), StaffAction(action=action, case_id=view.id)))
    buttons += handover_buttons(view, user)  # a petition assigned or transferred (XF 22)
    buttons.append(application_button(view.id))
    buttons.append(button(_("🔄 Refresh"), _nav(view.id)))
    buttons.append(button(_("📋 Open cases"), _nav(0, Nav.list)))
    return grid(buttons)


async def _show(
    message: Message, view: StaffCaseView, user: User, today: date, note: str | None = None
) -> None:
    text = staff_case_text(view)
    if note:
        text = f"{note}\n\n{text}"
    await message.answer(text, reply_markup=staff_case_keyboard(view, user, today))


async def open_staff_case(
    query: CallbackQuery,
    case_id: int,
    user: User,
    intake: IntakeService,
    db: Database,
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
    view = await intake.staff_view(case_id, user)
    if view is None:
        # The respondent agency answering a reconsideration (FY 48) reads the extract only.
        if not await send_case_file(message, case_id, user, db, intake.org):
            return False
        await query.answer()
        return True
    await query.answer()
    await send_case_file(message, case_id, user, db, intake.org)
    await _show(message, view, user, intake.today())
    return True


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
        buttons.append(button(label, _nav(case.id, Nav.open)))
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


# -- buttons ------------------------------------------------------------------------------------


def _nav(case_id: int, nav: Nav = Nav.view) -> StaffAction:
    return StaffAction(action=nav, case_id=case_id)


def _confirm_keyboard(case_id: int, action: Action, fingerprint: str = "") -> InlineKeyboardMarkup:
    return grid(
        [
            button(
                _("Yes, confirm"),
                StaffAction(action=action, case_id=case_id, step=Step.confirm, h=fingerprint),
            ),
            button(_("Cancel"), _nav(case_id)),
        ],
        width=2,
    )


def _fingerprint(reason: str) -> str:
    """A button shown under a typed reason carries a short fingerprint of that reason: the
    prompt stays open, a later text replaces the stored reason, and the older button must then
    not act on the newer text."""
    return hashlib.sha256(reason.encode()).hexdigest()[:8]


async def _pending_reason(state: FSMContext, data: StaffAction) -> str | None:
    """The typed reason this button was shown for, if it is still the one pending."""
    stored = await state.get_data()
    reason = stored.get("reason")
    if (
        stored.get("case_id") != data.case_id
        or stored.get("action") != str(data.action)
        or not reason
    ):
        return None
    return str(reason) if _fingerprint(str(reason)) == data.h else None


def _days_keyboard(
    case_id: int, left: int | None, total: int, action: Action, reason: str
) -> InlineKeyboardMarkup:
    supply = action is Action.extend_supply
    offered = SUPPLY_EXTENSION_CHOICES if supply else EXTENSION_CHOICES
    limit = left if left is not None else max(offered)
    choices = sorted({d for d in offered if d <= limit} | {limit})
    label = N_("{days} working days") if supply else N_("{days} days")
    fingerprint = _fingerprint(reason)
    return grid(
        [
            button(
                t(label, days=d),
                StaffAction(
                    action=action,
                    case_id=case_id,
                    step=Step.confirm,
                    days=d,
                    v=total,
                    h=fingerprint,
                ),
            )
            for d in choices
            if d > 0
        ]
        + [button(_("Cancel"), _nav(case_id))],
        width=2,
    )


def _facts(result: ActionResult) -> dict[str, object]:
    """ISO dates in an action's facts become dates (written with the weekday)."""
    return {
        key: date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else value
        for key, value in result.facts.items()
    }


async def _report(
    message: Message,
    result: ActionResult,
    action: Action,
    case_id: int,
    user: User,
    db: Database,
    today: date,
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
    view = await staff_case_view(db, case_id, user)
    if view is None:
        await message.answer(note)
        return
    await _show(message, view, user, today, note)


def _copy_sent_keyboard(view: StaffCaseView, today: date) -> InlineKeyboardMarkup:
    """今天 / 昨天 carry the date they stand for when shown (a press after midnight keeps it)."""
    choices = [(N_("Today"), today), (N_("Yesterday"), today - timedelta(days=1))]
    return grid(
        [
            button(
                _(label),
                StaffAction(
                    action=Action.copy_sent, case_id=view.id, step=Step.confirm, on=day.isoformat()
                ),
            )
            for label, day in choices
            if view.accepted_on is None or day >= view.accepted_on
        ]
        + [button(_("Cancel"), _nav(view.id))],
        width=2,
    )


async def _ask_copy_sent(
    message: Message, view: StaffCaseView, state: FSMContext, today: date
) -> None:
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
        reply_markup=_copy_sent_keyboard(view, today),
    )


# -- one handler per action -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pressed:
    """A staff button pressed on a case this person may open, for an action it offers now."""

    message: Message
    view: StaffCaseView
    action: Action
    today: date

    @property
    def number(self) -> str:
        return f"<code>{self.view.number}</code>"


async def _pressed(
    query: CallbackQuery,
    data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
) -> Pressed | None:
    """Authorise the press (role, case, the action the status offers today); None when it was
    answered here: not available, the review period ended, or already done."""
    message = query.message if isinstance(query.message, Message) else None
    view = await staff_case_view(db, data.case_id, user)
    if view is None or message is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return None
    await query.answer()
    today = legal_today(clock)
    action = Action(data.action)
    ended = review_period_ended(view, today) if view.status is CaseStatus.submitted else None
    if action in (Action.correct, Action.refuse) and ended is not None:
        # FY 30(3): a button from before the review period ended.
        await state.clear()
        await _show(message, view, user, today, "❗ " + t(REVIEW_PERIOD_ENDED, review_due=ended))
        return None
    if action not in available_actions(view, user, today=today):
        await _show(message, view, user, today, _(ALREADY_TEXT))
        return None
    return Pressed(message, view, action, today)


async def _done(pressed: Pressed, result: ActionResult, user: User, db: Database) -> None:
    await _report(
        pressed.message, result, pressed.action, pressed.view.id, user, db, pressed.today
    )


async def _ask_reason(pressed: Pressed, state: FSMContext) -> None:
    await state.set_state(StaffInput.text)
    await state.set_data({"case_id": pressed.view.id, "action": pressed.action.value})
    await pressed.message.answer(t(ASK_TEXTS[pressed.action], number=pressed.number))


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


async def on_view(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
    org: Organisation,
) -> None:
    view = await staff_case_view(db, callback_data.case_id, user)
    if view is None or not isinstance(query.message, Message):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await state.clear()
    if callback_data.action is Nav.open:
        await send_case_file(query.message, view.id, user, db, org)
    await _show(query.message, view, user, legal_today(clock))


async def on_accept(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
    actions: CaseActions,
) -> None:
    """受理: a reconsideration asks the procedure first (FY 53); a petition acts at once."""
    pressed = await _pressed(query, callback_data, state, user, db, clock)
    if pressed is None:
        return
    track = callback_data.step
    if pressed.view.procedure is Procedure.reconsideration and track not in (
        Step.ordinary,
        Step.simplified,
    ):
        case_id = pressed.view.id
        await pressed.message.answer(
            t(
                "Case {number}: accept under which procedure? The simplified procedure "
                "suits clear facts and small disputes, or when the parties agree "
                "(Administrative Reconsideration Law, Art. 53).",
                number=pressed.number,
            ),
            reply_markup=grid(
                [
                    button(
                        _("Ordinary procedure (60 days)"),
                        StaffAction(action=Action.accept, case_id=case_id, step=Step.ordinary),
                    ),
                    button(
                        _("Simplified procedure (30 days)"),
                        StaffAction(action=Action.accept, case_id=case_id, step=Step.simplified),
                    ),
                    button(_("Cancel"), _nav(case_id)),
                ]
            ),
        )
        return
    given = ActionInput(simplified=track is Step.simplified)
    await _done(pressed, await actions.run(Action.accept, pressed.view.id, user, given), user, db)


async def on_confirmed(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
    actions: CaseActions,
) -> None:
    """Decide, conclude, mediation outcomes, deemed withdrawn: shown back, then confirmed."""
    pressed = await _pressed(query, callback_data, state, user, db, clock)
    if pressed is None:
        return
    if callback_data.step is not Step.confirm:
        f7 = pressed.view.running("F7")
        await pressed.message.answer(
            t(
                CONFIRM_TEXTS[pressed.action],
                number=pressed.number,
                supply_due=f7.due_on if f7 else "—",
            ),
            reply_markup=_confirm_keyboard(pressed.view.id, pressed.action),
        )
        return
    # The office records a reply that came on paper; the liaison's own reply comes through
    # handlers.agency_reply.
    given = ActionInput(paper=True) if pressed.action is Action.reply_received else None
    result = await actions.run(pressed.action, pressed.view.id, user, given)
    await _done(pressed, result, user, db)


async def on_direct(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
    actions: CaseActions,
) -> None:
    """Material received, resume: nothing to choose or type."""
    pressed = await _pressed(query, callback_data, state, user, db, clock)
    if pressed is None:
        return
    await _done(pressed, await actions.run(pressed.action, pressed.view.id, user), user, db)


async def on_copy_sent(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
    actions: CaseActions,
) -> None:
    """申请书副本已发送: the receipt day from a button (today / yesterday) or typed."""
    pressed = await _pressed(query, callback_data, state, user, db, clock)
    if pressed is None:
        return
    if callback_data.day is None:
        await _ask_copy_sent(pressed.message, pressed.view, state, pressed.today)
        return
    await state.clear()
    given = ActionInput(received_on=callback_data.day)
    await _done(
        pressed, await actions.run(Action.copy_sent, pressed.view.id, user, given), user, db
    )


async def on_reasoned(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
    actions: CaseActions,
) -> None:
    """Refuse, 补正, extend, suspend: the first press asks for the reason; the buttons under
    the typed reason act on it (and only on it: its fingerprint)."""
    pressed = await _pressed(query, callback_data, state, user, db, clock)
    if pressed is None:
        return
    if callback_data.step is Step.ask:
        await _ask_reason(pressed, state)
        return
    reason = await _pending_reason(state, callback_data)
    if reason is None:
        await _show(pressed.message, pressed.view, user, pressed.today, _(REASON_NOT_PENDING))
        return
    await state.clear()
    action = pressed.action
    if action in EXTENSION_RULES:
        given = ActionInput(days=callback_data.days, reason=reason, expected_total=callback_data.v)
    elif action is Action.suspend:
        given = ActionInput(
            reason=reason, terminating_ground=callback_data.step is Step.terminating
        )
    elif action is Action.correct:
        given = ActionInput(missing=reason)
    else:
        given = ActionInput(reason=reason)
    await _done(pressed, await actions.run(action, pressed.view.id, user, given), user, db)


BUTTON_HANDLERS: tuple[tuple[Any, tuple[Action, ...]], ...] = (
    (on_accept, (Action.accept,)),
    (on_reasoned, (Action.refuse, Action.correct, Action.extend, Action.extend_supply)),
    (on_reasoned, (Action.suspend,)),
    (on_direct, (Action.corrected, Action.resume)),
    (on_copy_sent, (Action.copy_sent,)),
    (
        on_confirmed,
        (
            Action.decide,
            Action.conclude,
            Action.agreed,
            Action.failed,
            Action.deem_withdrawn,
            Action.reply_received,
        ),
    ),
)
"""Which handler serves which action's button (every action has exactly one)."""


# -- typed reasons ------------------------------------------------------------------------------


async def staff_text(
    message: Message,
    state: FSMContext,
    user: User,
    db: Database,
    clock: Clock,
    actions: CaseActions,
) -> None:
    assert message.text is not None
    data = await state.get_data()
    case_id = data.get("case_id")
    try:
        action = Action(str(data.get("action")))
    except ValueError:
        await state.clear()
        return
    view = await staff_case_view(db, case_id, user) if isinstance(case_id, int) else None
    if view is None:
        await state.clear()
        await message.answer(_(NOT_AVAILABLE))
        return
    try:
        text = clean_text(message.text, max_len=TextLimits.REQUEST)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    today = legal_today(clock)
    number = f"<code>{view.number}</code>"
    if action is Action.copy_sent:
        if action not in available_actions(view, user, today=today):
            await state.clear()
            await _show(message, view, user, today, _(ALREADY_TEXT))
            return
        try:
            received_on = parse_date(text, today=today, not_before=view.accepted_on)
        except ValidationError as error:
            await message.answer(
                "❗ " + error.render(current_locale()),
                reply_markup=_copy_sent_keyboard(view, today),
            )
            return
        await state.clear()
        result = await actions.copy_sent(view.id, user, received_on=received_on)
        await _report(message, result, action, view.id, user, db, today)
        return
    if action in EXTENSION_RULES:
        deadline = extendable_deadline(view, EXTENSION_RULES[action])
        if deadline is None or action not in available_actions(view, user, today=today):
            await state.clear()
            await _show(message, view, user, today, _(ALREADY_TEXT))
            return
        await state.update_data(reason=text)
        left = extension_left(deadline)
        prompt = (
            N_(
                "Case {number}: the material is now due by {date}. Add how many working days? "
                "Grant a reasonable time for the reason given."
            )
            if action is Action.extend_supply
            else N_(
                "Case {number}: extend “{what}” (now by {date}) by how many days? As the "
                "approver you may grant up to {left} more days."
            )
        )
        await message.answer(
            t(
                prompt,
                number=number,
                what=_(deadline.title),
                date=deadline.due_on,
                left=left if left is not None else "—",
            ),
            reply_markup=_days_keyboard(view.id, left, deadline.extension_days, action, text),
        )
        return
    if action is Action.suspend:
        await state.update_data(reason=text)
        await message.answer(
            t(
                "Case {number}: on which ground? For death, incapacity or the end of an "
                "organisation (Art. 39(1) items 1, 2, 4) the case ends after 60 days if the "
                "cause persists (Art. 41).",
                number=number,
            ),
            reply_markup=grid(
                [
                    button(
                        _("Death, incapacity or end of an organisation"),
                        StaffAction(
                            action=Action.suspend,
                            case_id=view.id,
                            step=Step.terminating,
                            h=_fingerprint(text),
                        ),
                    ),
                    button(
                        _("Another ground (mediation, awaiting another case …)"),
                        StaffAction(
                            action=Action.suspend,
                            case_id=view.id,
                            step=Step.other_ground,
                            h=_fingerprint(text),
                        ),
                    ),
                    button(_("Cancel"), _nav(view.id)),
                ]
            ),
        )
        return
    if action in REASON_CONFIRM_TEXTS:
        await state.update_data(reason=text)
        await message.answer(
            t(REASON_CONFIRM_TEXTS[action], number=number, reason=html.escape(text)),
            reply_markup=_confirm_keyboard(view.id, action, _fingerprint(text)),
        )


def build_router() -> Router:
    """A new Router per call (a router belongs to one Dispatcher; tests build many)."""
    router = Router(name="staff")
    router.message.filter(HasRole(*STAFF_ROLES))
    router.callback_query.filter(HasRole(*STAFF_ROLES))
    router.message.register(command_cases, Command("cases"))
    router.callback_query.register(on_list, StaffAction.filter(F.action == Nav.list))
    router.callback_query.register(on_view, StaffAction.filter(F.action.in_({Nav.view, Nav.open})))
    for handler, served in BUTTON_HANDLERS:
        for action in served:
            # CallbackData.filter() is a Filter subclass: evaluated on the loop, no thread hop.
            router.callback_query.register(handler, StaffAction.filter(F.action == action))
    router.message.register(
        staff_text, StateFilter(StaffInput.text), When(F.text & ~F.text.startswith("/"))
    )
    router.message.register(staff_not_text, StateFilter(StaffInput.text), NotCommand())
    return router


async def staff_not_text(message: Message) -> None:
    """A sticker or photo while a reason is asked: the prompt stays open (not the citizens'
    fallback with its main menu)."""
    await message.answer(_("Please type your answer as a text message."))


__all__ = ["StaffAction", "build_router", "open_staff_case"]
