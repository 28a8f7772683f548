"""Seeding cases of every procedure and unit for the /queue, /find and access-pair tests."""

from __future__ import annotations

import json
from datetime import date, timedelta

from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock, to_db
from tests.support import PacedClient

CITIZEN = 1001


async def ensure_citizen(db: Database, clock: FakeClock, user_id: int = CITIZEN) -> None:
    now = to_db(clock.now())
    await db.execute(
        "INSERT INTO users(telegram_id, role, first_seen, last_seen) VALUES (?, 'citizen', ?, ?)"
        " ON CONFLICT(telegram_id) DO NOTHING",
        (user_id, now, now),
    )


async def seed_case(
    db: Database,
    clock: FakeClock,
    number: str,
    procedure: str,
    routed_to: str,
    *,
    status: str = "accepted",
    mediator_id: int | None = None,
    respondent: str | None = None,
    sensitive: bool = False,
    party: str = "张三",
    subject: str = "纠纷",
    due: date | None = None,
    rule: str = "F12",
    copy_sent: bool = False,
    reply_due: date = date(2026, 12, 10),
) -> int:
    """A case as intake and the actions leave it: a party, evidence, an open deadline.

    ``routed_to = 'agency:<id>'`` (a petition): as the handover leaves it, routed to the
    petition office with a live assignment (交办) to that agency in ``petition_handovers``."""
    agency = routed_to.removeprefix("agency:") if routed_to.startswith("agency:") else None
    if agency is not None:
        routed_to = "office:petition_office"
    await ensure_citizen(db, clock)
    now = to_db(clock.now())
    answers = {"respondent_id": respondent} if respondent else {}
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, sensitive, subject,"
            " answers, received_on, routed_to, mediator_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, '2026-11-20', ?, ?, ?, ?) RETURNING id",
            (
                number,
                procedure,
                status,
                CITIZEN,
                int(sensitive),
                subject,
                json.dumps(answers),
                routed_to,
                mediator_id,
                now,
                now,
            ),
        )
        case_id = int((await cursor.fetchone())[0])
        await conn.execute(
            "INSERT INTO parties(case_id, role, name, phone) VALUES (?, 'applicant', ?, ?)",
            (case_id, party, "13800001234"),
        )
        await conn.execute(
            "INSERT INTO attachments(user_id, case_id, kind, file_id, file_unique_id, file_name,"
            " mime_type, size, sha256, created_at) VALUES (?, ?, 'document', ?, ?, 'a.pdf',"
            " 'application/pdf', 10, 'x', ?)",
            (CITIZEN, case_id, f"doc-{case_id}", f"u-{case_id}", now),
        )
        if agency is not None:
            await conn.execute(
                "INSERT INTO petition_handovers(case_id, kind, agency_id, reason, status,"
                " assigned_by, assigned_at) VALUES (?, 'assign', ?, '职责范围', ?, 1, ?)",
                (case_id, agency, "assigned" if status == "submitted" else "accepted", now),
            )
        rules = [(rule, due)] if due else []
        if copy_sent:
            rules.append(("F10", reply_due))
        for rule_id, day in rules:
            await conn.execute(
                "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, unit, count,"
                " basis, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'calendar_days', 10, 'basis', ?, ?)",
                (
                    case_id,
                    rule_id,
                    (day - timedelta(days=10)).isoformat(),
                    day.isoformat(),
                    now,
                    now,
                ),
            )
    return case_id


async def staff(
    dp: Dispatcher,
    bot: Bot,
    clock: FakeClock,
    user_id: int,
    role: Role,
    unit: str | None = None,
    *,
    lead: bool = False,
) -> PacedClient:
    if role is not Role.citizen:
        await dp["users"].set_role(user_id, role, unit, lead=lead)
    return PacedClient(
        dp, bot, user_id=user_id, language_code="zh-hans", first_name=f"员{user_id}", clock=clock
    )


async def seed_lawsuit(
    db: Database, clock: FakeClock, agency_id: str, number: str, due: date
) -> int:
    """An open court case against ``agency_id`` with its L3 defence date."""
    now = to_db(clock.now())
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO lawsuits(agency_id, agency, court, court_case_number, plaintiff,"
            " act_challenged, complaint_received_on, registered_by, created_at, updated_at)"
            " VALUES (?, '机关', '谷城县人民法院', ?, '王五', '处罚决定', '2026-11-20', 1, ?, ?)"
            " RETURNING id",
            (agency_id, number, now, now),
        )
        lawsuit_id = int((await cursor.fetchone())[0])
        await conn.execute(
            "INSERT INTO litigation_defences(agency, court, court_case_number,"
            " complaint_received_on, due_on, lawsuit_id, created_at, updated_at)"
            " VALUES ('机关', '谷城县人民法院', ?, '2026-11-20', ?, ?, ?, ?)",
            (number, due.isoformat(), lawsuit_id, now, now),
        )
    return lawsuit_id
