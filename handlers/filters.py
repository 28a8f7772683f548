"""Filters that stay on the event loop.

aiogram 3.31 runs every filter that is not a ``Filter`` subclass (a plain magic filter such as
``F.text``, or a bare ``State``) as a synchronous callable through ``asyncio.to_thread``
(``CallableObject.call``): a thread hop per filter per update, which made a form step several
times slower in benchmarks/dispatch.py. So handlers register ``When(F...)`` (below) and
``StateFilter(...)`` instead, both awaited directly on the loop.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject
from magic_filter import MagicFilter

from cases.org.users import Role, User


class When(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)

    def __str__(self) -> str:
        return f"When({self.magic!r})"


COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@\w+)?(?:\s|$)")
"""A caption that is a command; a file captioned "/home/scan.pdf" is still evidence."""


class NotCommand(Filter):
    """A message whose text or caption is not a command (aiogram's Command reads both).

    A router whose messages are form answers puts this at its root, so /cancel, /start and
    the rest fall through to the routers that own them.
    """

    async def __call__(self, message: Message) -> bool:
        if message.text is not None:  # any "/…" text: a command, or a mistyped one
            return not message.text.startswith("/")
        return not (message.caption and COMMAND.match(message.caption))


class HasRole(Filter):
    """Staff commands and buttons: only for people whose stored role is one of ``roles``.

    Needs the ``user`` that UserMiddleware injects; a citizen pressing a forwarded staff button
    simply does not match (and falls through to the polite stale-button answer).
    """

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, user: User | None = None) -> bool:
        return user is not None and user.role in self.roles
