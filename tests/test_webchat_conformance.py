"""Conformance: the same Bot API calls against the in-repo fake (tests/fakes/bot_api_server.py,
itself modelled on Telegram) and against the web chat gateway, expecting the same answers.

Ids, dates and file ids are normalised (each side numbers its own); so are the person's name
and language (the web channel has no Telegram profile). Known, deliberate differences:

* ``sendPhoto`` answers one PhotoSize on the gateway (no thumbnails are made), several on the
  fake and on Telegram: only the largest size is compared — the one the bot reads.
* ``mime_type`` of an uploaded document: the gateway guesses it from the file name as Telegram
  does; the fake leaves it out. Not compared.
* ``answerCallbackQuery`` with an unknown id: the gateway answers 400 like Telegram
  ("query is too old"), the fake answers True. Not compared; tests/test_webchat.py pins it.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.bot_api_server import BOT_FIRST_NAME, BOT_USERNAME, FakeBotAPI
from webchat.bot_api import GatewayConfig
from webchat.client import WebClient
from webchat.server import ServerConfig, WebChatServer
from webchat.web import WebLimits

TOKEN = "42:TEST-token"
VOLATILE = {"message_id", "date", "edit_date", "file_id", "file_unique_id", "update_id", "id"}


class Side:
    """One Bot API server and one private chat on it."""

    def __init__(self, base: str, chat_id: int) -> None:
        self.base = base
        self.chat_id = chat_id
        self.http = aiohttp.ClientSession()

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes]] | None = None,
        token: str = TOKEN,
    ) -> tuple[int, Any]:
        form = aiohttp.FormData()
        for key, value in (params or {}).items():
            form.add_field(key, value if isinstance(value, str) else json.dumps(value))
        for key, (name, content) in (files or {}).items():
            form.add_field(key, content, filename=name)
        async with self.http.post(f"{self.base}/bot{token}/{method}", data=form) as resp:
            return resp.status, await resp.json()

    async def download(self, file_path: str) -> bytes:
        async with self.http.get(f"{self.base}/file/bot{TOKEN}/{file_path}") as resp:
            return await resp.read()


def normalise(value: Any, seen: dict[Any, str] | None = None) -> Any:
    """Replace each side's own numbering by order of appearance; drop what differs on purpose."""
    seen = {} if seen is None else seen
    if isinstance(value, dict):
        out = {}
        for key, item in sorted(value.items()):
            if key == "file_path" and isinstance(item, str):
                item = re.sub(r"file_[^./]+", "file_X", item)  # carries the unique id
            if key in ("first_name", "language_code", "mime_type", "chat_instance"):
                continue
            if key == "photo" and isinstance(item, list):
                largest = dict(item[-1])
                largest.pop("width", None)
                largest.pop("height", None)
                item = [largest]
            if key in VOLATILE and not isinstance(item, dict | list):
                out[key] = seen.setdefault((key, item), f"{key}#{len(seen)}")
            else:
                out[key] = normalise(item, seen)
        return out
    if isinstance(value, list | tuple):
        return [normalise(item, seen) for item in value]
    return value


@pytest.fixture
async def sides(tmp_path: Path) -> AsyncIterator[tuple[Side, Side, FakeBotAPI, WebChatServer]]:
    fake = FakeBotAPI(per_chat_interval_s=1.0, token=TOKEN)
    await fake.start()
    gateway = WebChatServer(
        ServerConfig(
            gateway=GatewayConfig(
                token=TOKEN,
                data_dir=tmp_path / "wc",
                bot_username=BOT_USERNAME,
                bot_first_name=BOT_FIRST_NAME,
                per_chat_burst=1,
                per_chat_rate=1.0,
            ),
            limits=WebLimits(long_poll_s=2.0),
            api_port=0,
            web_port=0,
            secret=b"s" * 32,
        )
    )
    await gateway.start()
    citizen = WebClient(gateway.web_base)
    await citizen.start()
    await citizen.send("你好")
    gateway_side = Side(gateway.api_base, 0)
    _, updates = await gateway_side.call("getUpdates", {"timeout": 5})
    chat_id = updates["result"][0]["message"]["chat"]["id"]
    gateway_side.chat_id = chat_id
    fake.push_message(chat_id, "你好")
    fake_side = Side(fake.base_url, chat_id)
    fake_side.citizen = citizen  # type: ignore[attr-defined]
    gateway_side.citizen = citizen  # type: ignore[attr-defined]
    try:
        yield fake_side, gateway_side, fake, gateway
    finally:
        await citizen.close()
        await fake_side.http.close()
        await gateway_side.http.close()
        await gateway.stop()
        await fake.stop()


