"""Outer middlewares on every update, in this order (see handlers.setup_middlewares):

1. ``UpdateDedupMiddleware``: a re-delivered update_id is dropped (engineering.md §4).
2. ``UserMiddleware``: registers the person and injects ``user`` (language, role).
3. ``LocaleMiddleware``: the stored language, else Telegram's, else the default.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n, I18nMiddleware

from cases.updates import ProcessedUpdates
from cases.users import UserRepository

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UpdateDedupMiddleware(BaseMiddleware):
    def __init__(self, processed: ProcessedUpdates) -> None:
        self._processed = processed

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        update_id = event.update_id
        if await self._processed.seen(update_id):
            log.info("update %s re-delivered; already handled", update_id)
            return None
        with self._processed.handling(update_id):
            try:
                return await handler(event, data)
            finally:
                await self._processed.finish(update_id)


class UserMiddleware(BaseMiddleware):
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TelegramUser | None = data.get("event_from_user")
        if tg_user is not None and not tg_user.is_bot:
            data["user"] = await self._users.ensure(tg_user.id)
        return await handler(event, data)


def locale_from_telegram(language_code: str | None, default: str) -> str:
    if language_code:
        code = language_code.lower()
        if code.startswith("zh"):
            return "zh"
        if code.startswith("en"):
            return "en"
    return default


class LocaleMiddleware(I18nMiddleware):
    def __init__(self, i18n: I18n) -> None:
        super().__init__(i18n)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        if user is not None and user.locale:
            return user.locale
        tg_user: TelegramUser | None = data.get("event_from_user")
        return locale_from_telegram(
            tg_user.language_code if tg_user else None, self.i18n.default_locale
        )
