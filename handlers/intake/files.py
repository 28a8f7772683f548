"""Evidence sent while filing (photos, documents, voice messages): checked against the limits
of cases/intake/evidence.py, downloaded and fingerprinted (SHA-256), attached to the draft."""

from __future__ import annotations

import hashlib
import io
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    Message,
)
from aiogram.utils.i18n import gettext as _

from cases.intake.evidence import ATTACHMENT_TOO_LARGE, AttachmentIn, check_attachment
from cases.intake.form_engine import Kind
from cases.intake.service import IntakeService
from cases.intake.validation import ValidationError
from handlers.intake.flow import ask, current_draft, form_gone
from handlers.intake.rendering import question_keyboard
from handlers.texts import current_locale

log = logging.getLogger(__name__)


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
    draft = await current_draft(state, user_id, intake)
    if draft is None:
        await form_gone(message, state)
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
