"""The three intake forms, run by one generic loop over the field tables of cases/intake/forms.py.

One question per message. Every answer is validated at once and saved to the draft before the
next question is asked, so a restart, a day's pause or a wrong answer loses nothing. Buttons
carry the draft id and the question they belong to; both are checked again on every press.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
from datetime import timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from pydantic import Field as PydanticField

from cases.i18n import N_
from cases.intake.evidence import ATTACHMENT_TOO_LARGE, AttachmentIn, check_attachment
from cases.intake.forms import (
    PROCEDURE_NAMES,
    PROVISIONAL_NOTE,
    RESIDENT_ID,
    Field,
    Gate,
    Kind,
    Procedure,
    choices_for,
    display_value,
    parse_answer,
    timeliness,
    township_from_address,
)
from cases.intake.records import Draft, DraftNotFound, FormMovedOn, SavedDetails, SubmitResult
from cases.intake.service import IntakeService
from cases.intake.validation import ValidationError, mask_id_number, mask_phone, parse_phone
from cases.law.citations import plain_basis
from cases.law.deadline_rules import DeadlineEngine
from handlers.callbacks import MenuAction
from handlers.filters import NotCommand, When
from handlers.keyboards import button, cancel_confirmation, grid, main_menu
from handlers.texts import colon, current_locale, t

log = logging.getLogger(__name__)

SUMMARY_VALUE_LIMIT = 300
DONE_WORDS = {"完成", "好了", "没有了", "没有", "done", "finish", "finished", "ok"}


class IntakeForm(StatesGroup):
    answering = State()


class KeepDetails(CallbackData, prefix="kd"):
    """After a filing: keep (1) or do not keep (0) the applicant's details for next time."""

    case_id: int = PydanticField(ge=0, lt=2**63)
    keep: int = PydanticField(ge=0, le=1)


class FormButton(CallbackData, prefix="f"):
    """``action``: pick (a choice, by index), skip, done (evidence), submit, edit, field
    (re-ask one question), discard, default (the commonest answer), otherid (not a resident
    ID card)."""

    draft_id: int = PydanticField(ge=0, lt=2**63)  # a forged huge id must not reach SQLite
    action: str
    field: str = ""
    value: int = PydanticField(default=0, ge=0, lt=1000)


ENTRY_COMMANDS = {
    "reconsider": Procedure.reconsideration,
    "petition": Procedure.petition,
    "mediation": Procedure.mediation,
}


# --- rendering ---------------------------------------------------------------------------


def masked_details(details: SavedDetails) -> str:
    """Saved details as shown back to their owner: every part masked (the chat may be read
    over a shoulder, and a message stays on the phone)."""
    name = details.name[:1] + "*" * max(len(details.name) - 1, 1)
    address = details.address[:6] + ("…" if len(details.address) > 6 else "")
    return "\n".join(
        [
            f"• {html.escape(name)}",
            f"• {mask_id_number(details.id_number)}",
            f"• {mask_phone(details.phone)}",
            f"• {html.escape(address)}",
        ]
    )


def question_text(
    draft: Draft,
    field: Field,
    today: Any,
    *,
    engine: DeadlineEngine,
    saved: SavedDetails | None = None,
    org: Any = None,
) -> str:
    parts: list[str] = []
    if field.intro is not None:
        note = field.intro(draft.answers, today, engine)
        if note is not None:
            parts.append("⚠️ " + t(note.message, **note.params))
    if field.kind is Kind.saved and saved is not None:
        parts.append(t(field.prompt, details=masked_details(saved)))
    else:
        parts.append(_(field.prompt))
    if field.kind is Kind.township and org is not None:
        suggested = township_from_address(draft.answers, org)
        if suggested is not None:
            parts.append(
                t(
                    "Your address names {place}: press it to confirm, or choose another.",
                    place=html.escape(org.township(suggested).display_name(current_locale())),
                )
            )
    if field.why:
        parts.append(f"<i>{html.escape(_(field.why))}</i>")
    return "\n\n".join(parts)


