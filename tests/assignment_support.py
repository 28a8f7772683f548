"""Helpers for the mediation assignment tests (issue #10): mediators, filed cases, delivery."""

from __future__ import annotations

import json
from datetime import datetime

from aiogram import Bot, Dispatcher

from cases.mediation.assignment import AssignmentService
from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, FakeClock
from scheduling.outbox import Outbox
from scheduling.sender import RateLimiter, TelegramSender
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, fill_mediation

PSB_ROOM = "room_psb"  # traffic accidents and public order: fill_mediation lands here
COUNTY_ROOM = "room_county"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LEGAL_TZ)  # type: ignore[misc]


async def make_mediator(
    dispatcher: Dispatcher,
    bot: Bot,
    user_id: int,
    room: str = PSB_ROOM,
    *,
    name: str | None = None,
    lead: bool = False,
) -> BotClient:
    users = dispatcher["users"]
    await users.ensure(user_id)
    await users.set_role(user_id, Role.mediator, room)
    if name:
        await users.ensure(user_id, display_name=name)
    if lead:
        await users.set_leads_room(user_id, True)
    return BotClient(
        dispatcher, bot, user_id=user_id, language_code="zh-hans", first_name=name or "调解员"
    )


async def file_mediation(citizen: BotClient, db: Database, other: str = "李四") -> int:
    await fill_mediation(citizen, other)
    await citizen.press("提交")
    return int(await db.fetch_value("SELECT max(id) FROM cases WHERE procedure = 'mediation'"))


async def insert_case(db: Database, number: int, room: str = PSB_ROOM, **answers: str) -> int:
    """A submitted mediation case written straight to the store (the benchmark's and the
    load tests' many cases; the flow tests file through the chat)."""
    body = {"category_id": "traffic_accident", "township_id": "chengguan", **answers}

    def write(conn) -> int:  # type: ignore[no-untyped-def]
        conn.execute(
            "INSERT OR IGNORE INTO users(telegram_id, role, first_seen, last_seen)"
            " VALUES (900000, 'citizen', 'x', 'x')"
        )
        cursor = conn.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, subject, answers,"
            " received_on, routed_to, routed_to_name, created_at, updated_at)"
            " VALUES (?, 'mediation', 'submitted', 900000, '交通事故', ?, '2026-11-25', ?,"
            " '', 'x', 'x') RETURNING id",
            (f"TJ-2026-{number:06d}", json.dumps(body, ensure_ascii=False), f"room:{room}"),
        )
        case_id = int(cursor.fetchone()[0])
        conn.execute(
            "INSERT INTO parties(case_id, role, name, phone) VALUES (?, 'applicant', ?, ?)",
            (case_id, answers.get("applicant_name", "王五"), answers.get("phone", "13700001111")),
        )
        conn.execute(
            "INSERT INTO parties(case_id, role, name, details) VALUES (?, 'other_party', ?, ?)",
            (case_id, body.get("other_party_name", "赵六"), "{}"),
        )
        return case_id

    return int(await db.run(write))


async def deliver(db: Database, bot: Bot, clock: FakeClock) -> None:
    """Run the outbox once through the real sender into the recording session."""
    sender = TelegramSender(bot, RateLimiter())
    await Outbox(db, sender, clock, admin_ids=[ADMIN_ID]).dispatch_due()


async def tick(dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock) -> None:
    """One scheduler tick for assignment, then the outbox (as bot.py's tick runs them)."""
    service: AssignmentService = dispatcher["assignment"]
    await service.tick()
    await deliver(db, bot, clock)


async def offers(db: Database, case_id: int) -> list[tuple[int, int, str]]:
    rows = await db.fetch_all(
        "SELECT id, mediator_id, status FROM mediation_offers WHERE case_id = ? ORDER BY id",
        (case_id,),
    )
    return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]


async def events(db: Database, case_id: int) -> list[str]:
    rows = await db.fetch_all(
        "SELECT kind FROM case_events WHERE case_id = ? AND kind LIKE 'mediation_%' ORDER BY id",
        (case_id,),
    )
    return [str(r[0]) for r in rows]
