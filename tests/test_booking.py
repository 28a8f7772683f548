"""局长接待日 (issue 9): booking from the chat, seats that never over-book, the waitlist and its
offers, reschedule and cancel, sessions on working days only, proxy booking, the day's roster
and a petition registered from a booking with its X2 clock."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.reception.booking import BookingService, BookingStatus, Issue, Outcome
from cases.store.db import Database, IntegrityError
from cases.store.sqlite import SqliteDatabase
from cases.store.time import LEGAL_TZ, FakeClock, from_db
from scheduling.booking import BookingJobs, BookingMailer
from scheduling.outbox import OutboxRow
from scheduling.sender import render_markup, render_text
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, compute, migrations_where

PSB = "county_psb"  # reception day: Monday 09:00–11:30 (organisation file example)
LIAISON = 7101
HEAD = 7102
WORKER = 7201
MONDAY = date(2026, 11, 30)


@pytest.fixture
async def booking(dispatcher: Dispatcher, db: Database) -> BookingService:
    """The bot's booking service, with citizens 2000–2099 and 3000–3009 known to it."""
    await db.run(
        lambda conn: conn.executemany(
            "INSERT INTO users(telegram_id, role, first_seen, last_seen)"
            " VALUES (?, 'citizen', 'x', 'x')",
            [(n,) for n in [*range(2000, 2100), *range(3000, 3010)]],
        )
    )
    service: BookingService = dispatcher["booking"]
    return service


def citizen(dispatcher: Dispatcher, bot: Bot, user_id: int, lang: str = "zh-hans") -> BotClient:
    return BotClient(dispatcher, bot, user_id=user_id, language_code=lang)


async def book_via_chat(
    client: BotClient, *, day_label: str = "11月30日", time_label: str = "09:00"
) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press(day_label)
    await client.press(time_label)
    await client.send("邻居长期噪音扰民")
    await client.send("请派出所依法处理")
    await client.send("王小明")
    await client.press("2")
    await client.press("没有")
    await client.press("确认预约")


async def outbox(db: Database, key_prefix: str = "bk-") -> list[OutboxRow]:
    rows = await db.fetch_all(
        "SELECT * FROM reminders WHERE dedup_key LIKE ? ORDER BY id", (key_prefix + "%",)
    )
    return [OutboxRow.from_row(r) for r in rows]


async def set_role(
    dispatcher: Dispatcher, user_id: int, role: Role, unit: str | None = None
) -> None:
    await dispatcher["users"].set_role(user_id, role, unit)


# -- the flow ---------------------------------------------------------------------------------


async def test_citizen_books_a_reception_day_and_gets_a_receipt(
    client: BotClient, dispatcher: Dispatcher, db: Database
) -> None:
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    await client.send("/book")
    assert "公安局" in " ".join(client.buttons())
    assert any("不知道" in b for b in client.buttons())
    await client.press("公安局")
    days = client.buttons()
    # Mondays in the 4-week window; bookings close 24 h before, so all four are open.
    assert len(days) == 4 and days[0].startswith("2026年11月30日（星期一） 09:00")
    await client.press("11月30日")
    assert "09:00 · 剩余 3 个名额" in client.buttons()
    await client.press("09:30")
    await client.send("邻居长期噪音扰民")
    await client.send("请派出所依法处理")
    await client.send("王小明")
    await client.press("2")
    await client.press("没有")
    assert "请核对并确认" in client.last_text()
    await client.press("确认预约")
    text = client.last_text()
    assert "JD-2026-000001" in text
    assert "2026年11月30日（星期一） 09:30" in text
    assert "谷城县公安局群众接待室" in text
    assert "身份证" in text and "/mycases" in text
    row = await db.fetch_one("SELECT status, people, slot FROM bookings")
    assert tuple(row) == ("booked", 2, 1)
    # The agency liaison is told at once, with the matter in brief.
    [to_agency] = [r for r in await outbox(db) if r.chat_id == LIAISON]
    assert "邻居长期噪音扰民" in render_text(to_agency)
    # Reminders the day before and two hours before, with "I will come" and "cancel".
    reminders = [r for r in await outbox(db, "bk-rem:") if r.chat_id == client.user_id]
    assert [r.due_at.astimezone(LEGAL_TZ).strftime("%d %H:%M") for r in reminders] == [
        "29 09:30",
        "30 08:00",  # 07:30 is in the quiet hours: the morning, still before the time
    ]
    labels = [b.text for row in render_markup(reminders[0]).inline_keyboard for b in row]
    assert labels == ["👍 我会准时到", "取消预约"]


async def test_book_button_in_the_menu_opens_the_flow(client: BotClient) -> None:
    await client.send("/start")
    await client.press("预约局长接待日")
    assert "哪个部门" in client.last_text()


async def test_i_do_not_know_which_agency_goes_to_triage(client: BotClient) -> None:
    await client.send("/book")
    await client.press("不知道")
    assert client.buttons() == ["是", "否"]


async def test_matter_before_a_court_is_redirected_and_not_booked(
    client: BotClient, db: Database
) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("土地纠纷")
    await client.send("撤销决定")
    await client.send("王小明")
    await client.press("3")
    await client.press("法院")
    assert "诉讼" in client.last_text() and "没有预约" in client.last_text()
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 0


async def test_more_than_five_people_are_asked_to_choose_representatives(
    client: BotClient,
) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("拆迁补偿")
    await client.send("补偿到位")
    await client.send("王小明")
    await client.press("5人以上")
    assert "第二十条" in client.last_text() and "5" in client.last_text()
    assert "6" not in client.buttons()


async def test_second_booking_at_the_same_agency_shows_the_existing_one(
    client: BotClient, db: Database
) -> None:
    await book_via_chat(client)
    await client.send("/book")
    await client.press("公安局")
    assert "已有" in client.last_text() and "JD-2026-000001" in client.last_text()
    assert "改约" in client.buttons() and "取消预约" in client.buttons()
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 1


async def test_double_press_on_confirm_books_once(client: BotClient, db: Database) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("噪音")
    await client.send("处理")
    await client.send("王小明")
    await client.press("1")
    await client.press("没有")
    await asyncio.gather(client.press("确认预约"), client.press("确认预约"))
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 1
    assert await db.fetch_value("SELECT last_value FROM case_sequences WHERE prefix='JD'") == 1


async def test_redelivered_confirm_update_books_once(client: BotClient, db: Database) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("噪音")
    await client.send("处理")
    await client.send("王小明")
    await client.press("1")
    await client.press("没有")
    sent = client.session.seen(client.user_id)[-1]
    data = sent.markup.inline_keyboard[0][0].callback_data
    await client.click(data, update_id=777_001)
    await client.click(data, update_id=777_001)
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 1


# -- seats and the waitlist --------------------------------------------------------------------


async def _first_session(booking: BookingService) -> int:
    [day, *_] = await booking.open_days(PSB)
    return day.session.id


async def test_concurrent_bookings_never_over_book_a_slot(
    booking: BookingService, db: Database
) -> None:
    session_id = await _first_session(booking)
    results = await asyncio.gather(
        *(booking.book(2000 + n, session_id, 0, Issue("事项", "请求")) for n in range(12))
    )
    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.booked) == 3
    assert outcomes.count(Outcome.waitlisted) == 9
    # Wait-listed in arrival order.
    waiting = [r.booking.citizen_id for r in results if r.outcome is Outcome.waitlisted]
    assert waiting == [2000 + n for n in range(3, 12)]
    assert [r.position for r in results if r.outcome is Outcome.waitlisted] == list(range(1, 10))


