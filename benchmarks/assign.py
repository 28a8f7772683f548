"""Assigning 1,000 mediation cases over 20 mediators in 3 rooms, with absences and conflicts.

Rooms: the county PSB's (7 mediators), the justice bureau's county room (7) and Chengguan's (6);
one mediator of each room is absent today. Cases are spread over the three rooms; 5 % name a
mediator of their room as the other side (a conflict of interest found from the parties), and
3 % of offers are declined with a declared conflict (the case passes to the next mediator).
Each case goes through the real service on a real SQLite file: the offer (eligibility, one
pending offer, the history event, the outbox row), then the accept (compare-and-set of
``cases.mediator_id``, the citizen's notice) or a decline and the next offer.

Prints assignments per second and, per room, the open cases of its eligible mediators: the
spread (max − min) must be at most 1; no case may go to a conflicted or absent mediator.

Run: ``python benchmarks/assign.py [cases]`` (default 1000).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cases.law.deadline_rules import DeadlineEngine  # noqa: E402
from cases.mediation.assignment import AssignmentService, DeclineReason  # noqa: E402
from cases.mediation.common import MediationSettings  # noqa: E402
from cases.org.organisation import load_organisation  # noqa: E402
from cases.org.users import Role, UserRepository  # noqa: E402
from cases.store.db import Database  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import FakeClock  # noqa: E402
from scheduling.assignment import AssignmentMailer  # noqa: E402

ROOMS = {
    "room_psb": (7, ("traffic_accident", "public_order"), "chengguan"),
    "room_county": (7, ("labour", "medical", "compensation"), "chengguan"),
    "room_chengguan": (6, ("neighbour", "contract"), "chengguan"),
}
CONFLICT_SHARE = 0.05
DECLINE_SHARE = 0.03
CITIZEN = 900_000


async def setup(db: Database, clock: FakeClock, cases: int, rng: random.Random) -> dict:
    users = UserRepository(db, clock)
    mediators: dict[str, list[int]] = {}
    names: dict[int, str] = {}
    next_id = 10_000
    for room, (count, _categories, _township) in ROOMS.items():
        mediators[room] = []
        for _ in range(count):
            next_id += 1
            await users.set_role(next_id, Role.mediator, room)
            names[next_id] = f"调解员{next_id}"
            await users.ensure(next_id, display_name=names[next_id])
            mediators[room].append(next_id)
    absent = {room: ids[-1] for room, ids in mediators.items()}
    await db.run(
        lambda conn: conn.executemany(
            "INSERT INTO mediator_absences(user_id, starts_on, ends_on, created_at)"
            " VALUES (?, '2026-11-20', '2026-12-31', 'x')",
            [(m,) for m in absent.values()],
        )
    )
    await users.ensure(CITIZEN)
    world = {"mediators": mediators, "absent": absent, "names": names}
    await add_cases(db, rng, world, 0, cases)
    return world


async def add_cases(db: Database, rng: random.Random, world: dict, first: int, count: int) -> None:
    """``count`` submitted cases spread over the rooms; some name a mediator as the other side."""
    mediators, names = world["mediators"], world["names"]
    rooms = list(ROOMS)
    rows = []
    for n in range(first, first + count):
        room = rooms[n % len(rooms)]
        _count, categories, township = ROOMS[room]
        other = f"对方{n}"
        if rng.random() < CONFLICT_SHARE:
            other = names[rng.choice(mediators[room])]
        answers = {
            "category_id": rng.choice(categories),
            "township_id": township,
            "other_party_name": other,
        }
        rows.append((f"TJ-2026-{n + 1:06d}", json.dumps(answers, ensure_ascii=False), room, other))

    def write(conn) -> None:  # type: ignore[no-untyped-def]
        for number, answers, room, other in rows:
            cursor = conn.execute(
                "INSERT INTO cases(number, procedure, status, citizen_id, subject, answers,"
                " received_on, routed_to, routed_to_name, created_at, updated_at)"
                " VALUES (?, 'mediation', 'submitted', ?, '调解', ?, '2026-11-25', ?, '', 'x',"
                " 'x')",
                (number, CITIZEN, answers, f"room:{room}"),
            )
            conn.execute(
                "INSERT INTO parties(case_id, role, name) VALUES (?, 'other_party', ?)",
                (cursor.lastrowid, other),
            )

    await db.run(write)


async def run(cases: int) -> None:
    rng = random.Random(10)
    clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # Wednesday 09:00 in Gucheng
    with tempfile.TemporaryDirectory() as folder:
        db = SqliteDatabase(Path(folder) / "assign.sqlite3")
        await db.open()
        await migrate(db, clock=clock)
        world = await setup(db, clock, cases, rng)
        users = UserRepository(db, clock)
        service = AssignmentService(
            db,
            clock,
            load_organisation(None),
            DeadlineEngine().calendar,
            MediationSettings(default_max_load=500),
            AssignmentMailer(),
        )
        ids = [int(r[0]) for r in await db.fetch_all("SELECT id FROM cases ORDER BY id")]
        declined = 0
        started = time.perf_counter()
        for case_id in ids:
            mediator_id = await service.offer(case_id)
            while mediator_id is not None:
                offer_id = int(
                    await db.fetch_value(
                        "SELECT id FROM mediation_offers WHERE case_id = ? AND status = 'pending'",
                        (case_id,),
                    )
                )
                user = await users.get(mediator_id)
                assert user is not None
                if rng.random() < DECLINE_SHARE:
                    await service.decline(offer_id, user, DeclineReason.conflict, "亲属")
                    declined += 1
                    mediator_id = await db.fetch_value(
                        "SELECT mediator_id FROM mediation_offers WHERE case_id = ?"
                        " AND status = 'pending'",
                        (case_id,),
                    )
                    continue
                await service.accept(offer_id, user)
                break
            clock.advance(timedelta(seconds=1))
        elapsed = time.perf_counter() - started

        assigned = await db.fetch_value("SELECT count(*) FROM cases WHERE mediator_id IS NOT NULL")
        bad_conflicts = await db.fetch_value(
            "SELECT count(*) FROM cases c JOIN users u ON u.telegram_id = c.mediator_id"
            " JOIN parties p ON p.case_id = c.id AND p.name = u.display_name"
        )
        bad_declared = await db.fetch_value(
            "SELECT count(*) FROM cases c JOIN mediator_conflicts k ON k.case_id = c.id"
            " AND k.user_id = c.mediator_id"
        )
        absent = ",".join(str(m) for m in world["absent"].values())
        bad_absent = await db.fetch_value(
            f"SELECT count(*) FROM cases WHERE mediator_id IN ({absent})"
        )
        print(f"cases: {len(ids)}, mediators: 20 in 3 rooms, absent today: 3")
        print(f"assigned: {assigned}, declined with a conflict: {declined}")
        print(f"time: {elapsed:.2f} s, assignments per second: {assigned / elapsed:.0f}")
        worst = 0
        for room, members in world["mediators"].items():
            eligible = [m for m in members if m != world["absent"][room]]
            loads = await service.open_load(eligible)
            spread = max(loads.values()) - min(loads.values())
            worst = max(worst, spread)
            print(
                f"{room}: open cases per eligible mediator {sorted(loads.values())},"
                f" spread (max - min) {spread}"
            )
        print(f"largest spread: {worst} (must be <= 1)")
        print(
            f"assigned despite a conflict: {bad_conflicts + bad_declared},"
            f" to an absent mediator: {bad_absent}"
        )
        # A backlog (after downtime, say): one scheduler tick offers every waiting case.
        await add_cases(db, rng, world, cases, cases)
        started = time.perf_counter()
        offered = await service.offer_unassigned(limit=cases)
        elapsed = time.perf_counter() - started
        print(
            f"backlog: {offered} of {cases} waiting cases offered in one tick in {elapsed:.2f} s"
            f" ({offered / elapsed:.0f} offers/s, one commit)"
        )
        await db.close()
        if worst > 1 or bad_conflicts or bad_declared or bad_absent:
            raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
