"""How long /stats takes for a county's year: the figures, the chart, the XLSX and the CSV.

Writes N cases spread over 2026 (a third of each procedure, agencies in turn, four fifths
ended with an ending event, every case with a handling deadline, some late) into a fresh
SQLite file, then times ``StatsService.report`` for the year, and the chart, XLSX and CSV of
that report (each the median of five runs, in the calling thread: in the bot they run in a
worker thread, off the event loop). "Loop stall" is the longest time the event loop could not
run anything else (a chat's update waits that long) while the figures were counted and while
the picker listed its agency buttons (on every /stats and every press).

Run: ``python benchmarks/stats.py [N ...]`` (default: 10000 50000).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cases.law.deadline_rules import DeadlineEngine  # noqa: E402
from cases.litigation.court_cases import LitigationService  # noqa: E402
from cases.org.organisation import load_organisation  # noqa: E402
from cases.reports.charts import render_png  # noqa: E402
from cases.reports.export import to_csv, to_xlsx  # noqa: E402
from cases.reports.figures import StatsService  # noqa: E402
from cases.reports.periods import Period  # noqa: E402
from cases.store.db import Database  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import FakeClock  # noqa: E402
from scripts.compile_locales import compile_all  # noqa: E402
from settings import Settings  # noqa: E402

STAMP = "2026-12-01T01:00:00.000000Z"
AGENCIES = ("county_psb", "county_hrss", "county_housing", "county_transport", "text:某村")
ENDINGS = {
    "reconsideration": ("decided", "decided"),
    "petition": ("decided", "concluded"),
    "mediation": ("settled", "mediation_agreed"),
}
RULE = {"reconsideration": "F12", "petition": "X4", "mediation": "MA"}


def _rows(n: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    cases, events, deadlines = [], [], []
    procedures = list(ENDINGS)
    for i in range(1, n + 1):
        procedure = procedures[i % 3]
        received = date(2026, 1, 1) + timedelta(days=i % 330)
        ended = i % 5 != 0
        status, kind = ENDINGS[procedure] if ended else ("accepted", "")
        answers = {
            "respondent_id" if procedure != "petition" else "body_concerned": AGENCIES[i % 5]
        }
        routed = (
            "room:room_chengguan" if procedure == "mediation" else "office:reconsideration_office"
        )
        cases.append(
            (
                i,
                f"B-{i:07d}",
                procedure,
                status,
                json.dumps(answers),
                received.isoformat(),
                routed,
                STAMP,
                STAMP,
            )
        )
        due = received + timedelta(days=60)
        closed = received + timedelta(days=10 + i % 70)
        if ended:
            at = datetime(closed.year, closed.month, closed.day, 2, tzinfo=UTC)
            events.append((i, at.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), kind))
            deadlines.append(
                (
                    i,
                    RULE[procedure],
                    received.isoformat(),
                    due.isoformat(),
                    "met",
                    closed.isoformat(),
                )
            )
        else:
            deadlines.append(
                (i, RULE[procedure], received.isoformat(), due.isoformat(), "open", None)
            )
    return cases, events, deadlines


async def build(db: Database, n: int) -> None:
    cases, events, deadlines = _rows(n)
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO users(telegram_id, role, first_seen, last_seen)"
            " VALUES (1, 'citizen', ?, ?)",
            (STAMP, STAMP),
        )
        await conn.executemany(
            "INSERT INTO cases(id, number, procedure, status, citizen_id, subject, answers,"
            " received_on, routed_to, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 1, '事项', ?, ?, ?, ?, ?)",
            cases,
        )
        await conn.executemany(
            "INSERT INTO case_events(case_id, at, actor_role, kind) VALUES (?, ?, 'staff', ?)",
            events,
        )
        await conn.executemany(
            "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, status, unit,"
            " count, basis, closed_on, created_at, updated_at)"
            f" VALUES (?, ?, ?, ?, ?, 'calendar_days', 60, '—', ?, '{STAMP}', '{STAMP}')",
            deadlines,
        )


async def longest_stall_ms(action: Callable[[], Awaitable[Any]]) -> float:
    """The longest gap between two turns of a heartbeat task while ``action`` runs."""
    longest = 0.0
    done = False

    async def heartbeat() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    try:
        await action()
    finally:
        done = True
        await beat
    return longest * 1000


def median_ms(action: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(datetime(2026, 12, 1, 1, tzinfo=UTC))
        db = SqliteDatabase(Path(folder) / "bench.sqlite3")
        await db.open()
        try:
            await migrate(db, clock=clock)
            await build(db, n)
            org = load_organisation(Settings(bot_token="1:x", _env_file=None).organisation_path)
            stats = StatsService(
                db, clock, org, LitigationService(db, clock, org, engine=DeadlineEngine())
            )
            year = Period(first=date(2026, 1, 1), last=date(2026, 12, 31))
            times = []
            for _ in range(5):
                start = time.perf_counter()
                report = await stats.report(year)
                times.append((time.perf_counter() - start) * 1000)
            stall = await longest_stall_ms(lambda: stats.report(year))
            picker = await longest_stall_ms(stats.agencies_with_cases)
            print(
                f"{n:>7} cases: figures {statistics.median(times):7.1f} ms"
                f" (loop stall {stall:5.1f} ms, picker's loop stall {picker:5.1f} ms)"
                f" | chart {median_ms(lambda: render_png(report, 'zh')):6.1f} ms"
                f" | xlsx {median_ms(lambda: to_xlsx(report, 'zh')):6.1f} ms"
                f" | csv {median_ms(lambda: to_csv(report, 'zh')):5.1f} ms"
                f" | received {report.total.received}, closed {report.total.closed}"
            )
        finally:
            await db.close()


def main() -> None:
    compile_all()
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 50_000]
    for n in sizes:
        asyncio.run(run(n))


if __name__ == "__main__":
    main()