async def test_the_database_refuses_an_over_booking_whatever_the_caller(
    booking: BookingService, db: Database
) -> None:
    session_id = await _first_session(booking)
    for n in range(3):
        await booking.book(2000 + n, session_id, 0, Issue("事项", "请求"))
    with pytest.raises(IntegrityError, match="full"):
        await db.execute(
            "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, status, subject,"
            " request, people, created_at, updated_at)"
            " VALUES ('X', ?, 0, ?, 2099, 'booked', 's', 'r', 1, 'x', 'x')",
            (session_id, PSB),
        )


async def test_slot_that_filled_while_choosing_says_so_and_offers_free_times(
    client: BotClient, booking: BookingService, db: Database
) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("噪音")
    await client.send("处理")
    await client.send("王小明")
    await client.press("1")
    await client.press("没有")
    session_id = await _first_session(booking)
    for n in range(3):  # others take the three seats meanwhile
        await booking.book(3000 + n, session_id, 0, Issue("事项", "请求"))
    await client.press("确认预约")
    texts = client.texts()
    assert any("已满" in t and "候补第 1 位" in t for t in texts[-3:])
    assert "09:30 · 剩余 3 个名额" in client.buttons()
    # Choosing a free time turns the waitlist place into a booking.
    await client.press("09:30")
    assert "JD-2026-000004" in client.last_text() and "09:30" in client.last_text()
    row = await db.fetch_one("SELECT status, slot FROM bookings WHERE citizen_id = 1001")
    assert tuple(row) == ("booked", 1)


async def test_cancel_frees_the_seat_and_offers_it_to_the_first_in_line(
    booking: BookingService, db: Database, clock: FakeClock
) -> None:
    session_id = await _first_session(booking)
    booked = [await booking.book(2000 + n, session_id, 0, Issue("事项", "请求")) for n in range(3)]
    first = await booking.book(2010, session_id, 0, Issue("事项", "请求"))
    second = await booking.book(2011, session_id, 0, Issue("事项", "请求"))
    assert first.outcome is Outcome.waitlisted
    result = await booking.cancel(booked[0].booking.id, user_id=2000)
    assert result.outcome is Outcome.cancelled
    again = await booking.cancel(booked[0].booking.id, user_id=2000)
    assert again.outcome is Outcome.already
    offered = await booking.get(first.booking.id, user_id=2010)
    assert offered.status is BookingStatus.offered
    # Held two hours (09:00 Wednesday + 2 h).
    assert offered.offer_until == clock.now() + timedelta(hours=2)
    [offer] = await outbox(db, f"bk-offer:{first.booking.id}")
    assert offer.chat_id == 2010
    assert "✅ 我要这个名额" in [b.text for r in render_markup(offer).inline_keyboard for b in r]
    # Nobody else can take the held seat.
    other = await booking.book(2099, session_id, 0, Issue("事项", "请求"))
    assert other.outcome is Outcome.waitlisted
    taken = await booking.take_offer(first.booking.id, user_id=2010)
    assert taken.outcome is Outcome.booked
    assert (await booking.get(second.booking.id, user_id=2011)).status is BookingStatus.waiting


async def test_offer_expiry_passes_to_the_next_exactly_once(
    booking: BookingService, db: Database, clock: FakeClock
) -> None:
    session_id = await _first_session(booking)
    booked = [await booking.book(2000 + n, session_id, 0, Issue("事项", "请求")) for n in range(3)]
    first = await booking.book(2010, session_id, 0, Issue("事项", "请求"))
    second = await booking.book(2011, session_id, 0, Issue("事项", "请求"))
    await booking.cancel(booked[0].booking.id, user_id=2000)
    clock.advance(timedelta(hours=1, minutes=59))
    assert await booking.expire_offers() == 0
    clock.advance(timedelta(minutes=2))
    counts = await asyncio.gather(booking.expire_offers(), booking.expire_offers())
    assert sorted(counts) == [0, 1]
    assert await booking.expire_offers() == 0
    assert (await booking.get(first.booking.id, user_id=2010)).status is BookingStatus.expired
    assert (await booking.get(second.booking.id, user_id=2011)).status is BookingStatus.offered
    late = await booking.take_offer(first.booking.id, user_id=2010)
    assert late.outcome is Outcome.already
    assert len(await outbox(db, f"bk-offer:{second.booking.id}")) == 1
    assert len(await outbox(db, f"bk-offer-expired:{first.booking.id}")) == 1


async def test_an_evening_offer_holds_through_the_night(
    booking: BookingService, clock: FakeClock
) -> None:
    mailer = BookingMailer()
    evening = datetime(2026, 11, 25, 20, 0, tzinfo=LEGAL_TZ)
    # One hour before the quiet hours, one hour after them.
    assert mailer.hold_until(evening, 2) == datetime(2026, 11, 26, 9, 0, tzinfo=LEGAL_TZ)
    night = datetime(2026, 11, 25, 23, 0, tzinfo=LEGAL_TZ)
    assert mailer.hold_until(night, 2) == datetime(2026, 11, 26, 10, 0, tzinfo=LEGAL_TZ)


async def test_reschedule_keeps_the_old_seat_until_the_new_one_is_taken(
    client: BotClient, booking: BookingService, db: Database
) -> None:
    await book_via_chat(client)
    mine = (await booking.my_bookings(client.user_id))[0]
    session_id = mine.session.id
    for n in range(3):  # 09:30 is full
        await booking.book(3000 + n, session_id, 1, Issue("事项", "请求"))
    full = await booking.reschedule(mine.id, user_id=client.user_id, session_id=session_id, slot=1)
    assert full.outcome is Outcome.full
    kept = await booking.get(mine.id, user_id=client.user_id)
    assert (kept.status, kept.slot) == (BookingStatus.booked, 0)
    await client.send("/mycases")
    assert "JD-2026-000001" in client.last_text()
    await client.press("JD-2026-000001")
    await client.press("改约")
    await client.press("12月7日")
    await client.press("10:00")
    assert "2026年12月7日（星期一） 10:00" in client.last_text()
    moved = await booking.get(mine.id, user_id=client.user_id)
    assert moved.session.day == date(2026, 12, 7) and moved.number == mine.number


async def test_cancel_from_the_chat_and_twice(client: BotClient, db: Database) -> None:
    await book_via_chat(client)
    await client.press("取消预约")
    assert "已取消" in client.last_text()
    await client.press("取消预约")
    assert "已经取消" in client.last_text()
    assert await db.fetch_value("SELECT status FROM bookings") == "cancelled"
    pending = await db.fetch_value(
        "SELECT count(*) FROM reminders WHERE dedup_key LIKE 'bk-rem:%' AND status = 'pending'"
    )
    assert pending == 0


