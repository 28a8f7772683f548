"""The form loop: start a form, take each answer (text, contact, button), go back or edit,
submit, and keep or forget the citizen's saved details."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.form_engine import Field, Gate, Kind, Procedure, choices_for, parse_answer
from cases.intake.records import Draft, DraftNotFound, FormMovedOn
from cases.intake.service import IntakeService
from cases.intake.validation import ValidationError, parse_phone
from cases.law.citations import plain_basis
from handlers.callbacks import MenuAction
from handlers.intake.callbacks import (
    DONE_WORDS,
    ENTRY_COMMANDS,
    FormButton,
    IntakeForm,
    KeepDetails,
)
from handlers.intake.rendering import (
    edit_keyboard,
    question_keyboard,
    question_text,
    receipt_text,
    summary_keyboard,
    summary_text,
)
from handlers.keyboards import button, cancel_confirmation, grid, main_menu
from handlers.texts import current_locale, t

log = logging.getLogger(__name__)

# --- flow --------------------------------------------------------------------------------


async def ask(
    target: Message, draft: Draft, service: IntakeService, *, prefix: str | None = None
) -> None:
    """Ask the draft's current question, or show the summary when all are answered."""
    field = draft.current_field
    if field is None:
        files = await service.attachment_count(draft.id)
        text = summary_text(draft, service, files)
        if prefix:
            text = prefix + "\n\n" + text
        await target.answer(text, reply_markup=summary_keyboard(draft))
        return
    files = await service.attachment_count(draft.id) if field.kind is Kind.evidence else 0
    saved = await service.saved_details(draft.user_id) if field.kind is Kind.saved else None
    text = question_text(
        draft, field, service.today(), engine=service.engine, saved=saved, org=service.org
    )
    if prefix:
        text = prefix + "\n\n" + text
    await target.answer(text, reply_markup=question_keyboard(draft, field, service, files))


async def start_form(
    target: Message, user_id: int, procedure: Procedure, state: FSMContext, intake: IntakeService
) -> None:
    # The conversation state first. It does not commit with the draft (with replicas it is in
    # Redis): a process that died after the draft's commit and before this write left the
    # citizen outside the form, and Telegram's second delivery of the command is rightly not
    # handled again. With the procedure noted first, the next answer finds the draft.
    await state.set_state(IntakeForm.answering)
    await state.set_data({"procedure": procedure.value})
    draft, resumed = await intake.open_draft(user_id, procedure)
    await state.set_data({"draft_id": draft.id})
    prefix = (
        _("You have an unfinished form; let us continue where you stopped.")
        if resumed
        else _(
            "Let us start. Answer one question at a time; /cancel stops at any point. You can "
            "send evidence (photos, documents, voice messages) whenever you like."
        )
    )
    await ask(target, draft, intake, prefix=prefix)


async def command_entry(message: Message, state: FSMContext, intake: IntakeService) -> None:
    assert message.from_user
    text = message.text or message.caption or ""  # aiogram's Command also reads captions
    command = text.split()[0].lstrip("/").split("@")[0]
    await start_form(message, message.from_user.id, ENTRY_COMMANDS[command], state, intake)


