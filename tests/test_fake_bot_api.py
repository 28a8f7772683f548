"""The fake Bot API must behave like Telegram as seen by a real aiogram ``Bot``.

Process tests and benchmarks trust this fake; if it drifted from Telegram (offsets, error
shapes, decodable results) they would pass against a world that does not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from tests.fakes.bot_api_server import FakeBotAPI

TOKEN = "123456:TEST-token"
USER = 1001


def make_bot(base: str) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(api.base_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs]
    )


# ---------------------------------------------------------------- basics


async def test_get_me_describes_the_bot(bot: Bot, api: FakeBotAPI) -> None:
    me = await bot.get_me()

    assert me.is_bot
    assert me.id == 123456  # Telegram derives the bot id from the token
    assert me.username == api.bot_username
    assert me.can_join_groups is not None
    assert me.supports_inline_queries is not None
    assert api.base_url.startswith("http://127.0.0.1:")


async def test_send_message_returns_a_message_and_is_recorded(bot: Bot, api: FakeBotAPI) -> None:
    sent = await bot.send_message(USER, "您好", reply_markup=keyboard(("继续", "go")))

    assert isinstance(sent, Message)
    assert sent.chat.id == USER and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.text == "您好"
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "go"
    assert api.sent_messages(USER) == [
        {
            "chat_id": USER,
            "text": "您好",
            "reply_markup": {"inline_keyboard": [[{"text": "继续", "callback_data": "go"}]]},
        }
    ]
    assert api.sent_messages(chat_id=999) == []
    assert api.count("sendMessage") == 1


async def test_reply_keyboard_is_recorded_but_not_echoed(bot: Bot, api: FakeBotAPI) -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="分享手机号", request_contact=True)]]
    )
    sent = await bot.send_message(USER, "请分享", reply_markup=markup)

    assert sent.reply_markup is None  # Message.reply_markup only carries inline keyboards
    assert api.sent_messages()[0]["reply_markup"]["keyboard"][0][0]["request_contact"] is True


async def test_message_ids_increase(bot: Bot) -> None:
    first = await bot.send_message(USER, "一")
    second = await bot.send_message(USER, "二")
    assert second.message_id > first.message_id


async def test_unknown_method_answers_404_json(api: FakeBotAPI) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.base_url}/bot{TOKEN}/sendTeleportation", data={"a": "1"}) as resp,
    ):
        assert resp.status == 404
        assert await resp.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


async def test_get_requests_work_too(api: FakeBotAPI) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{api.base_url}/bot{TOKEN}/getMe") as resp,
    ):
        body = await resp.json()
    assert body["ok"] is True and body["result"]["is_bot"] is True


# ---------------------------------------------------------------- getUpdates


async def test_get_updates_drops_confirmed_and_redelivers_unconfirmed(
    bot: Bot, api: FakeBotAPI
) -> None:
    first = api.push_message(USER, "一")
    second = api.push_message(USER, "二")
    third = api.push_message(USER, "三")

    assert [u.update_id for u in await bot.get_updates()] == [first, second, third]
    # Nothing confirmed yet: a restarted bot gets everything again.
    assert [u.update_id for u in await bot.get_updates()] == [first, second, third]
    # offset confirms everything below it.
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second, third]
    assert [u.update_id for u in await bot.get_updates()] == [second, third]
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [second]
    assert await bot.get_updates(offset=third + 1) == []
    assert api.pending_update_ids == []


async def test_get_updates_long_poll_times_out_empty(bot: Bot, api: FakeBotAPI) -> None:
    assert await bot.get_updates(timeout=1) == []
    assert api.calls_of("getUpdates")[-1].params["timeout"] == 1


async def test_long_poll_returns_as_soon_as_an_update_arrives(bot: Bot, api: FakeBotAPI) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: api.count("getUpdates") == 1)
    update_id = api.push_message(USER, "/start")

    updates = await asyncio.wait_for(poll, 5)

    assert [u.update_id for u in updates] == [update_id]


async def test_negative_offset_keeps_only_the_latest(bot: Bot, api: FakeBotAPI) -> None:
    api.push_message(USER, "旧")
    latest = api.push_message(USER, "新")

    assert [u.update_id for u in await bot.get_updates(offset=-1)] == [latest]
    assert [u.update_id for u in await bot.get_updates()] == [latest]


async def test_pushed_updates_decode_in_aiogram(bot: Bot, api: FakeBotAPI) -> None:
    api.push_message(USER, "/start abc", first_name="张三")
    api.push_contact(USER, "13800000000")
    api.push_document(USER, "申请书.pdf", "application/pdf", 2048)
    api.push_photo(USER, 300_000)
    sent = await bot.send_message(USER, "请选择", reply_markup=keyboard(("是", "yes")))
    api.push_callback(USER, "yes", message_id=sent.message_id)
    api.push_callback(USER, "old", message_id=1, message_text="很久以前的消息")

    updates = await bot.get_updates()

    command, contact, document, photo, callback, old_callback = updates
    assert command.message is not None and command.message.text == "/start abc"
    assert command.message.entities is not None
    assert command.message.entities[0].type == "bot_command"
    assert command.message.entities[0].length == len("/start")
    assert command.message.from_user is not None
    assert command.message.from_user.language_code == "zh-hans"
    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.user_id == USER
    assert contact.message.contact.phone_number == "13800000000"
    assert document.message is not None and document.message.document is not None
    assert document.message.document.file_name == "申请书.pdf"
    assert document.message.document.file_size == 2048
    assert photo.message is not None and photo.message.photo is not None
    assert photo.message.photo[-1].file_size == 300_000
    query = callback.callback_query
    assert query is not None and query.chat_instance
    assert query.data == "yes"
    assert isinstance(query.message, Message)
    assert query.message.text == "请选择"  # the message as the bot sent it
    assert query.message.reply_markup is not None
    assert old_callback.callback_query is not None
    assert isinstance(old_callback.callback_query.message, Message)
    assert old_callback.callback_query.message.text == "很久以前的消息"


async def test_raw_duplicate_is_delivered_after_confirmation(bot: Bot, api: FakeBotAPI) -> None:
    update_id = api.push_message(USER, "一次")
    await bot.get_updates()
    assert await bot.get_updates(offset=update_id + 1) == []

    api.push_raw_duplicate(update_id)

    assert [u.update_id for u in await bot.get_updates(offset=update_id + 1)] == [update_id]
    assert await bot.get_updates(offset=update_id + 1) == []


async def test_a_dead_clients_long_poll_does_not_swallow_a_duplicate(
    bot: Bot, api: FakeBotAPI
) -> None:
    """A killed bot process leaves its long poll behind; the next process must still get it."""
    update_id = api.push_message(USER, "一次")
    await bot.get_updates()
    await bot.get_updates(offset=update_id + 1)
    async with aiohttp.ClientSession() as dying:
        poll = asyncio.create_task(
            dying.post(f"{api.base_url}/bot{TOKEN}/getUpdates", data={"timeout": "30"})
        )
        await api.wait_for(lambda: api.count("getUpdates") == 3)
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll

    api.push_raw_duplicate(update_id)

    assert [u.update_id for u in await bot.get_updates()] == [update_id]


async def test_get_updates_conflicts_while_a_webhook_is_set(bot: Bot, api: FakeBotAPI) -> None:
    await bot.set_webhook("https://example.org/hook")
    assert api.webhook_url == "https://example.org/hook"
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []


async def test_real_polling_handles_updates_and_confirms_offsets(api: FakeBotAPI) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("欢迎", reply_markup=keyboard(("开始", "begin")))

    @dp.callback_query(F.data == "begin")
    async def begin(query: CallbackQuery) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.edit_text("第一步")

    bot = make_bot(api.base_url)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=True)
    )
    try:
        api.push_message(USER, "/start")
        welcome = await api.wait_for(lambda: api.sent_messages(USER))
        message_id = api.calls_of("sendMessage")[-1].result["message_id"]
        api.push_callback(USER, "begin", message_id=message_id)
        await api.wait_for(lambda: api.count("editMessageText") == 1)
        await api.wait_for(lambda: not api.pending_update_ids)
    finally:
        await dp.stop_polling()
        await polling

    assert welcome[0]["text"] == "欢迎"
    assert api.count("answerCallbackQuery") == 1
    assert api.message(USER, message_id)["text"] == "第一步"
    assert "reply_markup" not in api.message(USER, message_id)  # edit without markup drops it


# ---------------------------------------------------------------- limits and failures


async def test_per_chat_interval_answers_429() -> None:
    async with FakeBotAPI(per_chat_interval_s=60) as api, make_bot(api.base_url) as limited:
        await limited.send_message(USER, "一")
        with pytest.raises(TelegramRetryAfter) as caught:
            await limited.send_message(USER, "二")
        await limited.send_message(USER + 1, "另一个人")  # other chats are unaffected

    assert 1 <= caught.value.retry_after <= 60
    assert api.too_many_requests == 1
    assert [p["text"] for p in api.sent_messages()] == ["一", "另一个人"]
    assert api.count("sendMessage") == 3  # the refused call is still recorded


async def test_global_rate_answers_429_with_retry_after() -> None:
    async with FakeBotAPI(global_rate_per_s=0.5) as api, make_bot(api.base_url) as limited:
        await limited.send_message(1, "一")
        with pytest.raises(TelegramRetryAfter) as caught:
            await limited.send_message(2, "二")

    assert caught.value.retry_after == 2
    assert api.texts() == ["一"]


async def test_group_budget_per_minute() -> None:
    group = -1001234567890
    async with FakeBotAPI(per_group_per_minute=2) as api, make_bot(api.base_url) as limited:
        first = await limited.send_message(group, "一")
        await limited.send_message(group, "二")
        with pytest.raises(TelegramRetryAfter) as caught:
            await limited.send_message(group, "三")
        await limited.send_message(USER, "私聊不受群限额影响")

    assert first.chat.type == "supergroup"
    assert 1 <= caught.value.retry_after <= 60
    assert api.too_many_requests == 1


async def test_blocked_chat_answers_403(bot: Bot, api: FakeBotAPI) -> None:
    api.block_chat(USER)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "提醒")
    await bot.send_message(USER + 1, "提醒")

    assert api.sent_messages(USER) == []
    assert api.calls_of("sendMessage")[0].error_code == 403


async def test_fail_next_injects_errors_then_recovers(bot: Bot, api: FakeBotAPI) -> None:
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, times=2)

    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(USER, "重试")
        assert caught.value.retry_after == 7
    await bot.send_message(USER, "重试")

    assert api.texts(USER) == ["重试"]
    assert api.too_many_requests == 2


async def test_dropped_connection_is_a_network_error(bot: Bot, api: FakeBotAPI) -> None:
    api.drop_connection_next("sendMessage")

    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "也许送达了")
    await bot.send_message(USER, "下一条")

    # Telegram did deliver it: a sender that retries blindly would send it twice.
    assert api.texts(USER) == ["也许送达了", "下一条"]


async def test_dropped_connection_without_delivery(bot: Bot, api: FakeBotAPI) -> None:
    api.drop_connection_next("sendMessage", delivered=False)

    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "丢了")

    assert api.count("sendMessage") == 1
    assert api.texts(USER) == []


# ---------------------------------------------------------------- Telegram's 400s


async def test_callback_data_over_64_bytes_is_refused(bot: Bot, api: FakeBotAPI) -> None:
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        # 22 Chinese characters are 66 bytes in UTF-8.
        await bot.send_message(USER, "选择", reply_markup=keyboard(("选", "调" * 22)))
    assert api.texts() == []


async def test_html_is_checked_and_stripped(bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>案件</b> &lt;1&gt;", parse_mode="HTML")
    assert sent.text == "案件 <1>"

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "<div>不支持</div>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "<b>未闭合", parse_mode="HTML")


async def test_too_long_and_empty_texts_are_refused(bot: Bot) -> None:
    await bot.send_message(USER, "字" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "字" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "   ")


async def test_edits_follow_telegram_rules(bot: Bot, api: FakeBotAPI) -> None:
    sent = await bot.send_message(USER, "原文", reply_markup=keyboard(("改", "edit")))

    edited = await bot.edit_message_text("新文", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "新文"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("新文", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("新文", chat_id=USER, message_id=999_999)

    marked = await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("确认", "ok"))
    )
    assert isinstance(marked, Message) and marked.text == "新文"
    assert marked.reply_markup is not None
    assert await bot.delete_message(USER, sent.message_id) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


# ---------------------------------------------------------------- other methods


async def test_commands_are_kept_per_scope_and_language(bot: Bot, api: FakeBotAPI) -> None:
    zh = [BotCommand(command="start", description="开始")]
    en = [BotCommand(command="start", description="Start")]
    await bot.set_my_commands(zh)
    await bot.set_my_commands(en, language_code="en")
    await bot.set_my_commands(zh, scope=BotCommandScopeAllPrivateChats())

    def described(commands: list[BotCommand]) -> list[tuple[str, str]]:
        return [(c.command, c.description) for c in commands]

    assert described(await bot.get_my_commands()) == [("start", "开始")]
    assert described(await bot.get_my_commands(language_code="en")) == [("start", "Start")]
    assert api.calls_of("setMyCommands")[1].params["language_code"] == "en"
    await bot.delete_my_commands(language_code="en")
    assert await bot.get_my_commands(language_code="en") == []
    assert await bot.set_chat_menu_button() is True
    assert await bot.send_chat_action(USER, "typing") is True
    assert await bot.answer_callback_query("1", text="已收到") is True


async def test_files_can_be_fetched_and_sent(bot: Bot, api: FakeBotAPI) -> None:
    api.push_document(USER, "证据.pdf", "application/pdf", 5000)
    big = api.push_document(USER, "录像.mp4", "video/mp4", 30 * 1024 * 1024)
    updates = await bot.get_updates()
    document = updates[0].message.document  # type: ignore[union-attr]
    assert document is not None

    file = await bot.get_file(document.file_id)
    assert file.file_path is not None and file.file_path.endswith(".pdf")
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and len(downloaded.read()) == 5000
    big_id = api.update(big)["message"]["document"]["file_id"]
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big_id)

    sent = await bot.send_document(
        USER, BufferedInputFile(b"%PDF-1.4 receipt", filename="回执.pdf"), caption="回执"
    )
    assert sent.document is not None and sent.document.file_name == "回执.pdf"
    upload = api.calls_of("sendDocument")[0]
    assert list(upload.files.values()) == [("回执.pdf", b"%PDF-1.4 receipt")]
    photo = await bot.send_photo(USER, document.file_id)
    assert photo.photo is not None
    assert await bot.close() is True


async def test_wait_for_times_out_with_the_last_calls(bot: Bot, api: FakeBotAPI) -> None:
    await bot.send_message(USER, "唯一一条")
    with pytest.raises(TimeoutError, match="sendMessage"):
        await api.wait_for(lambda: api.count("editMessageText"), timeout=0.2)


async def test_control_api_pushes_updates_for_manual_runs(bot: Bot, api: FakeBotAPI) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{api.base_url}/_fake/push_message", json={"user_id": USER, "text": "/start"}
        ) as resp,
    ):
        update_id = (await resp.json())["update_id"]

    assert [u.update_id for u in await bot.get_updates()] == [update_id]


async def test_a_push_between_capturing_and_waiting_still_wakes_the_long_poll(
    api: FakeBotAPI,
) -> None:
    """Regression (flaky process test): the pulse was set() then clear(); a long poll that had
    captured the event but whose wait task had not started yet slept its whole timeout."""
    captured = api._updates_pushed
    api.push_message(5001, "/start")
    assert captured.is_set()
    await asyncio.wait_for(captured.wait(), 0.1)
