"""行政应诉 for staff: register a court case (/lawsuit), follow open cases (/lawsuits), record
who appeared at each hearing, and the year's 出庭 figures (/appearance).

Registering writes the L3 defence period and the L7 hearing that the reminder planner reads.
Administrators and office staff reach every handler (``HasRole``). An agency's liaison and
head see their own agency's open court cases (/lawsuits, read-only cards) and may record that
the defence was filed: they are the ones who file it. Anyone else falls through to the
fallback router, which says whose command it is. Buttons carry ids only; every
press loads the court case again and checks that the item still belongs to it and is open.

The form keeps its answers in FSM data (a small JSON dict: the form is short and staff-only).
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.clock import LEGAL_TZ, from_db, to_db
from cases.deadlines import RULES
from cases.forms import PROVISIONAL_NOTE
from cases.litigation import (
    ATTENDANCE_NAMES,
    HEARING_NOT_STARTED,
    LIMITS,
    UNKNOWN_AGENCY,
    Hearing,
    HearingNotFound,
    Lawsuit,
    LawsuitNotFound,
    LitigationService,
    RegisterLawsuit,
    find_agency,
    parse_hearing_time,
)
from cases.texts import N_, format_date
from cases.users import Role, User
from cases.validation import ValidationError, clean_text, parse_date, parse_yes_no
from handlers.filters import HasRole, NotCommand, When
from handlers.keyboards import button, grid
from handlers.replies import edit_text
from handlers.texts import current_locale, joined, t
from scheduling.digest import telegram_length
from scheduling.planner import PlannedRow, Planner

STAFF = HasRole(Role.admin, Role.office_staff)
AGENCY = HasRole(Role.agency_liaison, Role.agency_head)
AGENCY_ACTIONS = frozenset({"open", "filed"})
"""What an agency's own people may do on its court case card: look, and record the defence."""
LIST_LIMIT = 20
"""Open court cases listed by /lawsuits (one line and one button each), the most urgent first."""
LIST_MAX_CHARS = 3800
"""/lawsuits is one message: Telegram refuses more than 4,096 characters, and one message per
court case would run into its limit of about one message a second to a chat (429)."""
BUTTON_LABEL_MAX = 32
COMPLAINT_MAX_AGE_DAYS = 2 * 365
"""How far back the complaint copy may have been received (see ``_parse``)."""
COMPLAINT_TOO_OLD = N_(
    "Please check the year: a court case can be registered only if its complaint copy was "
    "received in the last two years, on or after {date}."
)
FIRST_STATS_YEAR = 2000
"""/appearance accepts years from this one to next year: anything else is a typing mistake
(and year 0 or 9999 cannot even be turned into the year's start and end times)."""

RowId = Annotated[int, Field(ge=0, lt=2**63)]
"""An id SQLite can hold: a forged button with a larger number fails the filter (the polite
stale-button answer) instead of making SQLite raise OverflowError."""


class LitigationForm(StatesGroup):
    registering = State()
    appearance = State()
    hearing = State()


class FormButton(CallbackData, prefix="lsf"):
    """A button of the registration form: ``step`` is the question it answers."""

    step: str
    action: str  # pick | yes | no | skip | register | cancel
    value: RowId = 0


class CaseButton(CallbackData, prefix="lsc"):
    """A button of a court case: open (its card, from /lawsuits), filed (item: defence id),
    appear (item: hearing id), hearing (add one), close, close_yes."""

    action: str
    lawsuit_id: RowId
    item_id: RowId = 0


class AppearanceButton(CallbackData, prefix="lsa"):
    hearing_id: RowId
    step: str  # head | who | excuse
    action: str  # yes | no | lawyer | nobody | skip


# --- the registration form as data ------------------------------------------------------------

STEPS: tuple[str, ...] = (
    "agency",
    "court",
    "court_case_number",
    "plaintiff",
    "act_challenged",
    "complaint_received_on",
    "hearing_at",
    "major",
    "court_requested_head",
)
YES_NO_STEPS = frozenset({"major", "court_requested_head"})
TEXT_STEPS = frozenset({"court", "court_case_number", "plaintiff", "act_challenged"})

PROMPTS: dict[str, str] = {
    "agency": N_("Which agency is the defendant? Press its button, or type its name."),
    "court": N_("Which court is hearing the case? For example: 谷城县人民法院."),
    "court_case_number": N_(
        "What is the court's case number, as written on the complaint copy? For example: "
        "（2026）鄂0625行初12号."
    ),
    "plaintiff": N_(
        "Who is the plaintiff? The name of the person or organisation; for several, for "
        "example: 张三等3人."
    ),
    "act_challenged": N_(
        "Which administrative act is challenged? For example the decision and its document number."
    ),
    "complaint_received_on": N_(
        "On which date did the agency receive the copy of the complaint? The 15 days for "
        "filing the evidence and the defence run from that date (《行政诉讼法》第六十七条)."
    ),
    "hearing_at": N_(
        "When is the hearing? Type the date and time, for example {example}. If the court "
        "has not set it yet, press “Not set yet”."
    ),
    "major": N_(
        "Is this a major case: one touching a major public interest, of high public concern, "
        "or liable to cause a mass incident (群体性事件)? In such cases the agency head must "
        "appear in court in person (最高人民法院关于适用《行政诉讼法》的解释 第一百二十九条)."
    ),
    "court_requested_head": N_(
        "Has the court suggested in writing that the agency head appear in court?"
    ),
}
LABELS: dict[str, str] = {
    "agency": N_("Defendant agency"),
    "court": N_("Court"),
    "court_case_number": N_("Court case number"),
    "plaintiff": N_("Plaintiff"),
    "act_challenged": N_("Act challenged"),
    "complaint_received_on": N_("Complaint copy received on"),
    "hearing_at": N_("Court hearing"),
    "major": N_("Major case"),
    "court_requested_head": N_("Court asked for the head in writing"),
}


