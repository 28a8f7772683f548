"""``bot.py`` as a real process against the fake Bot API (DESIGN.md "Testing").

These are the only tests that see what an operator sees: the start-up sequence, the exit code
and log of a stop, a crash (``kill -9``) in the middle of a conversation, and Telegram
re-delivering an update after a restart. Everything else is tested in-process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import pytest

from scripts.compile_locales import compile_all
from settings import ENV_FILE_VARIABLE, Settings
from tests.fakes.bot_api_server import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "42:TEST-token"
ADMIN_ID = 9001
CITIZEN = 5001
START_TIMEOUT = 60.0  # only a bound: importing aiogram takes seconds on a loaded machine
STOP_TIMEOUT = 10.0


def isolated_environment(workdir: Path) -> dict[str, str]:
    """``os.environ`` minus every setting, with the settings file an empty one in ``workdir``.

    bot.py reads ``.env`` beside itself, not in the working directory; ``BOT_ENV_FILE`` replaces
    it. Settings names are case-insensitive, nested ones are ``LOCAL_PERIODS__X1_DAYS``.
    """
    env_file = workdir / "test.env"
    env_file.touch()
    fields = set(Settings.model_fields)
    env = {
        key: value
        for key, value in os.environ.items()
        if key.split("__", 1)[0].lower() not in fields
    }
    env[ENV_FILE_VARIABLE] = str(env_file)
    return env


async def start_bot(
    workdir: Path, env: dict[str, str], **streams: Any
) -> asyncio.subprocess.Process:
    """``python bot.py`` started from ``workdir``: it must find its own files from anywhere, and
    relative paths in settings land in the test's folder."""
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), cwd=workdir, env=env, **streams
    )


class BotProcess:
    """``python bot.py`` with its stdout/stderr in files, restartable on the same database."""

    def __init__(self, api: FakeBotAPI, workdir: Path) -> None:
        self.api = api
        self.workdir = workdir
        self.database_path = workdir / "bot.sqlite3"
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0
        self._files: list[IO[bytes]] = []

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The real environment without any setting, plus the test's settings.

        ``BOT_ENV_FILE`` names an empty file in the test's folder, so a developer's ``.env``
        (or exported ``BOT_TOKEN``) cannot leak in.
        """
        env = isolated_environment(self.workdir)
        env.update(
            {
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE": self.api.base_url,
                "DATABASE_PATH": str(self.database_path),
                "ADMIN_IDS": str(ADMIN_ID),
                "BACKUP_DIR": str(self.workdir / "backups"),
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"run{self.runs}.stderr"

    def log(self) -> str:
        """stderr of the current (or last) run: JSON log lines, or a traceback."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def log_messages(self) -> list[str]:
        messages = []
        for line in self.log().splitlines():
            try:
                messages.append(str(json.loads(line).get("message", "")))
            except (ValueError, AttributeError):
                continue
        return messages

    async def start(self) -> None:
        """Start and wait until the bot long-polls (start-up, migrations and commands done)."""
        assert self.process is None or self.process.returncode is not None
        self._close_files()
        self.runs += 1
        stdout = (self.workdir / f"run{self.runs}.stdout").open("wb")
        stderr = self.stderr_path.open("wb")
        self._files = [stdout, stderr]
        started = time.monotonic()
        self.process = await start_bot(self.workdir, self.env(), stdout=stdout, stderr=stderr)
        process = self.process

        def polling() -> bool:
            if process.returncode is not None:
                raise AssertionError(
                    f"bot.py exited with {process.returncode} during start-up:\n{self.log()}"
                )
            return any(c.method == "getUpdates" and c.time >= started for c in self.api.calls)

        try:
            await self.api.wait_for(polling, timeout=START_TIMEOUT)
        except TimeoutError as exc:
            raise AssertionError(f"bot.py did not start polling:\n{self.log()}") from exc

    async def terminate(self) -> int:
        """SIGTERM, as systemd or docker stop would send; kill if it hangs."""
        process = self._running()
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"bot.py ignored SIGTERM:\n{self.log()}") from None

    async def crash(self) -> int:
        """``kill -9``: no shutdown hook runs, nothing is flushed or confirmed."""
        process = self._running()
        process.kill()
        return await process.wait()

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._close_files()

    def _running(self) -> asyncio.subprocess.Process:
        assert self.process is not None and self.process.returncode is None, self.log()
        return self.process

    def _close_files(self) -> None:
        for handle in self._files:
            handle.close()
        self._files = []


@pytest.fixture(scope="module", autouse=True)
def locales_compiled() -> None:
    """bot.py reads the compiled catalogues; build them from the sources like the installer."""
    compile_all()


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
