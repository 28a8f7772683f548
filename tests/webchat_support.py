"""Helpers for the web chat's process, browser and benchmark runs: ``bot.py`` as a process
behind the gateway, and a citizen filing through the page's API (webchat.client)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from tests.support import isolated_environment
from webchat.bot_api import GatewayConfig
from webchat.server import ServerConfig
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
        lambda: citizen.send(VALID_ID),  # a resident ID: the document type follows from it
        lambda: citizen.contact("+86 138 0000 1234"),
        lambda: citizen.send("湖北省谷城县城关镇东街1号"),
        lambda: citizen.press_text("谷城县公安局"),
        lambda: citizen.press_text("作出的决定"),
        lambda: citizen.send("谷公(治)决字〔2026〕123号"),
        lambda: citizen.send(cn_date(today - timedelta(days=10))),
        lambda: citizen.send(cn_date(today - timedelta(days=8))),  # within F1: no F2 questions
        lambda: citizen.send("撤销罚款决定"),
        lambda: citizen.send("我没有违反治安管理规定，处罚认定的事实不清。"),
        lambda: citizen.press_text("以上都没有"),  # no compensation, third party or agent
        lambda: citizen.upload(JPEG, "现场照片.jpg", "image/jpeg", photo=True),
        lambda: citizen.press_text("是"),  # electronic service
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
