"""Many citizens confirm a booking for the same reception session at the same moment.

One session with 20 seats (one 30-minute slot); N citizens, each at the confirm step of /book,
press "confirm" together: N callback updates fed through the bot's real Dispatcher
(middlewares, SQLite FSM storage, the booking handler) and the real SQLite store, all at
once as concurrent tasks. Expected: exactly 20 booked, the other N − 20 on the waitlist in
arrival order (the order the updates were fed), no error. Prints requests/s and the p50/p99
latency of one request. Telegram is the recording fake session (no network time).

Run: ``python benchmarks/booking.py [N ...]`` (default: 500 5000).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402
from aiogram.fsm.storage.base import StorageKey  # noqa: E402
from aiogram.types import Update  # noqa: E402

from bot import create_dispatcher, tune_runtime  # noqa: E402
from cases.reception.booking import BookingService  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import FakeClock  # noqa: E402
from handlers.booking import BookingForm, BookingPick  # noqa: E402
from handlers.replies import RetryRateLimitedReplies  # noqa: E402
from scripts.compile_locales import compile_all  # noqa: E402
from settings import Settings  # noqa: E402
from tests.fakes.telegram import BOT_ID, TOKEN, RecordingSession  # noqa: E402

SEATS = 20
FIRST_USER = 500_000
_ids = itertools.count(1)


def confirm_update(user_id: int) -> Update:
    user = {"id": user_id, "is_bot": False, "first_name": "测试", "language_code": "zh"}
    query: dict[str, Any] = {
        "id": f"q{next(_ids)}",
        "from": user,
        "chat_instance": "ci",
        "data": BookingPick(step="confirm", value="yes").pack(),
        "message": {
            "message_id": 1,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
            "text": "…",
        },
    }
    return Update(update_id=next(_ids), callback_query=query)


async def scenario(n: int) -> dict[str, float]:
    bot = Bot(
        TOKEN, session=RecordingSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    bot.session.middleware(RetryRateLimitedReplies())
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
        db = SqliteDatabase(Path(tmp) / "bench.sqlite3")
        await db.open()
        await migrate(db, clock=clock)
        settings = Settings(
            bot_token=TOKEN, database_path=db.path, flood_limit=10_000, _env_file=None
        )
        dp = create_dispatcher(settings, db, clock)
        booking: BookingService = dp["booking"]
        session = await booking.add_session(
            "county_housing",
            date(2026, 11, 30),
            clock_time(9, 0),
            clock_time(9, 30),
            actor=0,
            seats=SEATS,
        )
        users = [FIRST_USER + i for i in range(n)]
        await db.run(
            lambda conn: conn.executemany(
                "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen)"
                " VALUES (?, 'zh', 'citizen', 'x', 'x')",
                [(u,) for u in users],
            )
        )
        data = {
            "agency": "county_housing",
            "session_id": session.id,
            "slot": 0,
            "subject": "物业维修基金",
            "request": "请求公开使用情况",
            "people": 1,
            "own_name": "王小明",
        }
        for user_id in users:  # each citizen is at the confirm step of /book
            key = StorageKey(bot_id=BOT_ID, chat_id=user_id, user_id=user_id)
            await dp.storage.set_state(key, BookingForm.choosing)
            await dp.storage.set_data(key, data)
        updates = [confirm_update(u) for u in users]
        tune_runtime()

        latencies: list[float] = []
        errors: list[BaseException] = []

        async def one(update: Update) -> None:
            started = time.perf_counter()
            try:
                await dp.feed_update(bot, update)
            except Exception as exc:  # counted and reported, never hidden
                errors.append(exc)
            latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one(u) for u in updates))
        elapsed = time.perf_counter() - started

        booked = await db.fetch_value(
            "SELECT count(*) FROM bookings WHERE status = 'booked' AND session_id = ?",
            (session.id,),
        )
        waiting = [
            row[0]
            for row in await db.fetch_all(
                "SELECT citizen_id FROM bookings WHERE status = 'waiting' ORDER BY id"
            )
        ]
        over = await db.fetch_value(
            "SELECT count(*) FROM bookings WHERE status = 'booked' GROUP BY session_id, slot"
        )
        await db.close()
    await bot.session.close()
    arrival = [u for u in users if u in set(waiting)]
    in_order = waiting == arrival
    first_twenty = sorted(u for u in users if u not in set(waiting)) == users[:SEATS]
    latencies.sort()
    return {
        "n": n,
        "booked": booked,
        "waiting": len(waiting),
        "max per slot": over,
        "errors": len(errors),
        "waitlist in arrival order": in_order,
        "first 20 arrivals booked": first_twenty,
        "requests/s": n / elapsed,
        "p50 ms": statistics.median(latencies) * 1000,
        "p99 ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def main(sizes: list[int]) -> None:
    compile_all()
    print(
        f"one session, {SEATS} seats; N concurrent confirm presses through the Dispatcher; "
        "SQLite WAL + synchronous=FULL; fake Telegram session"
    )
    for n in sizes:
        result = await scenario(n)
        print(
            f"N={result['n']:>5}: booked {result['booked']}, waiting {result['waiting']}, "
            f"errors {result['errors']}, waitlist in arrival order: "
            f"{result['waitlist in arrival order']}, first {SEATS} arrivals booked: "
            f"{result['first 20 arrivals booked']} | {result['requests/s']:6.0f} requests/s, "
            f"p50 {result['p50 ms']:7.1f} ms, p99 {result['p99 ms']:7.1f} ms"
        )
        assert result["booked"] == SEATS and result["waiting"] == n - SEATS
        assert result["errors"] == 0


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [500, 5000]))
