"""The sender: Telegram's limits with hand-moved time, texts in the recipient's language,
buttons, error translation, and the "received / 已收到" handler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import EditMessageReplyMarkup, SendMessage
from aiogram.types import Update

from cases import i18n
from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock, to_db
from scheduling.outbox import OutboxRow, RetryLater, Undeliverable
from scheduling.policy import Kind
from scheduling.sender import (
    RateLimiter,
    ReminderAck,
    TelegramSender,
    render_markup,
    render_text,
)
from tests.fakes.telegram import TOKEN, BotClient, RecordingSession
from tests.scheduling_helpers import (
    FakeMonotonic,
    add_case,
    add_reminder,
    add_user,
    local,
    use_compiled_catalogues,
)

LIAISON = 3001


class ResultSession(RecordingSession):
    """RecordingSession returns aiogram's Response wrapper; a real session returns its result
    (the sent Message), which the sender reads the message id from."""

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        response = await super().make_request(bot, method, timeout)
        return getattr(response, "result", response)


@pytest.fixture
def zh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    use_compiled_catalogues(tmp_path, monkeypatch)
    yield tmp_path / "locales"
    i18n.translations.cache_clear()


# --- limits -------------------------------------------------------------------------------


async def _times(limiter: RateLimiter, clock: FakeMonotonic, chats: list[int]) -> list[float]:
    out = []
    for chat in chats:
        await limiter.acquire(chat)
        out.append(round(clock.now, 3))
    return out


async def test_global_rate_stays_at_25_per_second() -> None:
    t = FakeMonotonic()
    limiter = RateLimiter(monotonic=t, sleep=t.sleep)
    times = await _times(limiter, t, list(range(1, 101)))
    assert times[:3] == [0.0, 0.04, 0.08]
    # Any one-second window holds at most 25 sends (less a hair for float rounding).
    assert max(sum(1 for x in times if s <= x < s + 0.999) for s in times) == 25


async def test_one_chat_gets_at_most_one_message_a_second() -> None:
    t = FakeMonotonic()
    limiter = RateLimiter(monotonic=t, sleep=t.sleep)
    assert await _times(limiter, t, [7, 7, 8, 7]) == [0.0, 1.0, 1.04, 2.0]


def test_a_message_held_back_by_its_chat_does_not_hold_up_other_chats() -> None:
    # Staff reminders all go to the administrators until roles exist: their second message
    # waits a second, but citizens' messages take the free slots in between.
    t = FakeMonotonic()
    limiter = RateLimiter(monotonic=t, sleep=t.sleep)
    slots = [round(limiter.reserve(chat), 3) for chat in (9001, 9001, 9001, 1, 2, 3)]
    assert slots == [0.0, 1.0, 2.0, 0.04, 0.08, 0.12]


async def test_a_group_gets_at_most_20_a_minute() -> None:
    t = FakeMonotonic()
    limiter = RateLimiter(monotonic=t, sleep=t.sleep)
    times = await _times(limiter, t, [-100123] * 21)
    assert times[19] == 19.0
    assert times[20] == 60.0  # the 21st waits until the first leaves the minute


async def test_a_429_pauses_every_chat() -> None:
    t = FakeMonotonic()
    limiter = RateLimiter(monotonic=t, sleep=t.sleep)
    await limiter.acquire(1)
    limiter.pause(5)
    assert await _times(limiter, t, [2, 3]) == [5.0, 5.04]


async def test_a_429_during_a_wait_sends_the_waiter_to_the_back() -> None:
    t = FakeMonotonic()

    async def sleep(seconds: float) -> None:
        if not paused:
            paused.append(True)
            limiter.pause(10)  # another sender got a 429 while this one slept
        await t.sleep(seconds)

    paused: list[bool] = []
    limiter = RateLimiter(monotonic=t, sleep=sleep)
    await limiter.acquire(1)
    await limiter.acquire(1)
    assert t.now >= 10.0


# --- texts and buttons --------------------------------------------------------------------


def row(**overrides: Any) -> OutboxRow:
    values: dict[str, Any] = {
        "id": 77,
        "kind": Kind.REMINDER,
        "rule_id": "F10",
        "case_id": 5,
        "chat_id": LIAISON,
        "locale": "zh",
        "audience": Role.agency_liaison,
        "critical": True,
        "step": "0wd",
        "payload": {
            "case_number": "谷复〔2026〕7号",
            "due_on": "2026-12-09",
            "title": "File the written reply with the evidence, legal basis and other materials",
            "effect": "Those responsible may be disciplined.",
            "basis_zh": "《行政复议法》第四十八条",
            "basis_en": "Administrative Reconsideration Law, Art. 48",
            "provisional": False,
        },
        "due_at": datetime(2026, 12, 9, 0, 30, tzinfo=UTC),
        "expires_at": None,
        "attempts": 0,
    }
    values.update(overrides)
    return OutboxRow(**values)


def test_reminder_says_what_by_when_basis_and_effect_in_chinese(zh: Path) -> None:
    text = render_text(row())
    assert "<code>谷复〔2026〕7号</code>" in text
    assert "截止时间：2026年12月9日（星期三）24时" in text
    assert "依据：《行政复议法》第四十八条" in text
    assert "逾期后果：" in text
    assert "今天是最后一天。" in text
    assert "确认已收到" in text
    assert "Reminder" not in text


def test_reminder_in_english_for_an_english_speaker(zh: Path) -> None:
    text = render_text(row(locale="en", payload={**row().payload, "provisional": True}))
    assert "What is due: File the written reply" in text
    assert "By: Wed 9 Dec 2026, end of the day" in text
    assert "Legal basis: Administrative Reconsideration Law, Art. 48" in text
    assert "If missed: Those responsible may be disciplined." in text
    assert "provisional" in text


def test_hearing_reminder_gives_time_and_court(zh: Path) -> None:
    payload = {
        "court_case_number": "(2026)鄂0625行初12号",
        "court": "谷城县人民法院",
        "starts_at": to_db(local(2026, 12, 10, 9, 0)),
        "due_on": "2026-12-10",
        "head_required": True,
        "title": "Court hearing: the agency head appears (行政机关负责人出庭应诉)",
        "basis_zh": "《行政诉讼法》第三条第三款",
    }
    text = render_text(row(rule_id="L7", case_id=None, step="-1cd", payload=payload))
    assert "开庭时间：2026年12月10日（星期四） 09:00，谷城县人民法院" in text
    assert "负责人应当出庭" in text
    assert "<code>(2026)鄂0625行初12号</code>" in text


def test_staff_get_open_case_and_received_buttons_citizens_only_open_case(zh: Path) -> None:
    markup = render_markup(row(audience=Role.office_staff))
    assert markup is not None
    buttons = markup.inline_keyboard[0]
    assert [(b.text, b.callback_data) for b in buttons] == [
        ("查看案件", "case:view:5"),
        ("已收到", "ack:77"),
    ]
    # Agency staff open no staff page: a court reminder has only the receipt button, no
    # dead "open case"; the reply period's (F10) opens the respondent's extract.
    agency = render_markup(row(audience=Role.agency_liaison, rule_id="L3"))
    assert agency is not None
    assert [b.callback_data for b in agency.inline_keyboard[0]] == ["ack:77"]
    reply = render_markup(row(audience=Role.agency_liaison))
    assert reply is not None
    assert [b.callback_data for b in reply.inline_keyboard[0]] == ["case:view:5", "ack:77"]
    citizen = render_markup(row(audience=Role.citizen, chat_id=1001))
    assert citizen is not None
    assert [b.callback_data for b in citizen.inline_keyboard[0]] == ["case:view:5"]


def test_blocked_notice_asks_staff_to_call(zh: Path) -> None:
    notice = row(
        kind=Kind.NOTICE,
        audience=Role.admin,
        payload={
            "problem": "blocked",
            "recipient_role": "citizen",
            "case_number": "谷复〔2026〕7号",
        },
    )
    text = render_text(notice)
    assert "无法送达申请人" in text and "电话" in text
    assert render_markup(notice) is not None  # open the case to find the phone number


# --- aiogram ------------------------------------------------------------------------------


async def test_sender_sends_html_with_buttons_and_translates_errors(zh: Path) -> None:
    session = ResultSession()
    bot = Bot(TOKEN, session=session)
    t = FakeMonotonic()
    limiter = RateLimiter(monotonic=t, sleep=t.sleep)
    sender = TelegramSender(bot, limiter)

    message_id = await sender.deliver(row())
    request = session.requests[-1]
    assert isinstance(request, SendMessage)
    assert request.parse_mode == "HTML" and request.chat_id == LIAISON
    assert message_id >= 1000

    session.fail_next(SendMessage, 429, "Too Many Requests: retry after 9", retry_after=9)
    with pytest.raises(RetryLater) as retry:
        await sender.deliver(row())
    assert retry.value.retry_after == 9
    assert limiter.paused_until == 9.0  # everyone waits

    session.fail_next(SendMessage, 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Undeliverable):
        await sender.deliver(row())


async def test_received_button_records_once_and_refuses_others(
    db: Database, clock: FakeClock, dispatcher: Dispatcher, bot: Bot
) -> None:
    """Through the bot's own dispatcher: the handler is reached only if get_routers() has it."""
    await add_user(db, 1001)
    await add_user(db, LIAISON, role="agency_liaison")
    case_id = await add_case(db, 1001)
    rid = await add_reminder(
        db, chat_id=LIAISON, due_at=clock.now(), case_id=case_id, status="sent"
    )
    session = bot.session
    assert isinstance(session, RecordingSession)
    dp = dispatcher
    data = ReminderAck(reminder_id=rid).pack()
    markup = {
        "inline_keyboard": [
            [
                {"text": "查看案件", "callback_data": f"case:view:{case_id}"},
                {"text": "已收到", "callback_data": data},
            ]
        ]
    }

    async def press(user_id: int, update_id: int) -> None:
        query = {
            "id": f"q{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": "李"},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 10,
                "date": int(clock.now().timestamp()),
                "chat": {"id": user_id, "type": "private"},
                "text": "提醒",
                "reply_markup": markup,
            },
        }
        await dp.feed_update(bot, Update(update_id=update_id, callback_query=query))

    await press(4444, 1)  # someone else forwarding or forging the button
    await press(LIAISON, 2)
    await press(LIAISON, 3)
    assert session.alerts() == [
        "本提醒是发给其他人的，无法在此确认。",
        "谢谢，已记录您收到本提醒。",
        "已记录过您收到本提醒。",
    ]
    edits = [r for r in session.requests if isinstance(r, EditMessageReplyMarkup)]
    assert len(edits) == 1
    assert edits[0].reply_markup is not None
    assert [b.text for b in edits[0].reply_markup.inline_keyboard[0]] == ["查看案件", "✅ 已收到"]
    stored = await db.fetch_one("SELECT acknowledged_by FROM reminders WHERE id = ?", (rid,))
    assert stored is not None and stored["acknowledged_by"] == LIAISON


@pytest.mark.parametrize("data", ["ack:99999999999999999999", "ack:9223372036854775808", "ack:-1"])
async def test_received_button_with_out_of_range_id_gets_the_stale_button_answer(
    client: BotClient, data: str
) -> None:
    """A forged id SQLite cannot hold (OverflowError) or a negative one: the filter does not
    match and the fallback answers politely, instead of the generic error."""
    await client.click(data)
    assert client.session.alerts()[-1] == "这个按钮已经失效，请使用下面的菜单。"


def test_reminder_ack_still_packs_real_ids() -> None:
    biggest = 2**63 - 1  # SQLite's largest rowid
    assert ReminderAck.unpack(ReminderAck(reminder_id=biggest).pack()).reminder_id == biggest
    with pytest.raises(ValueError):
        ReminderAck.unpack("ack:99999999999999999999")