# --- helpers ----------------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    """2026年12月10日（星期四）09:30, in Gucheng time."""
    local = moment.astimezone(LEGAL_TZ)
    return f"{format_date(local.date(), current_locale())} {local:%H:%M}"


def _example(service: LitigationService) -> str:
    """A hearing time two weeks ahead, as an example that is never in the past."""
    return f"{(service.today() + timedelta(days=14)).isoformat()} 09:30"


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _error(error: ValidationError) -> str:
    return "❗ " + error.render(current_locale())


# --- registration -----------------------------------------------------------------------------


def _next_step(answers: dict[str, Any]) -> str | None:
    return next((step for step in STEPS if step not in answers), None)


def _question(step: str, service: LitigationService) -> tuple[str, InlineKeyboardMarkup | None]:
    if step == "agency":
        locale = current_locale()
        buttons = [
            button(agency.display_name(locale), FormButton(step=step, action="pick", value=i))
            for i, agency in enumerate(service.org.agencies)
        ]
        return _(PROMPTS[step]), grid(buttons, 2)
    if step == "hearing_at":
        example = _example(service)
        keyboard = grid([button(_("Not set yet"), FormButton(step=step, action="skip"))])
        return t(PROMPTS[step], example=example), keyboard
    if step in YES_NO_STEPS:
        keyboard = grid(
            [
                button(_("Yes"), FormButton(step=step, action="yes")),
                button(_("No"), FormButton(step=step, action="no")),
            ],
            2,
        )
        return _(PROMPTS[step]), keyboard
    return _(PROMPTS[step]), None


def _display(step: str, value: Any, service: LitigationService) -> str:
    if step == "agency":
        return service.org.agency(value).display_name(current_locale())
    if step == "complaint_received_on":
        return format_date(date.fromisoformat(value), current_locale())
    if step == "hearing_at":
        return _when(from_db(value)) if value else _("Not set yet")
    if step in YES_NO_STEPS:
        return _yes_no(bool(value))
    return str(value)


def _summary(answers: dict[str, Any], service: LitigationService) -> str:
    lines = [f"<b>{html.escape(_('New court case (行政应诉)'))}</b>", _("Please check:"), ""]
    lines += [
        f"<b>{html.escape(_(LABELS[step]))}</b>: "
        f"{html.escape(_display(step, answers.get(step), service))}"
        for step in STEPS
    ]
    return "\n".join(lines)


def _summary_keyboard() -> InlineKeyboardMarkup:
    return grid(
        [
            button(_("✅ Register"), FormButton(step="summary", action="register")),
            button(_("✖️ Cancel"), FormButton(step="summary", action="cancel")),
        ],
        2,
    )


async def _ask_next(
    message: Message,
    state: FSMContext,
    answers: dict[str, Any],
    service: LitigationService,
    prefix: str | None = None,
) -> None:
    step = _next_step(answers)
    await state.set_state(LitigationForm.registering)
    await state.set_data({"step": step or "summary", "answers": answers})
    if step is None:
        text, keyboard = _summary(answers, service), _summary_keyboard()
    else:
        text, keyboard = _question(step, service)
    if prefix:
        text = prefix + "\n\n" + text
    await message.answer(text, reply_markup=keyboard)


async def start_lawsuit(
    message: Message, state: FSMContext, litigation: LitigationService
) -> None:
    await _ask_next(
        message,
        state,
        {},
        litigation,
        prefix=_(
            "Register a court case against an agency. One question at a time; /cancel stops."
        ),
    )


def _parse(step: str, text: str, answers: dict[str, Any], service: LitigationService) -> Any:
    """The answer to ``step`` as stored in the form data (JSON), or ValidationError."""
    if step == "agency":
        agency = find_agency(service.org, text)
        if agency is None:
            raise ValidationError(UNKNOWN_AGENCY)
        return agency.id
    if step in TEXT_STEPS:
        return clean_text(text, max_len=LIMITS[step])
    if step == "complaint_received_on":
        today = service.today()
        # Two years back: a court case still open that long after the complaint copy came
        # (first instance, extensions, an appeal) can still be registered for its hearings,
        # while a mistyped year (1900, 2006) is refused instead of giving an L3 deadline
        # decades ago.
        earliest = today - timedelta(days=COMPLAINT_MAX_AGE_DAYS)
        return parse_date(
            text,
            today=today,
            not_before=earliest,
            not_before_message=COMPLAINT_TOO_OLD,
        ).isoformat()
    if step == "hearing_at":
        moment = parse_hearing_time(text, now=service.now())
        service.check_hearing_time(moment, date.fromisoformat(answers["complaint_received_on"]))
        return to_db(moment)
    return parse_yes_no(text)


