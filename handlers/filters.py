"""Filters that stay on the event loop.

aiogram 3.31 runs a plain magic filter (``F.text``) as a synchronous callable through
``asyncio.to_thread`` (``CallableObject.call``), a thread hop per filter per update: it made a
form step four times slower in benchmarks/dispatch.py. ``When(F...)`` is a ``Filter`` (awaited
directly) that resolves the same magic filter in place.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class When(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)

    def __str__(self) -> str:
        return f"When({self.magic!r})"
