"""Web chat gateway under load: N browser-less web sessions file a reconsideration at a
person's pace, through the gateway, against the real ``bot.py`` process; then the same run
through the in-repo fake Bot API. Prints the latency from each action (a typed answer, a
press, the phone, a photo) to the bot's first reply, p50/p99, for both.

Through the gateway the reply is timed when the citizen's long poll delivers it (what a
browser sees); through the fake, when the bot's call reaches the fake (no delivery hop). The
gateway runs in its own process, as in production (the 200 HTTP clients of this script would
otherwise share its event loop); the fake runs in this one, its citizens are function calls.

Run: ``python benchmarks/webchat.py [sessions=200] [ramp_s=20] [think_s=3]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.compile_locales import compile_all  # noqa: E402
from tests.fakes.bot_api_server import FakeBotAPI  # noqa: E402
from tests.webchat_support import Bot, file_reconsideration  # noqa: E402
from webchat.bot_api import GatewayConfig  # noqa: E402
from webchat.client import WebClient  # noqa: E402
from webchat.server import ServerConfig, WebChatServer  # noqa: E402
from webchat.web import WebLimits  # noqa: E402

TOKEN = "42:TEST-token"
ANSWERS = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup", "sendphoto"})


class IndexedFake(FakeBotAPI):
    """The fake, with each chat's replies indexed (200 citizens must not scan every call)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replies: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.arrived: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def _dispatch(self, token: str, method: str, params: dict[str, Any], call: Any) -> Any:
        result = await super()._dispatch(token, method, params, call)
        chat_id = params.get("chat_id")
        if method in ANSWERS and isinstance(chat_id, int) and isinstance(result, dict):
            self.replies[chat_id].append(result)
            self.arrived[chat_id].set()
        return result


class FakeCitizen:
    """The same person as WebClient, typing into Telegram (the fake)."""

    def __init__(self, api: IndexedFake, user_id: int) -> None:
        self.api = api
        self.user_id = user_id

    def _messages(self) -> dict[int, dict[str, Any]]:
        return {m["message_id"]: m for m in self.api.replies[self.user_id]}

    async def send(self, text: str) -> int:
        return self.api.push_message(self.user_id, text)

    async def contact(self, phone: str) -> int:
        return self.api.push_contact(self.user_id, phone)

    async def upload(self, content: bytes, name: str, mime: str, *, photo: bool = False) -> int:
        return self.api.push_photo(self.user_id, len(content))

    async def press_text(self, label: str) -> int:
        for _, message in sorted(self._messages().items(), reverse=True):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            buttons = [b for row in rows for b in row if "callback_data" in b]
            if not buttons:
                continue
            for button in sorted(buttons, key=lambda b: b["text"] != label):
                if label in button["text"]:
                    return self.api.push_callback(
                        self.user_id, button["callback_data"], message_id=message["message_id"]
                    )
            break
        raise LookupError(label)

    def last_text(self) -> str:
        messages = self._messages()
        return messages[max(messages)].get("text", "") if messages else ""

    async def act(self, action: Any, *, quiet_s: float = 0.4) -> tuple[float, Any]:
        replies = self.api.replies[self.user_id]
        before = len(replies)
        started = time.monotonic()
        result = await action
        while len(replies) == before:
            event = self.api.arrived[self.user_id]
            event.clear()
            if len(replies) == before:
                await event.wait()
        first = time.monotonic() - started
        while True:
            seen = len(replies)
            await asyncio.sleep(quiet_s)
            if len(replies) == seen:
                return first, result


async def run_sessions(
    make_citizen: Any, sessions: int, ramp_s: float, think_s: float
) -> tuple[list[float], int, float]:
    """Every session files once; (latencies, receipts, wall seconds)."""
    latencies: list[float] = []
    receipts = 0
    failures: list[str] = []

    async def one(index: int) -> None:
        nonlocal receipts
        await asyncio.sleep(ramp_s * index / sessions)
        rng = random.Random(index)

        async def think() -> None:
            await asyncio.sleep(rng.uniform(think_s * 0.5, think_s * 1.5))

        citizen = await make_citizen(index)
        try:
            latencies.extend(await file_reconsideration(citizen, think=think))
            if "FY-" in citizen.last_text():
                receipts += 1
        except (AssertionError, LookupError, TimeoutError, RuntimeError) as exc:
            failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            close = getattr(citizen, "close", None)
            if close is not None:
                await close()

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(sessions)))
    if failures:
        print(f"  {len(failures)} sessions failed, e.g. {failures[0]}")
    return latencies, receipts, time.monotonic() - started


def describe(name: str, latencies: list[float], receipts: int, sessions: int, wall: float) -> str:
    if not latencies:
        return f"{name}: no replies"
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return (
        f"{name}: {receipts}/{sessions} receipts in {wall:.0f} s, {len(ordered)} replies,"
        f" first reply p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve_gateway(data_dir: Path, api_port: int, web_port: int) -> None:
    """The child process: the gateway with the deployed limits, except per IP (every session
    of this benchmark comes from 127.0.0.1)."""
    config = ServerConfig(
        gateway=GatewayConfig(token=TOKEN, data_dir=data_dir),
        limits=WebLimits(ip_burst=10**6, ip_per_s=10**6, new_sessions_burst=10**6),
        api_port=api_port,
        web_port=web_port,
        secret=b"b" * 32,
    )
    async with WebChatServer(config):
        print("ready", flush=True)
        await asyncio.Event().wait()


async def through_gateway(workdir: Path, sessions: int, ramp_s: float, think_s: float) -> str:
    api_port, web_port = _free_port(), _free_port()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-gateway",
        str(workdir / "webchat"),
        str(api_port),
        str(web_port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    await asyncio.wait_for(child.stdout.readline(), 30)
    web_base = f"http://127.0.0.1:{web_port}"
    bot = Bot(workdir, f"http://127.0.0.1:{api_port}")
    try:
        await bot.start()

        async def make(index: int) -> WebClient:
            client = WebClient(web_base)
            await client.start()
            return client

        result = await run_sessions(make, sessions, ramp_s, think_s)
    finally:
        await bot.stop()
        child.terminate()
        await child.wait()
    return describe("through the gateway", *result[:2], sessions, result[2])


async def through_fake(workdir: Path, sessions: int, ramp_s: float, think_s: float) -> str:
    async with IndexedFake() as api:
        bot = Bot(workdir, api.base_url)
        await bot.start()
        try:

            async def make(index: int) -> FakeCitizen:
                return FakeCitizen(api, 7_000_001 + index)

            result = await run_sessions(make, sessions, ramp_s, think_s)
        finally:
            await bot.stop()
    return describe("through the fake Bot API", *result[:2], sessions, result[2])


async def main(sessions: int, ramp_s: float, think_s: float) -> None:
    compile_all()
    print(f"{sessions} sessions, started over {ramp_s:.0f} s, {think_s:.1f} s per step (±50 %)")
    with tempfile.TemporaryDirectory() as gateway_dir, tempfile.TemporaryDirectory() as fake_dir:
        print(await through_gateway(Path(gateway_dir), sessions, ramp_s, think_s), flush=True)
        print(await through_fake(Path(fake_dir), sessions, ramp_s, think_s), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-gateway"]:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_gateway(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
        sys.exit(0)
    args = [float(a) for a in sys.argv[1:]]
    asyncio.run(
        main(
            int(args[0]) if args else 200,
            args[1] if len(args) > 1 else 20.0,
            args[2] if len(args) > 2 else 3.0,
        )
    )
