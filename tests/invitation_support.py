"""Helpers for the invitation and member-list tests (tests/test_invitations.py)."""

from __future__ import annotations

import re

from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.store.time import FakeClock
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, PacedClient

LINK = re.compile(r"https://t\.me/(\w+)\?start=(inv_[A-Za-z0-9_-]+)")


async def admin(dp: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    await dp["users"].set_role(ADMIN_ID, Role.admin)
    return PacedClient(
        dp, bot, user_id=ADMIN_ID, language_code="zh-hans", first_name="法制办", clock=clock
    )


async def invite(client: BotClient, kind: str, unit: str) -> str:
    """/invite, the kind and the unit by their button labels; the /start payload shown."""
    await client.send("/invite")
    await client.press(kind)
    await client.press(unit)
    found = LINK.search(client.last_text())
    assert found, client.last_text()
    return found.group(2)


def newcomer(dp: Dispatcher, bot: Bot, clock: FakeClock, user_id: int, name: str) -> PacedClient:
    return PacedClient(
        dp, bot, user_id=user_id, language_code="zh-hans", first_name=name, clock=clock
    )
