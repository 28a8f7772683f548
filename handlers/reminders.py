"""The "received / 已收到" button under staff and agency reminders: proof of service (送达)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.store.db import Database
from cases.store.time import Clock
from handlers.callbacks import ReminderAck
from scheduling.outbox import AckOutcome, acknowledge

log = logging.getLogger(__name__)


def _answers() -> dict[AckOutcome, str]:
    return {
        AckOutcome.RECORDED: _("Thank you. Your receipt of this reminder has been recorded."),
        AckOutcome.ALREADY: _("Your receipt of this reminder was already recorded."),
        AckOutcome.NOT_YOURS: _(
            "This reminder was sent to someone else, so it cannot be confirmed from here."
        ),
        AckOutcome.NOT_FOUND: _("This reminder is no longer available."),
    }


def _received_markup(markup: InlineKeyboardMarkup, data: str) -> InlineKeyboardMarkup:
    """The same keyboard with the pressed button now saying it was received."""
    rows = [
        [
            InlineKeyboardButton(text=_("✅ Received"), callback_data=data)
            if button.callback_data == data
            else button
            for button in row
        ]
        for row in markup.inline_keyboard
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def acknowledge_reminder(
    query: CallbackQuery, callback_data: ReminderAck, db: Database, clock: Clock
) -> None:
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    outcome = await acknowledge(
        db,
        callback_data.reminder_id,
        user_id=query.from_user.id,
        chat_id=chat_id,
        now=clock.now(),
    )
    await query.answer(_answers()[outcome], show_alert=outcome is AckOutcome.NOT_YOURS)
    if outcome is not AckOutcome.RECORDED:
        return
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        try:
            await message.edit_reply_markup(
                reply_markup=_received_markup(message.reply_markup, callback_data.pack())
            )
        except TelegramBadRequest as exc:  # too old or unchanged: the record is what counts
            log.info("could not mark reminder %s as received: %s", callback_data.reminder_id, exc)


def build_router() -> Router:
    """A new Router per call: a router belongs to one Dispatcher, and tests build many."""
    router = Router(name="reminders")
    router.callback_query.register(acknowledge_reminder, ReminderAck.filter())
    return router
