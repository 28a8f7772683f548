"""``bot.py`` as a real process against the fake Bot API (DESIGN.md "Testing").

These are the only tests that see what an operator sees: the start-up sequence, the exit code
and log of a stop, a crash (``kill -9``) in the middle of a conversation, and Telegram
re-delivering an update after a restart. Everything else is tested in-process.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bot_api_server import FakeBotAPI
from tests.support import START_TIMEOUT, BotProcess, start_bot

pytestmark = pytest.mark.slow  # each test starts bot.py as a process

CITIZEN = 5001


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


def texts_to(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [str(params.get("text", "")) for params in api.sent_messages(chat_id)]


def last_result(api: FakeBotAPI, method: str, chat_id: int) -> dict[str, Any]:
    """The Message Telegram returned for the bot's last ``method`` call to ``chat_id``."""
    for call in reversed(api.calls_of(method)):
        if call.ok and call.params.get("chat_id") == chat_id:
            return call.result
    raise AssertionError(f"no successful {method} to {chat_id}")


# ---------------------------------------------------------------- tests


async def test_start_is_answered_and_commands_are_set(
    bot_process: BotProcess, api: FakeBotAPI
) -> None:
    api.push_message(CITIZEN, "/start")

    answers = await api.wait_for(lambda: api.sent_messages(CITIZEN))

    assert "欢迎使用谷城县" in answers[0]["text"]
    assert answers[0]["reply_markup"]["inline_keyboard"]  # the main menu
    languages = {c.params.get("language_code") for c in api.calls_of("setMyCommands")}
    assert {"zh", "en"} <= languages
    assert api.commands[('{"type": "default"}', "en")][0]["command"] == "start"
    assert "bot ready" in bot_process.log_messages()


async def test_sigterm_stops_cleanly(bot_process: BotProcess, api: FakeBotAPI) -> None:
    api.push_message(CITIZEN, "/start")
    await api.wait_for(lambda: api.sent_messages(CITIZEN))

    exit_code = await bot_process.terminate()

    assert exit_code == 0, bot_process.log()
    assert "bot stopped" in bot_process.log_messages()
    assert "Traceback" not in bot_process.log()


async def test_missing_token_exits_2_with_one_clear_line(api: FakeBotAPI, tmp_path: Path) -> None:
    process = await start_bot(
        tmp_path,
        BotProcess(api, tmp_path).env(BOT_TOKEN=None),  # absent, as on a fresh checkout
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)

    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert process.returncode == 2, stderr.decode()
    assert len(lines) == 1, stderr.decode()
    assert lines[0].startswith("error: BOT_TOKEN is missing or malformed.")
    assert ".env.example" in lines[0]
    assert stdout == b""
    assert api.calls == []  # it never talked to Telegram


async def test_form_continues_after_kill_9(bot_process: BotProcess, api: FakeBotAPI) -> None:
    """A crash in the middle of the mediation form loses nothing: after the restart the
    citizen resumes at the question they were on (FSM state and draft are in SQLite)."""
    api.push_message(CITIZEN, "/mediation")
    first = (await api.wait_for(lambda: api.sent_messages(CITIZEN)))[0]
    assert first["text"].startswith("我们开始吧。")
    assert "这起纠纷是否已经由法院、仲裁机构或行政复议机关受理？" in first["text"]
    not_elsewhere = first["reply_markup"]["inline_keyboard"][0][0]
    assert not_elsewhere["text"] == "没有，其他地方都没有受理"
    question = last_result(api, "sendMessage", CITIZEN)
    api.push_callback(CITIZEN, not_elsewhere["callback_data"], message_id=question["message_id"])
    await api.wait_for(lambda: len(api.sent_messages(CITIZEN)) == 2)
    assert "调解需要双方自愿参加。对方同意调解吗？" in texts_to(api, CITIZEN)[1]

    assert await bot_process.crash() == -signal.SIGKILL
    await bot_process.start()
    api.push_message(CITIZEN, "/mediation")  # starting again resumes the stored draft
    await api.wait_for(lambda: len(api.sent_messages(CITIZEN)) == 3)
    resumed = texts_to(api, CITIZEN)[2]
    assert "我们从您上次停下的地方接着填写" in resumed
    assert "调解需要双方自愿参加。对方同意调解吗？" in resumed
    api.push_message(CITIZEN, "是的，对方同意")  # typing a button's label counts as pressing it
    await api.wait_for(lambda: len(api.sent_messages(CITIZEN)) == 4)
    assert "是哪一类纠纷？" in texts_to(api, CITIZEN)[3]


async def test_update_redelivered_after_restart_is_answered_once(
    bot_process: BotProcess, api: FakeBotAPI
) -> None:
    start_update = api.push_message(CITIZEN, "/start")
    await api.wait_for(lambda: api.sent_messages(CITIZEN))
    await api.wait_for(lambda: not api.pending_update_ids)  # confirmed by the next getUpdates
    assert await bot_process.terminate() == 0
    await bot_process.start()

    api.push_raw_duplicate(start_update)
    # A later message from the same person is handled after the duplicate (one lock per user),
    # so its answer proves the duplicate has been seen.
    api.push_message(CITIZEN, "/help")
    await api.wait_for(lambda: len(api.sent_messages(CITIZEN)) >= 2)
    await api.wait_for(lambda: not api.pending_update_ids)

    texts = texts_to(api, CITIZEN)
    assert len(texts) == 2, texts
    assert "欢迎使用谷城县" in texts[0]
    assert "欢迎使用谷城县" not in texts[1]
    assert any("re-delivered" in message for message in bot_process.log_messages())


async def test_unconfirmed_updates_after_kill_9_are_answered_once(
    bot_process: BotProcess, api: FakeBotAPI
) -> None:
    """Handled, then the process dies before Telegram learnt the new offset: Telegram delivers
    those updates to the next process, which must not answer them again."""
    api.lose_confirmations()
    handled = [api.push_message(CITIZEN, "/start"), api.push_message(CITIZEN, "/help")]
    await api.wait_for(lambda: len(api.sent_messages(CITIZEN)) == 2)
    assert await bot_process.crash() == -signal.SIGKILL
    assert api.pending_update_ids == handled
    api.lose_confirmations(False)

    await bot_process.start()
    api.push_message(CITIZEN, "/menu")
    await api.wait_for(lambda: len(api.sent_messages(CITIZEN)) >= 3)
    await api.wait_for(lambda: not api.pending_update_ids)

    texts = texts_to(api, CITIZEN)
    assert len(texts) == 3, texts
    assert sum("欢迎使用谷城县" in text for text in texts) == 1