async def test_forged_button_never_touches_another_persons_booking(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    await book_via_chat(client)
    booking_id = await db.fetch_value("SELECT id FROM bookings")
    other = citizen(dispatcher, bot, 1003)
    for action in ("view", "cancel", "resched", "take", "come"):
        await other.click(f"bk:{action}:{booking_id}")
        assert "JD-2026" not in other.last_text()
    assert await db.fetch_value("SELECT status FROM bookings") == "booked"
    await other.click("bkp:slot:99999.0")  # a forged time outside any flow
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 1


# -- sessions and the legal calendar --------------------------------------------------------


async def test_recurring_sessions_skip_rest_days_and_mark_uncovered_years(
    db: Database, dispatcher: Dispatcher, clock: FakeClock
) -> None:
    booking: BookingService = dispatcher["booking"]
    # National Day week 2026: Thursday 1 Oct is a holiday; the HRSS day is Thursday.
    clock.set(datetime(2026, 9, 20, 1, 0, tzinfo=UTC))
    await booking.ensure_sessions()
    days = {
        r[0]
        for r in await db.fetch_all(
            "SELECT day FROM reception_sessions WHERE agency = 'county_hrss'"
        )
    }
    assert "2026-10-01" not in days and "2026-09-24" in days and "2026-10-08" in days
    # Spring Festival 2026: 16–23 Feb off, so Monday 16 Feb has no PSB session.
    clock.set(datetime(2026, 2, 1, 1, 0, tzinfo=UTC))
    await booking.ensure_sessions()
    psb = {
        r[0]
        for r in await db.fetch_all("SELECT day FROM reception_sessions WHERE agency = ?", (PSB,))
    }
    assert "2026-02-16" not in psb and "2026-02-09" in psb and "2026-02-23" not in psb
    # A year the calendar does not cover is offered, marked provisional.
    clock.set(datetime(2027, 12, 20, 1, 0, tzinfo=UTC))
    await booking.ensure_sessions()
    row = await db.fetch_one(
        "SELECT provisional FROM reception_sessions WHERE agency = ? AND day = '2028-01-03'",
        (PSB,),
    )
    assert row is not None and row[0] == 1


async def test_admin_adds_sessions_on_a_make_up_saturday_but_not_on_a_holiday(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 9, 20, 1, 0, tzinfo=UTC))
    admin = citizen(dispatcher, bot, ADMIN_ID)
    await set_role(dispatcher, ADMIN_ID, Role.admin)
    # Saturday 10 Oct 2026 is a 调休 make-up working day; Friday 2 Oct is a holiday.
    await admin.send("/sessions add county_housing 2026-10-10 09:00-11:00 4")
    assert "已添加" in admin.last_text()
    await admin.send("/sessions add county_housing 2026-10-02 09:00-11:00")
    assert "休息日" in admin.last_text()
    await admin.send("/sessions add county_housing 2026-10-17 09:00-11:00")
    assert "休息日" in admin.last_text()
    rows = await db.fetch_all(
        "SELECT day, seats FROM reception_sessions WHERE agency = 'county_housing'"
    )
    assert [tuple(r) for r in rows] == [("2026-10-10", 4)]
    # The list marks the organisation file's example days until the county confirms them.
    await admin.send("/sessions")
    lines = admin.last_text().splitlines()
    [added] = [line for line in lines if "2026年10月10日" in line]
    assert "尚未确认" not in added
    assert any("公安局" in line and "尚未确认" in line for line in lines)