async def both(
    sides: tuple[Side, Side, Any, Any],
    method: str,
    params: dict[str, Any] | None = None,
    **kw: Any,
) -> tuple[Any, Any]:
    fake, gateway = sides[0], sides[1]
    fake_answer = await fake.call(method, _with_chat(params, fake), **kw)
    gateway_answer = await gateway.call(method, _with_chat(params, gateway), **kw)
    return fake_answer, gateway_answer


def _with_chat(params: dict[str, Any] | None, side: Side) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: (side.chat_id if v == "CHAT" else v) for k, v in params.items()}


def assert_same(fake_answer: Any, gateway_answer: Any) -> Any:
    assert normalise(gateway_answer) == normalise(fake_answer)
    return gateway_answer


async def test_get_me_and_a_wrong_token(sides: Any) -> None:
    assert_same(*await both(sides, "getMe"))
    assert_same(*await both(sides, "getMe", token="42:wrong"))
    assert_same(*await both(sides, "noSuchMethod"))


async def test_get_updates_offsets_and_redelivery(sides: Any) -> None:
    first = assert_same(*await both(sides, "getUpdates", {"timeout": 0}))
    assert first[0] == 200 and first[1]["result"][0]["message"]["text"] == "你好"
    again = assert_same(*await both(sides, "getUpdates", {"timeout": 0}))
    assert len(again[1]["result"]) == 1  # not confirmed: delivered again
    fake_first, gateway_first = await both(sides, "getUpdates", {"timeout": 0})
    offsets = [fake_first[1]["result"][-1]["update_id"] + 1]
    offsets.append(gateway_first[1]["result"][-1]["update_id"] + 1)
    fake_after = await sides[0].call("getUpdates", {"offset": offsets[0], "timeout": 0})
    gateway_after = await sides[1].call("getUpdates", {"offset": offsets[1], "timeout": 0})
    assert_same(fake_after, gateway_after)
    assert gateway_after == (200, {"ok": True, "result": []})


@pytest.mark.parametrize(
    "params",
    [
        {"chat_id": "CHAT", "text": "纯文本"},
        {"chat_id": "CHAT", "text": "<b>粗体</b> &amp; <i>斜体</i>", "parse_mode": "HTML"},
        {"chat_id": "CHAT", "text": '<a href="https://gc.gov.cn">链接</a>', "parse_mode": "HTML"},
        {"chat_id": "CHAT", "text": "<script>x</script>", "parse_mode": "HTML"},
        {"chat_id": "CHAT", "text": "<b>未闭合", "parse_mode": "HTML"},
        {"chat_id": "CHAT", "text": "<b>x</i>", "parse_mode": "HTML"},
        {"chat_id": "CHAT", "text": "长" * 4097},
        {"chat_id": "CHAT", "text": "   "},
        {
            "chat_id": "CHAT",
            "text": "按钮",
            "reply_markup": {"inline_keyboard": [[{"text": "是", "callback_data": "y" * 65}]]},
        },
        {
            "chat_id": "CHAT",
            "text": "按钮",
            "reply_markup": {"inline_keyboard": [[{"text": "是", "callback_data": "yes"}]]},
        },
        {
            "chat_id": "CHAT",
            "text": "键盘",
            "reply_markup": {"keyboard": [[{"text": "📱", "request_contact": True}]]},
        },
    ],
)
async def test_send_message_answers(sides: Any, params: dict[str, Any]) -> None:
    assert_same(*await both(sides, "sendMessage", params))


