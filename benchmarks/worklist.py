"""How long /queue and /find take to compute at county scale (cases.procedures.worklist).

A real SQLite file with N cases (default 20,000: mediation over the 17 rooms, reconsideration
and petitions, a third of them closed, each with an open deadline and a party), 40 mediators
with assignments, a room lead, an office clerk, an agency liaison and an administrator. For each
person: milliseconds for one page of /queue (all their open work sorted) and one /find by a
party's name, the median of 5 runs; and the existing /cases list (access.open_cases_for).

Run: ``python benchmarks/worklist.py [N]``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cases.org.organisation import load_organisation  # noqa: E402
from cases.org.users import Role, User  # noqa: E402
from cases.procedures.access import open_cases_for  # noqa: E402
from cases.procedures.worklist import find_work, work_page  # noqa: E402
from cases.store.db import Database  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import FakeClock, to_db  # noqa: E402

TODAY = date(2026, 11, 25)


async def seed(db: Database, count: int) -> None:
    org = load_organisation(None)
    rooms = [r.id for r in org.mediation_rooms]
    now = to_db(datetime(2026, 11, 25, 1, tzinfo=UTC))

    def work(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            "INSERT INTO users(telegram_id, role, first_seen, last_seen)"
            " VALUES (1, 'citizen', ?, ?)",
            (now, now),
        )
        for m in range(40):
            conn.execute(
                "INSERT INTO users(telegram_id, role, unit, first_seen, last_seen)"
                " VALUES (?, 'mediator', ?, ?, ?)",
                (1000 + m, rooms[m % len(rooms)], now, now),
            )
        for n in range(count):
            kind = ("mediation", "reconsideration", "petition")[n % 3]
            room = rooms[n % len(rooms)]
            routed = {
                "mediation": f"room:{room}",
                "reconsideration": "office:reconsideration_office",
                "petition": "office:petition_office",
            }[kind]
            mediator = 1000 + (n % 40) if kind == "mediation" and n % 4 else None
            status = "closed" if n % 3 == 0 and n % 9 == 0 else "accepted"
            answers = json.dumps({"respondent_id": "county_psb"} if n % 5 == 0 else {})
            cursor = conn.execute(
                "INSERT INTO cases(number, procedure, status, citizen_id, subject, answers,"
                " received_on, routed_to, mediator_id, created_at, updated_at)"
                " VALUES (?, ?, ?, 1, '纠纷', ?, '2026-11-01', ?, ?, ?, ?)",
                (f"C-{n:06}", kind, status, answers, routed, mediator, now, now),
            )
            case_id = cursor.lastrowid
            if kind == "petition" and n % 2 == 0:
                # Every other petition handed to the agency (its live handover, migration 0017).
                conn.execute(
                    "INSERT INTO petition_handovers(case_id, kind, agency_id, reason, status,"
                    " assigned_by, assigned_at) VALUES (?, 'assign', 'county_psb', '职责', ?,"
                    " 2, ?)",
                    (case_id, "accepted" if status != "closed" else "concluded", now),
                )
            conn.execute(
                "INSERT INTO parties(case_id, role, name) VALUES (?, 'applicant', ?)",
                (case_id, f"张{n % 997}"),
            )
            for rule in ("F12", "F10") if n % 5 == 0 else ("F12",):
                due = TODAY + timedelta(days=(n % 60) - 20)
                conn.execute(
                    "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, unit,"
                    " count, basis, created_at, updated_at)"
                    " VALUES (?, ?, '2026-11-01', ?, 'calendar_days', 60, 'b', ?, ?)",
                    (case_id, rule, due.isoformat(), now, now),
                )

    await db.run(work)


async def timed(action) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        await action()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = SqliteDatabase(Path(folder) / "bench.sqlite3")
        await db.open()
        await migrate(db, clock=FakeClock(datetime(2026, 11, 25, 1, tzinfo=UTC)))
        await seed(db, count)
        people = {
            "mediator": User(
                telegram_id=1001, locale="zh", role=Role.mediator, unit="room_lengji"
            ),
            "room lead": User(
                telegram_id=1000, locale="zh", role=Role.mediator, unit="room_chengguan",
                leads_room=True,
            ),
            "office clerk": User(
                telegram_id=2, locale="zh", role=Role.office_staff, unit="reconsideration_office"
            ),
            "agency liaison": User(
                telegram_id=3, locale="zh", role=Role.agency_liaison, unit="county_psb"
            ),
            "administrator": User(telegram_id=4, locale="zh", role=Role.admin),
        }  # fmt: skip
        print(f"{count:,} cases")
        print(f"{'person':<16} {'items':>7} {'/queue ms':>10} {'/find ms':>9} {'/cases ms':>10}")
        for name, user in people.items():
            page = await work_page(db, user, TODAY, 0)
            queue_ms = await timed(lambda user=user: work_page(db, user, TODAY, 0))
            find_ms = await timed(lambda user=user: find_work(db, user, "张12", TODAY))
            cases_ms = await timed(lambda user=user: open_cases_for(db, user))
            print(
                f"{name:<16} {page.total:>7,} {queue_ms:>10.1f} {find_ms:>9.1f} {cases_ms:>10.1f}"
            )
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
