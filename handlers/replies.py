"""Replies that Telegram rate-limits are sent again instead of being lost; an edit that a
second press of the same button repeats is not a failure.

Telegram answers 429 with the seconds to wait when a bot sends more than about 30 messages a
second in all, or one a second to one chat (engineering.md). The reminder sender has its own
limiter and 429 handling (scheduling/sender.py) and uses a Bot without this middleware; this one
is for the handlers' answers, where a lost reply would leave a citizen without the next question.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardMarkup, Message

log = logging.getLogger(__name__)

REPLY_METHODS = (SendMessage, EditMessageText, EditMessageReplyMarkup, AnswerCallbackQuery)


class RetryRateLimitedReplies(BaseRequestMiddleware):
    """Wait as long as Telegram asks (up to ``max_wait`` seconds) and send again, at most
    ``attempts`` times. A longer wait is not worth holding the person's update for: the error
    handler then apologises, and the form's command shows the question again."""

    def __init__(
        self,
        *,
        max_wait: float = 5.0,
        attempts: int = 2,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.max_wait = max_wait
        self.attempts = attempts
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if (
                    attempt == self.attempts
                    or exc.retry_after > self.max_wait
                    or not isinstance(method, REPLY_METHODS)
                ):
                    raise
                log.info("reply rate-limited; sending again in %s s", exc.retry_after)
                await self._sleep(exc.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover


async def edit_text(
    message: Message, text: str, *, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Show ``text`` in place of the message whose button was pressed.

    A double tap delivers the press twice, and the second edit asks for what the message
    already shows: Telegram refuses it ("message is not modified"). The person sees the right
    text, so that is no failure to apologise for; any other refusal is.
    """
    try:
        await message.edit_text(text, reply_markup=reply_markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise
