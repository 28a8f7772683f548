"""The web chat gateway (issue 12): its Bot API as aiogram sees it, and the page's API as a
browser uses it. Behaviour a citizen or the bot would notice; SQLite files in tmp_path."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from cases.store.db import Database
from cases.store.time import FakeClock
from scheduling.outbox import Outbox
from settings import CHANNEL_CHAT_IDS
from tests.scheduling_helpers import FakeTransport, add_reminder, reminder
from webchat.bot_api import WEB_USER_ID_MAX, WEB_USER_ID_MIN, GatewayConfig
from webchat.client import WebClient
from webchat.server import ServerConfig, WebChatServer
from webchat.web import WebLimits

TOKEN = "42:TEST-token"
LIAISON = 3001
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 8


def server_config(data_dir: Path, **gateway: Any) -> ServerConfig:
    return ServerConfig(
        gateway=GatewayConfig(token=TOKEN, data_dir=data_dir, **gateway),
        limits=WebLimits(long_poll_s=2.0),
        api_port=0,
        web_port=0,
        secret=b"k" * 32,
    )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[WebChatServer]:
    async with WebChatServer(server_config(tmp_path / "webchat")) as running:
        yield running


def make_bot(base: str, token: str = TOKEN) -> Bot:
    return Bot(
        token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(base)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


@pytest.fixture
async def bot(server: WebChatServer) -> AsyncIterator[Bot]:
    bot = make_bot(server.api_base)
    yield bot
    await bot.session.close()


@pytest.fixture
async def citizen(server: WebChatServer) -> AsyncIterator[WebClient]:
    async with WebClient(server.web_base) as client:
        await client.start()
        yield client


async def next_updates(bot: Bot, offset: int = 0) -> list[Any]:
    return await bot.get_updates(offset=offset, timeout=5)


# ---------------------------------------------------------------- Bot API side


async def test_get_me_answers_the_bot_and_a_wrong_token_is_unauthorized(
    server: WebChatServer, bot: Bot
) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 42

    stranger = make_bot(server.api_base, "43:other")
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()
    await stranger.session.close()


async def test_citizen_text_reaches_the_bot_from_a_web_range_id(
    bot: Bot, citizen: WebClient
) -> None:
    await citizen.send("/start")

    updates = await next_updates(bot)

    message = updates[0].message
    assert message.text == "/start"
    assert message.entities[0].type == "bot_command"
    user_id = message.from_user.id
    assert WEB_USER_ID_MIN <= user_id <= WEB_USER_ID_MAX  # never a Telegram id (< 2**52)
    assert message.chat.id == user_id and message.chat.type == "private"
    assert message.from_user.language_code == "zh-hans"


async def test_unconfirmed_update_is_delivered_again_and_a_confirmed_one_is_not(
    bot: Bot, citizen: WebClient
) -> None:
    await citizen.send("第一条")
    first = await next_updates(bot)
    again = await next_updates(bot)  # offset 0: nothing confirmed yet
    assert [u.update_id for u in again] == [u.update_id for u in first]

    await citizen.send("第二条")
    after = await next_updates(bot, offset=first[-1].update_id + 1)
    assert [u.message.text for u in after] == ["第二条"]


async def test_pending_updates_survive_a_gateway_restart(tmp_path: Path) -> None:
    config = server_config(tmp_path / "webchat")
    async with WebChatServer(config) as server, WebClient(server.web_base) as citizen:
        await citizen.start()
        await citizen.send("重启前发的")
    config.api_port = config.web_port = 0
    async with WebChatServer(config) as server:
        bot = make_bot(server.api_base)
        updates = await next_updates(bot)
        await bot.session.close()
    assert [u.message.text for u in updates] == ["重启前发的"]


async def test_bot_html_reaches_the_page_as_an_allow_listed_tree(
    bot: Bot, citizen: WebClient
) -> None:
    await citizen.send("hi")
    user_id = (await next_updates(bot))[0].message.chat.id

    sent = await bot.send_message(user_id, "<b>申请</b> 已收到 &lt;编号&gt;")

    assert sent.text == "申请 已收到 <编号>"
    [view] = await citizen.wait_for_bot(1)
    assert view["rich"] == [{"t": "b", "c": ["申请"]}, " 已收到 <编号>"]


# Everything the bot's texts could carry from a citizen, escaped by the bot (html.escape in
# handlers) or not: the page gets text nodes, links only for http(s), never markup.
INJECTIONS = [
    ("&lt;script&gt;alert(1)&lt;/script&gt;", ["<script>alert(1)</script>"]),
    ("&lt;img src=x onerror=alert(1)&gt;", ["<img src=x onerror=alert(1)>"]),
    ('<a href="javascript:alert(1)">点我</a>', [{"t": "span", "c": ["点我"]}]),
    ('<a href="data:text/html,x">点我</a>', [{"t": "span", "c": ["点我"]}]),
    ('<a href="/api/end">点我</a>', [{"t": "span", "c": ["点我"]}]),
    (
        '<a href="https://gc.gov.cn/x?a=1&amp;b=2">网站</a>',
        [{"t": "a", "c": ["网站"], "href": "https://gc.gov.cn/x?a=1&b=2"}],
    ),
    ("&quot;&gt;&lt;svg onload=alert(1)&gt;", ['"><svg onload=alert(1)>']),
    ("&amp;lt;b&amp;gt;", ["&lt;b&gt;"]),
]


@pytest.mark.parametrize(("html_text", "tree"), INJECTIONS)
async def test_injections_in_bot_texts_reach_the_page_as_text(
    bot: Bot, citizen: WebClient, html_text: str, tree: list[Any]
) -> None:
    await citizen.send("hi")
    user_id = (await next_updates(bot))[0].message.chat.id

    await bot.send_message(user_id, html_text)

    [view] = await citizen.wait_for_bot(1)
    assert view["rich"] == tree


@pytest.mark.parametrize(
    "bad",
    ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>未闭合", "<span>x</span>"],
)
async def test_html_telegram_refuses_is_refused_with_400(
    bot: Bot, citizen: WebClient, bad: str
) -> None:
    await citizen.send("hi")
    user_id = (await next_updates(bot))[0].message.chat.id

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(user_id, bad)
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(user_id, "长" * 4097)


async def test_unknown_chat_is_400_and_an_ended_chat_is_403(bot: Bot, citizen: WebClient) -> None:
    await citizen.send("hi")
    user_id = (await next_updates(bot))[0].message.chat.id
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(123456, "Telegram 用户不在这个渠道")

    assert await citizen.end() == 200

    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(user_id, "已结束")
    status, _ = await citizen.send("还在吗")
    assert status == 401  # the cookie is gone with the chat


async def test_per_chat_pacing_answers_429_with_retry_after(tmp_path: Path) -> None:
    config = server_config(tmp_path / "wc", per_chat_burst=3, per_chat_rate=0.5)
    async with WebChatServer(config) as server, WebClient(server.web_base) as citizen:
        await citizen.start()
        bot = make_bot(server.api_base)
        await citizen.send("hi")
        user_id = (await next_updates(bot))[0].message.chat.id
        for n in range(3):
            await bot.send_message(user_id, f"第{n}条")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(user_id, "太快了")
        await bot.session.close()
    assert caught.value.retry_after == 2


async def test_edits_deletes_and_buttons_reach_the_page(bot: Bot, citizen: WebClient) -> None:
    await citizen.send("hi")
    user_id = (await next_updates(bot, 0))[0].message.chat.id
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="同意", callback_data="yes")]]
    )
    sent = await bot.send_message(user_id, "请选择", reply_markup=keyboard)
    await citizen.wait_for_bot(1)
    assert citizen.messages[sent.message_id]["buttons"] == [[{"text": "同意", "data": "yes"}]]

    await bot.edit_message_text("已选择", chat_id=user_id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("已选择", chat_id=user_id, message_id=sent.message_id)
    await citizen.poll()
    assert citizen.plain(citizen.messages[sent.message_id]) == "已选择"
    assert citizen.messages[sent.message_id]["buttons"] == []

    await bot.delete_message(user_id, sent.message_id)
    await citizen.poll()
    assert sent.message_id not in citizen.messages
    with pytest.raises(TelegramBadRequest, match="not found"):
        await bot.edit_message_reply_markup(
            chat_id=user_id, message_id=sent.message_id, reply_markup=keyboard
        )


async def test_a_press_becomes_a_callback_query_and_its_answer_a_toast(
    bot: Bot, citizen: WebClient
) -> None:
    await citizen.send("hi")
    first = await next_updates(bot)
    user_id = first[0].message.chat.id
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="确认", callback_data="confirm:7")]]
    )
    sent = await bot.send_message(user_id, "确认提交吗？", reply_markup=keyboard)
    await citizen.wait_for_bot(1)

    status, _ = await citizen.press(sent.message_id, "admin:grant")  # never shown: refused
    assert status == 400
    status, _ = await citizen.press_text("确认")
    assert status == 200

    updates = await next_updates(bot, first[-1].update_id + 1)
    query = updates[0].callback_query
    assert query.data == "confirm:7"
    assert query.message.message_id == sent.message_id and query.from_user.id == user_id
    await bot.answer_callback_query(query.id, "已提交", show_alert=True)
    await citizen.poll()
    assert citizen.toasts[-1]["text"] == "已提交" and citizen.toasts[-1]["alert"] is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)


async def test_share_phone_keyboard_becomes_a_contact_of_the_citizen(
    bot: Bot, citizen: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await citizen.send("hi")
    first = await next_updates(bot)
    user_id = first[0].message.chat.id
    share = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📱 分享手机号", request_contact=True)]],
        resize_keyboard=True,
    )
    await bot.send_message(user_id, "请留下电话", reply_markup=share)
    await citizen.wait_for_bot(1)
    assert citizen.keyboard["rows"] == [[{"text": "📱 分享手机号", "contact": True}]]

    assert (await citizen.contact("<script>"))[0] == 400
    assert (await citizen.contact("139 1234 5678"))[0] == 200
    contact = (await next_updates(bot, first[-1].update_id + 1))[0].message.contact
    assert contact.phone_number == "139 1234 5678" and contact.user_id == user_id

    await bot.send_message(user_id, "谢谢", reply_markup=ReplyKeyboardRemove())
    await citizen.wait_for_bot(2)
    assert citizen.keyboard is None
    assert "1234" not in caplog.text and str(user_id) not in caplog.text  # no personal data


async def test_photo_upload_download_and_file_id_resend(
    server: WebChatServer, bot: Bot, citizen: WebClient
) -> None:
    status, _ = await citizen.upload(JPEG, "现场.jpg", "image/jpeg", photo=True)
    assert status == 200
    message = (await next_updates(bot))[0].message
    photo = message.photo[-1]
    assert photo.file_size == len(JPEG)

    file = await bot.get_file(photo.file_id)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded.read() == JPEG

    echoed = await bot.send_photo(message.chat.id, photo.file_id, caption="<i>收到</i>")
    assert echoed.caption == "收到"
    document = await bot.send_document(
        message.chat.id, BufferedInputFile(b"%PDF-1.4 receipt", filename="回执.pdf")
    )
    await bot.send_document(message.chat.id, document.document.file_id)
    await bot.send_voice(message.chat.id, document.document.file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(message.chat.id, "not-a-file-id")

    async with citizen.session.get(
        f"{citizen.base_url}/api/file/{echoed.message_id}?inline=1"
    ) as r:
        assert r.status == 200 and r.content_type == "image/jpeg"
        assert await r.read() == JPEG
    async with WebClient(server.web_base) as other:
        await other.start()
        async with other.session.get(f"{other.base_url}/api/file/{echoed.message_id}") as r:
            assert r.status == 404  # another session never reaches this chat's files


async def test_oversize_upload_is_refused_before_the_body_is_read(
    server: WebChatServer, citizen: WebClient
) -> None:
    host, port = server.web_base.removeprefix("http://").split(":")
    cookie = "; ".join(f"{c.key}={c.value}" for c in citizen.session.cookie_jar)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "POST /api/upload?client_id=abcdefgh12345678&name=big.pdf HTTP/1.1\r\n"
            f"Host: {host}\r\nX-WebChat: 1\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/pdf\r\nContent-Length: {30 * 1024 * 1024}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)  # no body was sent at all
    writer.close()
    assert b" 413 " in status_line


async def test_signed_cookie_is_httponly_samesite_and_tampering_loses_the_session(
    server: WebChatServer,
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(
            server.web_base + "/api/start", json={}, headers={"X-WebChat": "1"}
        ) as resp:
            raw = resp.headers["Set-Cookie"]
        assert "HttpOnly" in raw and "SameSite=Strict" in raw
        value = raw.split(";")[0].split("=", 1)[1]
        token, mac = value.rsplit(".", 1)
        forged = token[:-1] + ("A" if token[-1] != "A" else "B") + "." + mac
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.get(
            server.web_base + "/api/events?after=0", headers={"Cookie": f"wc_session={forged}"}
        ) as resp,
    ):
        assert resp.status == 401


async def test_post_without_the_page_header_is_forbidden(
    server: WebChatServer, citizen: WebClient
) -> None:
    async with citizen.session.post(
        server.web_base + "/api/message", json={"text": "x", "client_id": "abcdefgh1"}
    ) as resp:
        assert resp.status == 403


async def test_page_has_csp_without_inline_script_and_no_redirects(server: WebChatServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.web_base + "/", allow_redirects=False) as resp:
            page = await resp.text()
            csp = resp.headers["Content-Security-Policy"]
        assert resp.status == 200
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # every script is a file
        assert not re.search(r"\son[a-z]+=", page)  # no inline handlers
        assert "style=" not in page
        for path in ("/static/../webchat.sqlite3", "/static/cookie-secret", "//evil.example"):
            async with session.get(server.web_base + path, allow_redirects=False) as resp:
                assert resp.status == 404, path
    app_js = (Path(__file__).parent.parent / "webchat" / "static" / "app.js").read_text()
    assert "innerHTML" not in app_js.replace("no innerHTML anywhere", "")


async def test_session_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    config = server_config(tmp_path / "wc")
    config.limits = WebLimits(session_burst=3, session_per_s=0.5, long_poll_s=2.0)
    async with WebChatServer(config) as server, WebClient(server.web_base) as citizen:
        await citizen.start()
        statuses = [(await citizen.send(f"m{n}"))[0] for n in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_a_retried_send_is_one_message_and_events_resume_after_seq(
    bot: Bot, citizen: WebClient
) -> None:
    await citizen.send("只发一次", client_id="retry-123456")
    await citizen.send("只发一次", client_id="retry-123456")  # the network dropped the answer
    updates = await next_updates(bot)
    assert [u.message.text for u in updates] == ["只发一次"]
    user_id = updates[0].message.chat.id

    resume = citizen.seq
    await citizen.poll()
    for n in range(3):
        await bot.send_message(user_id, f"回复{n}")
    citizen.seq = resume  # a reload that only knew the old position
    events = await citizen.poll()
    assert [WebClient.plain(e["message"]) for e in events if e["type"] == "message"][-3:] == [
        "回复0",
        "回复1",
        "回复2",
    ]
    assert [WebClient.plain(m) for m in citizen.bot_messages()] == ["回复0", "回复1", "回复2"]


async def test_command_menu_follows_the_chat_scope_and_language(
    bot: Bot, citizen: WebClient
) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="开始")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start")], language_code="en"
    )
    assert [c["description"] for c in await citizen.commands()] == ["开始"]
    await citizen.send("hi")
    user_id = (await next_updates(bot))[0].message.chat.id
    await bot.set_my_commands(
        [BotCommand(command="queue", description="待办")],
        scope=BotCommandScopeChat(chat_id=user_id),
    )
    assert [c["command"] for c in await citizen.commands()] == ["queue"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=user_id))
    assert [c["command"] for c in await citizen.commands()] == ["start"]


def test_web_user_ids_fit_a_javascript_number() -> None:
    assert WEB_USER_ID_MIN == 2**52 and WEB_USER_ID_MAX <= 2**53 - 1
    assert json.loads(json.dumps(WEB_USER_ID_MAX)) == WEB_USER_ID_MAX


async def test_each_channel_process_delivers_only_its_own_reminders(
    db: Database, clock: FakeClock
) -> None:
    """Two bot processes on one database (Telegram and web): a reminder due for a web
    citizen is sent by the web process only, a Telegram one by the Telegram process only."""
    web_citizen = WEB_USER_ID_MIN + 12345
    due = clock.now() - timedelta(minutes=1)
    telegram_row = await add_reminder(db, chat_id=LIAISON, due_at=due)
    web_row = await add_reminder(db, chat_id=web_citizen, due_at=due)
    telegram, web = FakeTransport(), FakeTransport()

    await Outbox(
        db, telegram, clock, admin_ids=[], chat_ids=CHANNEL_CHAT_IDS["telegram"]
    ).dispatch_due()
    await Outbox(db, web, clock, admin_ids=[], chat_ids=CHANNEL_CHAT_IDS["web"]).dispatch_due()

    assert telegram.chats() == [LIAISON] and web.chats() == [web_citizen]
    assert (await reminder(db, telegram_row))["status"] == "sent"
    assert (await reminder(db, web_row))["status"] == "sent"
    assert CHANNEL_CHAT_IDS["web"][0] == WEB_USER_ID_MIN
