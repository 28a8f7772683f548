"""What a user sees from the first contact: menu, language, help, odd input, errors."""

from __future__ import annotations

from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import Message

from cases.store.db import Database
from tests.fakes.telegram import BotClient


async def test_start_greets_in_chinese_with_the_main_menu(client: BotClient) -> None:
    await client.send("/start")
    assert "欢迎使用谷城县" in client.last_text()
    assert "⚖️ 对政府部门的决定不服（行政复议）" in client.buttons()
    assert "📂 我的案件" in client.buttons()


async def test_start_follows_an_english_telegram(english_client: BotClient) -> None:
    await english_client.send("/start")
    assert english_client.last_text().startswith("Welcome to the Gucheng County")
    assert "📂 My cases" in english_client.buttons()


async def test_language_choice_is_stored_and_used_afterwards(
    client: BotClient, db: Database
) -> None:
    await client.send("/lang")
    await client.press("English")
    assert "Language set to English." in client.texts()
    await client.send("/help")
    assert client.last_text().startswith("How to use this service")
    assert (
        await db.fetch_value("SELECT locale FROM users WHERE telegram_id = ?", (client.user_id,))
        == "en"
    )
    # The "/" menu of this chat follows the choice, not the Telegram app's language.
    from aiogram.methods import SetMyCommands

    [menu] = [r for r in client.session.requests if isinstance(r, SetMyCommands)][-1:]
    assert menu.scope is not None and menu.scope.chat_id == client.user_id
    assert "Ask for administrative mediation" in [c.description for c in menu.commands]


async def test_start_leaves_the_open_form_and_its_command_continues_it(
    client: BotClient, db: Database
) -> None:
    """Regression: after /start showed the menu, the next text was still validated as the
    answer to the form question no longer on screen."""
    await client.send("/mediation")
    await client.press("没有")
    await client.send("/start")
    await client.send("张三")
    assert client.last_text() == "请选择您要办理的事项："
    assert await db.fetch_value("SELECT step FROM drafts") == "other_side_agrees"
    await client.send("/mediation")
    assert "接着填写" in client.last_text()


async def test_help_lists_every_flow(client: BotClient) -> None:
    await client.send("/help")
    text = client.last_text()
    for command in ("/reconsider", "/mediation", "/petition", "/book", "/mycases", "/cancel"):
        assert command in text


async def test_unknown_text_sticker_and_edit_get_helpful_answers(client: BotClient) -> None:
    await client.send("你好")
    assert client.last_text() == "请选择您要办理的事项："
    await client.send_sticker()
    assert "只能读取文字消息" in client.last_text()
    await client.edit("改过的消息")
    assert "重新发送一条新消息" in client.last_text()
    await client.send("/nonsense")
    assert "没有这个命令" in client.last_text()


async def test_stale_or_forged_button_is_answered_politely(client: BotClient) -> None:
    await client.click("old:format:from:before:restart")
    assert client.session.alerts() == ["这个按钮已经失效，请使用下面的菜单。"]
    await client.click("case:view:not-a-number")
    assert len(client.session.alerts()) == 2


async def test_the_same_update_delivered_twice_is_answered_once(client: BotClient) -> None:
    await client.send("/start", update_id=777_001)
    await client.send("/start", update_id=777_001)
    sends = [r for r in client.session.requests if isinstance(r, SendMessage)]
    assert len(sends) == 1


async def test_cancel_with_nothing_open_says_so(client: BotClient) -> None:
    await client.send("/cancel")
    assert client.last_text().startswith("您现在没有正在填写的内容")


async def test_a_failing_handler_tells_the_user_nothing_was_lost(
    dispatcher: Dispatcher, client: BotClient, caplog
) -> None:
    broken = Router(name="broken")

    @broken.message(Command("boom"))
    async def boom(message: Message) -> None:
        raise ValueError(f"cannot handle {message.text}")

    dispatcher.include_router(broken)
    dispatcher.sub_routers.insert(0, dispatcher.sub_routers.pop())  # before the fallback
    await client.send("/boom 420625198503120018 13800001234")
    assert "您已经填写的内容都保存着" in client.last_text()
    # The exception's message (personal data) is not logged, only its type and place.
    assert "420625198503120018" not in caplog.text
    assert "13800001234" not in caplog.text
    assert "ValueError" in caplog.text


async def test_a_failing_button_stops_its_spinner_and_tells_the_user(
    dispatcher: Dispatcher, english_client: BotClient
) -> None:
    from aiogram.methods import AnswerCallbackQuery
    from aiogram.types import CallbackQuery

    broken = Router(name="broken")

    @broken.callback_query()
    async def boom(query: CallbackQuery) -> None:
        raise RuntimeError("broken button")

    dispatcher.include_router(broken)
    dispatcher.sub_routers.insert(0, dispatcher.sub_routers.pop())
    await english_client.click("anything")
    requests = english_client.session.requests
    assert any(isinstance(r, AnswerCallbackQuery) for r in requests)
    assert english_client.last_text().startswith("Sorry, something went wrong")


async def test_after_a_failed_reply_the_form_command_shows_where_the_citizen_is(
    client: BotClient, db: Database
) -> None:
    """Regression: the apology said "send your last answer again"; the answer had been saved,
    so the re-sent text became the answer to the next question."""
    await client.send("/mediation")
    await client.press("没有")
    await client.press("同意")
    await client.press("交通事故")
    await client.press("城关镇")
    client.session.fail_next(SendMessage, 500, "Internal Server Error")
    await client.send("张三")  # saved; the next question could not be sent
    assert "/mediation" in client.last_text() and "再发一次" not in client.last_text()
    await client.send("/mediation")
    assert "接着填写" in client.last_text()
    assert "证件" in client.last_text()  # the question after the name, not the name again
    assert await db.fetch_value("SELECT step FROM drafts") == "id_number"


