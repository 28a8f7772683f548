"""Delivery: N due reminders to N chats through the real sender and outbox, against the fake Bot
API enforcing Telegram's limits (30 messages/s overall, 1/s per chat) by answering 429.

Targets (issue 4): ≥ 24 messages/s sustained, zero lost, zero duplicated.

    python benchmarks/delivery.py [--count 10000] [--server-rate 30] [--sender-rate 25]

At the default 25/s the 10,000 reminders take about 7 minutes; ``--count 1000`` is a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402

from cases.store.db import Database  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import SystemClock, to_db  # noqa: E402
from scheduling.outbox import Outbox  # noqa: E402
from scheduling.sender import RateLimiter, TelegramSender  # noqa: E402
from tests.fakes.bot_api_server import FakeBotAPI  # noqa: E402

TOKEN = "42:BENCH-token"
FIRST_CHAT = 10_000_000


async def fill(db: Database, count: int) -> None:
    now = datetime.now(UTC)
    stamp = to_db(now)
    payload = json.dumps(
        {
            "case_number": "谷复〔2026〕7号",
            "due_on": "2026-12-09",
            "title": "Supply the corrected or missing materials",
            "effect": "Without a good reason, the application is deemed abandoned.",
            "basis_zh": "《行政复议法》第三十一条",
            "basis_en": "Administrative Reconsideration Law, Art. 31",
        },
        ensure_ascii=False,
    )
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id, step,"
            " audience, chat_id, locale, quiet, payload, due_at, expires_at, created_at,"
            " updated_at) VALUES (?, 'reminder', 'F7', 'deadline', ?, '-1wd', 'citizen', ?,"
            " 'zh', 'none', ?, ?, ?, ?, ?)",
            [
                (
                    f"bench:{i}",
                    i,
                    FIRST_CHAT + i,
                    payload,
                    to_db(now - timedelta(seconds=1)),
                    to_db(now + timedelta(days=1)),
                    stamp,
                    stamp,
                )
                for i in range(count)
            ],
        )


async def run(count: int, server_rate: float, sender_rate: float) -> dict[str, float]:
    api = FakeBotAPI(global_rate_per_s=server_rate, per_chat_interval_s=1.0)
    base = await api.start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    sender = TelegramSender(bot, RateLimiter(per_second=sender_rate))
    with tempfile.TemporaryDirectory() as tmp:
        db = SqliteDatabase(Path(tmp) / "delivery.sqlite3")
        await db.open()
        try:
            await migrate(db)
            await fill(db, count)
            outbox = Outbox(db, sender, SystemClock(), admin_ids=[9001], concurrency=16)
            started = time.perf_counter()
            rounds = 0
            while True:
                rounds += 1
                await outbox.dispatch_due()
                left = await db.fetch_value(
                    "SELECT count(*) FROM reminders WHERE status IN ('pending', 'sending')"
                    " AND kind = 'reminder'"
                )
                if not left:
                    break
                await asyncio.sleep(0.2)  # rows waiting for their retry_after
            elapsed = time.perf_counter() - started
            statuses = dict(
                await db.fetch_all(
                    "SELECT status, count(*) FROM reminders WHERE kind = 'reminder'"
                    " GROUP BY status"
                )
            )
        finally:
            await db.close()
            await bot.session.close()
    received = Counter(int(m["chat_id"]) for m in api.sent_messages())
    await api.stop()
    expected = set(range(FIRST_CHAT, FIRST_CHAT + count))
    return {
        "reminders": count,
        "elapsed_s": elapsed,
        "rate_per_s": sum(received.values()) / elapsed,
        "http_429": api.too_many_requests,
        "sender_saw_429": sender.too_many_requests,
        "lost": len(expected - set(received)),
        "duplicated": sum(n - 1 for n in received.values() if n > 1),
        "sent": statuses.get("sent", 0),
        "unknown": statuses.get("unknown", 0),
        "failed": statuses.get("failed", 0),
        "dispatch_rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--server-rate", type=float, default=30.0)
    parser.add_argument("--sender-rate", type=float, default=25.0)
    args = parser.parse_args()
    figures = asyncio.run(run(args.count, args.server_rate, args.sender_rate))
    print(
        f"delivery: {args.count} reminders to {args.count} chats; fake Bot API limits "
        f"{args.server_rate:g}/s overall and 1/s per chat; sender {args.sender_rate:g}/s"
    )
    for key, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"  {key:18} {shown}")
    ok = figures["rate_per_s"] >= 24 and figures["lost"] == 0 and figures["duplicated"] == 0
    print(f"  targets (≥ 24/s, 0 lost, 0 duplicated): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
