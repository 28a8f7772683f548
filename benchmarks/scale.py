"""Scale: 20,000 open cases and 100,000 pending reminders — start-up, planner pass, memory.

Targets (issue 4): start-up to ready under 5 s, under 300 MB.

    python benchmarks/scale.py [--cases 20000] [--reminders 100000]

The data set is built first; start-up is then measured in a fresh child process (so its memory
figure is the bot's, not the generator's): open + migrate, recover interrupted sends, one warm
planner pass (nothing changed since the last pass), one catch-up dispatch with nothing due.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cases.law.calendar import LegalCalendar  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import FakeClock, to_db  # noqa: E402
from scheduling.outbox import Outbox, OutboxRow  # noqa: E402
from scheduling.planner import Planner  # noqa: E402

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Gucheng
ADMINS = [9001]
RULES = ("F5", "F7", "F10", "F12", "X4", "M1")


class NullTransport:
    """Start-up sends nothing here (nothing is due); the delivery benchmark covers sending."""

    async def wait_turn(self, chat_id: int) -> None:
        return None

    async def deliver(self, row: OutboxRow) -> int:
        raise AssertionError("nothing should be due in the scale benchmark")


async def build(path: Path, cases: int, target_reminders: int) -> dict[str, float]:
    clock = FakeClock(NOW)
    db = SqliteDatabase(path)
    await db.open()
    await migrate(db, clock=clock)
    stamp = to_db(NOW)
    rng = random.Random(4)
    t0 = time.perf_counter()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen)"
            " VALUES (?, ?, 'citizen', ?, ?)",
            [(100_000 + i, rng.choice(("zh", "zh", "en")), stamp, stamp) for i in range(cases)],
        )
        await conn.executemany(
            "INSERT INTO cases(id, number, procedure, status, citizen_id, subject, received_on,"
            " created_at, updated_at) VALUES (?, ?, ?, 'accepted', ?, 's', '2026-10-20', ?, ?)",
            [
                (
                    i + 1,
                    f"谷复〔2026〕{i + 1}号",
                    "mediation" if i % 6 == 5 else "reconsideration",
                    100_000 + i,
                    stamp,
                    stamp,
                )
                for i in range(cases)
            ],
        )
        # One open deadline per case, due 3–60 days ahead.
        await conn.executemany(
            "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, status, unit, count,"
            " basis, created_at, updated_at) VALUES (?, ?, '2026-10-20', ?, 'open',"
            " 'working_days', 10, '《行政复议法》第四十八条', ?, ?)",
            [
                (
                    i + 1,
                    RULES[i % len(RULES)],
                    (NOW.date() + timedelta(days=3 + rng.randrange(58))).isoformat(),
                    stamp,
                    stamp,
                )
                for i in range(cases)
            ],
        )
    figures = {"generate_s": time.perf_counter() - t0}

    planner = Planner(db, clock, admin_ids=ADMINS, calendar=LegalCalendar())
    t0 = time.perf_counter()
    report = await planner.plan()
    figures["planner_cold_s"] = time.perf_counter() - t0
    figures["planner_cold_inserted"] = report.inserted

    # Catch-up reminders due at once were sent before the "restart" being measured.
    await db.execute(
        "UPDATE reminders SET status = 'sent', sent_at = ? WHERE due_at <= ?", (stamp, stamp)
    )
    pending = await db.fetch_value("SELECT count(*) FROM reminders WHERE status = 'pending'")
    filler = max(0, target_reminders - pending)
    if filler:
        # Staff notices waiting for tomorrow morning, to reach the target row count.
        due = to_db(NOW + timedelta(days=1))
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO reminders(dedup_key, kind, source_kind, step, audience, chat_id,"
                " payload, due_at, created_at, updated_at)"
                " VALUES (?, 'notice', 'notice', 'x', 'admin', ?, '{}', ?, ?, ?)",
                [(f"filler:{i}", ADMINS[0], due, stamp, stamp) for i in range(filler)],
            )
    figures["pending_reminders"] = await db.fetch_value(
        "SELECT count(*) FROM reminders WHERE status = 'pending'"
    )
    t0 = time.perf_counter()
    report = await planner.plan()
    figures["planner_warm_s"] = time.perf_counter() - t0
    figures["planner_warm_replanned"] = report.sources_planned
    # The part of a warm pass that holds the writer lock (handlers wait for it).
    t0 = time.perf_counter()
    await planner.cancel_obsolete(NOW)
    figures["planner_writer_lock_s"] = time.perf_counter() - t0
    # One deadline moves (an extension): the pass replans that one source only.
    await db.execute("UPDATE case_deadlines SET due_on = date(due_on, '+30 days') WHERE id = 1")
    t0 = time.perf_counter()
    report = await planner.plan()
    figures["planner_one_change_s"] = time.perf_counter() - t0
    figures["planner_one_change_replanned"] = report.sources_planned
    await db.close()
    return figures


async def start_up(path: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    clock = FakeClock(NOW)
    db = SqliteDatabase(path)
    await db.open()
    await migrate(db, clock=clock)
    t_open = time.perf_counter()
    planner = Planner(db, clock, admin_ids=ADMINS, calendar=LegalCalendar())
    outbox = Outbox(db, NullTransport(), clock, admin_ids=ADMINS)
    await outbox.recover_interrupted()
    await planner.plan()
    t_plan = time.perf_counter()
    report = await outbox.dispatch_due()
    t_ready = time.perf_counter()
    await db.close()
    return {
        "open_migrate_s": t_open - t0,
        "recover_and_planner_pass_s": t_plan - t_open,
        "catch_up_dispatch_s": t_ready - t_plan,
        "start_up_to_ready_s": t_ready - t0,
        "sent_at_start": report.sent,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--startup-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_only:
        print(json.dumps(asyncio.run(start_up(args.startup_only))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.sqlite3"
        figures = asyncio.run(build(path, args.cases, args.reminders))
        child = subprocess.run(
            [sys.executable, __file__, "--startup-only", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures.update(json.loads(child.stdout.strip().splitlines()[-1]))
        figures["db_size_mb"] = path.stat().st_size / 1e6
    print(f"scale: {args.cases} open cases, {figures['pending_reminders']} pending reminders")
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {key:32} {shown}")
    ok = figures["start_up_to_ready_s"] < 5 and figures["max_rss_mb"] < 300
    print(f"  targets (start-up < 5 s, < 300 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
