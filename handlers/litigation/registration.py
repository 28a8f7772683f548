"""Registering a court case (/lawsuit): the form spec of cases/litigation/registration_form.py
run on the citizens' form engine (next question, parsing, display), its answers kept in FSM
data (a small JSON dict: the form is short and staff-only); then the receipt with the L3
defence period, the hearing, the planner's own preview of their reminders (``Planner.preview``,
what a pass would write) and, per defendant agency, whom nobody stands for yet
(``Planner.unstaffed_roles``, the recipient directory's own answer).
"""

from __future__ import annotations

import html
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.form_engine import NO, YES, Field, Kind, choices_for, display_value, parse_answer
from cases.intake.forms import PROVISIONAL_NOTE
from cases.intake.validation import ValidationError
from cases.law.deadline_rules import RULES
from cases.litigation.court_cases import LitigationService
from cases.litigation.models import Lawsuit
from cases.litigation.registration_form import COURT_CASE, registration
from cases.store.time import from_db
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


def _field(step: object) -> Field | None:
    """The question ``step`` names, if it is one of the form's (FSM data may be stale)."""
    if not isinstance(step, str):
        return None
    try:
        return COURT_CASE.field(step)
    except KeyError:
        return None


def _question(field: Field, service: LitigationService) -> tuple[str, InlineKeyboardMarkup | None]:
    """The question with its buttons: the agencies, yes / no, or "not set yet"."""
    step = field.key
    if field.kind is Kind.agency:
        choices = choices_for(field, service.org, current_locale())
        buttons = [
            button(label, FormButton(step=step, action="pick", value=i))
            for i, (_value, label) in enumerate(choices)
        ]
        return _(field.prompt), grid(buttons, 2)
    if field.kind is Kind.yes_no:
        keyboard = grid(
            [
                button(_("Yes"), FormButton(step=step, action="yes")),
                button(_("No"), FormButton(step=step, action="no")),
            ],
            2,
        )
        return _(field.prompt), keyboard
    if field.optional:
        keyboard = grid([button(_("Not set yet"), FormButton(step=step, action="skip"))])
        return t(field.prompt, example=example_time(service)), keyboard
    return _(field.prompt), None


def _display(field: Field, value: Any, service: LitigationService) -> str:
    if value is None:
        return _("Not set yet")
    return display_value(field, value, service.org, _, current_locale())


def _summary(answers: dict[str, Any], service: LitigationService) -> str:
    lines = [f"<b>{html.escape(_(COURT_CASE.title))}</b>", _("Please check:"), ""]
    lines += [
        f"<b>{html.escape(_(field.label))}</b>: "
        f"{html.escape(_display(field, answers.get(field.key), service))}"
        for field in COURT_CASE.asked_fields(answers)
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
    field = COURT_CASE.next_field(answers)
    await state.set_state(LitigationForm.registering)
    await state.set_data({"step": field.key if field else "summary", "answers": answers})
    if field is None:
        text, keyboard = _summary(answers, service), _summary_keyboard()
    else:
        text, keyboard = _question(field, service)
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


async def form_text(message: Message, state: FSMContext, litigation: LitigationService) -> None:
    assert message.text is not None
    data = await state.get_data()
    answers = dict(data.get("answers") or {})
    field = _field(data.get("step"))
    if field is None:
        await message.answer(
            _("Please press “Register” or “Cancel”."), reply_markup=_summary_keyboard()
        )
        return
    try:
        value = parse_answer(
            field,
            message.text,
            answers,
            today=litigation.today(),
            org=litigation.org,
            translate=_,
            now=litigation.now(),
        )
    except ValidationError as error:
        _text, keyboard = _question(field, litigation)
        await message.answer(error_text(error), reply_markup=keyboard)
        return
    if field.kind is Kind.moment and litigation.on_rest_day(from_db(value)):
        # A hearing on a rest day is possible but rare: ask before taking it.
        await state.update_data(pending_hearing=value)
        await message.answer(
            t(REST_DAY_HEARING, when=local_time(from_db(value))),
            reply_markup=grid(
                [
                    button(_("Yes, keep it"), FormButton(step=field.key, action="rest_ok")),
                    button(_("No, type it again"), FormButton(step=field.key, action="rest_no")),
                ],
                2,
            ),
        )
        return
    answers[field.key] = value
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
    action = callback_data.action
    if callback_data.step == "summary":
        if action == "cancel":
            await state.clear()
            await message.answer(_("Cancelled. Nothing was registered."))
        elif action == "register":
            await _register(message, query.from_user.id, state, answers, litigation, planner)
        return
    field = _field(callback_data.step)
    if field is not None:
        value = _pressed(field, action, callback_data.value, data, litigation)
        if value is not _NOTHING:
            answers[field.key] = value
    await _ask_next(message, state, answers, litigation)


_NOTHING = object()


def _pressed(
    field: Field, action: str, index: int, data: dict[str, Any], service: LitigationService
) -> Any:
    """The answer a button gives (the engine's stored form), or _NOTHING: ask again."""
    if field.kind is Kind.agency and action == "pick":
        choices = choices_for(field, service.org, current_locale())
        return choices[index][0] if 0 <= index < len(choices) else _NOTHING
    if field.kind is Kind.yes_no and action in ("yes", "no"):
        return YES if action == "yes" else NO
    if field.optional and action == "skip":
        return None
    if field.kind is Kind.moment and action == "rest_ok" and data.get("pending_hearing"):
        return data["pending_hearing"]
    return _NOTHING


async def _register(
    message: Message,
    user_id: int,
    state: FSMContext,
    answers: dict[str, Any],
    service: LitigationService,
    planner: Planner,
) -> None:
    try:
        lawsuit = await service.register_lawsuit(registration(answers, user_id))
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
    field = _field((await state.get_data()).get("step"))
    if field is not None:
        text, keyboard = _question(field, litigation)
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