def question_keyboard(
    draft: Draft, field: Field, service: IntakeService, files: int = 0
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    if field.kind is Kind.phone:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    buttons: list[InlineKeyboardButton] = []
    if field.kind is Kind.township:
        suggested = township_from_address(draft.answers, service.org)
        options = [value for value, _label in choices_for(field, service.org, "zh")]
        if suggested in options:
            place = service.org.township(suggested).display_name(current_locale())
            buttons.append(button("✅ " + place, _pick(draft, field, options.index(suggested))))
    if field.kind is Kind.id_number and draft.answers.get("id_type", RESIDENT_ID) == RESIDENT_ID:
        buttons.append(
            button(
                _("Not a resident ID card"),
                FormButton(draft_id=draft.id, action="otherid", field=field.key),
            )
        )
    if field.default is not None:
        buttons.append(
            button(
                _(field.default.label),
                FormButton(draft_id=draft.id, action="default", field=field.key),
            )
        )
    if field.kind is Kind.yes_no:
        buttons += [
            button(_("Yes"), _pick(draft, field, 0)),
            button(_("No"), _pick(draft, field, 1)),
        ]
    elif field.kind in (Kind.choice, Kind.agency, Kind.township, Kind.category, Kind.saved):
        options = choices_for(field, service.org, current_locale())
        for index, (_value, label) in enumerate(options):
            text = _(label) if field.kind in (Kind.choice, Kind.saved) else label
            buttons.append(button(text, _pick(draft, field, index)))
    elif field.kind is Kind.date:
        # The commonest answers as buttons; any other date is typed.
        buttons += [
            button(_("Today"), FormButton(draft_id=draft.id, action="date", field=field.key)),
            button(
                _("Yesterday"),
                FormButton(draft_id=draft.id, action="date", field=field.key, value=1),
            ),
        ]
    elif field.kind is Kind.evidence:
        buttons.append(
            button(
                _("✅ Done ({count} file(s))").format(count=files),
                FormButton(draft_id=draft.id, action="done", field=field.key),
            )
        )
    if field.optional:
        buttons.append(
            button(_("Skip"), FormButton(draft_id=draft.id, action="skip", field=field.key))
        )
    if not buttons:
        return None
    long_list = field.kind in (Kind.agency, Kind.township, Kind.category, Kind.date)
    if field.kind is Kind.township and buttons and buttons[0].text.startswith("✅"):
        # The township the address names on a row of its own, above the full list.
        rest = grid(buttons[1:], 2).inline_keyboard
        return InlineKeyboardMarkup(inline_keyboard=[[buttons[0]], *rest])
    return grid(buttons, 2 if long_list else 1)


def _pick(draft: Draft, field: Field, index: int) -> FormButton:
    return FormButton(draft_id=draft.id, action="pick", field=field.key, value=index)


def summary_text(draft: Draft, service: IntakeService, files: int) -> str:
    locale = current_locale()
    lines = [f"<b>{html.escape(_(draft.spec.title))}</b>", _("Please check your answers:"), ""]
    for field in draft.spec.asked_fields(draft.answers):
        if field.key.startswith("_") or field.kind is Kind.evidence:
            continue  # the form's bookkeeping; files are counted below
        value = display_value(field, draft.answers.get(field.key), service.org, _, locale)
        if len(value) > SUMMARY_VALUE_LIMIT:
            value = value[: SUMMARY_VALUE_LIMIT - 1] + "…"
        lines.append(f"<b>{html.escape(_(field.label))}</b>{colon()}{html.escape(value)}")
    lines.append(
        f"<b>{html.escape(_('Evidence'))}</b>{colon()}"
        + html.escape(_("{count} file(s)").format(count=files))
    )
    lines.append(
        _(
            "To add evidence, send photos, documents (PDF, Word, Excel) or voice messages "
            "now, before you submit."
        )
    )
    if draft.procedure is Procedure.reconsideration:
        window = timeliness(draft.answers, service.today(), service.engine)
        if window.window_end is not None and not window.late:
            lines += [
                "",
                t(
                    "Time limit for applying: until {date} ({basis}).",
                    date=window.window_end,
                    basis=window.basis,
                ),
            ]
            if window.provisional:
                lines.append(_(PROVISIONAL_NOTE))
    lines += [
        "",
        _(
            "By pressing “Submit” you confirm that the above is true. After submission the "
            "application cannot be changed; you can add further material to the case."
        ),
    ]
    return "\n".join(lines)


def summary_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    return grid(
        [
            button(_("✅ Submit"), FormButton(draft_id=draft.id, action="submit")),
            button(_("✏️ Change an answer"), FormButton(draft_id=draft.id, action="edit")),
            button(_("🗑 Discard"), FormButton(draft_id=draft.id, action="discard")),
        ]
    )


def edit_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    # A gating answer is not offered: changing it means starting again (/cancel).
    return grid(
        [
            button(_(field.label), FormButton(draft_id=draft.id, action="field", field=field.key))
            for field in draft.spec.asked_fields(draft.answers)
            if field.gate is None and not field.key.startswith("_")
        ],
        2,
    )


NEXT_STEPS: dict[Procedure, str] = {
    Procedure.reconsideration: N_(
        "The reconsideration office will review your application and decide whether to accept "
        "it. If anything is missing, it will tell you once, in writing, everything to add."
    ),
    Procedure.petition: N_(
        "The petition office will register your petition and forward it to the body "
        "responsible, which will tell you in writing whether and how it will be handled."
    ),
    Procedure.mediation: N_(
        "The mediation room will contact you and the other side to arrange a session."
    ),
}


def receipt_text(result: SubmitResult) -> str:
    case = result.case
    lines = [
        t("✅ Your {procedure} has been received.", procedure=_(PROCEDURE_NAMES[case.procedure]))
        if result.created
        else _("This application was already submitted; here is its receipt again."),
        "",
        t("Case number: {number}", number=f"<code>{case.number}</code>"),
    ]
    if case.routed_to_name:
        lines.append(t("Handled by: {unit}", unit=html.escape(case.routed_to_name)))
    lines.append(t("Received on: {date}", date=case.received_on))
    lines += ["", _(NEXT_STEPS[case.procedure])]
    deadline = result.first_deadline
    if deadline is not None:
        from cases.law.deadline_rules import RULES

        lines.append(
            t(
                "{what}: by {date} ({basis}).",
                what=_(RULES[deadline.rule_id].title),
                date=deadline.due,
                basis="依据" + deadline.basis if current_locale() == "zh" else deadline.basis_en,
            )
        )
        if deadline.provisional:
            lines.append(_(PROVISIONAL_NOTE))
    if case.linked_number:
        lines += [
            "",
            t(
                "You already have an open case on the same matter ({number}). The two are "
                "linked and will be handled together (《信访工作条例》第十九条).",
                number=f"<code>{case.linked_number}</code>",
            ),
        ]
    lines += ["", _("You can follow your case at any time with /mycases.")]
    return "\n".join(lines)


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
    draft, resumed = await intake.open_draft(user_id, procedure)
    await state.set_state(IntakeForm.answering)
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


async def _current_draft(state: FSMContext, user_id: int, intake: IntakeService) -> Draft | None:
    draft_id = (await state.get_data()).get("draft_id")
    if not isinstance(draft_id, int):
        return None
    try:
        return await intake.get_draft(draft_id, user_id=user_id)
    except DraftNotFound:
        return None


async def _form_gone(message: Message, state: FSMContext) -> None:
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
    draft = await _current_draft(state, user_id, intake)
    if draft is None:
        await _form_gone(message, state)
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
    draft = await _current_draft(state, user_id, intake)
    if draft is None:
        await _form_gone(message, state)
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


def _attachment_meta(message: Message) -> tuple[str, str, str, int | None, str | None, str | None]:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return "photo", photo.file_id, photo.file_unique_id, photo.file_size, None, "image/jpeg"
    if message.voice:
        voice = message.voice
        return (
            "voice",
            voice.file_id,
            voice.file_unique_id,
            voice.file_size,
            None,
            voice.mime_type or "audio/ogg",
        )
    document = message.document
    assert document is not None
    return (
        "document",
        document.file_id,
        document.file_unique_id,
        document.file_size,
        document.file_name,
        document.mime_type,
    )


async def receive_file(
    message: Message, bot: Bot, state: FSMContext, intake: IntakeService
) -> None:
    """Evidence at any step of a form is kept with the draft (SHA-256 of its content)."""
    assert message.from_user
    user_id = message.from_user.id
    draft = await _current_draft(state, user_id, intake)
    if draft is None:
        await _form_gone(message, state)
        return
    attachment = await download_attachment(message, bot)
    if isinstance(attachment, ValidationError):
        await message.answer("❗ " + attachment.render(current_locale()))
        return
    try:
        added, files = await intake.add_attachment(
            user_id=user_id, attachment=attachment, draft_id=draft.id
        )
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    text = (
        _("File received ({count} so far).").format(count=files)
        if added
        else _("You already sent this file; it is saved once.")
    )
    field = draft.current_field
    if field is not None and field.kind is Kind.evidence:
        await message.answer(
            text + " " + _("Send more, or press “Done”."),
            reply_markup=question_keyboard(draft, field, intake, files),
        )
    else:
        await ask(message, draft, intake, prefix=text + " " + _("Let us continue:"))


async def download_attachment(message: Message, bot: Bot) -> AttachmentIn | ValidationError:
    kind, file_id, unique_id, size, name, mime = _attachment_meta(message)
    try:
        check_attachment(kind, size or 0, mime)
    except ValidationError as error:
        return error
    buffer = io.BytesIO()
    try:
        await bot.download(file_id, destination=buffer)
    except TelegramBadRequest:
        # Telegram gives bots files up to 20 MB; a file sent without its size lands here.
        return ValidationError(ATTACHMENT_TOO_LARGE)
    content = buffer.getvalue()
    try:
        check_attachment(kind, len(content), mime)
    except ValidationError as error:
        return error
    return AttachmentIn(
        kind=kind,
        file_id=file_id,
        file_unique_id=unique_id,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        file_name=name,
        mime_type=mime,
    )


async def other_message(message: Message, state: FSMContext, intake: IntakeService) -> None:
    assert message.from_user
    draft = await _current_draft(state, message.from_user.id, intake)
    if draft is None:
        await _form_gone(message, state)
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


def build_router() -> Router:
    """Entry commands, menu buttons and the form's own buttons."""
    router = Router(name="intake")
    router.message.register(command_entry, Command(*ENTRY_COMMANDS))
    router.callback_query.register(
        menu_entry, MenuAction.filter(F.action.in_(set(ENTRY_COMMANDS)))
    )
    router.callback_query.register(form_button, FormButton.filter())
    router.callback_query.register(keep_details, KeepDetails.filter())
    router.message.register(forget_me, Command("forgetme"))
    return router


def build_answers_router() -> Router:
    """Messages while a form is open: the commonest update, so this router is offered first.

    Its root filter lets every command through to the routers that own it (/cancel, /start,
    /help …), so nothing below is shadowed; within a form, any other message is an answer.
    """
    router = Router(name="form-answers")
    router.message.filter(StateFilter(IntakeForm.answering), NotCommand())
    router.message.register(answer_text, When(F.text))
    router.message.register(answer_contact, When(F.contact))
    router.message.register(receive_file, When(F.photo | F.document | F.voice))
    router.message.register(other_message)
    return router
