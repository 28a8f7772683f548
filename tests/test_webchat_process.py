"""The unmodified ``bot.py`` as a real process behind the web chat gateway (issue 12).

The bot only knows ``TELEGRAM_API_BASE``; a citizen in a browser (here: webchat.client, the
page's API in Python) files a reconsideration end to end, and the gateway can restart in the
middle without the citizen or the bot losing a message.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from scripts.compile_locales import compile_all
from tests.test_process import isolated_environment
from webchat.client import WebClient
from webchat.gateway import GatewayConfig
from webchat.server import ServerConfig, WebChatServer
from webchat.web import WebLimits

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "42:TEST-token"
START_TIMEOUT = 60.0
VALID_ID = "420625198503120018"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 16


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def file_reconsideration(
    citizen: Any, today: date | None = None, think: Any = None
) -> list[float]:
    """The reconsideration form as a citizen fills it, one answer after another; the seconds
    to the bot's first answer of each step. ``citizen`` is a WebClient or anything with the
    same ``act``/``send``/``press_text``/``contact``/``upload`` (benchmarks/webchat.py).
    ``think``, if given, is awaited before each step (a person reading and typing)."""
    today = today or date.today()
    steps: list[Any] = [
        lambda: citizen.send("/reconsider"),
        lambda: citizen.press_text("没有"),
        lambda: citizen.press_text("为本人申请"),
        lambda: citizen.send("张三"),
        lambda: citizen.press_text("居民身份证"),
        lambda: citizen.send(VALID_ID),
        lambda: citizen.contact("+86 138 0000 1234"),
        lambda: citizen.send("湖北省谷城县城关镇东街1号"),
        lambda: citizen.press_text("谷城县公安局"),
        lambda: citizen.press_text("作出的决定"),
        lambda: citizen.send("谷公(治)决字〔2026〕123号"),
        lambda: citizen.send(cn_date(today - timedelta(days=10))),
        lambda: citizen.send(cn_date(today - timedelta(days=8))),
        lambda: citizen.press_text("当面送达"),
        lambda: citizen.press_text("是"),
        lambda: citizen.send("撤销罚款决定"),
        lambda: citizen.send("我没有违反治安管理规定，处罚认定的事实不清。"),
        lambda: citizen.press_text("否"),
        lambda: citizen.press_text("跳过"),
        lambda: citizen.press_text("跳过"),
        lambda: citizen.upload(JPEG, "现场照片.jpg", "image/jpeg", photo=True),
        lambda: citizen.press_text("完成"),
        lambda: citizen.press_text("是"),
        lambda: citizen.press_text("提交"),
    ]
    latencies = []

    async def checked(step: Any) -> Any:
        result = await step()
        assert not isinstance(result, tuple) or result[0] == 200, result
        return result

    for number, step in enumerate(steps):
        if think is not None:
            await think()
        try:
            latency, result = await citizen.act(checked(step))
        except TimeoutError:
            raise AssertionError(
                f"no answer to step {number}; last: {citizen.bot_messages()[-3:]!r}"
                f" toasts: {getattr(citizen, 'toasts', [])[-2:]}"
            ) from None
        if isinstance(result, tuple):
            assert result[0] == 200, result
        latencies.append(latency)
    return latencies


class Bot:
    """``python bot.py`` against the gateway, logs in files."""

    def __init__(self, workdir: Path, api_base: str) -> None:
        self.workdir = workdir
        self.api_base = api_base
        self.process: asyncio.subprocess.Process | None = None
        self.files: list[IO[bytes]] = []

    def log(self) -> str:
        return (self.workdir / "bot.stderr").read_text(encoding="utf-8", errors="replace")

    def messages(self) -> list[str]:
        found = []
        for line in self.log().splitlines():
            try:
                found.append(str(json.loads(line).get("message", "")))
            except (ValueError, AttributeError):
                continue
        return found

    async def start(self) -> None:
        env = isolated_environment(self.workdir)
        env.update(
            {
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE": self.api_base,
                "DATABASE_PATH": str(self.workdir / "bot.sqlite3"),
                "BACKUP_DIR": str(self.workdir / "backups"),
                # A test answers faster than a person; the bot's per-person flood guard
                # (20 updates a minute) is not what is tested here.
                "FLOOD_LIMIT": "10000",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.files = [(self.workdir / n).open("wb") for n in ("bot.stdout", "bot.stderr")]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bot.py"),
            cwd=self.workdir,
            env=env,
            stdout=self.files[0],
            stderr=self.files[1],
        )
        async with asyncio.timeout(START_TIMEOUT):
            while "bot ready" not in self.messages():
                if self.process.returncode is not None:
                    raise AssertionError(f"bot.py exited during start-up:\n{self.log()}")
                await asyncio.sleep(0.1)

    async def stop(self) -> int | None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        for handle in self.files:
            handle.close()
        return None if self.process is None else self.process.returncode


def gateway_config(tmp_path: Path, api_port: int = 0, web_port: int = 0) -> ServerConfig:
    return ServerConfig(
        gateway=GatewayConfig(token=TOKEN, data_dir=tmp_path / "webchat"),
        limits=WebLimits(long_poll_s=5.0),
        api_port=api_port,
        web_port=web_port,
        secret=b"p" * 32,
    )


@pytest.fixture(scope="module", autouse=True)
def locales_compiled() -> None:
    compile_all()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[WebChatServer]:
    server = WebChatServer(gateway_config(tmp_path))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(gateway: WebChatServer, tmp_path: Path) -> AsyncIterator[Bot]:
    process = Bot(tmp_path, gateway.api_base)
    try:
        await process.start()
        yield process
    finally:
        await process.stop()


async def test_citizen_files_a_reconsideration_through_the_gateway(
    gateway: WebChatServer, bot: Bot
) -> None:
    async with WebClient(gateway.web_base) as citizen:
        await citizen.start()
        await citizen.act(citizen.send("/start"))
        assert "欢迎使用谷城县" in citizen.last_text()
        assert citizen.bot_messages()[-1]["buttons"]  # the main menu, as inline buttons
        commands = [c["command"] for c in await citizen.commands()]
        assert "reconsider" in commands  # setMyCommands reached the page's menu

        await file_reconsideration(citizen)

        receipt = citizen.last_text()
        assert "<code>" not in receipt and "FY-" in receipt, receipt
        assert "谷城县司法局" in receipt
        assert all(VALID_ID not in citizen.plain(m) for m in citizen.bot_messages())
    assert await bot.stop() == 0
    assert "Traceback" not in bot.log()


async def test_gateway_restart_mid_form_loses_nothing(tmp_path: Path) -> None:
    server = WebChatServer(gateway_config(tmp_path))
    await server.start()
    api_port = int(server.api_base.rsplit(":", 1)[1])
    web_port = int(server.web_base.rsplit(":", 1)[1])
    process = Bot(tmp_path, server.api_base)
    try:
        await process.start()
        async with WebClient(server.web_base) as citizen:
            await citizen.start()
            await citizen.act(citizen.send("/reconsider"))
            await citizen.act(citizen.press_text("没有"))
            asked = citizen.last_text()
            await server.stop()  # the bot's long poll fails; it keeps retrying
            await asyncio.sleep(1.0)
            server = WebChatServer(gateway_config(tmp_path, api_port, web_port))
            await server.start()
            await citizen.start()  # the page reloads: the same cookie, the same chat
            assert citizen.last_text() == asked
            await citizen.act(citizen.press_text("为本人申请"), within_s=60)
            assert "姓名" in citizen.last_text()
    finally:
        await process.stop()
        await server.stop()
