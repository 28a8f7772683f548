"""The privacy review of the merged product (helper r2): each test is named after a defect found,
through the production routers on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.reception.booking import BookingService
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.staff.callbacks import Nav, StaffAction
from scheduling.booking import BookingJobs
from scheduling.outbox import OutboxRow
from scheduling.sender import render_text
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, staff_client

PSB = "county_psb"
HEAD = 7102
PHONE = "13912345678"


async def _book_with_a_phone_in_the_matter(client: BotClient) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send(f"邻居长期噪音扰民，我的电话{PHONE}")
    await client.send("请派出所依法处理")
    await client.send("王小明")
    await client.press("2")
    await client.press("没有")
    await client.press("确认预约")


async def test_a_phone_typed_into_a_booking_reached_the_agency_and_the_case_subject_in_full(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The matter of a booking, as the citizen typed it, was shown on the agency's /roster and
    day list, and became the subject of the petition registered from it unmasked (every other
    way in masks the subject): an administrator's case page then showed the number."""
    await _book_with_a_phone_in_the_matter(client)
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 1
    head = await staff_client(dispatcher, bot, clock, HEAD, Role.agency_head, PSB)
    booking: BookingService = dispatcher["booking"]
    clock.set(datetime(2026, 11, 29, 7, 0, tzinfo=UTC))  # Sunday 15:00: the day list
    await BookingJobs(booking).tick()
    [day_list] = [
        OutboxRow.from_row(r)
        for r in await db.fetch_all("SELECT * FROM reminders WHERE dedup_key LIKE 'bk-daylist:%'")
    ]
    assert PHONE not in render_text(day_list) and "139****5678" in render_text(day_list)
    assert PHONE not in str(day_list.payload)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))  # the reception day, 09:30
    await head.send("/roster")
    assert "邻居长期噪音扰民" in head.last_text()
    assert PHONE not in head.last_text() and "139****5678" in head.last_text()
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    case = await db.fetch_one("SELECT id, subject FROM cases")
    assert case is not None and PHONE not in case["subject"]
    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await admin.click(StaffAction(action=Nav.open, case_id=case["id"]))
    assert "邻居长期噪音扰民" in admin.last_text() and PHONE not in admin.last_text()
