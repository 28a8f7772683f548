"""Helpers shared by test modules: people and forms for the flow tests, ``bot.py`` as a process
for the process tests. Fixtures live in conftest.py; helpers for scheduling/ in
scheduling_helpers.py. Test modules import from here, never from each other.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from aiogram import Bot, Dispatcher

from cases.law.deadline_rules import DeadlineEngine
from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from settings import ENV_FILE_VARIABLE, Settings
from tests.fakes.bot_api_server import FakeBotAPI
from tests.fakes.telegram import TOKEN, BotClient

ENGINE = DeadlineEngine()
"""The deadline engine of the default settings (bundled calendar, no local periods): what
bot.create_dispatcher builds, for tests that compute a due date or call a clock function."""
compute = ENGINE.compute

ROOT = Path(__file__).resolve().parent.parent
ADMIN_ID = 9001  # in settings.admin_ids of every test bot
VALID_ID = "420625198503120018"
OTHER_VALID_ID = "420625199001010024"


# --- people and forms in the flow tests -------------------------------------------------------


@dataclass
class PacedClient(BotClient):
    """A person who takes a second per message, as people do (keeps flood control quiet)."""

    clock: FakeClock | None = None

    async def feed(self, update: dict[str, Any], update_id: int | None = None) -> Any:
        if self.clock is not None:
            self.clock.advance(timedelta(seconds=1))
        return await super().feed(update, update_id)


async def staff_client(
    dp: Dispatcher,
    bot: Bot,
    clock: FakeClock,
    user_id: int,
    role: Role,
    unit: str | None = None,
    *,
    lead: bool = False,
) -> PacedClient:
    await dp["users"].set_role(user_id, role, unit, lead=lead)
    return PacedClient(
        dp, bot, user_id=user_id, language_code="zh-hans", first_name="王科长", clock=clock
    )


async def begin_reconsideration(client: BotClient) -> None:
    """The applicant part of the form, up to the question about the respondent."""
    await client.send("/reconsider")
    await client.press("没有")
    await client.press("为本人申请")
    await client.send("张三")
    await client.send(VALID_ID)  # a resident ID: the document type follows from it
    await client.send("13800001234")
    await client.send("城关镇")


async def fill_reconsideration(client: BotClient, *, known: str = "11月3日") -> None:
    await client.send("/reconsider")
    await client.press("没有")  # not before a court or another body
    await client.press("为本人申请")
    await client.send("张三")
    await client.send(VALID_ID)
    await client.send_contact("+86 138 0000 1234")
    await client.send("湖北省谷城县城关镇东街1号")
    await client.press("谷城县公安局")
    await client.press("作出的决定")
    await client.send("谷公(治)决字〔2026〕123号")
    await client.send("2026年11月1日")
    await client.send(known)
    # Asked only once the 60 days of F1 have passed (then they can change the outcome).
    if "如何收到" in client.last_text():
        await client.press("当面送达")
    if "决定书是否告诉" in client.last_text():
        await client.press("是")
    if "申请期限已经" in client.last_text():
        await client.send("我生病住院了")
    await client.send("撤销罚款决定")
    await client.send("我没有违反治安管理规定，处罚认定的事实不清。")
    await client.press("以上都没有")  # no compensation, third party or agent
    await client.send_photo(b"\x89PNG fake photo bytes")
    await client.press("是")  # electronic service


async def fill_mediation(client: BotClient, other: str = "李四") -> None:
    await client.send("/mediation")
    await client.press("没有")
    await client.press("同意")
    await client.press("交通事故")
    await client.press("城关镇")
    await client.send("张三")
    await client.send(VALID_ID)
    await client.send("13800001234")
    await client.send("城关镇东街1号")
    await client.send(f"{other} 13900002222")  # the other side, with a phone number
    await client.send("对方驾车撞坏了我的电动车。要求赔偿修车费800元")  # facts and claims
    await client.press("跳过")  # no preferred time


async def file_reconsideration(citizen: PacedClient, db: Database) -> int:
    await fill_reconsideration(citizen)
    await citizen.press("提交")
    return int(await db.fetch_value("SELECT max(id) FROM cases"))


async def file_petition(
    citizen: PacedClient,
    db: Database,
    kind: str = "申诉、求决",
    request: str = "修复村道路面",
    facts: str = "村道损坏已有一年。",
) -> int:
    """A petition; by default 申诉求决 (the X4 clock applies to these, XF 31(6), 34)."""
    await citizen.send("/petition")
    await citizen.press("没有")
    await citizen.press(kind)
    await citizen.send("张三")
    await citizen.send(VALID_ID)
    await citizen.send("13800001234")
    await citizen.send("城关镇东街1号")
    await citizen.press("城关镇")
    await citizen.send(request)
    await citizen.send(facts + "孩子们每天走这条路上学。")  # facts and reasons
    await citizen.press("以上都没有")  # no agency named, not raised before, only me
    assert "请核对" in citizen.last_text()
    await citizen.press("提交")
    return int(await db.fetch_value("SELECT max(id) FROM cases"))


# --- bot.py as a process, against the fake Bot API --------------------------------------------

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

    def __init__(
        self,
        api: FakeBotAPI,
        workdir: Path,
        *,
        database_path: Path | None = None,
        name: str = "run",
        **settings: str,
    ) -> None:
        """``settings``: extra settings for every run (a webhook replica's WEBHOOK_*); replicas
        share ``database_path`` and keep their files apart by ``name``."""
        self.api = api
        self.workdir = workdir
        self.database_path = database_path or workdir / "bot.sqlite3"
        self.name = name
        self.settings = settings
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
        env.update(self.settings)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"{self.name}{self.runs}.stderr"

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
        """Start and wait until the bot long-polls or has set its webhook (start-up,
        migrations and commands done)."""
        assert self.process is None or self.process.returncode is not None
        self._close_files()
        self.runs += 1
        stdout = (self.workdir / f"{self.name}{self.runs}.stdout").open("wb")
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
            # Polling, or a webhook replica that has set its webhook (serving.py).
            return any(
                c.method in ("getUpdates", "setWebhook") and c.time >= started
                for c in self.api.calls
            )

        try:
            await self.api.wait_for(polling, timeout=START_TIMEOUT)
        except TimeoutError as exc:
            raise AssertionError(f"bot.py did not start:\n{self.log()}") from exc

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


def migrations_where(target: Path, keep: Callable[[str], bool]) -> Path:
    """A folder with the migrations whose file names ``keep`` accepts: migrating a database
    from it leaves the database as an earlier release did, for the upgrade tests."""
    from cases.store.migrate import MIGRATIONS_DIR

    target.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if keep(path.name):
            shutil.copy(path, target / path.name)
    return target