async def test_moved_session_takes_its_bookings_along_and_tells_them(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    await book_via_chat(client)
    session_id = await db.fetch_value("SELECT session_id FROM bookings")
    admin = citizen(dispatcher, bot, ADMIN_ID)
    await set_role(dispatcher, ADMIN_ID, Role.admin)
    await admin.send(f"/sessions move {session_id} 2026-12-01 14:00-16:30")
    assert "1" in admin.last_text()
    [moved] = await outbox(db, "bk-moved:")
    assert moved.chat_id == client.user_id
    assert "2026年12月1日（星期二） 14:00" in render_text(moved)
    reminders = await db.fetch_all(
        "SELECT due_at FROM reminders WHERE dedup_key LIKE 'bk-rem:%' AND status = 'pending'"
    )
    assert {from_db(r[0]).astimezone(LEGAL_TZ).date() for r in reminders} == {
        date(2026, 11, 30),
        date(2026, 12, 1),
    }


async def test_cancelled_session_tells_everyone_with_the_nearest_alternatives(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    await book_via_chat(client)
    session_id = await db.fetch_value("SELECT session_id FROM bookings")
    admin = citizen(dispatcher, bot, ADMIN_ID)
    await set_role(dispatcher, ADMIN_ID, Role.admin)
    await admin.send(f"/sessions cancel {session_id}")
    [told] = await outbox(db, "bk-session-cancelled:")
    assert told.chat_id == client.user_id and "取消" in render_text(told)
    markup = render_markup(told)
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert labels[0] == "2026年12月7日（星期一） 09:00"
    # Pressing an alternative books it with the same matter.
    await client.click(markup.inline_keyboard[0][0].callback_data)
    assert "2026年12月7日（星期一） 09:00" in client.last_text()
    row = await db.fetch_one(
        "SELECT subject, people FROM bookings WHERE status = 'booked' AND citizen_id = ?",
        (client.user_id,),
    )
    assert tuple(row) == ("邻居长期噪音扰民", 2)


# -- proxy booking ----------------------------------------------------------------------------


async def test_community_worker_books_for_a_citizen(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    await set_role(dispatcher, WORKER, Role.community_worker)
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    worker = citizen(dispatcher, bot, WORKER)
    await worker.send("/book")
    assert "姓名" in worker.last_text()
    await worker.send("李大爷")
    await worker.send("12345")
    assert "电话" in worker.last_text() or "号码" in worker.last_text()
    await worker.send("13912345678")
    await worker.press("公安局")
    await worker.press("11月30日")
    await worker.press("09:00")
    await worker.send("低保申请")
    await worker.send("帮助办理")
    await worker.press("1")
    await worker.press("没有")
    assert "李大爷" in worker.last_text()
    await worker.press("确认预约")
    assert "JD-2026-000001" in worker.last_text() and "李大爷" in worker.last_text()
    row = await db.fetch_one(
        "SELECT citizen_id, booked_by, person_name, person_phone FROM bookings"
    )
    assert tuple(row) == (None, WORKER, "李大爷", "13912345678")
    [to_agency] = [r for r in await outbox(db, "bk-agency:") if r.chat_id == LIAISON]
    # The booking shows who booked it: the worker (their Telegram name) and for whom.
    assert "由社区网格员张三代李大爷预约" in render_text(to_agency)
    # The same worker can book for another citizen at the same agency.
    await worker.send("/book")
    await worker.send("王大妈")
    await worker.send("13812345678")
    await worker.press("公安局")
    assert "已有" not in worker.last_text()


# -- the day ----------------------------------------------------------------------------------


async def test_roster_attendance_and_petition_with_its_x2_deadline(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    await book_via_chat(client)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))  # the reception day, 09:30
    await head.send("/roster")
    assert "JD-2026-000001" in head.last_text() and "邻居长期噪音扰民" in head.last_text()
    await head.press("来了")
    await head.press("登记为信访事项")
    assert "哪一类" in head.last_text()
    await head.press("申诉、求决")
    assert "XF-2026-" in head.texts()[-2]
    case = await db.fetch_one(
        "SELECT id, number, procedure, received_on, routed_to, citizen_id, sensitive,"
        " json_extract(answers, '$.petition_kind') AS kind FROM cases"
    )
    assert (case["procedure"], case["received_on"], case["routed_to"]) == (
        "petition",
        "2026-11-30",
        "office:petition_office",
    )
    assert (case["citizen_id"], case["sensitive"], case["kind"]) == (
        client.user_id,
        0,
        "complaint",
    )
    due = await db.fetch_value(
        "SELECT due_on FROM case_deadlines WHERE case_id = ? AND rule_id = 'X2'", (case["id"],)
    )
    assert due == compute("X2", MONDAY).due.isoformat() == "2026-12-15"
    [told] = await outbox(db, "bk-outcome:")
    assert told.chat_id == client.user_id and case["number"] in render_text(told)
    # Once only.
    await head.click(f"ros:pet_report:{await db.fetch_value('SELECT id FROM bookings')}")
    assert "已经记录" in head.last_text()
    assert await db.fetch_value("SELECT count(*) FROM cases") == 1
    await head.send("/roster totals 2026-11")
    assert "预约 1，来访 1，未到 0" in head.last_text() and "登记信访 1" in head.last_text()


async def test_roster_of_another_agency_is_not_shown(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    await book_via_chat(client)
    await set_role(dispatcher, HEAD, Role.agency_head, "county_hrss")
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    booking_id = await db.fetch_value("SELECT id FROM bookings")
    await head.click(f"ros:attended:{booking_id}")
    assert await db.fetch_value("SELECT status FROM bookings") == "booked"
    await head.send("/roster")
    assert "JD-2026" not in head.last_text()


async def test_agency_gets_the_day_list_the_afternoon_before(
    client: BotClient, dispatcher: Dispatcher, db: Database, clock: FakeClock
) -> None:
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    await book_via_chat(client)
    booking: BookingService = dispatcher["booking"]
    jobs = BookingJobs(booking)
    clock.set(datetime(2026, 11, 29, 6, 0, tzinfo=UTC))  # Sunday 14:00
    await jobs.tick()
    assert await outbox(db, "bk-daylist:") == []
    clock.set(datetime(2026, 11, 29, 7, 0, tzinfo=UTC))  # 15:00
    await jobs.tick()
    await jobs.tick()
    [day_list] = await outbox(db, "bk-daylist:")
    text = render_text(day_list)
    assert day_list.chat_id == LIAISON and "JD-2026-000001" in text and "09:00" in text


async def test_i_will_come_confirms_the_booking(client: BotClient, db: Database) -> None:
    await book_via_chat(client)
    booking_id = await db.fetch_value("SELECT id FROM bookings")
    await client.click(f"bk:come:{booking_id}")
    assert await db.fetch_value("SELECT status FROM bookings") == "confirmed"


async def test_english_receipt(english_client: BotClient) -> None:
    await english_client.send("/book")
    await english_client.press("Public Security")
    await english_client.press("30 Nov")
    await english_client.press("09:00")
    await english_client.send("Noise")
    await english_client.send("Stop it")
    await english_client.send("Wang Xiaoming")
    await english_client.press("1")
    await english_client.press("No")
    await english_client.press("Confirm")
    assert "Mon 30 Nov 2026 09:00" in english_client.last_text()


async def test_a_past_unrecorded_booking_does_not_block_the_next_one(
    booking: BookingService, clock: FakeClock
) -> None:
    session_id = await _first_session(booking)
    first = await booking.book(2000, session_id, 0, Issue("事项", "请求"))
    waiting = [
        await booking.book(2001 + n, session_id, 0, Issue("事项", "请求")) for n in range(3)
    ]
    assert waiting[-1].outcome is Outcome.waitlisted
    clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))  # the day after
    await BookingJobs(booking).tick()
    assert (await booking.get(first.booking.id, user_id=2000)).status is BookingStatus.no_show
    lapsed = await booking.get(waiting[-1].booking.id, user_id=2003)
    assert lapsed.status is BookingStatus.expired
    [day, *_] = await booking.open_days(PSB)
    again = await booking.book(2000, day.session.id, 0, Issue("事项", "请求"))
    assert again.outcome is Outcome.booked
    # Staff can still correct the automatic no-show.
    assert await booking.mark(first.booking, BookingStatus.attended, actor=HEAD)


async def test_agency_answers_before_the_day_and_the_citizen_releases_the_seat(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, booking: BookingService, db: Database
) -> None:
    await book_via_chat(client)
    session_id = await db.fetch_value("SELECT session_id FROM bookings")
    for n in range(2):  # 09:00 is full: the citizen's seat and two others
        await booking.book(2000 + n, session_id, 0, Issue("事项", "请求"))
    queued = await booking.book(2002, session_id, 0, Issue("事项", "请求"))
    assert queued.outcome is Outcome.waitlisted
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    liaison = citizen(dispatcher, bot, LIAISON)
    await liaison.send("/roster 2026-11-30")
    await liaison.press("000001：接待日前答复")
    await liaison.send("噪音问题已由城关派出所上门处理，请您确认。")
    assert "已发送" in liaison.last_text()
    [answer] = await outbox(db, "bk-answered:")
    assert answer.chat_id == client.user_id and "上门处理" in render_text(answer)
    labels = [b.text for row in render_markup(answer).inline_keyboard for b in row]
    assert labels == ["保留名额，按时前来", "释放名额"]
    await client.click(render_markup(answer).inline_keyboard[1][0].callback_data)
    assert "已释放" in client.last_text()
    statuses = await db.fetch_all("SELECT citizen_id, status FROM bookings ORDER BY id")
    assert dict((r[0], r[1]) for r in statuses)[client.user_id] == "released"
    # The freed seat went to the waitlist at once.
    assert dict((r[0], r[1]) for r in statuses)[2002] == "offered"


async def test_slot_length_and_seats_are_set_per_agency(db: Database, clock: FakeClock) -> None:
    from cases.law.calendar import LegalCalendar
    from cases.org.organisation import load_organisation
    from settings import Settings
    from tests.fakes.telegram import TOKEN

    settings = Settings(
        bot_token=TOKEN,
        booking={"agencies": {PSB: {"minutes": 50, "seats": 2}}},
        _env_file=None,
    )
    service = BookingService(db, clock, load_organisation(), LegalCalendar(), settings.booking)
    [psb, *_] = await service.open_days(PSB)
    [hrss, *_] = await service.open_days("county_hrss")
    assert (psb.session.slot_minutes, psb.session.seats, psb.session.slot_count) == (50, 2, 3)
    assert (hrss.session.slot_minutes, hrss.session.seats) == (30, 3)
    assert psb.seats_left == 6


async def test_migration_0010_keeps_every_person_and_accepts_the_community_worker(
    tmp_path: Path,
) -> None:
    import sqlite3

    from cases.store.migrate import migrate
    from tests.scheduling_helpers import add_case, add_user

    before = migrations_where(tmp_path / "before", lambda name: name < "0010")
    async with SqliteDatabase(tmp_path / "m.sqlite3") as database:
        await migrate(database, before)
        await add_user(database, 1001)
        await add_user(database, 7001, role="agency_head")
        await database.execute("UPDATE users SET unit = 'county_psb' WHERE telegram_id = 7001")
        case_id = await add_case(database, 1001)
        with pytest.raises(sqlite3.IntegrityError):
            await add_user(database, 7002, role="community_worker")
        assert "0010_booking.sql" in await migrate(database)
        rows = await database.fetch_all("SELECT telegram_id, role, unit FROM users ORDER BY 1")
        assert [tuple(r) for r in rows] == [
            (1001, "citizen", None),
            (7001, "agency_head", "county_psb"),
        ]
        await add_user(database, 7002, role="community_worker")
        assert await database.fetch_all("PRAGMA foreign_key_check") == []
        assert (
            await database.fetch_value("SELECT citizen_id FROM cases WHERE id = ?", (case_id,))
            == 1001
        )
        indexes = await database.fetch_all("PRAGMA index_list(users)")
        assert "users_role_unit" in [r["name"] for r in indexes]
        with pytest.raises(sqlite3.IntegrityError):  # the foreign keys still hold
            await database.execute(
                "INSERT INTO drafts(user_id, procedure, created_at, updated_at)"
                " VALUES (999, 'petition', 'x', 'x')"
            )


async def test_confirm_after_the_session_was_cancelled_books_nothing_and_shows_other_days(
    client: BotClient, booking: BookingService, db: Database
) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("噪音")
    await client.send("处理")
    await client.send("王小明")
    await client.press("1")
    await client.press("没有")
    await booking.cancel_session(await _first_session(booking), actor=ADMIN_ID)
    await client.press("确认预约")
    assert "不再开放预约" in client.texts()[-2]
    assert client.buttons()[0].startswith("2026年12月7日（星期一）")
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 0


async def test_provisional_session_on_a_day_the_new_calendar_makes_a_holiday_is_cancelled(
    booking: BookingService, db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    import json

    from cases.law.calendar import LegalCalendar

    clock.set(datetime(2027, 12, 20, 1, 0, tzinfo=UTC))
    days = {d.session.day: d.session for d in await booking.open_days(PSB)}
    assert days[date(2028, 1, 3)].provisional and days[date(2028, 1, 10)].provisional
    made = await booking.book(2000, days[date(2028, 1, 3)].id, 0, Issue("事项", "请求"))
    assert made.outcome is Outcome.booked
    # The State Council's schedule for 2028 is added (here: 3 January off) and the bot restarts.
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"years": {"2028": {"holidays": ["2028-01-03"]}}}))
    restarted = BookingService(
        db, clock, booking.org, LegalCalendar(overrides), booking.settings, booking.mailer
    )
    await restarted.ensure_sessions()
    cancelled = await restarted.get(made.booking.id, user_id=2000)
    assert cancelled.status is BookingStatus.cancelled
    [told] = await outbox(db, "bk-session-cancelled:")
    assert told.chat_id == 2000 and render_markup(told) is not None
    kept = await restarted.session(days[date(2028, 1, 10)].id)
    assert kept is not None and not kept.provisional and kept.status == "open"


