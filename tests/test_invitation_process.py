"""The invitation link with ``bot.py`` as a real process against the fake Bot API: a new chat
opens the link the administrator received and becomes a mediator of the right room."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bot_api_server import BOT_USERNAME, FakeBotAPI
from tests.support import ADMIN_ID, BotProcess

pytestmark = pytest.mark.slow  # starts bot.py as a process

NEWCOMER = 5601


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot_process(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(api, tmp_path)
    try:
        await process.start()
        yield process
    finally:
        await process.close()


def last_sent(api: FakeBotAPI, method: str, chat_id: int) -> dict[str, Any]:
    for call in reversed(api.calls_of(method)):
        if call.ok and call.params.get("chat_id") == chat_id:
            return call.result
    raise AssertionError(f"no {method} to {chat_id}")


def button_data(message: dict[str, Any], label: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r}")


async def test_a_new_chat_opens_the_invitation_and_becomes_a_mediator_of_the_room(
    bot_process: BotProcess, api: FakeBotAPI
) -> None:
    api.push_message(ADMIN_ID, "/invite")
    await api.wait_for(lambda: api.sent_messages(ADMIN_ID))
    question = last_sent(api, "sendMessage", ADMIN_ID)
    api.push_callback(ADMIN_ID, button_data(question, "调解员"), message_id=question["message_id"])
    await api.wait_for(lambda: api.calls_of("editMessageText"))
    rooms = last_sent(api, "editMessageText", ADMIN_ID)
    api.push_callback(
        ADMIN_ID, button_data(rooms, "石花镇行政调解室"), message_id=rooms["message_id"]
    )
    await api.wait_for(lambda: "start=inv_" in last_sent(api, "editMessageText", ADMIN_ID)["text"])
    shown = last_sent(api, "editMessageText", ADMIN_ID)["text"]
    link = re.search(r"https://t\.me/(\w+)\?start=(inv_[A-Za-z0-9_-]+)", shown)
    assert link and link.group(1) == BOT_USERNAME

    # Telegram turns opening the link into "/start <payload>" in the newcomer's new chat.
    api.push_message(NEWCOMER, f"/start {link.group(2)}", first_name="周调解")
    answers = await api.wait_for(lambda: api.sent_messages(NEWCOMER))
    assert "调解员" in answers[0]["text"] and "石花镇行政调解室" in answers[0]["text"]
    told = await api.wait_for(
        lambda: [m for m in api.sent_messages(ADMIN_ID) if "周调解" in str(m.get("text"))]
    )
    assert "石花镇行政调解室" in told[0]["text"]
    with sqlite3.connect(bot_process.database_path) as conn:
        row = conn.execute(
            "SELECT role, unit FROM users WHERE telegram_id = ?", (NEWCOMER,)
        ).fetchone()
    assert row == ("mediator", "room_shihua")
    await api.wait_for(
        lambda: any(
            c.params.get("scope") and str(NEWCOMER) in str(c.params.get("scope"))
            for c in api.calls_of("setMyCommands")
        )
    )

    # A second chat opening the same link is told it was used, and stays a citizen.
    api.push_message(NEWCOMER + 1, f"/start {link.group(2)}")
    second = await api.wait_for(lambda: api.sent_messages(NEWCOMER + 1))
    assert "已经被使用过" in second[0]["text"]
