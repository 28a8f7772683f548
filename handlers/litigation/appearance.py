"""Recording who appeared for the agency at a hearing (出庭): the head in person, a staff
member instead (with the excuse), only a lawyer, or nobody. Started from a court case's card
once the hearing has begun.
"""

from __future__ import annotations

import html
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from cases.intake.validation import ValidationError, clean_text, parse_yes_no
from cases.litigation.court_cases import LitigationService
from cases.litigation.models import ATTENDANCE_NAMES, LIMITS, Hearing, HearingNotFound, Lawsuit
from handlers.filters import NotCommand, When
from handlers.keyboards import button, grid
from handlers.litigation.shared import (
    STAFF,
    TYPE_AS_TEXT,
    AppearanceButton,
    LitigationForm,
    error_text,
    local_time,
)
from handlers.texts import t


async def ask_appearance(
    message: Message, hearing: Hearing, step: str, lawsuit: Lawsuit, prefix: str | None = None
) -> None:
    def press(action: str, label: str) -> Any:
        return button(label, AppearanceButton(hearing_id=hearing.id, step=step, action=action))

    if step == "head":
        text = t(
            "Court case {number}, hearing of {when}: did the agency head appear in person?",
            number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
            when=local_time(hearing.starts_at),
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
        await ask_appearance(message, hearing, step, lawsuit)
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
        await message.answer(error_text(error))
        return
    assert recorded.appearance is not None
    attendance = recorded.appearance.attendance
    lines = [
        t(
            "Recorded for court case {number}, hearing of {when}: {who}.",
            number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
            when=local_time(hearing.starts_at),
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
        await message.answer(error_text(error))
        await ask_appearance(message, hearing, str(step), lawsuit)
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


async def appearance_not_text(
    message: Message, state: FSMContext, litigation: LitigationService
) -> None:
    """Not text while an appearance question is open: ask for text, repeat the question."""
    context = await _open_appearance(message, state, litigation)
    if context is None:
        return
    data, hearing, lawsuit = context
    await ask_appearance(message, hearing, str(data.get("step")), lawsuit, prefix=_(TYPE_AS_TEXT))


def build_router() -> Router:
    router = Router(name="litigation-appearance")
    router.callback_query.register(appearance_button, AppearanceButton.filter(), STAFF)
    answering = StateFilter(LitigationForm.appearance)
    router.message.register(
        appearance_text, answering, When(F.text & ~F.text.startswith("/")), STAFF
    )
    router.message.register(appearance_not_text, answering, When(~F.text), NotCommand(), STAFF)
    return router