async def menu_entry(
    query: CallbackQuery, callback_data: MenuAction, state: FSMContext, intake: IntakeService
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        procedure = ENTRY_COMMANDS[callback_data.action]
        await start_form(query.message, query.from_user.id, procedure, state, intake)


async def current_draft(state: FSMContext, user_id: int, intake: IntakeService) -> Draft | None:
    data = await state.get_data()
    draft_id = data.get("draft_id")
    if not isinstance(draft_id, int):
        # The form was being opened when its process died (start_form): its open draft, if
        # the opening had committed.
        procedure = data.get("procedure")
        if procedure not in {p.value for p in Procedure}:
            return None
        draft_id = await intake.open_draft_id(user_id, Procedure(procedure))
        if draft_id is None:
            return None
        await state.set_data({"draft_id": draft_id})
    try:
        return await intake.get_draft(draft_id, user_id=user_id)
    except DraftNotFound:
        return None


async def form_gone(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        _("This form is no longer open. What would you like to do?"), reply_markup=main_menu()
    )


async def _store(
    message: Message,
    draft: Draft,
    field: Field,
    value: Any,
    state: FSMContext,
    intake: IntakeService,
    user_id: int,
) -> None:
    updated, gate = await intake.save_answer(draft.id, user_id=user_id, key=field.key, value=value)
    if gate is not None:
        await _close_with_gate(message, gate, state)
        return
    if field.kind is Kind.phone:
        # Take the share-contact keyboard away again.
        await message.answer(_("Thank you, saved."), reply_markup=ReplyKeyboardRemove())
    await ask(message, updated, intake)


async def _close_with_gate(message: Message, gate: Gate, state: FSMContext) -> None:
    await state.clear()
    text = t(gate.message, **gate.params)
    if gate.basis:
        text += "\n\n" + t("Legal basis: {basis}", basis=plain_basis(gate.basis, current_locale()))
    text += "\n\n" + _("Nothing was filed. What would you like to do?")
    await message.answer(text, reply_markup=main_menu())


async def answer_text(message: Message, state: FSMContext, intake: IntakeService) -> None:
    assert message.from_user and message.text is not None
    user_id = message.from_user.id
    draft = await current_draft(state, user_id, intake)
    if draft is None:
        await form_gone(message, state)
        return
    field = draft.current_field
    if field is None:
        await ask(message, draft, intake, prefix=_("All questions are answered."))
        return
    if field.kind is Kind.evidence:
        if message.text.strip().lower() in DONE_WORDS:
            await _store(
                message,
                draft,
                field,
                await intake.attachment_count(draft.id),
                state,
                intake,
                user_id,
            )
            return
        await message.answer(
            _("Please send files here, or press “Done” when you have sent everything."),
            reply_markup=question_keyboard(
                draft, field, intake, await intake.attachment_count(draft.id)
            ),
        )
        return
    try:
        value = parse_answer(
            field,
            message.text,
            draft.answers,
            today=intake.today(),
            org=intake.org,
            translate=_,
        )
    except ValidationError as error:
        await message.answer(
            "❗ " + error.render(current_locale()),
            reply_markup=question_keyboard(draft, field, intake),
        )
        return
    await _store(message, draft, field, value, state, intake, user_id)


async def answer_contact(message: Message, state: FSMContext, intake: IntakeService) -> None:
    assert message.from_user and message.contact
    user_id = message.from_user.id
    draft = await current_draft(state, user_id, intake)
    if draft is None:
        await form_gone(message, state)
        return
    field = draft.current_field
    if field is None or field.kind is not Kind.phone:
        await ask(message, draft, intake, prefix=_("Please answer this question first:"))
        return
    if message.contact.user_id != user_id:
        await message.answer(
            _("Please share your own number with the button, or type the number.")
        )
        return
    try:
        phone = parse_phone(message.contact.phone_number)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await _store(message, draft, field, phone, state, intake, user_id)


async def other_message(message: Message, state: FSMContext, intake: IntakeService) -> None:
    assert message.from_user
    draft = await current_draft(state, message.from_user.id, intake)
    if draft is None:
        await form_gone(message, state)
        return
    await ask(message, draft, intake, prefix=_("I cannot read this kind of message here."))


async def form_button(
    query: CallbackQuery,
    callback_data: FormButton,
    state: FSMContext,
    intake: IntakeService,
) -> None:
    user_id = query.from_user.id
    message = query.message if isinstance(query.message, Message) else None
    if callback_data.action == "submit":
        await _submit(query, callback_data, state, intake)
        return
    try:
        draft = await intake.get_draft(callback_data.draft_id, user_id=user_id)
    except DraftNotFound:
        await query.answer(_("This form is not open any more (or is not yours)."), show_alert=True)
        return
    if message is None:
        await query.answer()
        return
    action = callback_data.action
    field = draft.current_field
    if action == "discard":
        await query.answer()
        await state.set_state(IntakeForm.answering)
        await state.set_data({"draft_id": draft.id})
        await message.answer(
            _("Do you want to stop and discard what you have entered in this form?"),
            reply_markup=cancel_confirmation(draft.id),
        )
        return
    if action == "edit":
        await query.answer()
        await message.answer(
            _("Which answer do you want to change?"), reply_markup=edit_keyboard(draft)
        )
        return
    if action == "field":
        await query.answer()
        try:
            reopened = await intake.reopen_field(
                draft.id, user_id=user_id, key=callback_data.field
            )
        except KeyError:
            await ask(message, draft, intake)
            return
        await state.set_state(IntakeForm.answering)
        await state.set_data({"draft_id": draft.id})
        await ask(message, reopened, intake)
        return
    if field is None or field.key != callback_data.field:
        # A button of a question already answered (pressed twice, or an old message).
        await query.answer(_("That question was already answered."))
        await ask(message, draft, intake, prefix=_("Please answer the current question:"))
        return
    await query.answer()
    await state.set_state(IntakeForm.answering)
    await state.set_data({"draft_id": draft.id})
    if action == "skip" and field.optional:
        await _store(message, draft, field, None, state, intake, user_id)
    elif action == "done" and field.kind is Kind.evidence:
        await _store(
            message, draft, field, await intake.attachment_count(draft.id), state, intake, user_id
        )
    elif action == "default" and field.default is not None:
        value = parse_answer(
            field, field.default.value, draft.answers, today=intake.today(), org=intake.org
        )
        await _store(message, draft, field, value, state, intake, user_id)
    elif action == "otherid" and field.kind is Kind.id_number:
        await ask(message, await intake.other_id_document(draft.id, user_id=user_id), intake)
    elif action == "date" and field.kind is Kind.date and callback_data.value in (0, 1):
        day = intake.today() - timedelta(days=callback_data.value)
        try:
            value = parse_answer(
                field, day.isoformat(), draft.answers, today=intake.today(), org=intake.org
            )
        except ValidationError as error:
            await message.answer(
                "❗ " + error.render(current_locale()),
                reply_markup=question_keyboard(draft, field, intake),
            )
            return
        await _store(message, draft, field, value, state, intake, user_id)
    elif action == "pick":
        if field.kind is Kind.yes_no:
            options = ["yes", "no"]
        else:
            options = [value for value, _label in choices_for(field, intake.org, "zh")]
        if not 0 <= callback_data.value < len(options):
            await ask(message, draft, intake)
            return
        await _store(message, draft, field, options[callback_data.value], state, intake, user_id)
    else:
        await ask(message, draft, intake)


async def _submit(
    query: CallbackQuery, callback_data: FormButton, state: FSMContext, intake: IntakeService
) -> None:
    try:
        result = await intake.submit(callback_data.draft_id, user_id=query.from_user.id)
    except DraftNotFound:
        await query.answer(_("This form is not open any more (or is not yours)."), show_alert=True)
        return
    except FormMovedOn:
        # F1 ended since the last answer: what now matters is asked before filing.
        await query.answer()
        draft = await intake.get_draft(callback_data.draft_id, user_id=query.from_user.id)
        if isinstance(query.message, Message):
            await ask(query.message, draft, intake, prefix=_(FORM_MOVED_ON))
        return
    await query.answer()
    await state.clear()
    if not isinstance(query.message, Message):
        return
    if not result.offer_to_save:
        await query.message.answer(receipt_text(result), reply_markup=main_menu())
        return
    # The consent question rides on the receipt (one message): the menu stays under it.
    text = receipt_text(result) + "\n\n" + _(KEEP_DETAILS_QUESTION)
    keep = [
        button(_("Yes, keep my details"), KeepDetails(case_id=result.case.id, keep=1)),
        button(_("No, do not keep them"), KeepDetails(case_id=result.case.id, keep=0)),
    ]
    markup = InlineKeyboardMarkup(
        inline_keyboard=[*grid(keep, 2).inline_keyboard, *main_menu().inline_keyboard]
    )
    await query.message.answer(text, reply_markup=markup)


FORM_MOVED_ON = N_(
    "Since your last answer the 60-day time limit for applying has passed, so a few more "
    "questions matter now (Administrative Reconsideration Law, Art. 20). Nothing you entered "
    "is lost."
)
KEEP_DETAILS_QUESTION = N_(
    "Shall we keep your name, ID number, phone number and address for your next filing? You "
    "would not need to type them again: we would show them masked and you choose “use these” "
    "or “change”. They are kept only for this, and /forgetme deletes them at any time."
)


async def keep_details(
    query: CallbackQuery, callback_data: KeepDetails, intake: IntakeService
) -> None:
    keep = bool(callback_data.keep)
    done = await intake.keep_details(
        callback_data.case_id, user_id=query.from_user.id, consent=keep
    )
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not done:
        await query.message.answer(_("This button is no longer valid."), reply_markup=main_menu())
        return
    text = (
        _("Your details are kept for your next filing. /forgetme deletes them.")
        if keep
        else _("Nothing was kept. You will be asked for your details next time.")
    )
    await query.message.answer(text, reply_markup=main_menu())


async def forget_me(message: Message, intake: IntakeService) -> None:
    """Deletes the saved details; filed cases are official records and stay."""
    assert message.from_user
    deleted = await intake.forget_details(message.from_user.id)
    text = (
        _("Your saved details (name, ID, phone, address) were deleted.")
        if deleted
        else _("No details of yours were saved.")
    )
    text += " " + _(
        "Cases you have filed stay as they are: they are official records and are kept as "
        "the law requires."
    )
    await message.answer(text)
