"""“Not sure? Help me choose”: a few yes/no questions that lead to the right procedure, or
explain where the matter belongs instead (XF 31, FY 29). The questions are data
(cases.org.routing.TRIAGE_QUESTIONS); this router only asks them one at a time."""

from __future__ import annotations

import dataclasses

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from cases.law.citations import plain_basis
from cases.org.routing import TriageAnswers, next_triage_question, triage
from handlers.callbacks import MenuAction
from handlers.keyboards import main_menu
from handlers.texts import current_locale

FORM_COMMAND = {"reconsideration": "reconsider", "mediation": "mediation", "petition": "petition"}
FORM_BUTTON = {
    "reconsideration": "⚖️ Challenge a government decision (reconsideration)",
    "mediation": "🤝 Ask for mediation of a dispute",
    "petition": "📨 Complaint, request or suggestion (petition)",
}


class Triage(StatesGroup):
    asking = State()


class TriageAnswer(CallbackData, prefix="tri"):
    question: str
    yes: bool


def _yes_no(question_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes"), callback_data=TriageAnswer(question=question_id, yes=True))
    builder.button(text=_("No"), callback_data=TriageAnswer(question=question_id, yes=False))
    return builder.as_markup()


async def start_triage(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(Triage.asking)
    await state.set_data({"triage": {}})
    if isinstance(query.message, Message):
        await _ask_next(query.message, TriageAnswers(), intro=True)


async def _ask_next(message: Message, answers: TriageAnswers, *, intro: bool = False) -> bool:
    question = next_triage_question(answers)
    if question is None:
        return False
    text = _(question.text)
    if intro:
        text = _("A few yes/no questions will show which procedure fits your matter.") + (
            "\n\n" + text
        )
    await message.answer(text, reply_markup=_yes_no(question.id))
    return True


async def answer(query: CallbackQuery, callback_data: TriageAnswer, state: FSMContext) -> None:
    await query.answer()
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return
    stored = (await state.get_data()).get("triage")
    if await state.get_state() != Triage.asking.state or not isinstance(stored, dict):
        await message.answer(_("Let us start again."), reply_markup=main_menu())
        return
    known = {f.name for f in dataclasses.fields(TriageAnswers)}
    if callback_data.question not in known:
        return
    stored[callback_data.question] = callback_data.yes
    await state.update_data(triage=stored)
    answers = TriageAnswers(**{k: v for k, v in stored.items() if k in known})
    if await _ask_next(message, answers):
        return
    await state.clear()
    outcome = triage(answers)
    locale = current_locale()
    lines: list[str] = []
    builder = InlineKeyboardBuilder()
    if outcome.redirect is not None:
        lines.append(_(outcome.redirect.message))
    elif outcome.procedure is not None:
        lines.append(_("This procedure fits your matter:"))
        if outcome.notice:
            lines.append(_(outcome.notice))
        builder.button(
            text=_(FORM_BUTTON[outcome.procedure]),
            callback_data=MenuAction(action=FORM_COMMAND[outcome.procedure]),
        )
        if outcome.procedure == "petition" and not outcome.sensitive:
            # A petition may also be raised in person at an agency head's reception day (XF
            # 18(2)); /book's "I don't know which" leads here and must lead back. Not for a
            # report of wrongdoing: the agency's staff read a booking's matter (XF 30(3)).
            builder.button(
                text=_("📅 Book a bureau chief reception day"),
                callback_data=MenuAction(action="book"),
            )
    if outcome.basis:
        lines.append(_("Legal basis: {basis}").format(basis=plain_basis(outcome.basis, locale)))
    builder.button(text=_("📂 My cases"), callback_data=MenuAction(action="mycases"))
    builder.adjust(1)
    await message.answer("\n\n".join(lines), reply_markup=builder.as_markup())


def build_router() -> Router:
    router = Router(name="triage")
    router.callback_query.register(start_triage, MenuAction.filter(F.action == "triage"))
    router.callback_query.register(answer, TriageAnswer.filter())
    return router
