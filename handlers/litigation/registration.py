"""Registering a court case (/lawsuit): a short form whose answers stay in FSM data (a small
JSON dict: the form is short and staff-only), then the receipt with the L3 defence period,
the hearing and the planner's own reminders for them.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_, format_date
from cases.intake.forms import PROVISIONAL_NOTE
from cases.intake.validation import ValidationError, clean_text, parse_date, parse_yes_no
from cases.law.deadline_rules import RULES
from cases.litigation.court_cases import LitigationService
from cases.litigation.hearing_times import UNKNOWN_AGENCY, find_agency, parse_hearing_time
from cases.litigation.models import LIMITS, Lawsuit, RegisterLawsuit
from cases.store.time import from_db, to_db
from handlers.filters import NotCommand, When
from handlers.keyboards import button, grid
from handlers.litigation.shared import (
    ROLE_NAMES,
    STAFF,
    TYPE_AS_TEXT,
    FormButton,
    LitigationForm,
    error_text,
    example_time,
    head_rule,
    hearing_rows,
    local_time,
    reminder_lines,
)
from handlers.texts import current_locale, joined, t
from scheduling.planner import Planner

COMPLAINT_MAX_AGE_DAYS = 2 * 365
"""How far back the complaint copy may have been received (see ``_parse``)."""


COMPLAINT_TOO_OLD = N_(
    "Please check the year: a court case can be registered only if its complaint copy was "
    "received in the last two years, on or after {date}."
)


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


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


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
        example = example_time(service)
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
        return local_time(from_db(value)) if value else _("Not set yet")
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
        value = _parse(step, message.text, answers, litigation)
    except ValidationError as error:
        _text, keyboard = _question(step, litigation)
        await message.answer(error_text(error), reply_markup=keyboard)
        return
    if step == "hearing_at" and litigation.on_rest_day(from_db(value)):
        # A hearing on a rest day is possible but rare: ask before taking it.
        await state.update_data(pending_hearing=value)
        await message.answer(
            t(REST_DAY_HEARING, when=local_time(from_db(value))),
            reply_markup=grid(
                [
                    button(_("Yes, keep it"), FormButton(step=step, action="rest_ok")),
                    button(_("No, type it again"), FormButton(step=step, action="rest_no")),
                ],
                2,
            ),
        )
        return
    answers[step] = value
    await _ask_next(message, state, answers, litigation)


REST_DAY_HEARING = N_(
    "{when} is a rest day (a weekend or a public holiday). Is the hearing really on that day?"
)


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
    elif step == "hearing_at" and action == "rest_ok" and data.get("pending_hearing"):
        answers[step] = data["pending_hearing"]
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
        await _ask_next(message, state, answers, service, prefix=error_text(error))
        return
    await state.clear()
    await message.answer(await _receipt(lawsuit, service, planner))


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
                when=local_time(hearing.starts_at),
                court=html.escape(lawsuit.court),
            )
        )
        lines.append(head_rule(lawsuit.head_required))
    else:
        lines.append(_("Hearing: not set yet. Add it with /lawsuits when the court sets it."))
    lines += ["", _("Reminders:")]
    defence_open = defence is not None and defence.status == "open"
    planned = await planner.preview(await planner.lawsuit_sources(lawsuit.id))
    if defence_open:
        lines.append(_("Defence and evidence (《行政诉讼法》第六十七条):"))
        lines += reminder_lines([r for r in planned if r.source.kind == "defence"], now)
    if hearing is not None:
        lines.append(_("Hearing (《行政诉讼法》第三条第三款):"))
        lines += reminder_lines(hearing_rows(planned, hearing.id), now)
    rules = [rule for rule, shown in (("L3", defence_open), ("L7", hearing)) if shown]
    missing = await planner.unstaffed_roles(rules, unit=lawsuit.agency_id)
    if missing:
        # Per agency, as the planner addresses them: other agencies' liaisons do not count.
        lines.append(
            t(
                "Nobody is registered in the bot as {roles} of {agency} yet, so the "
                "administrators receive these reminders for now.",
                roles=joined([_(ROLE_NAMES.get(role, role.value)) for role in missing], "or"),
                agency=html.escape(lawsuit.agency),
            )
        )
    return "\n".join(lines)


async def form_not_text(
    message: Message, state: FSMContext, litigation: LitigationService
) -> None:
    """Not text while a registration question is open: ask for text, repeat the question."""
    step = (await state.get_data()).get("step")
    if isinstance(step, str) and step in STEPS:
        text, keyboard = _question(step, litigation)
    else:
        text, keyboard = _("Please press “Register” or “Cancel”."), _summary_keyboard()
    await message.answer(_(TYPE_AS_TEXT) + "\n\n" + text, reply_markup=keyboard)


def build_router() -> Router:
    router = Router(name="litigation-registration")
    router.message.register(start_lawsuit, Command("lawsuit"), STAFF)
    router.callback_query.register(form_button, FormButton.filter(), STAFF)
    answering = StateFilter(LitigationForm.registering)
    router.message.register(form_text, answering, When(F.text & ~F.text.startswith("/")), STAFF)
    # A command in a caption (/cancel) is left to its own router.
    router.message.register(form_not_text, answering, When(~F.text), NotCommand(), STAFF)
    return router
