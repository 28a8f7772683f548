"""Outer middlewares on every update, in this order (see handlers.setup_middlewares):

1. ``UpdateDedupMiddleware``: a re-delivered update_id is dropped (engineering.md §4).
2. ``UserMiddleware``: registers the person and injects ``user`` (language, role).
3. ``LocaleMiddleware``: the stored language, else Telegram's, else the default.
4. ``FloodMiddleware``: one person sending far faster than anyone types is slowed down.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _

from cases.org.users import UserRepository
from cases.store.processed_updates import ProcessedUpdates

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
            name = tg_user.full_name or (f"@{tg_user.username}" if tg_user.username else None)
            data["user"] = await self._users.ensure(tg_user.id, display_name=name)
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


class FloodMiddleware(BaseMiddleware):
    """At most ``limit`` messages and button presses per person in ``window``.

    Beyond that the person is told once to slow down and the extra updates are dropped (they
    are still recorded as handled, so nothing is replayed later). Everything already entered
    stays saved. A form answer takes a person seconds; 20 in 10 seconds is a script or a stuck
    key, and it would otherwise crowd out everyone else's answers.
    """

    def __init__(
        self, *, limit: int = 20, window: float = 10.0, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.now = now  # real elapsed time, not the legal clock: typing speed is physics
        self.limit = limit
        self._window = window
        self._recent: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TelegramUser | None = data.get("event_from_user")
        if tg_user is None or not isinstance(event, Update):
            return await handler(event, data)
        if not (event.message or event.callback_query):
            return await handler(event, data)
        now = self.now()
        times = self._recent.setdefault(tg_user.id, deque())
        while times and now - times[0] > self._window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            if len(self._recent) > 10_000:
                self._forget_idle(now)
            return await handler(event, data)
        warned = self._warned.get(tg_user.id)
        if warned is None or now - warned > self._window:
            self._warned[tg_user.id] = now
            log.info("flood control: dropping updates from one user for a moment")
            text = _(
                "You are sending messages very quickly. Please wait a few seconds, then send "
                "your answer again. Nothing you entered before was lost."
            )
            if event.callback_query:
                await event.callback_query.answer(text, show_alert=True)
            elif event.message:
                await event.message.answer(text)
        elif event.callback_query:
            # Every press is answered, or the client keeps the button's spinner turning.
            await event.callback_query.answer()
        return None

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, t in self._recent.items() if not t or now - t[-1] > self._window]:
            self._recent.pop(user_id, None)
            self._warned.pop(user_id, None)