async def test_edits_and_deletes(sides: Any) -> None:
    markup = {"inline_keyboard": [[{"text": "是", "callback_data": "yes"}]]}
    fake_sent, gateway_sent = await both(
        sides, "sendMessage", {"chat_id": "CHAT", "text": "原文", "reply_markup": markup}
    )
    assert_same(fake_sent, gateway_sent)
    ids = [fake_sent[1]["result"]["message_id"], gateway_sent[1]["result"]["message_id"]]

    async def on_both(method: str, params: dict[str, Any]) -> None:
        answers = []
        for side, message_id in zip(sides[:2], ids, strict=True):
            answers.append(
                await side.call(
                    method, {**params, "chat_id": side.chat_id, "message_id": message_id}
                )
            )
        assert_same(*answers)

    await on_both("editMessageText", {"text": "<b>新</b>文", "parse_mode": "HTML"})
    await on_both("editMessageText", {"text": "<b>新</b>文", "parse_mode": "HTML"})  # not modified
    await on_both("editMessageText", {"text": ""})
    await on_both("editMessageReplyMarkup", {"reply_markup": markup})
    await on_both("editMessageReplyMarkup", {"reply_markup": markup})  # not modified
    await on_both("deleteMessage", {})
    await on_both("deleteMessage", {})  # already gone
    await on_both("editMessageText", {"text": "再改"})  # message to edit not found


async def test_commands(sides: Any) -> None:
    commands = [{"command": "start", "description": "开始"}]
    assert_same(*await both(sides, "setMyCommands", {"commands": commands, "language_code": "zh"}))
    assert_same(*await both(sides, "getMyCommands", {"language_code": "zh"}))
    assert_same(*await both(sides, "getMyCommands", {"language_code": "en"}))
    scope = {"type": "chat", "chat_id": sides[1].chat_id}
    assert_same(*await both(sides, "setMyCommands", {"commands": commands, "scope": scope}))
    assert_same(*await both(sides, "deleteMyCommands", {"scope": scope}))
    assert_same(*await both(sides, "getMyCommands", {"scope": scope}))
    assert_same(*await both(sides, "setMyCommands", {"language_code": "zh"}))


async def test_files_upload_get_file_download_and_resend(sides: Any) -> None:
    content = b"%PDF-1.4 conformance"
    files = {"document": ("回执.pdf", content)}
    fake_sent, gateway_sent = await both(
        sides,
        "sendDocument",
        {"chat_id": "CHAT", "document": "attach://document", "caption": "<b>回执</b>"},
        files=files,
    )
    assert_same(fake_sent, gateway_sent)
    file_ids = [a[1]["result"]["document"]["file_id"] for a in (fake_sent, gateway_sent)]
    got = []
    for side, file_id in zip(sides[:2], file_ids, strict=True):
        got.append(await side.call("getFile", {"file_id": file_id}))
    assert_same(*got)
    for side, answer in zip(sides[:2], got, strict=True):
        assert await side.download(answer[1]["result"]["file_path"]) == content
    resent = []
    for side, file_id in zip(sides[:2], file_ids, strict=True):
        resent.append(await side.call("sendPhoto", {"chat_id": side.chat_id, "photo": file_id}))
    assert_same(*resent)
    assert_same(*await both(sides, "getFile", {"file_id": "nonsense"}))
    assert_same(*await both(sides, "sendDocument", {"chat_id": "CHAT", "document": "nonsense"}))


async def test_flood_limit_answers_429_with_the_same_retry_after(sides: Any) -> None:
    first = assert_same(*await both(sides, "sendMessage", {"chat_id": "CHAT", "text": "一"}))
    second = assert_same(*await both(sides, "sendMessage", {"chat_id": "CHAT", "text": "二"}))
    assert first[0] == 200
    assert second[0] == 429 and second[1]["parameters"] == {"retry_after": 1}


async def test_closed_chat_answers_403(sides: Any) -> None:
    fake_side, gateway_side, fake, _ = sides
    fake.block_chat(fake_side.chat_id)
    assert await gateway_side.citizen.end() == 200
    answer = assert_same(*await both(sides, "sendMessage", {"chat_id": "CHAT", "text": "还在吗"}))
    assert answer[0] == 403
