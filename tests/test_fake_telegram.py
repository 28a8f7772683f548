"""The recording session of the flow tests refuses what Telegram refuses, exactly as the fake
Bot API server of the process tests does.

Each case runs against both fakes with the bot's own defaults (parse_mode HTML) and must end
the same way: the same aiogram exception with the same description, or success. A flow test
that passed only because its fake was lax would hide a message no citizen ever receives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from tests.fakes.bot_api_server import FakeBotAPI
from tests.fakes.telegram import TOKEN, BotClient, RecordingSession

USER = 1001
DEFAULTS = DefaultBotProperties(parse_mode=ParseMode.HTML)  # as bot.py builds its Bot

Call = Callable[[Bot], Awaitable[Any]]


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs]
    )


@pytest.fixture
async def bots() -> AsyncIterator[dict[str, Bot]]:
    """One Bot on the recording session and one on the fake server, configured alike."""
    async with FakeBotAPI() as server:
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
        served = Bot(TOKEN, session=session, default=DEFAULTS)
        recorded = Bot(TOKEN, session=RecordingSession(), default=DEFAULTS)
        try:
            yield {"recording session": recorded, "fake server": served}
        finally:
            await served.session.close()


async def outcome(bot: Bot, calls: list[Call]) -> str:
    """Run the calls in order; the first refusal, as aiogram raised it, or "ok"."""
    for call in calls:
        try:
            await call(bot)
        except TelegramAPIError as error:
            return f"{type(error).__name__}: {error.message}"
    return "ok"


async def send(bot: Bot, text: str, **kwargs: Any) -> Any:
    return await bot.send_message(USER, text, **kwargs)


async def send_then_edit(
    bot: Bot, first: str, second: str, *, markup: bool = False, keep_markup: bool = True
) -> Any:
    buttons = keyboard(("改", "edit")) if markup else None
    sent = await bot.send_message(USER, first, reply_markup=buttons)
    return await bot.edit_message_text(
        second,
        chat_id=USER,
        message_id=sent.message_id,
        reply_markup=buttons if keep_markup else None,
    )


async def markup_twice(bot: Bot) -> Any:
    sent = await bot.send_message(USER, "提醒", reply_markup=keyboard(("已收到", "ack:1")))
    new = keyboard(("✅ 已收到", "ack:1"))
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=new)
    return await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=new
    )


def document(caption: str) -> Call:
    return lambda bot: bot.send_document(
        USER, BufferedInputFile(b"%PDF-1.4", "a.pdf"), caption=caption
    )


CASES: dict[str, tuple[list[Call], str]] = {
    "html with entities": ([lambda b: send(b, "<b>案件</b> &lt;1&gt; <code>TJ-1</code>")], "ok"),
    "unsupported tag": (
        [lambda b: send(b, "<div>不支持</div>")],
        'TelegramBadRequest: Bad Request: can\'t parse entities: Unsupported start tag "div"',
    ),
    "unclosed tag": (
        [lambda b: send(b, "<b>未闭合")],
        "TelegramBadRequest: Bad Request: can't parse entities: Can't find end tag "
        'corresponding to start tag "b"',
    ),
    "crossed tags": (
        [lambda b: send(b, "<b><i>交叉</b></i>")],
        'TelegramBadRequest: Bad Request: can\'t parse entities: Unexpected end tag "b"',
    ),
    "html in an edit": (
        [lambda b: send_then_edit(b, "原文", "<p>新文</p>")],
        'TelegramBadRequest: Bad Request: can\'t parse entities: Unsupported start tag "p"',
    ),
    "4096 characters": ([lambda b: send(b, "字" * 4096)], "ok"),
    "4097 characters": (
        [lambda b: send(b, "字" * 4097)],
        "TelegramBadRequest: Bad Request: message is too long",
    ),
    # An emoji outside the BMP is two UTF-16 units: 2,049 of them are 4,098 units.
    "4098 UTF-16 units": (
        [lambda b: send(b, "😀" * 2049)],
        "TelegramBadRequest: Bad Request: message is too long",
    ),
    "tags do not count": ([lambda b: send(b, "<b>" + "字" * 4096 + "</b>")], "ok"),
    "empty text": (
        [lambda b: send(b, "  \n ")],
        "TelegramBadRequest: Bad Request: message text is empty",
    ),
    "too long edit": (
        [lambda b: send_then_edit(b, "原文", "字" * 4097)],
        "TelegramBadRequest: Bad Request: MESSAGE_TOO_LONG",
    ),
    "caption of 1024": ([document("注" * 1024)], "ok"),
    "caption of 1025": (
        [document("注" * 1025)],
        "TelegramBadRequest: Bad Request: message caption is too long",
    ),
    "callback data of 64 bytes": (
        [lambda b: send(b, "选择", reply_markup=keyboard(("选", "调" * 21 + "a")))],
        "ok",
    ),
    # 22 Chinese characters are 66 bytes in UTF-8, though only 22 characters.
    "callback data of 66 bytes": (
        [lambda b: send(b, "选择", reply_markup=keyboard(("选", "调" * 22)))],
        "TelegramBadRequest: Bad Request: BUTTON_DATA_INVALID",
    ),
    "edit to the same text": (
        [lambda b: send_then_edit(b, "同一段话", "同一段话")],
        "TelegramBadRequest: Bad Request: message is not modified: specified new message"
        " content and reply markup are exactly the same as a current content and reply"
        " markup of the message",
    ),
    # Telegram compares the visible text: markup that renders the same is still the same.
    "edit to the same visible text": (
        [lambda b: send_then_edit(b, "a &lt; b", "a &#60; b", markup=True)],
        "TelegramBadRequest: Bad Request: message is not modified: specified new message"
        " content and reply markup are exactly the same as a current content and reply"
        " markup of the message",
    ),
    "edit dropping the keyboard": (
        [lambda b: send_then_edit(b, "同一段话", "同一段话", markup=True, keep_markup=False)],
        "ok",
    ),
    "same keyboard twice": (
        [markup_twice],
        "TelegramBadRequest: Bad Request: message is not modified: specified new message"
        " content and reply markup are exactly the same as a current content and reply"
        " markup of the message",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_both_fakes_refuse_what_telegram_refuses(bots: dict[str, Bot], case: str) -> None:
    calls, expected = CASES[case]
    outcomes = {name: await outcome(bot, calls) for name, bot in bots.items()}
    assert outcomes == {name: expected for name in bots}


async def test_a_refused_message_is_not_what_the_user_saw() -> None:
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=DEFAULTS)
    await bot.send_message(USER, "第一条")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(USER, "<b>第二条")
    assert [sent.text for sent in session.seen(USER)] == ["第一条"]
    assert list(session.refused.values()) == [
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
    ]


async def test_a_button_press_comes_from_the_message_as_the_bot_left_it(
    client: BotClient,
) -> None:
    """Telegram sends the pressed message with the callback; a double tap of a button whose
    answer edits the message therefore meets the edited text (see press_again)."""
    await client.send("/lang")
    [menu] = client.session.seen(client.user_id)[-1:]
    message = client.session.known_message(client.user_id, menu.message_id, "…")
    assert message["text"] == menu.text
    assert message["reply_markup"]["inline_keyboard"][0][0]["text"] == "简体中文"


async def test_sent_files_come_back_as_messages_with_their_caption() -> None:
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=DEFAULTS)
    document = await bot.send_document(USER, "file-id-1", caption="<b>证据</b> 1")
    assert document.document is not None and document.caption == "证据 1"
    photo = await bot.send_photo(USER, BufferedInputFile(b"\x89PNG", "a.png"))
    assert photo.photo
    voice = await bot.send_voice(USER, "voice-id-1", caption="录音")
    assert voice.voice is not None and voice.voice.file_id == "voice-id-1"
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_voice(USER, "voice-id-2", caption="注" * 1025)
