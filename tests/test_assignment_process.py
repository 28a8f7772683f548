"""``bot.py`` as a process: a mediation offer pending during a ``kill -9`` runs out after the
restart and passes to the next mediator exactly once, who accepts it from the chat (issue 10).

The offer is a ``mediation_offers`` row; the scheduler's tick (bot.py adds the assignment step)
expires it and offers the case to the next mediator in one unit of work. Nothing of it lives in
memory, so a crash can neither lose the expiry nor repeat it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import SystemClock, to_db
from handlers.assignment_callbacks import OfferAnswer, OfferOp
from tests.fakes.bot_api_server import FakeBotAPI
from tests.support import BotProcess

pytestmark = pytest.mark.slow  # starts bot.py

CITIZEN, FIRST, SECOND = 8_200_001, 8_200_002, 8_200_003


async def prepare(path: Path) -> None:
    """Two mediators of the PSB room; a traffic-accident case offered to FIRST."""
    db = SqliteDatabase(path)
    await db.open()
    clock = SystemClock()
    await migrate(db, clock=clock)
    stamp = to_db(clock.now())
    answers = json.dumps({"category_id": "traffic_accident", "township_id": "chengguan"})
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen)"
            " VALUES (?, 'zh', 'citizen', ?, ?)",
            (CITIZEN, stamp, stamp),
        )
        await conn.executemany(
            "INSERT INTO users(telegram_id, locale, role, unit, first_seen, last_seen)"
            " VALUES (?, 'zh', 'mediator', 'room_psb', ?, ?)",
            [(m, stamp, stamp) for m in (FIRST, SECOND)],
        )
        await conn.execute(
            "INSERT INTO cases(id, number, procedure, status, citizen_id, subject, answers,"
            " received_on, routed_to, routed_to_name, created_at, updated_at)"
            " VALUES (1, 'TJ-2026-000001', 'mediation', 'submitted', ?, '交通事故', ?,"
            " '2026-11-25', 'room:room_psb', '', ?, ?)",
            (CITIZEN, answers, stamp, stamp),
        )
        await conn.execute(
            "INSERT INTO mediation_offers(id, case_id, mediator_id, offered_at, expires_at)"
            " VALUES (1, 1, ?, ?, ?)",
            (FIRST, stamp, to_db(clock.now() + timedelta(hours=1))),
        )
    await db.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def offers(path: Path) -> list[tuple[int, str]]:
    async with SqliteDatabase(path) as db:
        rows = await db.fetch_all("SELECT mediator_id, status FROM mediation_offers ORDER BY id")
        return [(int(r[0]), str(r[1])) for r in rows]


async def test_pending_offer_survives_kill_9_passes_on_once_and_is_accepted_in_the_chat(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    process = BotProcess(api, tmp_path)
    base_env = process.env
    process.env = lambda **overrides: base_env(REMINDER_TICK_SECONDS="1", **overrides)  # type: ignore[method-assign]
    await prepare(process.database_path)
    try:
        await process.start()
        async with SqliteDatabase(process.database_path) as db:
            await db.execute(
                "UPDATE mediation_offers SET expires_at = ? WHERE id = 1",
                (to_db(SystemClock().now() + timedelta(seconds=2)),),
            )
        assert await offers(process.database_path) == [(FIRST, "pending")]
        await process.crash()
        await asyncio.sleep(3)
        assert await offers(process.database_path) == [(FIRST, "pending")]  # nobody ran it

        await process.start()
        deadline = time.monotonic() + 60
        while len(await offers(process.database_path)) < 2:
            assert time.monotonic() < deadline, process.log()
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # several more ticks: nothing more may happen
        assert await offers(process.database_path) == [(FIRST, "expired"), (SECOND, "pending")]
        async with SqliteDatabase(process.database_path) as db:
            rows = await db.fetch_all(
                "SELECT chat_id FROM reminders WHERE dedup_key LIKE 'asg:offer:%'"
            )
            kinds = await db.fetch_all("SELECT kind FROM case_events ORDER BY id")
        assert [r[0] for r in rows] == [SECOND]
        assert [r[0] for r in kinds] == ["mediation_offer_expired", "mediation_offered"]

        # SECOND accepts with the offer's button: the case is theirs.
        api.push_callback(SECOND, OfferAnswer(op=OfferOp.accept, offer_id=2).pack(), message_id=1)
        deadline = time.monotonic() + 30
        while True:
            async with SqliteDatabase(process.database_path) as db:
                holder = await db.fetch_value("SELECT mediator_id FROM cases WHERE id = 1")
            if holder == SECOND:
                break
            assert time.monotonic() < deadline, process.log()
            await asyncio.sleep(0.5)
        assert await offers(process.database_path) == [(FIRST, "expired"), (SECOND, "accepted")]
    finally:
        await process.close()
