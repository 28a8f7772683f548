"""``bot.py`` as a process: 1,000 reminders survive a ``kill -9`` just before they fall due.

The outbox lives in the database and APScheduler is only a clock, so after the crash the
restarted process sends every reminder that fell due while it was down — each once, none before
its time. At 25 messages/s the 1,000 take about 40 s after the restart.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import SystemClock, to_db
from scheduling.planner import Planner
from tests.fakes.bot_api_server import FakeBotAPI
from tests.support import ADMIN_ID, ENGINE, BotProcess

pytestmark = pytest.mark.slow  # bot.py as a process, about a minute

COUNT = 1000
LATER = 20
FIRST_CHAT = 7_000_000
DUE_IN = 6.0  # seconds after the rows are written
SEND_TIMEOUT = 150.0  # only a bound: 1,000 messages at 25/s take 40 s


@pytest.fixture
async def limited_api() -> AsyncIterator[FakeBotAPI]:
    # Telegram's limits, answered with 429: the sender must stay under them.
    async with FakeBotAPI(global_rate_per_s=30, per_chat_interval_s=1.0) as server:
        yield server


async def prepare(path: Path) -> list[int]:
    """Citizens with open F7 (补正) deadlines, planned by the real planner."""
    db = SqliteDatabase(path)
    await db.open()
    clock = SystemClock()
    await migrate(db, clock=clock)
    stamp = to_db(clock.now())
    due_on = (clock.now() + timedelta(days=40)).date().isoformat()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen)"
            " VALUES (?, 'zh', 'citizen', ?, ?)",
            [(FIRST_CHAT + i, stamp, stamp) for i in range(COUNT + LATER)],
        )
        await conn.executemany(
            "INSERT INTO cases(id, number, procedure, status, citizen_id, subject, received_on,"
            " created_at, updated_at) VALUES (?, ?, 'reconsideration', 'accepted', ?, 's', ?,"
            " ?, ?)",
            [
                (
                    i + 1,
                    f"谷复〔2026〕{i + 1}号",
                    FIRST_CHAT + i,
                    date.today().isoformat(),
                    stamp,
                    stamp,
                )
                for i in range(COUNT + LATER)
            ],
        )
        await conn.executemany(
            "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, status, unit, count,"
            " basis, created_at, updated_at) VALUES (?, 'F7', ?, ?, 'open', 'working_days', 10,"
            " '《行政复议法》第三十一条', ?, ?)",
            [
                (i + 1, date.today().isoformat(), due_on, stamp, stamp)
                for i in range(COUNT + LATER)
            ],
        )
    # Weeks ahead: nothing due today.
    await Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar).plan()
    await db.close()
    return list(range(1, COUNT + LATER + 1))


async def add_due_reminders(path: Path, due_at: datetime) -> None:
    """Written while the bot runs, as a service would (one transaction, its own connection)."""
    db = SqliteDatabase(path)
    await db.open()
    stamp = to_db(datetime.now(UTC))
    rows = []
    for i in range(COUNT + LATER):
        when = due_at if i < COUNT else due_at + timedelta(hours=1)
        payload = {
            "case_number": f"谷复〔2026〕{i + 1}号",
            "due_on": (due_at + timedelta(days=40)).date().isoformat(),
            "title": "Supply the corrected or missing materials",
            "basis_zh": "《行政复议法》第三十一条",
        }
        rows.append(
            (
                f"process-test:{i}",
                i + 1,
                i + 1,
                FIRST_CHAT + i,
                json.dumps(payload, ensure_ascii=False),
                to_db(when),
                to_db(when + timedelta(days=1)),
                stamp,
                stamp,
            )
        )
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id, case_id,"
            " step, audience, chat_id, locale, quiet, payload, due_at, expires_at, created_at,"
            " updated_at) VALUES (?, 'reminder', 'F7', 'deadline', ?, ?, 'test', 'citizen', ?,"
            " 'zh', 'none', ?, ?, ?, ?, ?)",
            rows,
        )
    await db.close()


def to_citizens(api: FakeBotAPI) -> Counter[int]:
    return Counter(
        int(p["chat_id"])
        for p in api.sent_messages()
        if FIRST_CHAT <= int(p["chat_id"]) < FIRST_CHAT + COUNT + LATER
    )


async def test_reminders_due_during_a_crash_arrive_once_after_restart(
    limited_api: FakeBotAPI, tmp_path: Path
) -> None:
    api = limited_api
    bot = BotProcess(api, tmp_path)
    await prepare(bot.database_path)
    original_env = bot.env

    def env(**overrides: str | None) -> dict[str, str]:
        return original_env(REMINDER_TICK_SECONDS="1", **overrides)

    bot.env = env  # type: ignore[method-assign]
    try:
        await bot.start()
        due_at = datetime.now(UTC) + timedelta(seconds=DUE_IN)
        due_monotonic = time.monotonic() + DUE_IN
        await add_due_reminders(bot.database_path, due_at)

        await asyncio.sleep(DUE_IN - 2.0)  # several ticks run; nothing is due yet
        assert to_citizens(api) == Counter(), "a reminder arrived early"
        await bot.crash()  # kill -9 shortly before they fall due

        await asyncio.sleep(max(0.0, due_monotonic - time.monotonic()) + 1.0)
        await bot.start()
        await api.wait_for(lambda: len(to_citizens(api)) >= COUNT, timeout=SEND_TIMEOUT)
        await asyncio.sleep(3.0)  # a few more ticks: nothing is sent twice
    finally:
        await bot.close()

    received = to_citizens(api)
    assert set(received) == set(range(FIRST_CHAT, FIRST_CHAT + COUNT))  # none of the later ones
    assert max(received.values()) == 1
    first_send = min(
        c.time
        for c in api.calls_of("sendMessage")
        if c.ok and FIRST_CHAT <= int(c.params["chat_id"]) < FIRST_CHAT + COUNT
    )
    assert first_send >= due_monotonic  # none early
    db = SqliteDatabase(bot.database_path)
    await db.open()
    try:
        statuses = dict(
            await db.fetch_all(
                "SELECT status, count(*) FROM reminders WHERE dedup_key LIKE 'process-test:%'"
                " GROUP BY status"
            )
        )
    finally:
        await db.close()
    assert statuses == {"sent": COUNT, "pending": LATER}
    assert "Traceback" not in bot.log()
