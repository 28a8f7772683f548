"""A browser-less client of the chat page's API: what app.js does, in Python.

For tests, benchmarks/webchat.py and smoke checks of a deployment (a real citizen uses the
page). It keeps the same resume state as the page: the last event ``seq`` and the messages by
id, so replaying an event is harmless.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Self
from urllib.parse import quote

import aiohttp

HEADERS = {"X-WebChat": "1"}


class WebClient:
    def __init__(self, base_url: str, *, locale: str = "zh") -> None:
        self.base_url = base_url.rstrip("/")
        self.locale = locale
        # unsafe=True: keep cookies of an IP address host (127.0.0.1 in tests).
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.seq = 0
        self.messages: dict[int, dict[str, Any]] = {}
        self.keyboard: dict[str, Any] | None = None
        self.toasts: list[dict[str, Any]] = []
        self.state: dict[str, Any] = {}
        self.bot_events = 0
        """Messages and edits from the bot applied so far (what a person would notice)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.session.close()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.base_url + path, json=body, headers=HEADERS) as resp:
            return resp.status, await resp.json(content_type=None)

    async def start(self) -> dict[str, Any]:
        status, state = await self.post("/api/start", {"locale": self.locale})
        if status != 200:
            raise RuntimeError(f"start answered {status}: {state}")
        self.state = state
        self.seq = state["seq"]
        self.messages = {m["id"]: m for m in state["messages"]}
        self.keyboard = state["keyboard"]
        return state

    def _apply(self, event: dict[str, Any]) -> None:
        if event["type"] == "message":
            self.messages[event["message"]["id"]] = event["message"]
            if not event["message"]["mine"]:
                self.bot_events += 1
        elif event["type"] == "delete":
            self.messages.pop(event["id"], None)
        elif event["type"] == "keyboard":
            self.keyboard = event["keyboard"]
        elif event["type"] == "toast":
            self.toasts.append(event)
        self.seq = max(self.seq, event["seq"])

    async def poll(self) -> list[dict[str, Any]]:
        """One long poll from the resume position; the events are applied."""
        async with self.session.get(
            f"{self.base_url}/api/events", params={"after": str(self.seq)}
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"events answered {resp.status}")
            events = (await resp.json())["events"]
        for event in events:
            self._apply(event)
        return events

    def bot_messages(self) -> list[dict[str, Any]]:
        return [m for _, m in sorted(self.messages.items()) if not m["mine"]]

    @staticmethod
    def plain(view: dict[str, Any]) -> str:
        """The visible text of a message view (the tree flattened)."""

        def flat(nodes: list[Any]) -> str:
            return "".join(n if isinstance(n, str) else flat(n.get("c", [])) for n in nodes)

        return flat(view.get("rich") or [])

    async def wait_for_bot(self, count: int, within_s: float = 20.0) -> list[dict[str, Any]]:
        """Poll until the bot has sent ``count`` messages in total; returns them."""
        async with asyncio.timeout(within_s):
            while len(self.bot_messages()) < count:
                await self.poll()
        return self.bot_messages()

    async def send(self, text: str, client_id: str | None = None) -> tuple[int, dict[str, Any]]:
        return await self.post(
            "/api/message", {"text": text, "client_id": client_id or secrets.token_hex(8)}
        )

    async def contact(self, phone: str) -> tuple[int, dict[str, Any]]:
        return await self.post("/api/contact", {"phone": phone, "client_id": secrets.token_hex(8)})

    async def press(self, message_id: int, data: str) -> tuple[int, dict[str, Any]]:
        return await self.post("/api/press", {"message_id": message_id, "data": data})

    async def press_text(self, label: str) -> tuple[int, dict[str, Any]]:
        """Press a button of the newest keyboard: the exact label, else one containing it."""
        for view in reversed(self.bot_messages()):
            buttons = [b for row in view.get("buttons", []) for b in row if "data" in b]
            if not buttons:
                continue
            for button in sorted(buttons, key=lambda b: b["text"] != label):
                if label in button["text"]:
                    return await self.press(view["id"], button["data"])
            break
        raise LookupError(f"no button {label!r} on the last keyboard")

    def last_text(self) -> str:
        messages = self.bot_messages()
        return self.plain(messages[-1]) if messages else ""

    async def act(
        self, action: Any, *, quiet_s: float = 0.4, within_s: float = 30.0
    ) -> tuple[float, Any]:
        """Do ``action`` (an awaitable), wait for the bot's first answer, then until it has
        been quiet for ``quiet_s``. Returns (seconds to the first answer, the action's result).

        A long poll cut short by the quiet timer loses nothing: events stay on the server
        until a poll from this ``seq`` takes them.
        """
        loop = asyncio.get_running_loop()
        before = self.bot_events
        started = loop.time()
        result = await action
        async with asyncio.timeout(within_s):
            while self.bot_events == before:
                await self.poll()
        first_answer = loop.time() - started
        while True:
            seen = self.bot_events
            try:
                await asyncio.wait_for(self.poll(), quiet_s)
            except TimeoutError:
                break
            if self.bot_events == seen:
                await asyncio.sleep(quiet_s / 4)
        return first_answer, result

    async def upload(
        self, content: bytes, name: str, mime: str, *, photo: bool = False
    ) -> tuple[int, dict[str, Any]]:
        url = (
            f"{self.base_url}/api/upload?client_id={secrets.token_hex(8)}"
            f"&photo={'1' if photo else '0'}&name={quote(name)}"
        )
        headers = {**HEADERS, "Content-Type": mime}
        async with self.session.post(url, data=content, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def commands(self) -> list[dict[str, str]]:
        async with self.session.get(f"{self.base_url}/api/commands") as resp:
            return (await resp.json())["commands"]

    async def end(self) -> int:
        status, _ = await self.post("/api/end", {})
        return status