async def test_a_flood_of_messages_is_slowed_down_once_and_loses_nothing(
    client: BotClient, dispatcher: Dispatcher
) -> None:
    import time

    from aiogram.methods import SendMessage

    from handlers.middlewares import FloodMiddleware

    flood = next(m for m in dispatcher.update.outer_middleware if isinstance(m, FloodMiddleware))
    flood.limit = 20
    await client.send("/petition")
    await client.press("没有")
    client.clear()
    for _ in range(30):
        await client.send("你好")
    replies = [r.text for r in client.session.requests if isinstance(r, SendMessage)]
    warnings = [t for t in replies if "发送得太快" in t]
    assert len(warnings) == 1
    assert len(replies) <= 20
    # After a pause the same person is answered normally, and the form is where it was.
    flood.now = lambda: time.monotonic() + 11
    await client.send("/petition")
    assert "接着填写" in client.last_text()


async def test_a_dropped_button_press_is_still_answered(
    client: BotClient, dispatcher: Dispatcher
) -> None:
    """Regression: flood control dropped extra presses without answering them, so the
    citizen's client kept the button's spinner turning."""
    from aiogram.methods import AnswerCallbackQuery

    from handlers.middlewares import FloodMiddleware

    flood = next(m for m in dispatcher.update.outer_middleware if isinstance(m, FloodMiddleware))
    flood.limit = 3
    await client.send("/petition")
    client.clear()
    presses = 8
    for _ in range(presses):
        await client.click("f:999:pick:elsewhere:0")
    answered = [r for r in client.session.requests if isinstance(r, AnswerCallbackQuery)]
    assert len(answered) == presses
    assert sum(1 for r in answered if r.text and "发送得太快" in r.text) == 1


def test_response_classes_are_not_rebuilt_after_a_garbage_collection() -> None:
    """Regression: pydantic caches ``Response[Message]`` weakly; after each collection aiogram
    rebuilt it on the next API call, milliseconds of event loop per rebuild under load."""
    import gc
    import weakref

    from aiogram.methods.base import Response

    from bot import tune_runtime

    thresholds = gc.get_threshold()
    try:
        tune_runtime()
        gc.unfreeze()  # frozen objects are never collected; the pin must hold without that
        kept = weakref.ref(Response[Message])
        kept_union = weakref.ref(Response[Message | bool])
        gc.collect()
        assert kept() is not None
        assert kept_union() is not None
    finally:
        gc.set_threshold(*thresholds)


async def test_a_failure_in_a_staff_step_tells_staff_to_check_the_case(
    dispatcher: Dispatcher, bot
) -> None:
    """The citizens' advice ("send /petition … again") is wrong for staff: they must check
    whether the step was recorded before repeating it."""
    from cases.org.users import Role
    from tests.support import ADMIN_ID

    await dispatcher["users"].set_role(ADMIN_ID, Role.admin)
    broken = Router(name="broken")

    @broken.message(Command("boom"))
    async def boom(message: Message) -> None:
        raise ValueError("staff step failed")

    dispatcher.include_router(broken)
    dispatcher.sub_routers.insert(0, dispatcher.sub_routers.pop())
    admin = BotClient(dispatcher, bot, user_id=ADMIN_ID)
    await admin.send("/boom")
    assert "/cases" in admin.last_text() and "/petition" not in admin.last_text()


async def test_start_is_answered_even_when_the_menu_refresh_is_throttled(
    client: BotClient,
) -> None:
    from aiogram.methods import SetMyCommands

    await client.send("/lang")
    await client.press("中文")
    client.session.fail_next(SetMyCommands, 429, "Too Many Requests", retry_after=5)
    await client.send("/start")
    assert "欢迎使用谷城县" in client.last_text()
    assert "出了点问题" not in " ".join(client.texts())


async def test_a_rate_limited_reply_is_sent_again_after_the_wait(
    client: BotClient, bot, db: Database
) -> None:
    """Regression: a 429 on the answer to a form step lost the next question (the citizen
    got an apology instead). Waits longer than a few seconds are not held."""
    from handlers.replies import RetryRateLimitedReplies

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    bot.session.middleware(RetryRateLimitedReplies(sleep=record))
    await client.send("/mediation")
    client.session.fail_next(SendMessage, 429, "Too Many Requests", retry_after=3)
    await client.press("没有")
    assert waits == [3]
    assert "同意" in " ".join(client.buttons())  # the next question did arrive
    client.session.fail_next(SendMessage, 429, "Too Many Requests", retry_after=60)
    await client.press("同意")
    assert waits == [3]
    assert "出了点问题" in client.last_text()


async def test_second_press_of_a_language_button_sends_no_apology(
    english_client: BotClient,
) -> None:
    """Regression: the second press edited the message to the same text; Telegram refuses
    that ("message is not modified") and the person got the generic apology."""
    await english_client.send("/lang")
    await english_client.press("English")
    english_client.clear()
    await english_client.press_again()
    assert not any("went wrong" in text for text in english_client.texts())


async def test_second_press_of_keep_going_sends_no_apology(client: BotClient) -> None:
    """Regression: as above, for "No, keep going" under /cancel's question."""
    await client.send("/mediation")
    await client.send("/cancel")
    await client.press("继续")
    assert "我们继续" in client.last_text()
    client.clear()
    await client.press_again()
    assert not any("出了点问题" in text for text in client.texts())
