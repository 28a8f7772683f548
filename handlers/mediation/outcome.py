"""The end of a mediation: agreement terms, failure, the follow-up on an agreement, and
the mediation period (an extension asked for and decided)."""

from __future__ import annotations

from datetime import datetime

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.mediation.common import MAX_NOTE, MAX_REASON, MAX_TERMS, Result
from cases.mediation.service import Mediation, Viewer
from cases.org.users import User
from handlers.mediation.pages import (
    RESULT_TEXTS,
    MediationForm,
    alert_refusal,
    answered_as,
    form_case,
    page_button,
)
from handlers.mediation_callbacks import MedAction, MediationButton
from handlers.texts import t

# -- outcome -----------------------------------------------------------------------------------


async def agreed_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if not await answered_as(query, callback_data.item_id, mediation, user, Viewer.mediator):
        return
    await state.set_state(MediationForm.terms)
    await state.update_data(case_id=callback_data.item_id)
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Type the main terms of the agreement: who does what, how and by when (they "
                "are kept in the case file)."
            )
        )


async def terms_text(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None = None
) -> None:
    assert message.text is not None
    terms = message.text.strip()
    if len(terms) < 5 or len(terms) > MAX_TERMS:
        await message.answer(t("Please type the terms in 5 to {n} characters.", n=MAX_TERMS))
        return
    case_id = await form_case(message, state)
    if case_id is None:
        return
    await state.clear()
    if user is None:
        await message.answer(_("This is not available to you."))
        return
    result, facts = await mediation.outcome.agree(case_id, user, terms)
    if result is not Result.done:
        await message.answer(_(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])))
        return
    await message.answer(
        t(
            "Agreement recorded. The parties may apply together for judicial confirmation by "
            "{due} (Civil Procedure Law, Art. 205) and are reminded before that day. The "
            "follow-up visit is due in {days} days.",
            due=datetime.fromisoformat(str(facts["confirm_due"])).date(),
            days=mediation.settings.followup_days,
        )
    )


async def failed_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if not await answered_as(query, callback_data.item_id, mediation, user, Viewer.mediator):
        return
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "End the mediation without an agreement? The parties are told the routes that "
                "remain."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    page_button(_("Yes, no agreement"), MedAction.failed_ok, callback_data.item_id)
                ]
            ),
        )


async def failed_confirm(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if user is None:
        await alert_refusal(query, Result.not_allowed)
        return
    result = await mediation.outcome.fail(callback_data.item_id, user)
    if result is not Result.done:
        await alert_refusal(query, result)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Recorded: no agreement. The case is closed; the parties are told.")
        )


async def followup_choice(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if not await answered_as(query, callback_data.item_id, mediation, user, Viewer.mediator):
        return
    await state.set_state(MediationForm.followup_note)
    await state.update_data(
        case_id=callback_data.item_id, kept=callback_data.action is MedAction.kept
    )
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Add a short note on the follow-up visit, or press the button for none."),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    page_button(_("No note"), MedAction.no_note, callback_data.item_id)
                ]
            ),
        )


async def followup_note(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None = None
) -> None:
    assert message.text is not None
    if len(message.text.strip()) > MAX_NOTE:
        await message.answer(t("Please keep the note to {n} characters.", n=MAX_NOTE))
        return
    await _save_followup(message, state, mediation, user, message.text)


async def followup_no_note(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    data = await state.get_data()
    if (
        await state.get_state() != MediationForm.followup_note.state
        or data.get("case_id") != callback_data.item_id
    ):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _save_followup(query.message, state, mediation, user, None)


async def _save_followup(
    message: Message,
    state: FSMContext,
    mediation: Mediation,
    user: User | None,
    note: str | None,
) -> None:
    data = await state.get_data()
    if await form_case(message, state) is None:
        return
    await state.clear()
    if user is None:
        await message.answer(_("This is not available to you."))
        return
    result = await mediation.outcome.record_followup(
        int(data["case_id"]), user, kept=bool(data.get("kept")), note=note
    )
    if result is not Result.done:
        await message.answer(_(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])))
        return
    await message.answer(_("Follow-up visit recorded."))


# -- the mediation period ----------------------------------------------------------------------


async def extend_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if not await answered_as(query, callback_data.item_id, mediation, user, Viewer.mediator):
        return
    await state.set_state(MediationForm.ext_reason)
    await state.update_data(case_id=callback_data.item_id)
    if isinstance(query.message, Message):
        await query.message.answer(
            t(
                "The county allows one extension of the mediation period, by {days} days, with "
                "the room lead's approval. Type the reason.",
                days=mediation.period.extension_days() or 0,
            )
        )


async def extend_reason(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None = None
) -> None:
    assert message.text is not None
    reason = message.text.strip()
    if len(reason) < 2 or len(reason) > MAX_REASON:
        await message.answer(t("Please type the reason in at most {n} characters.", n=MAX_REASON))
        return
    case_id = await form_case(message, state)
    if case_id is None:
        return
    await state.clear()
    if user is None:
        await message.answer(_("This is not available to you."))
        return
    result = await mediation.period.request_extension(case_id, user, reason)
    if result is not Result.done:
        await message.answer(_(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])))
        return
    await message.answer(_("The request was sent to the room lead."))


async def extension_decision(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if user is None:
        await alert_refusal(query, Result.not_allowed)
        return
    approve = callback_data.action is MedAction.approve
    result = await mediation.period.decide(callback_data.item_id, user, approve=approve)
    if result is not Result.done:
        await alert_refusal(query, result)
        return
    await query.answer(
        _("Approved: the mediation period is extended; everyone is told.")
        if approve
        else _("Refused: the mediator is told."),
        show_alert=True,
    )
