"""Routers and middlewares of the bot, assembled in one place.

Router order matters: aiogram offers an update to routers in the order they are included and
the first matching handler wins.

1. ``cancel``    – /cancel must work inside every form, so it sees messages first.
2. ``start``     – /start, /help, /lang, the main menu.
3. ``errors``    – error handlers only; position does not matter for messages.
4. ``fallback``  – last: unknown text, stickers, edits, stale buttons.

Flow routers (intake forms, my cases, reminders, staff) are inserted between ``start`` and
``fallback`` as they are added.
"""

from __future__ import annotations

from aiogram import Dispatcher, Router
from aiogram.utils.i18n import I18n

from cases.updates import ProcessedUpdates
from cases.users import UserRepository
from handlers import common, errors, start
from handlers.middlewares import LocaleMiddleware, UpdateDedupMiddleware, UserMiddleware


def get_routers() -> list[Router]:
    """Fresh routers each call: a router belongs to one Dispatcher (tests build many)."""
    return [
        common.build_cancel_router(),
        start.build_router(),
        errors.build_router(),
        common.build_fallback_router(),
    ]


def setup_middlewares(
    dp: Dispatcher, *, processed: ProcessedUpdates, users: UserRepository, i18n: I18n
) -> None:
    """Outer middlewares on ``update`` run after aiogram's own (user context, errors)."""
    dp.update.outer_middleware(UpdateDedupMiddleware(processed))
    dp.update.outer_middleware(UserMiddleware(users))
    dp.update.outer_middleware(LocaleMiddleware(i18n))