async def form_text(message: Message, state: FSMContext, litigation: LitigationService) -> None:
    assert message.text is not None
    data = await state.get_data()
    answers = dict(data.get("answers") or {})
    step = data.get("step")
    if step == "summary" or step not in STEPS:
        await message.answer(
            _("Please press “Register” or “Cancel”."), reply_markup=_summary_keyboard()
        )
        return
    try:
        answers[step] = _parse(step, message.text, answers, litigation)
    except ValidationError as error:
        _text, keyboard = _question(step, litigation)
        await message.answer(_error(error), reply_markup=keyboard)
        return
    await _ask_next(message, state, answers, litigation)


async def form_button(
    query: CallbackQuery,
    callback_data: FormButton,
    state: FSMContext,
    litigation: LitigationService,
    planner: Planner,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    data = await state.get_data()
    current = await state.get_state()
    if (
        message is None
        or current != LitigationForm.registering.state
        or data.get("step") != callback_data.step
    ):
        await query.answer(_("This question is no longer open."), show_alert=True)
        return
    await query.answer()
    answers = dict(data.get("answers") or {})
    step, action = callback_data.step, callback_data.action
    if step == "summary":
        if action == "cancel":
            await state.clear()
            await message.answer(_("Cancelled. Nothing was registered."))
        elif action == "register":
            await _register(message, query.from_user.id, state, answers, litigation, planner)
        return
    if step == "agency" and action == "pick":
        agencies = litigation.org.agencies
        if not 0 <= callback_data.value < len(agencies):
            await _ask_next(message, state, answers, litigation)
            return
        answers[step] = agencies[callback_data.value].id
    elif step in YES_NO_STEPS and action in ("yes", "no"):
        answers[step] = action == "yes"
    elif step == "hearing_at" and action == "skip":
        answers[step] = None
    else:
        await _ask_next(message, state, answers, litigation)
        return
    await _ask_next(message, state, answers, litigation)


async def _register(
    message: Message,
    user_id: int,
    state: FSMContext,
    answers: dict[str, Any],
    service: LitigationService,
    planner: Planner,
) -> None:
    try:
        lawsuit = await service.register_lawsuit(
            RegisterLawsuit(
                agency_id=answers["agency"],
                court=answers["court"],
                court_case_number=answers["court_case_number"],
                plaintiff=answers["plaintiff"],
                act_challenged=answers["act_challenged"],
                complaint_received_on=date.fromisoformat(answers["complaint_received_on"]),
                hearing_at=from_db(answers["hearing_at"]) if answers.get("hearing_at") else None,
                major=bool(answers["major"]),
                court_requested_head=bool(answers["court_requested_head"]),
                registered_by=user_id,
            )
        )
    except ValidationError as error:
        # e.g. the hearing time passed while the summary waited: ask that question again.
        if error.code == "past":
            answers.pop("hearing_at", None)
        await _ask_next(message, state, answers, service, prefix=_error(error))
        return
    await state.clear()
    await message.answer(await _receipt(lawsuit, service, planner))


# --- receipts and cards -----------------------------------------------------------------------

_ROLE_NAMES = {
    Role.agency_liaison: N_("agency liaison"),
    Role.agency_head: N_("agency head"),
}


def _reminder_lines(rows: list[PlannedRow], now: datetime) -> list[str]:
    """The planner's own rows for one source (Planner.preview), a line per moment: what will
    be sent and to which role. A step already past is the one catch-up sent right away."""
    moments: dict[datetime, list[Role]] = {}
    for row in sorted(rows, key=lambda r: r.due_at):
        roles = moments.setdefault(row.due_at, [])
        if row.audience not in roles:
            roles.append(row.audience)
    sep = ", " if current_locale() == "en" else "、"
    lines = []
    for moment, roles in moments.items():
        who = html.escape(sep.join(_(_ROLE_NAMES.get(role, role.value)) for role in roles))
        when = _("• one reminder right away") if moment <= now else f"• {_when(moment)}"
        lines.append(f"{when} — {who}")
    return lines or [_("• none")]


async def _receipt(lawsuit: Lawsuit, service: LitigationService, planner: Planner) -> str:
    number = f"<code>{html.escape(lawsuit.court_case_number)}</code>"
    lines = [
        t("✅ Court case {number} registered.", number=number)
        if lawsuit.created
        else t("Court case {number} was already registered for this agency.", number=number),
        t(
            "Defendant: {agency}; court: {court}.",
            agency=html.escape(lawsuit.agency),
            court=html.escape(lawsuit.court),
        ),
        "",
    ]
    defence = lawsuit.defence
    if defence is not None:
        basis = defence.basis if current_locale() != "en" else defence.basis_en
        lines.append(
            t(
                "File the evidence, the normative documents relied on and the defence by "
                "{date} (依据{basis}).",
                date=defence.due_on,
                basis=basis,
            )
        )
        lines.append(t("If missed: {effect}", effect=_(RULES["L3"].effect_when_missed)))
        if defence.provisional:
            lines.append(_(PROVISIONAL_NOTE))
        if defence.due_on < service.today():
            lines.append("⚠️ " + _("This time limit has already passed."))
    now = service.now()
    hearing = lawsuit.next_hearing(now)
    lines.append("")
    if hearing is not None:
        lines.append(
            t(
                "Hearing: {when}, {court}.",
                when=_when(hearing.starts_at),
                court=html.escape(lawsuit.court),
            )
        )
        lines.append(_head_rule(lawsuit.head_required))
    else:
        lines.append(_("Hearing: not set yet. Add it with /lawsuits when the court sets it."))
    lines += ["", _("Reminders:")]
    defence_open = defence is not None and defence.status == "open"
    planned = await planner.preview(await planner.lawsuit_sources(lawsuit.id))
    if defence_open:
        lines.append(_("Defence and evidence (《行政诉讼法》第六十七条):"))
        lines += _reminder_lines([r for r in planned if r.source.kind == "defence"], now)
    if hearing is not None:
        lines.append(_("Hearing (《行政诉讼法》第三条第三款):"))
        lines += _reminder_lines(_hearing_rows(planned, hearing.id), now)
    rules = [rule for rule, shown in (("L3", defence_open), ("L7", hearing)) if shown]
    missing = await planner.unstaffed_roles(rules, unit=lawsuit.agency_id)
    if missing:
        # Per agency, as the planner addresses them: other agencies' liaisons do not count.
        lines.append(
            t(
                "Nobody is registered in the bot as {roles} of {agency} yet, so the "
                "administrators receive these reminders for now.",
                roles=joined([_(_ROLE_NAMES.get(role, role.value)) for role in missing], "or"),
                agency=html.escape(lawsuit.agency),
            )
        )
    return "\n".join(lines)


def _hearing_rows(planned: list[PlannedRow], hearing_id: int) -> list[PlannedRow]:
    return [r for r in planned if r.source.kind == "hearing" and r.source.id == hearing_id]


def _head_rule(head_required: bool) -> str:
    if head_required:
        return _(
            "The agency head must appear in person (最高人民法院关于适用《行政诉讼法》的解释 "
            "第一百二十九条)."
        )
    return _(
        "The agency head should appear; if the head cannot, a competent staff member must "
        "appear. Sending only a lawyer is not permitted."
    )


def _card(
    lawsuit: Lawsuit, service: LitigationService, *, agency_view: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """The court case; ``agency_view``: the defendant agency's own people, who get only the
    "defence filed" button (hearings and appearances are the office's record)."""
    now = service.now()
    lines = [
        f"<b>{html.escape(lawsuit.court_case_number)}</b> · {html.escape(lawsuit.agency)}",
        t(
            "{court} · plaintiff: {plaintiff}",
            court=html.escape(lawsuit.court),
            plaintiff=html.escape(lawsuit.plaintiff),
        ),
    ]
    buttons = []
    defence = lawsuit.defence
    if defence is not None:
        if defence.status == "open":
            lines.append(t("Defence due: {date}", date=defence.due_on))
            buttons.append(
                button(
                    _("Defence filed"),
                    CaseButton(action="filed", lawsuit_id=lawsuit.id, item_id=defence.id),
                )
            )
        elif defence.status == "filed":
            lines.append(t("Defence filed on {date}", date=defence.filed_on or defence.due_on))
    to_record = lawsuit.hearings_to_record(now)
    for hearing in to_record:
        lines.append(
            t("Appearance not recorded yet: hearing of {when}", when=_when(hearing.starts_at))
        )
    upcoming = lawsuit.next_hearing(now)
    if upcoming is not None:
        lines.append(t("Next hearing: {when}", when=_when(upcoming.starts_at)))
    if lawsuit.head_required:
        lines.append(_("The agency head must appear in person."))
    if agency_view:
        return "\n".join(lines), grid(buttons, 2)
    target: Hearing | None = to_record[0] if to_record else upcoming
    if target is not None:
        buttons.append(
            button(
                _("Record appearance"),
                CaseButton(action="appear", lawsuit_id=lawsuit.id, item_id=target.id),
            )
        )
    buttons.append(button(_("Add a hearing"), CaseButton(action="hearing", lawsuit_id=lawsuit.id)))
    buttons.append(button(_("Close the case"), CaseButton(action="close", lawsuit_id=lawsuit.id)))
    return "\n".join(lines), grid(buttons, 2)


def _list_line(index: int, lawsuit: Lawsuit, service: LitigationService) -> str:
    """One court case of /lawsuits on one line: what needs doing first."""
    now = service.now()
    parts = []
    to_record = lawsuit.hearings_to_record(now)
    if to_record:
        parts.append(
            "⚠️ "
            + t(
                "Appearance not recorded yet: hearing of {when}",
                when=_when(to_record[0].starts_at),
            )
        )
    defence = lawsuit.defence
    if defence is not None and defence.status == "open":
        parts.append(t("Defence due: {date}", date=defence.due_on))
    upcoming = lawsuit.next_hearing(now)
    if upcoming is not None:
        parts.append(t("Next hearing: {when}", when=_when(upcoming.starts_at)))
    head = (
        f"{index}. <code>{html.escape(lawsuit.court_case_number)}</code>"
        f" · {html.escape(lawsuit.agency)}"
    )
    separator = "; " if current_locale() == "en" else "；"
    return head + (" — " + separator.join(parts) if parts else "")


def _label(index: int, lawsuit: Lawsuit) -> str:
    text = f"{index}. {lawsuit.court_case_number}"
    return text if len(text) <= BUTTON_LABEL_MAX else text[: BUTTON_LABEL_MAX - 1] + "…"


async def list_lawsuits(message: Message, litigation: LitigationService) -> None:
    """One message: a line per open court case, the most urgent first, and a button per case
    that opens its card with the action buttons."""
    await _show_list(
        message,
        await litigation.list_open(),
        litigation,
        empty=_("There are no open court cases. Register one with /lawsuit."),
    )


async def list_agency_lawsuits(
    message: Message, litigation: LitigationService, user: User
) -> None:
    """/lawsuits for an agency's liaison or head: their own agency's open court cases only."""
    if user.unit is None:
        await message.answer(
            _(
                "Your account is not linked to an agency yet, so no court cases can be shown. "
                "Please ask the administrator to link it."
            )
        )
        return
    await _show_list(
        message,
        await litigation.list_open(agency_id=user.unit),
        litigation,
        empty=_("Your agency has no open court cases."),
    )


async def _show_list(
    message: Message, lawsuits: list[Lawsuit], litigation: LitigationService, *, empty: str
) -> None:
    if not lawsuits:
        await message.answer(empty)
        return
    lines = [
        f"<b>{html.escape(t('Open court cases: {count}', count=len(lawsuits)))}</b>",
        _("Press a court case to open it."),
        "",
    ]
    used = sum(telegram_length(line) + 1 for line in lines)
    tail = telegram_length(t("… and {count} more", count=len(lawsuits))) + 1
    buttons = []
    for index, lawsuit in enumerate(lawsuits[:LIST_LIMIT], start=1):
        line = _list_line(index, lawsuit, litigation)
        if used + telegram_length(line) + 1 + tail > LIST_MAX_CHARS:
            break
        lines.append(line)
        used += telegram_length(line) + 1
        buttons.append(
            button(_label(index, lawsuit), CaseButton(action="open", lawsuit_id=lawsuit.id))
        )
    if len(buttons) < len(lawsuits):
        lines.append(t("… and {count} more", count=len(lawsuits) - len(buttons)))
    await message.answer("\n".join(lines), reply_markup=grid(buttons, 2))


# --- buttons under a court case ---------------------------------------------------------------


async def case_button(
    query: CallbackQuery,
    callback_data: CaseButton,
    state: FSMContext,
    litigation: LitigationService,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    try:
        lawsuit = await litigation.get(callback_data.lawsuit_id)
    except LawsuitNotFound:
        await query.answer(_("This court case is not open any more."), show_alert=True)
        return
    if message is None:
        await query.answer()
        return
    action, item = callback_data.action, callback_data.item_id
    if action == "open":
        await query.answer()
        text, keyboard = _card(lawsuit, litigation)
        await message.answer(text, reply_markup=keyboard)
    elif action == "filed":
        if lawsuit.defence is None or lawsuit.defence.id != item:
            await query.answer(_("This button is no longer valid."), show_alert=True)
            return
        changed = await litigation.mark_defence_filed(item, by=query.from_user.id)
        await query.answer(
            _("Recorded: the defence was filed. Its reminders stop.")
            if changed
            else _("This was already recorded.")
        )
        text, keyboard = _card(await litigation.get(lawsuit.id), litigation)
        await edit_text(message, text, reply_markup=keyboard)
    elif action == "appear":
        hearing = next((h for h in lawsuit.hearings if h.id == item), None)
        if hearing is None or hearing.status != "scheduled":
            await query.answer(_("This hearing was already recorded."), show_alert=True)
            return
        if hearing.starts_at > litigation.now():
            # The moment, not the day (the service checks it again when recording): the card
            # keeps this button for the next hearing, since a card opened before the hearing
            # stays in the chat and should still work once the hearing has begun.
            local = hearing.starts_at.astimezone(LEGAL_TZ)
            await query.answer(
                t(HEARING_NOT_STARTED, date=local.date(), time=f"{local:%H:%M}"),
                show_alert=True,
            )
            return
        await query.answer()
        await state.set_state(LitigationForm.appearance)
        await state.set_data({"hearing_id": hearing.id, "step": "head"})
        await _ask_appearance(message, hearing, "head", lawsuit)
    elif action == "hearing":
        await query.answer()
        await state.set_state(LitigationForm.hearing)
        await state.set_data({"lawsuit_id": lawsuit.id})
        await message.answer(_hearing_question(lawsuit, litigation))
    elif action == "close":
        await query.answer()
        await message.answer(
            _(
                "Close this court case? An open defence period and scheduled hearings are "
                "cancelled, and their reminders stop."
            ),
            reply_markup=grid(
                [
                    button(
                        _("Yes, close it"),
                        CaseButton(action="close_yes", lawsuit_id=lawsuit.id),
                    )
                ]
            ),
        )
    elif action == "close_yes":
        await litigation.close_lawsuit(lawsuit.id, by=query.from_user.id)
        await query.answer()
        await edit_text(
            message,
            t(
                "Court case {number} is closed.",
                number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
            ),
        )
    else:
        await query.answer(_("This button is no longer valid."), show_alert=True)


async def agency_case_button(
    query: CallbackQuery, callback_data: CaseButton, litigation: LitigationService, user: User
) -> None:
    """The card for the defendant agency's own people: only their agency's court cases, and
    only "open" and "defence filed"; any other button (forged or forwarded) is refused."""
    message = query.message if isinstance(query.message, Message) else None
    try:
        lawsuit = await litigation.get(callback_data.lawsuit_id)
    except LawsuitNotFound:
        lawsuit = None
    if (
        lawsuit is None
        or user.unit is None
        or lawsuit.agency_id != user.unit
        or callback_data.action not in AGENCY_ACTIONS
    ):
        await query.answer(_("This court case is not available to you."), show_alert=True)
        return
    if message is None:
        await query.answer()
        return
    if callback_data.action == "open":
        await query.answer()
        text, keyboard = _card(lawsuit, litigation, agency_view=True)
        await message.answer(text, reply_markup=keyboard)
        return
    if lawsuit.defence is None or lawsuit.defence.id != callback_data.item_id:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    changed = await litigation.mark_defence_filed(lawsuit.defence.id, by=query.from_user.id)
    await query.answer(
        _("Recorded: the defence was filed. Its reminders stop.")
        if changed
        else _("This was already recorded.")
    )
    text, keyboard = _card(await litigation.get(lawsuit.id), litigation, agency_view=True)
    await edit_text(message, text, reply_markup=keyboard)


def _hearing_question(lawsuit: Lawsuit, service: LitigationService) -> str:
    return t(
        "Court case {number}: when is the hearing? Type the date and time, for example {example}.",
        number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
        example=_example(service),
    )


async def hearing_text(
    message: Message, state: FSMContext, litigation: LitigationService, planner: Planner
) -> None:
    assert message.text is not None and message.from_user is not None
    lawsuit_id = (await state.get_data()).get("lawsuit_id")
    if not isinstance(lawsuit_id, int):
        await state.clear()
        await message.answer(_("This form is no longer open. Use /lawsuits."))
        return
    try:
        moment = parse_hearing_time(message.text, now=litigation.now())
        hearing = await litigation.add_hearing(lawsuit_id, moment, by=message.from_user.id)
    except ValidationError as error:
        await message.answer(_error(error))
        return
    except LawsuitNotFound:
        await state.clear()
        await message.answer(_("This court case is not open any more."))
        return
    await state.clear()
    lawsuit = await litigation.get(lawsuit_id)
    planned = await planner.preview(await planner.lawsuit_sources(lawsuit_id))
    lines = [
        t("Hearing added: {when}, {court}.", when=_when(moment), court=html.escape(lawsuit.court)),
        _head_rule(lawsuit.head_required),
        "",
        _("Reminders:"),
        *_reminder_lines(_hearing_rows(planned, hearing.id), litigation.now()),
    ]
    await message.answer("\n".join(lines))


# --- recording an appearance ------------------------------------------------------------------


async def _ask_appearance(
    message: Message, hearing: Hearing, step: str, lawsuit: Lawsuit, prefix: str | None = None
) -> None:
    def press(action: str, label: str) -> Any:
        return button(label, AppearanceButton(hearing_id=hearing.id, step=step, action=action))

    if step == "head":
        text = t(
            "Court case {number}, hearing of {when}: did the agency head appear in person?",
            number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
            when=_when(hearing.starts_at),
        )
        keyboard = grid([press("yes", _("Yes")), press("no", _("No"))], 2)
    elif step == "head_name":
        text = _("Name and post of the head who appeared (for example: 王某 副局长).")
        keyboard = None
    elif step == "who":
        text = _(
            "Who appeared for the agency instead? Type the name and post of the staff member "
            "(for example: 李某 法制股股长), or press a button."
        )
        keyboard = grid(
            [press("lawyer", _("Only a lawyer")), press("nobody", _("Nobody appeared"))], 1
        )
    else:
        text = _(
            "Why could the head not appear? The excuse must be proved with a document sealed "
            "or signed by the principal head (最高人民法院关于适用《行政诉讼法》的解释 "
            "第一百二十九条)."
        )
        keyboard = grid([press("skip", _("No reason given"))])
    if prefix:
        text = prefix + "\n\n" + text
    await message.answer(text, reply_markup=keyboard)


async def _appearance_context(
    state: FSMContext, litigation: LitigationService
) -> tuple[dict[str, Any], Hearing, Lawsuit] | None:
    data = await state.get_data()
    hearing_id = data.get("hearing_id")
    if not isinstance(hearing_id, int):
        return None
    try:
        hearing, lawsuit = await litigation.hearing_lawsuit(hearing_id)
    except HearingNotFound:
        return None
    return data, hearing, lawsuit


async def _open_appearance(
    message: Message, state: FSMContext, litigation: LitigationService
) -> tuple[dict[str, Any], Hearing, Lawsuit] | None:
    """The appearance being recorded, or None after ending the step and saying why."""
    context = await _appearance_context(state, litigation)
    if context is None:
        await state.clear()
        await message.answer(_("This hearing was already recorded."))
    return context


async def _advance_appearance(
    message: Message,
    user_id: int,
    state: FSMContext,
    data: dict[str, Any],
    hearing: Hearing,
    lawsuit: Lawsuit,
    litigation: LitigationService,
) -> None:
    """Ask the next question, or record once the answers are complete."""
    answers = data.get("answers") or {}
    if answers.get("head") is True:
        step = None if "appeared_by" in answers else "head_name"
    elif "who" not in answers:
        step = "who"
    elif "excuse" not in answers:
        step = "excuse"
    else:
        step = None
    if step is not None:
        await state.set_data({**data, "answers": answers, "step": step})
        await _ask_appearance(message, hearing, step, lawsuit)
        return
    await state.clear()
    try:
        recorded = await litigation.record_appearance(
            hearing.id,
            head_appeared=answers.get("head") is True,
            appeared_by=answers.get("appeared_by"),
            lawyer_only=answers.get("who") == "lawyer",
            excuse=answers.get("excuse"),
            by=user_id,
        )
    except HearingNotFound:
        await message.answer(_("This hearing was already recorded."))
        return
    except ValidationError as error:
        await message.answer(_error(error))
        return
    assert recorded.appearance is not None
    attendance = recorded.appearance.attendance
    lines = [
        t(
            "Recorded for court case {number}, hearing of {when}: {who}.",
            number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
            when=_when(hearing.starts_at),
            who=_(ATTENDANCE_NAMES[attendance]),
        )
    ]
    if attendance == "lawyer_only":
        lines.append(
            "⚠️ "
            + _(
                "Sending only a lawyer is not permitted (最高人民法院关于适用《行政诉讼法》的解释 "
                "第一百二十八条). The court may send a judicial suggestion to the supervisory "
                "body."
            )
        )
    elif attendance == "absent":
        lines.append(
            "⚠️ "
            + _(
                "Nobody appeared for the agency: the court may give judgment by default "
                "(《行政诉讼法》第五十八条) and announce the absence (《行政诉讼法》第六十六条)."
            )
        )
    elif attendance == "staff" and hearing.head_required:
        lines.append("⚠️ " + _("In this case the head was required to appear in person."))
    lines.append(_("The year's figures: /appearance"))
    await message.answer("\n".join(lines))


async def appearance_button(
    query: CallbackQuery,
    callback_data: AppearanceButton,
    state: FSMContext,
    litigation: LitigationService,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    context = await _appearance_context(state, litigation)
    if (
        message is None
        or context is None
        or await state.get_state() != LitigationForm.appearance.state
        or context[1].id != callback_data.hearing_id
        or context[0].get("step") != callback_data.step
    ):
        await query.answer(_("This question is no longer open."), show_alert=True)
        return
    await query.answer()
    data, hearing, lawsuit = context
    answers = dict(data.get("answers") or {})
    step, action = callback_data.step, callback_data.action
    if step == "head" and action in ("yes", "no"):
        answers["head"] = action == "yes"
    elif step == "who" and action in ("lawyer", "nobody"):
        answers["who"] = action
    elif step == "excuse" and action == "skip":
        answers["excuse"] = None
    await _advance_appearance(
        message,
        query.from_user.id,
        state,
        {**data, "answers": answers},
        hearing,
        lawsuit,
        litigation,
    )


async def appearance_text(
    message: Message, state: FSMContext, litigation: LitigationService
) -> None:
    assert message.text is not None and message.from_user is not None
    context = await _open_appearance(message, state, litigation)
    if context is None:
        return
    data, hearing, lawsuit = context
    answers = dict(data.get("answers") or {})
    step = data.get("step")
    try:
        if step == "head":
            answers["head"] = parse_yes_no(message.text)
        elif step == "head_name":
            answers["appeared_by"] = clean_text(message.text, max_len=LIMITS["appeared_by"])
        elif step == "who":
            answers["appeared_by"] = clean_text(message.text, max_len=LIMITS["appeared_by"])
            answers["who"] = "staff"
        else:
            answers["excuse"] = clean_text(message.text, max_len=LIMITS["excuse"])
    except ValidationError as error:
        await message.answer(_error(error))
        await _ask_appearance(message, hearing, str(step), lawsuit)
        return
    await _advance_appearance(
        message,
        message.from_user.id,
        state,
        {**data, "answers": answers},
        hearing,
        lawsuit,
        litigation,
    )


async def not_text(message: Message, state: FSMContext, litigation: LitigationService) -> None:
    """A sticker, photo, file or voice message while a litigation question is open: ask for
    text and repeat the question. The state stays, so the next text answers that question
    (without this the fallback would answer with the citizens' menu and the question be lost).
    """
    notice = _("Please type your answer as a text message.")
    current = await state.get_state()
    data = await state.get_data()
    if current == LitigationForm.registering.state:
        step = data.get("step")
        if isinstance(step, str) and step in STEPS:
            text, keyboard = _question(step, litigation)
        else:
            text, keyboard = _("Please press “Register” or “Cancel”."), _summary_keyboard()
        await message.answer(notice + "\n\n" + text, reply_markup=keyboard)
        return
    if current == LitigationForm.appearance.state:
        context = await _open_appearance(message, state, litigation)
        if context is None:
            return
        data, hearing, lawsuit = context
        await _ask_appearance(message, hearing, str(data.get("step")), lawsuit, prefix=notice)
        return
    lawsuit_id = data.get("lawsuit_id")
    try:
        open_case = await litigation.get(lawsuit_id) if isinstance(lawsuit_id, int) else None
    except LawsuitNotFound:
        open_case = None
    if open_case is None:
        await state.clear()
        await message.answer(_("This court case is not open any more."))
        return
    await message.answer(notice + "\n\n" + _hearing_question(open_case, litigation))


# --- statistics -------------------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


async def appearance_stats(
    message: Message, command: CommandObject, litigation: LitigationService
) -> None:
    year = litigation.today().year
    if command.args:
        arg = command.args.strip()
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not (arg.isdecimal() and len(arg) == 4):
            await message.answer(
                _("Please give the year as four digits, for example /appearance 2026.")
            )
            return
        last = litigation.today().year + 1
        if not FIRST_STATS_YEAR <= int(arg) <= last:
            await message.answer(
                t(
                    "Please give a year from {first} to {last}, for example /appearance {year}.",
                    first=FIRST_STATS_YEAR,
                    last=last,
                    year=year,
                )
            )
            return
        year = int(arg)
    stats = await litigation.appearance_stats(year)
    lines = [f"<b>{html.escape(t('Court appearances in {year}', year=year))}</b>", ""]
    if stats.taken_place == 0:
        lines.append(_("No hearing has been recorded for this year."))
    else:
        lines.append(t("Hearings held: {count}", count=stats.taken_place))
        if stats.unrecorded:
            # Said before the rates, and the rates count them: an unrecorded hearing is not
            # an attended one until someone records that it was.
            lines += [
                "⚠️ "
                + t("Hearings not recorded yet: {count} (see /lawsuits)", count=stats.unrecorded),
                _("Until they are recorded, they count as not attended in the rates below."),
            ]
        lines += [
            t(
                "Appearance rate (the head or a competent staff member): {rate} ({part}/{whole})",
                rate=_percent(stats.attendance_rate),
                part=stats.attended,
                whole=stats.taken_place,
            ),
            t(
                "Head in person: {count} ({rate})",
                count=stats.head,
                rate=_percent(stats.head_rate),
            ),
            t("Staff member instead of the head: {count}", count=stats.staff),
            t("Only a lawyer (not permitted): {count}", count=stats.lawyer_only),
            t("Nobody appeared: {count}", count=stats.absent),
        ]
        if stats.head_required_taken_place:
            lines.append(
                t(
                    "Cases where the head had to appear: head in person {part}/{whole}",
                    part=stats.head_required_head,
                    whole=stats.head_required_taken_place,
                )
            )
    if stats.by_agency:
        lines += ["", _("By agency:")]
        for row in stats.by_agency:
            line = "• " + t(
                "{agency}: {held} held, head {head}, staff {staff}, lawyer only {lawyer_only}, "
                "nobody {absent}",
                agency=html.escape(row.agency),
                held=row.held + row.unrecorded,
                head=row.head,
                staff=row.staff,
                lawyer_only=row.lawyer_only,
                absent=row.absent,
            )
            if row.unrecorded:
                line += t(", not recorded yet {count}", count=row.unrecorded)
            lines.append(line)
    await message.answer("\n".join(lines))


# --- the router -------------------------------------------------------------------------------


def build_router() -> Router:
    """A new Router per call: a router belongs to one Dispatcher, and tests build many."""
    router = Router(name="litigation")
    router.message.register(start_lawsuit, Command("lawsuit"), STAFF)
    router.message.register(list_lawsuits, Command("lawsuits"), STAFF)
    router.message.register(appearance_stats, Command("appearance"), STAFF)
    router.callback_query.register(form_button, FormButton.filter(), STAFF)
    router.callback_query.register(case_button, CaseButton.filter(), STAFF)
    router.message.register(list_agency_lawsuits, Command("lawsuits"), AGENCY)
    router.callback_query.register(agency_case_button, CaseButton.filter(), AGENCY)
    router.callback_query.register(appearance_button, AppearanceButton.filter(), STAFF)
    text = When(F.text & ~F.text.startswith("/"))
    router.message.register(form_text, StateFilter(LitigationForm.registering), text, STAFF)
    router.message.register(appearance_text, StateFilter(LitigationForm.appearance), text, STAFF)
    router.message.register(hearing_text, StateFilter(LitigationForm.hearing), text, STAFF)
    # Anything but text in those states; a command in a caption (/cancel) is left to its own
    # router (the cancel router comes before this one anyway).
    router.message.register(
        not_text, StateFilter(*LitigationForm.__states__), When(~F.text), NotCommand(), STAFF
    )
    return router