def test_every_booking_status_has_its_transitions_and_ends_are_final() -> None:
    from cases.reception.booking import LIVE, TRANSITIONS

    assert set(TRANSITIONS) == set(BookingStatus)
    for status in (BookingStatus.cancelled, BookingStatus.expired, BookingStatus.released):
        assert TRANSITIONS[status] == frozenset()
    # Every live status can be cancelled; no ended one comes back to life.
    assert all(BookingStatus.cancelled in TRANSITIONS[s] for s in LIVE)
    assert not any(TRANSITIONS[s] & set(LIVE) for s in set(BookingStatus) - set(LIVE))


async def test_a_worker_typing_a_phone_another_worker_booked_for_sees_nothing_of_it(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    """Found in review: the "already booked?" check of a proxy booking matched the phone alone
    and showed the match (matter, time, the citizen's name) to whichever worker typed it."""
    other = WORKER + 777
    await set_role(dispatcher, WORKER, Role.community_worker)
    await set_role(dispatcher, other, Role.community_worker)
    first = citizen(dispatcher, bot, WORKER)
    await first.send("/book")
    await first.send("李大爷")
    await first.send("13912345678")
    await first.press("公安局")
    await first.press("11月30日")
    await first.press("09:00")
    await first.send("举报邻居违建")
    await first.send("帮助办理")
    await first.press("1")
    await first.press("没有")
    await first.press("确认预约")
    second = citizen(dispatcher, bot, other)
    await second.send("/book")
    await second.send("某某")
    await second.send("13912345678")
    await second.press("公安局")
    shown = second.last_text()
    assert "由其他社区网格员代为办理" in shown
    for private in ("李大爷", "举报邻居违建", "JD-", "09:00"):
        assert private not in shown, private


# -- regressions (issue #9 follow-up) ----------------------------------------------------------


async def _proxy_booking_via_chat(worker: BotClient) -> None:
    await worker.send("/book")
    await worker.send("李大爷")
    await worker.send("13912345678")
    await worker.press("公安局")
    await worker.press("11月30日")
    await worker.press("09:00")
    await worker.send("低保申请被拒")
    await worker.send("请重新审核")
    await worker.press("1")
    await worker.press("没有")
    await worker.press("确认预约")


async def test_petition_from_a_proxy_booking_belongs_to_the_citizen_not_the_worker(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Found in review: the case was owned by the worker's account (cases.citizen_id NOT
    NULL), so the worker saw the citizen's petition in /mycases and got its later notices."""
    from scheduling.notices import queue_case_notice

    await set_role(dispatcher, WORKER, Role.community_worker)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    worker = citizen(dispatcher, bot, WORKER)
    await _proxy_booking_via_chat(worker)
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    assert "由社区网格员张三代李大爷预约" in head.last_text()
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    assert "网格员" in head.texts()[-2]
    case = await db.fetch_one("SELECT id, number, citizen_id FROM cases")
    assert case["citizen_id"] is None
    party = await db.fetch_one(
        "SELECT name, phone FROM parties WHERE case_id = ? AND role = 'applicant'", (case["id"],)
    )
    assert tuple(party) == ("李大爷", "13912345678")
    # The worker gets the number to pass on, nothing of the case's content.
    [receipt] = await outbox(db, "bk-outcome:")
    text = render_text(receipt)
    assert receipt.chat_id == WORKER and case["number"] in text and "转告" in text
    assert "/mycases" not in text
    await worker.send("/mycases")
    assert case["number"] not in " ".join(worker.texts()[-2:])
    # Later notices of the case go to no chat: the office tells the citizen in writing.
    assert not await queue_case_notice(
        db, case["id"], "accepted", {}, "test:accepted", clock=clock
    )
    assert (
        await db.fetch_value("SELECT count(*) FROM reminders WHERE case_id = ?", (case["id"],))
        == 0
    )


async def test_a_complaint_report_registered_at_the_roster_is_sensitive(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Found in review: a reception-day petition was always registered as kind "request"
    with sensitive = 0, so a 检举控告 raised there was open to every clerk."""
    from cases.org.users import User
    from cases.procedures.access import open_cases_for

    await book_via_chat(client)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    await head.press("来了")
    await head.press("登记为信访事项")
    assert head.buttons() == [
        "为自己的事情申诉、求决",
        "提出建议、意见",
        "检举、控告干部或机关的违纪违法行为",
    ]
    await head.press("检举、控告")
    assert "保密" in head.texts()[-2]
    case = await db.fetch_one(
        "SELECT number, sensitive, respondent, routed_to,"
        " json_extract(answers, '$.petition_kind') AS kind FROM cases"
    )
    assert (case["sensitive"], case["kind"], case["respondent"]) == (1, "report", None)
    clerk = Role.office_staff
    petition_clerk = User(telegram_id=8001, locale="zh", role=clerk, unit="petition_office")
    other_clerk = User(telegram_id=8002, locale="zh", role=clerk, unit="reconsideration_office")
    liaison = User(telegram_id=8003, locale="zh", role=Role.agency_liaison, unit=PSB)
    assert [c.number for c in await open_cases_for(db, petition_clerk)] == [case["number"]]
    assert await open_cases_for(db, other_clerk) == []
    assert await open_cases_for(db, liaison) == []


async def test_booking_reminders_follow_the_shared_reminder_policy(
    booking: BookingService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: booking reminders had their own offsets in code; they are the reminder
    policy's data (scheduling.policy.BOOKING_REMINDERS) with the citizens' quiet hours."""
    import scheduling.booking as timing
    from scheduling.policy import Offset, ReminderPolicy, Step, Unit

    monkeypatch.setattr(
        timing,
        "BOOKING_REMINDERS",
        ReminderPolicy("JD", (Step(Offset(-50, Unit.HOURS), (Role.citizen,)),)),
    )
    session_id = await _first_session(booking)
    await booking.book(2000, session_id, 0, Issue("事项", "请求"))  # Monday 09:00
    [reminder] = await outbox(db, "bk-rem:")
    # 50 hours before is Saturday 07:00, in the quiet hours: 08:00.
    assert reminder.due_at.astimezone(LEGAL_TZ) == datetime(2026, 11, 28, 8, 0, tzinfo=LEGAL_TZ)
    assert (await db.fetch_value("SELECT dedup_key FROM reminders WHERE id = ?", (reminder.id,)))[
        -5:
    ] == ":-50h"


async def test_agencies_are_told_of_cancellations_and_session_changes(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, booking: BookingService, db: Database
) -> None:
    """Found in review: the agency heard of each booking but not when it was cancelled, its
    seat released, or its session moved or cancelled."""
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    await set_role(dispatcher, ADMIN_ID, Role.admin)
    await book_via_chat(client)
    await client.press("取消预约")
    ended = await outbox(db, "bk-agency-end:")
    assert {r.chat_id for r in ended} == {LIAISON, HEAD}
    assert "已被预约人取消" in render_text(ended[0]) and "JD-2026-000001" in render_text(ended[0])
    await client.press("取消预约")  # twice: told once
    assert len(await outbox(db, "bk-agency-end:")) == 2
    # A waitlist place the agency never heard of: leaving it tells the agency nothing.
    session_id = await _first_session(booking)
    for n in range(3):
        await booking.book(2000 + n, session_id, 0, Issue("事项", "请求"))
    queued = await booking.book(2003, session_id, 0, Issue("事项", "请求"))
    await booking.cancel(queued.booking.id, user_id=2003)
    assert len(await outbox(db, "bk-agency-end:")) == 2
    admin = citizen(dispatcher, bot, ADMIN_ID)
    await admin.send(f"/sessions move {session_id} 2026-12-01 14:00-16:30")
    [moved, *_] = [r for r in await outbox(db, "bk-agency-moved:") if r.chat_id == LIAISON]
    assert "2026年12月1日（星期二） 14:00" in render_text(moved) and "3 人" in render_text(moved)
    await admin.send(f"/sessions cancel {session_id}")
    cancelled = await outbox(db, "bk-agency-session-cancelled:")
    assert {r.chat_id for r in cancelled} == {LIAISON, HEAD}
    assert "取消" in render_text(cancelled[0])


async def test_migration_0013_keeps_every_case_and_gives_proxy_petitions_back_to_the_citizen(
    tmp_path: Path,
) -> None:
    import sqlite3

    from cases.store.migrate import migrate
    from tests.scheduling_helpers import add_case, add_user

    before = migrations_where(tmp_path / "before", lambda name: name < "0013")
    async with SqliteDatabase(tmp_path / "m.sqlite3") as database:
        await migrate(database, before)
        await add_user(database, 1001)
        await add_user(database, WORKER, role="community_worker")
        await add_user(database, 4001, role="mediator")
        own = await add_case(database, 1001)
        mediated = await add_case(database, 1001, procedure="mediation")
        await database.execute("UPDATE cases SET mediator_id = 4001 WHERE id = ?", (mediated,))
        # A reception-day petition registered from a proxy booking, owned by the worker.
        proxied = await add_case(database, WORKER, procedure="petition", status="submitted")
        await database.execute(
            "UPDATE cases SET answers = ? WHERE id = ?",
            ('{"petition_kind": "request", "channel": "reception_day"}', proxied),
        )
        await database.execute(
            "INSERT INTO reception_sessions(agency, source, day, starts, ends, place, place_en,"
            " slot_minutes, seats, created_at, updated_at)"
            " VALUES (?, 'admin', '2026-11-30', '09:00', '11:00', 'p', 'p', 30, 3, 'x', 'x')",
            (PSB,),
        )
        await database.execute(
            "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, booked_by,"
            " person_name, person_phone, status, subject, request, people, case_id,"
            " created_at, updated_at) VALUES ('JD-2026-000001', 1, 0, ?, NULL, ?, '李大爷',"
            " '13912345678', 'attended', 's', 'r', 1, ?, 'x', 'x')",
            (PSB, WORKER, proxied),
        )
        assert "0013_case_without_account.sql" in await migrate(database)
        rows = await database.fetch_all("SELECT id, citizen_id, mediator_id FROM cases ORDER BY 1")
        assert [tuple(r) for r in rows] == [
            (own, 1001, None),
            (mediated, 1001, 4001),
            (proxied, None, None),
        ]
        kind = "SELECT json_extract(answers, '$.petition_kind') FROM cases WHERE id = ?"
        assert await database.fetch_value(kind, (proxied,)) == "complaint"
        assert await database.fetch_all("PRAGMA foreign_key_check") == []
        indexes = {r["name"] for r in await database.fetch_all("PRAGMA index_list(cases)")}
        assert {"cases_citizen", "cases_status", "cases_linked", "cases_mediator"} <= indexes
        with pytest.raises(sqlite3.IntegrityError):  # only a petition may lack an account
            await database.execute(
                "INSERT INTO cases(number, procedure, status, subject, received_on, created_at,"
                " updated_at) VALUES ('x', 'mediation', 'submitted', 's', 'd', 'x', 'x')"
            )
        with pytest.raises(sqlite3.IntegrityError):  # the status check is still there
            await database.execute(
                "INSERT INTO cases(number, procedure, status, subject, received_on, created_at,"
                " updated_at) VALUES ('y', 'petition', 'nonsense', 's', 'd', 'x', 'x')"
            )


async def test_sessions_in_the_past_with_inverted_hours_or_too_many_seats_are_refused(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    """Found in re-checking #9: /sessions add took a day in the past, and hours or seats the
    schema refuses ended in an internal error instead of an answer."""
    admin = citizen(dispatcher, bot, ADMIN_ID)
    await set_role(dispatcher, ADMIN_ID, Role.admin)
    await admin.send("/sessions add county_housing 2026-11-16 09:00-11:00")
    assert "已过" in admin.last_text()
    await admin.send("/sessions add county_housing 2026-12-02 11:00-09:00")
    assert "结束时间" in admin.last_text()
    await admin.send("/sessions add county_housing 2026-12-02 09:00-11:00 900")
    assert "500" in admin.last_text()
    added = "SELECT count(*) FROM reception_sessions WHERE source = 'admin'"
    assert await db.fetch_value(added) == 0
    await admin.send("/sessions add county_housing 2026-12-02 09:00-11:00 2")
    session_id = await db.fetch_value("SELECT id FROM reception_sessions WHERE source = 'admin'")
    await admin.send(f"/sessions move {session_id} 2026-11-20 09:00-11:00")
    assert "已过" in admin.last_text()


async def test_a_moved_session_asks_i_will_come_again(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    await book_via_chat(client)
    booking_id = await db.fetch_value("SELECT id FROM bookings")
    await client.click(f"bk:come:{booking_id}")
    assert await db.fetch_value("SELECT status FROM bookings") == "confirmed"
    session_id = await db.fetch_value("SELECT session_id FROM bookings")
    admin = citizen(dispatcher, bot, ADMIN_ID)
    await set_role(dispatcher, ADMIN_ID, Role.admin)
    await admin.send(f"/sessions move {session_id} 2026-12-01 14:00-16:30")
    assert await db.fetch_value("SELECT status FROM bookings") == "booked"
    new_time = [r for r in await outbox(db, "bk-rem:") if r.due_at.astimezone(LEGAL_TZ).day == 1]
    assert new_time
    labels = [b.text for row in render_markup(new_time[0]).inline_keyboard for b in row]
    assert "👍 我会准时到" in labels


def test_every_button_the_service_writes_by_hand_is_one_the_handlers_parse() -> None:
    """Outbox messages carry callback data written in cases/ (no aiogram there): each action
    must be a value of the handlers' enum, or the button would land on "no longer valid"."""
    import re

    from handlers.booking_views import BookingStep

    written: set[str] = set()
    for module in Path("cases/reception").glob("*.py"):
        written |= set(re.findall(r'f"bk:(\w+):\{', module.read_text(encoding="utf-8")))
    assert written >= {"come", "cancel", "take", "keep", "release", "resched"}
    assert written <= {step.value for step in BookingStep}


async def test_a_proxy_booking_settled_on_the_spot_tells_the_worker_not_the_note(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The settlement note is the citizen's, who was there; the worker who booked learns that
    the matter was settled, for their records, and nothing more."""
    await set_role(dispatcher, WORKER, Role.community_worker)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    worker = citizen(dispatcher, bot, WORKER)
    await _proxy_booking_via_chat(worker)
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    await head.press("来了")
    await head.press("当场化解")
    await head.send("已当场为李大爷重新受理低保申请，身份证号见档案")
    [told] = await outbox(db, "bk-outcome:")
    text = render_text(told)
    assert told.chat_id == WORKER and "李大爷" in text and "当场化解" in text
    assert "重新受理" not in text
    assert await db.fetch_value("SELECT outcome FROM bookings") == "settled"


async def test_sessions_and_roster_usage_reaches_the_chat(
    dispatcher: Dispatcher, bot: Bot
) -> None:
    """Found in re-checking #9: the usage texts hold placeholders in angle brackets, which
    Telegram read as HTML tags and refused, so /sessions and a bare /roster answered nothing."""
    admin = citizen(dispatcher, bot, ADMIN_ID)
    await set_role(dispatcher, ADMIN_ID, Role.admin)
    await admin.send("/sessions")
    shown = html.unescape(admin.last_text())  # as the reader sees it
    assert "<部门编号>" in shown and "近期接待场次" in shown
    await admin.send("/sessions shuffle")
    assert "<部门编号>" in html.unescape(admin.last_text())
    await admin.send("/roster")
    assert "/roster <部门编号>" in html.unescape(admin.last_text())


async def test_a_proxy_name_is_cleaned_as_intake_cleans_names(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    """Re-checking #9 ("validated as in intake"): invisible characters padded a one-character
    name past the length check and reached the agency's lists."""
    await set_role(dispatcher, WORKER, Role.community_worker)
    worker = citizen(dispatcher, bot, WORKER)
    await worker.send("/book")
    await worker.send("\u200b李\u200b")
    assert "2至50个字" in worker.last_text()
    await worker.send("  李\u200b大爷  ")
    await worker.send("13912345678")
    await worker.press("公安局")
    await worker.press("11月30日")
    await worker.press("09:00")
    await worker.send("低保\u202e申请")
    await worker.send("帮助办理")
    await worker.press("1")
    await worker.press("没有")
    await worker.press("确认预约")
    row = await db.fetch_one("SELECT person_name, subject FROM bookings")
    assert tuple(row) == ("李大爷", "低保申请")


async def test_agency_hears_a_reschedule_as_moved_and_a_waitlist_place_turned_seat_as_new(
    dispatcher: Dispatcher, booking: BookingService, db: Database
) -> None:
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    session_id = await _first_session(booking)
    seated = [await booking.book(2000 + n, session_id, 0, Issue("事项", "请求")) for n in range(3)]
    queued = await booking.book(2003, session_id, 0, Issue("候补事项", "请求"))
    assert queued.outcome is Outcome.waitlisted
    await booking.reschedule(seated[0].booking.id, user_id=2000, session_id=session_id, slot=2)
    await booking.reschedule(queued.booking.id, user_id=2003, session_id=session_id, slot=3)
    texts = [render_text(r) for r in await outbox(db, "bk-agency:") if r.chat_id == LIAISON]
    number0, number3 = seated[0].booking.number, queued.booking.number
    assert any("已改到" in x and number0 in x for x in texts)
    assert any("新的局长接待日预约" in x and number3 in x for x in texts)
    assert not any("已改到" in x and number3 in x for x in texts)


async def test_the_petition_office_works_a_proxy_petition_without_an_account_to_tell(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The citizen without an account: staff open and accept the case as any other; the
    notice of acceptance goes to no chat (the office tells them in writing), without error."""
    await set_role(dispatcher, WORKER, Role.community_worker)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    await set_role(dispatcher, 8001, Role.office_staff, "petition_office")
    worker = citizen(dispatcher, bot, WORKER)
    await _proxy_booking_via_chat(worker)
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    case_id = await db.fetch_value("SELECT id FROM cases")
    office = citizen(dispatcher, bot, 8001)
    await office.click(f"staff:view:{case_id}::0:0::")
    page = office.last_text()
    assert "XF-2026-" in page and "李大爷" in page
    await office.press("受理")
    assert await db.fetch_value("SELECT status FROM cases") == "accepted"
    chats = {
        r[0]
        for r in await db.fetch_all("SELECT chat_id FROM reminders WHERE case_id = ?", (case_id,))
    }
    assert WORKER not in chats


async def test_an_answer_typed_while_the_citizen_cancelled_is_not_sent(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    await book_via_chat(client)
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    liaison = citizen(dispatcher, bot, LIAISON)
    await liaison.send("/roster 2026-11-30")
    await liaison.press("000001：接待日前答复")
    await client.press("取消预约")  # meanwhile
    await liaison.send("噪音问题已处理。")
    assert "已经取消" in liaison.last_text()
    assert await outbox(db, "bk-answered:") == []


async def test_monday_day_list_went_out_on_sunday_instead_of_the_working_day_before(
    client: BotClient, dispatcher: Dispatcher, db: Database, clock: FakeClock
) -> None:
    """Found in review: the list of a Monday's bookings was queued on Sunday at 15:00, a rest
    day when nobody at the agency reads it. It now comes on Friday afternoon, once."""
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    await book_via_chat(client)
    jobs = BookingJobs(dispatcher["booking"])
    clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))  # Thursday 15:00: Friday has none
    await jobs.tick()
    assert await outbox(db, "bk-daylist:") == []
    clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # Friday 15:00
    await jobs.tick()
    [day_list] = await outbox(db, "bk-daylist:")
    text = render_text(day_list)
    assert day_list.due_at.astimezone(LEGAL_TZ).date() == date(2026, 11, 27)
    assert "11月30日" in text and "JD-2026-000001" in text and "明天" not in text
    for saturday_sunday in (datetime(2026, 11, 28, 7, 0), datetime(2026, 11, 29, 7, 0)):
        clock.set(saturday_sunday.replace(tzinfo=UTC))
        await jobs.tick()
    assert len(await outbox(db, "bk-daylist:")) == 1


async def test_a_settlement_note_over_1000_characters_was_silently_cut_off(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Found in review: the roster's note was cut to 1,000 characters without a word, and a
    note of blanks ended the input with "this button is no longer valid"."""
    await book_via_chat(client)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    await head.press("来了")
    await head.press("当场化解")
    await head.send("说" * 1200)
    assert "尚未记录" in head.last_text() and "1000" in head.last_text()
    await head.send("\u200b \u3000")
    assert "尚未记录" in head.last_text()
    assert await db.fetch_value("SELECT outcome FROM bookings") is None
    await head.send("已协调派出所夜间巡查，\u200b双方达成谅解。")  # still asked: the note is taken
    assert tuple(await db.fetch_one("SELECT outcome, outcome_note FROM bookings")) == (
        "settled",
        "已协调派出所夜间巡查，双方达成谅解。",
    )


async def test_keep_my_seat_after_releasing_it_said_we_expect_you(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    """Found in review: "keep my seat" pressed after "release" (or after a cancel) answered
    "thank you, we expect you" for a booking that no longer held a seat."""
    await book_via_chat(client)
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    liaison = citizen(dispatcher, bot, LIAISON)
    await liaison.send("/roster 2026-11-30")
    await liaison.press("000001：接待日前答复")
    await liaison.send("噪音问题已由城关派出所上门处理。")
    [answer] = await outbox(db, "bk-answered:")
    keep, release = (row[0].callback_data for row in render_markup(answer).inline_keyboard)
    await client.click(release)
    assert "已释放" in client.last_text()
    await client.click(keep)
    assert "已经取消或已结束" in client.last_text()
    assert await db.fetch_value("SELECT status FROM bookings") == "released"


async def test_a_citizens_own_booking_never_named_the_visitor_nor_the_petitioner(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Found in review: a citizen booking for themselves was never asked their name, so the
    agency's list and roster showed a number and a subject only (the head could not check the
    ID card against anything) and a petition registered from it had no petitioner (XF 19)."""
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("邻居长期噪音扰民")
    await client.send("请派出所依法处理")
    assert "姓名" in client.last_text() and "身份证" in client.last_text()
    await client.send("王")
    assert "2 至 50" in client.last_text()
    await client.send(" 王\u200b小明 ")
    await client.press("2")
    await client.press("没有")
    assert "姓名：王小明" in client.last_text()
    await client.press("确认预约")
    assert "姓名：王小明" in client.last_text() and "代" not in client.last_text()
    [to_agency] = [r for r in await outbox(db, "bk-agency:") if r.chat_id == LIAISON]
    assert "来访人：王小明" in render_text(to_agency)
    jobs = BookingJobs(dispatcher["booking"])
    clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # Friday 15:00
    await jobs.tick()
    [day_list] = await outbox(db, "bk-daylist:")
    assert "王小明" in render_text(day_list)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    assert "王小明" in head.last_text() and "网格员" not in head.last_text()
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    case = await db.fetch_one("SELECT id, citizen_id FROM cases")
    assert case["citizen_id"] == client.user_id
    party = await db.fetch_value(
        "SELECT name FROM parties WHERE case_id = ? AND role = 'applicant'", (case["id"],)
    )
    assert party == "王小明"


async def test_i_do_not_know_which_agency_was_a_dead_end_after_the_triage(
    client: BotClient,
) -> None:
    """Found in review: "I don't know which" led to the triage, whose petition answer offered
    the written petition only, never the way back to a reception day. A report of wrongdoing
    is not offered one (the agency's staff read a booking's matter; XF 30(3))."""
    await client.send("/book")
    await client.press("不知道")
    for _ in range(6):
        await client.press("否")
    await client.press("是")  # a complaint, a request or a suggestion
    assert "预约局长接待日" in " ".join(client.buttons())
    await client.press("预约局长接待日")
    assert "公安局" in " ".join(client.buttons())
    await client.send("/book")
    await client.press("不知道")
    for _ in range(3):
        await client.press("否")
    await client.press("是")  # reports wrongdoing by an official
    assert "预约局长接待日" not in " ".join(client.buttons())


async def test_a_report_of_wrongdoing_typed_into_a_booking_reached_the_agency_unwarned(
    client: BotClient,
) -> None:
    """Found in review: the matter typed into a booking goes at once to the agency's liaisons
    and head, and nothing told a citizen that a report of an official's wrongdoing (检举控告)
    belongs on the confidential route instead (XF 30(3))."""
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    prompt = client.last_text()
    assert "检举控告" in prompt and "/petition" in prompt and "第三十条" in prompt


async def test_a_reception_day_petition_said_the_applicant_submitted_it(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Found in review: the case history of a petition registered at the roster read "the
    applicant submitted the application", signed by the agency head who registered it."""
    await book_via_chat(client)
    await set_role(dispatcher, HEAD, Role.agency_head, PSB)
    await set_role(dispatcher, 8001, Role.office_staff, "petition_office")
    head = citizen(dispatcher, bot, HEAD)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    case_id = await db.fetch_value("SELECT id FROM cases")
    office = citizen(dispatcher, bot, 8001)
    await office.click(f"staff:view:{case_id}::0:0::")
    page = office.last_text()
    assert "在部门局长接待日当面接收，登记为信访事项" in page and "申请人提交了申请" not in page
    await client.send("/mycases")
    await client.press("XF-2026-")
    assert "您在局长接待日反映的事项已登记为信访事项" in client.last_text()


async def test_a_fully_booked_day_was_hidden_so_its_waitlist_could_not_be_joined(
    client: BotClient, booking: BookingService, db: Database
) -> None:
    """Found in review: /book listed only days with a free seat, so once every time of a
    reception day was taken the day vanished and nobody could join its waitlist."""
    session_id = await _first_session(booking)
    session = await booking.session(session_id)
    assert session is not None and session.day == MONDAY
    person = iter(range(2000, 2100))
    for slot in range(session.slot_count):
        for _ in range(session.seats):
            await booking.book(next(person), session_id, slot, Issue("事项", "请求"))
    await client.send("/book")
    await client.press("公安局")
    days = client.buttons()
    assert days[0].startswith("2026年11月30日（星期一） 09:00") and "已满，登记候补" in days[0]
    await client.press("11月30日")
    assert all("已满，登记候补" in label for label in client.buttons())
    await client.press("09:00")
    await client.send("噪音")
    await client.send("处理")
    await client.send("王小明")
    await client.press("1")
    await client.press("没有")
    await client.press("确认预约")
    assert "候补" in client.last_text()
    assert (
        await db.fetch_value("SELECT status FROM bookings WHERE citizen_id = ?", (client.user_id,))
        == "waiting"
    )


async def test_booked_elsewhere_sent_the_citizen_to_mycases_where_they_see_nothing(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    """Found in review: a worker typing a phone another worker had booked for was told the
    citizen could see and change the booking with /mycases; a proxy booking's citizen has no
    account and sees nothing there (a dead end)."""
    other = WORKER + 777
    await set_role(dispatcher, WORKER, Role.community_worker)
    await set_role(dispatcher, other, Role.community_worker)
    await _proxy_booking_via_chat(citizen(dispatcher, bot, WORKER))
    second = citizen(dispatcher, bot, other)
    await second.send("/book")
    await second.send("李大爷")
    await second.send("13912345678")
    await second.press("公安局")
    shown = second.last_text()
    assert "/mycases" not in shown and "网格员更改或取消" in shown


async def test_migration_0013_left_the_workers_pending_notices_of_the_citizens_petition(
    tmp_path: Path,
) -> None:
    """Found in review: migration 0013 gave proxy petitions back to the citizen but left the
    messages about them already queued for the worker's chat (a notice deferred by the quiet
    hours), which were then sent to the worker after the upgrade."""
    from cases.store.migrate import migrate
    from tests.scheduling_helpers import add_case, add_user

    before = migrations_where(tmp_path / "before", lambda name: name < "0013")
    async with SqliteDatabase(tmp_path / "m.sqlite3") as database:
        await migrate(database, before)
        await add_user(database, 1001)
        await add_user(database, WORKER, role="community_worker")
        own = await add_case(database, 1001, procedure="petition", status="accepted")
        proxied = await add_case(database, WORKER, procedure="petition", status="accepted")
        await database.execute(
            "INSERT INTO reception_sessions(agency, source, day, starts, ends, place, place_en,"
            " slot_minutes, seats, created_at, updated_at)"
            " VALUES (?, 'admin', '2026-11-30', '09:00', '11:00', 'p', 'p', 30, 3, 'x', 'x')",
            (PSB,),
        )
        await database.execute(
            "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, booked_by,"
            " person_name, person_phone, status, subject, request, people, case_id,"
            " created_at, updated_at) VALUES ('JD-2026-000001', 1, 0, ?, NULL, ?, '李大爷',"
            " '13912345678', 'attended', 's', 'r', 1, ?, 'x', 'x')",
            (PSB, WORKER, proxied),
        )
        for key, case_id, chat in (("a", proxied, WORKER), ("b", own, 1001)):
            await database.execute(
                "INSERT INTO reminders(dedup_key, kind, source_kind, case_id, step, audience,"
                " chat_id, due_at, created_at, updated_at)"
                " VALUES (?, 'notice', 'notice', ?, 'notice:accepted', 'citizen', ?,"
                " '2026-12-01T00:00:00.000000+00:00', 'x', 'x')",
                (key, case_id, chat),
            )
        await migrate(database)
        rows = await database.fetch_all("SELECT dedup_key, status FROM reminders ORDER BY 1")
        assert [tuple(r) for r in rows] == [("a", "cancelled"), ("b", "pending")]


async def test_an_answer_begun_then_left_for_roster_sent_the_next_message_to_the_citizen(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    """Found in review: a liaison who pressed "answer before the day", then went on with
    /roster, stayed in the note step: the next thing they typed went to the citizen as the
    agency's answer."""
    await book_via_chat(client)
    await set_role(dispatcher, LIAISON, Role.agency_liaison, PSB)
    liaison = citizen(dispatcher, bot, LIAISON)
    await liaison.send("/roster 2026-11-30")
    await liaison.press("000001：接待日前答复")
    await liaison.send("/roster 2026-11-30")
    await liaison.send("下午开会，记得带材料")
    assert await outbox(db, "bk-answered:") == []
