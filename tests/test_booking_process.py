"""``bot.py`` as a process: a waitlist offer pending during a ``kill -9`` still expires after
the restart and passes to the next person exactly once (issue 9).

The offer is a row (status ``offered``, ``offer_until``); the scheduler's tick expires it and
offers the seat to the next in line in one unit of work, with the outbox row of the new offer.
Nothing of it lives in memory, so a crash can neither lose the expiry nor repeat it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from cases.law.calendar import LegalCalendar
from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import LEGAL_TZ, SystemClock, to_db
from tests.fakes.bot_api_server import FakeBotAPI
from tests.support import BotProcess

pytestmark = pytest.mark.slow  # starts bot.py


BOOKED, FIRST, SECOND, THIRD = 8_100_001, 8_100_002, 8_100_003, 8_100_004


def reception_day() -> date:
    """A working day far enough ahead that bookings are open (not within 24 h)."""
    calendar = LegalCalendar()
    day = SystemClock().now().astimezone(LEGAL_TZ).date() + timedelta(days=3)
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


async def prepare(path: Path) -> None:
    """Two seats: one booked, one offered to FIRST (held for an hour); SECOND and THIRD wait."""
    db = SqliteDatabase(path)
    await db.open()
    clock = SystemClock()
    await migrate(db, clock=clock)
    stamp = to_db(clock.now())
    held = to_db(clock.now() + timedelta(hours=1))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen)"
            " VALUES (?, 'zh', 'citizen', ?, ?)",
            [(u, stamp, stamp) for u in (BOOKED, FIRST, SECOND, THIRD)],
        )
        await conn.execute(
            "INSERT INTO reception_sessions(id, agency, source, day, starts, ends, place,"
            " place_en, slot_minutes, seats, created_at, updated_at)"
            " VALUES (1, 'county_housing', 'admin', ?, '09:00', '09:30', '接待室', 'Room', 30,"
            " 2, ?, ?)",
            (reception_day().isoformat(), stamp, stamp),
        )
        for n, (user, status) in enumerate(
            ((BOOKED, "booked"), (FIRST, "offered"), (SECOND, "waiting"), (THIRD, "waiting")),
            start=1,
        ):
            await conn.execute(
                "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, status,"
                " subject, request, people, offer_until, created_at, updated_at)"
                " VALUES (?, 1, 0, 'county_housing', ?, ?, '事项', '请求', 1, ?, ?, ?)",
                (
                    f"JD-2026-{n:06d}",
                    user,
                    status,
                    held if status == "offered" else None,
                    stamp,
                    stamp,
                ),
            )
    await db.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def statuses(path: Path) -> dict[int, str]:
    async with SqliteDatabase(path) as db:
        rows = await db.fetch_all("SELECT citizen_id, status FROM bookings")
        return {int(r[0]): str(r[1]) for r in rows}


async def test_pending_offer_survives_kill_9_and_passes_on_exactly_once(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    process = BotProcess(api, tmp_path)
    base_env = process.env
    process.env = lambda **overrides: base_env(REMINDER_TICK_SECONDS="1", **overrides)  # type: ignore[method-assign]
    await prepare(process.database_path)
    try:
        await process.start()
        # The hold runs out two seconds from now; the bot is killed before that.
        async with SqliteDatabase(process.database_path) as db:
            await db.execute(
                "UPDATE bookings SET offer_until = ? WHERE citizen_id = ?",
                (to_db(SystemClock().now() + timedelta(seconds=2)), FIRST),
            )
        assert (await statuses(process.database_path))[FIRST] == "offered"
        await process.crash()
        await asyncio.sleep(3)
        assert (await statuses(process.database_path))[FIRST] == "offered"  # nobody ran it

        await process.start()
        deadline = time.monotonic() + 60
        while (await statuses(process.database_path))[SECOND] != "offered":
            assert time.monotonic() < deadline, process.log()
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # several more ticks: nothing more may happen
        assert await statuses(process.database_path) == {
            BOOKED: "booked",
            FIRST: "expired",
            SECOND: "offered",
            THIRD: "waiting",
        }
        async with SqliteDatabase(process.database_path) as db:
            offers = await db.fetch_all(
                "SELECT booking_id FROM booking_events WHERE kind = 'offered'"
            )
            rows = await db.fetch_all(
                "SELECT chat_id FROM reminders WHERE dedup_key LIKE 'bk-offer:%'"
            )
            expired = await db.fetch_value(
                "SELECT count(*) FROM booking_events WHERE kind = 'offer_expired'"
            )
        assert len(offers) == 1 and [r[0] for r in rows] == [SECOND] and expired == 1
    finally:
        await process.close()
