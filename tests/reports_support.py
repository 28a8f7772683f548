"""A small county for the statistics tests: cases, events, deadlines, bookings and hearings
written row by row, so that every figure of November 2026 can be counted by hand (the counts
are in HAND_COUNTED, with the reasoning beside each).

The clock of the tests stands on Wednesday 2026-11-25, 09:00 in Gucheng.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from cases.store.db import Database
from cases.store.time import LEGAL_TZ, to_db
from tests.support import ENGINE

CITIZEN = 7001
STAMP = "2026-11-25T01:00:00.000000Z"


def local(day: str, hour: int = 10, minute: int = 0) -> str:
    """A local Gucheng time as the store writes instants (UTC text)."""
    y, m, d = (int(p) for p in day.split("-"))
    return to_db(datetime(y, m, d, hour, minute, tzinfo=LEGAL_TZ))


async def _exec(db: Database, sql: str, params: tuple[Any, ...]) -> None:
    """One write in its own unit; for tables keyed otherwise than by ``id`` (users,
    hearing_appearances) and rows whose id the fixture does not need."""
    async with db.transaction() as conn:
        await conn.execute(sql, params)


async def _insert(db: Database, sql: str, params: tuple[Any, ...]) -> int:
    """One INSERT into a table with an ``id`` column; its new id (RETURNING, since
    PostgreSQL has no lastrowid)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(f"{sql} RETURNING id", params)
        return int((await cursor.fetchone())[0])


async def add_user(db: Database, telegram_id: int) -> None:
    await _exec(
        db,
        "INSERT OR IGNORE INTO users(telegram_id, role, first_seen, last_seen)"
        " VALUES (?, 'citizen', ?, ?)",
        (telegram_id, STAMP, STAMP),
    )


async def add_case(
    db: Database,
    number: str,
    procedure: str,
    status: str,
    received_on: str,
    *,
    answers: dict[str, Any] | None = None,
    routed_to: str = "office:reconsideration_office",
) -> int:
    await add_user(db, CITIZEN)
    return await _insert(
        db,
        "INSERT INTO cases(number, procedure, status, citizen_id, subject, answers, received_on,"
        " routed_to, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            number,
            procedure,
            status,
            CITIZEN,
            "测试事项",
            json.dumps(answers or {}, ensure_ascii=False),
            received_on,
            routed_to,
            local(received_on),
            STAMP,
        ),
    )


async def add_event(
    db: Database, case_id: int, kind: str, at: str, detail: dict[str, Any] | None = None
) -> None:
    await _exec(
        db,
        "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
        " VALUES (?, ?, NULL, 'office_staff', ?, ?)",
        (case_id, at, kind, json.dumps(detail or {})),
    )


async def add_deadline(
    db: Database,
    case_id: int,
    rule_id: str,
    trigger_on: str,
    due_on: str,
    status: str = "open",
    closed_on: str | None = None,
) -> None:
    await _exec(
        db,
        "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, status, unit, count,"
        " basis, closed_on, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'calendar_days', 1, '测试', ?, ?, ?)",
        (case_id, rule_id, trigger_on, due_on, status, closed_on, STAMP, STAMP),
    )


async def add_session(db: Database, agency: str, day: str) -> int:
    return await _insert(
        db,
        "INSERT INTO reception_sessions(agency, source, day, starts, ends, place, place_en,"
        " slot_minutes, seats, created_at, updated_at)"
        " VALUES (?, 'admin', ?, '09:00', '11:00', '接待室', 'Reception room', 30, 10, ?, ?)",
        (agency, day, STAMP, STAMP),
    )


_bookings = iter(range(1, 10_000))


async def add_booking(
    db: Database, session_id: int, agency: str, status: str, outcome: str | None = None
) -> None:
    n = next(_bookings)
    citizen = 7100 + n
    await add_user(db, citizen)
    await _exec(
        db,
        "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, status, subject,"
        " request, people, outcome, created_at, updated_at)"
        " VALUES (?, ?, 0, ?, ?, ?, '事项', '请求', 1, ?, ?, ?)",
        (f"JD-T-{n:06d}", session_id, agency, citizen, status, outcome, STAMP, STAMP),
    )


async def add_hearing(
    db: Database,
    lawsuit_id: int,
    agency_name: str,
    day: str,
    status: str,
    attendance: str | None = None,
    *,
    head_required: bool = False,
) -> None:
    hearing_id = await _insert(
        db,
        "INSERT INTO hearings(lawsuit_id, agency, court, court_case_number, starts_at,"
        " head_required, status, created_at, updated_at)"
        " VALUES (?, ?, '谷城县人民法院', '(2026)鄂0625行初1号', ?, ?, ?, ?, ?)",
        (lawsuit_id, agency_name, local(day, 9), int(head_required), status, STAMP, STAMP),
    )
    if attendance is not None:
        await _exec(
            db,
            "INSERT INTO hearing_appearances(hearing_id, attendance, recorded_by, recorded_at)"
            " VALUES (?, ?, 9001, ?)",
            (hearing_id, attendance, STAMP),
        )


PSB = "county_psb"
HRSS = "county_hrss"
TOWN = "gov_chengguan"  # runs room_chengguan


async def build_county(db: Database) -> None:
    """The fixture. Closing events at local 10:00 unless said otherwise."""
    psb = {"respondent_id": PSB}
    # R1: decided 11-20, received 11-02: 18 days, deadlines met in time.
    r1 = await add_case(
        db, "FY-2026-000001", "reconsideration", "decided", "2026-11-02", answers=psb
    )
    await add_deadline(db, r1, "F5", "2026-11-02", "2026-11-09", "met", "2026-11-05")
    await add_deadline(db, r1, "F12", "2026-11-05", "2027-01-04", "met", "2026-11-20")
    await add_deadline(db, r1, "F10", "2026-11-06", "2026-11-13", "missed", "2026-11-14")
    await add_event(db, r1, "decided", local("2026-11-20"))
    # R2: open; F5 missed, deemed accepted on 11-10 (FY 30(3)); F12 runs into 2027.
    r2 = await add_case(
        db, "FY-2026-000002", "reconsideration", "accepted", "2026-11-03", answers=psb
    )
    await add_deadline(db, r2, "F5", "2026-11-03", "2026-11-10", "missed", "2026-11-10")
    await add_deadline(db, r2, "F12", "2026-11-10", "2027-01-11")
    await add_event(
        db, r2, "deemed_accepted", local("2026-11-11", 0, 5), {"accepted_on": "2026-11-10"}
    )
    # R3: received in September, F12 last day 11-20 passed: overdue now.
    r3 = await add_case(
        db, "FY-2026-000003", "reconsideration", "accepted", "2026-09-01", answers=psb
    )
    await add_deadline(db, r3, "F12", "2026-09-05", "2026-11-20")
    # R4: received 10-28, refused 11-03 (6 days) but F5 was met a day late: not on time.
    r4 = await add_case(
        db, "FY-2026-000004", "reconsideration", "refused", "2026-10-28", answers=psb
    )
    await add_deadline(db, r4, "F5", "2026-10-28", "2026-11-02", "met", "2026-11-03")
    await add_event(db, r4, "refused", local("2026-11-03"))
    # R5: a typed respondent (other); withdrawn 11-12 (2 days), F5 cancelled before its day.
    r5 = await add_case(
        db,
        "FY-2026-000005",
        "reconsideration",
        "withdrawn",
        "2026-11-10",
        answers={"respondent_id": "text:某村委会"},
    )
    await add_deadline(db, r5, "F5", "2026-11-10", "2026-11-17", "cancelled", "2026-11-12")
    await add_event(db, r5, "withdrawn", local("2026-11-12"))
    petition = {"routed_to": "office:petition_office"}
    # P1: concerns the HRSS bureau; concluded 11-24 (23 days).
    p1 = await add_case(
        db,
        "XF-2026-000001",
        "petition",
        "decided",
        "2026-11-01",
        answers={"body_concerned": HRSS},
        **petition,
    )
    await add_deadline(db, p1, "X1", "2026-11-01", "2026-11-16", "met", "2026-11-02")
    await add_deadline(db, p1, "X4", "2026-11-02", "2027-01-01", "met", "2026-11-24")
    await add_event(db, p1, "accepted", local("2026-11-02"))
    await add_event(db, p1, "concluded", local("2026-11-24"))
    # P2: received in August, X4 ran out on 09-30: overdue now.
    p2 = await add_case(
        db,
        "XF-2026-000002",
        "petition",
        "accepted",
        "2026-08-01",
        answers={"body_concerned": HRSS},
        **petition,
    )
    await add_deadline(db, p2, "X4", "2026-08-01", "2026-09-30")
    # P3: no agency named; forwarded (accepted → closed) on 11-06: 1 day.
    p3 = await add_case(db, "XF-2026-000003", "petition", "closed", "2026-11-05", **petition)
    await add_deadline(db, p3, "X1", "2026-11-05", "2026-11-20", "met", "2026-11-06")
    await add_event(db, p3, "accepted", local("2026-11-06"))
    room = {"routed_to": "room:room_chengguan"}
    # M1: agreement 11-16 (14 days); at the follow-up on 11-20 it was not kept.
    m1 = await add_case(db, "TJ-2026-000001", "mediation", "settled", "2026-11-02", **room)
    await add_deadline(db, m1, "MA", "2026-11-02", "2026-12-02", "met", "2026-11-16")
    await add_event(db, m1, "mediation_agreed", local("2026-11-16"))
    await add_event(db, m1, "mediation_followup", local("2026-11-20"), {"kept": False})
    # M2: no agreement 11-09 (5 days); MA met a day late: not on time.
    m2 = await add_case(db, "TJ-2026-000002", "mediation", "closed", "2026-11-04", **room)
    await add_deadline(db, m2, "MA", "2026-11-04", "2026-11-08", "met", "2026-11-09")
    await add_event(db, m2, "mediation_failed", local("2026-11-09"))
    # M3: agreed in October; follow-ups at 00:30 on 1 November (in) and 23:30 on 31 October
    # (out): the period is of local days.
    m3 = await add_case(db, "TJ-2026-000003", "mediation", "settled", "2026-10-01", **room)
    await add_event(db, m3, "mediation_agreed", local("2026-10-10"))
    await add_event(db, m3, "mediation_followup", local("2026-10-31", 23, 30), {"kept": False})
    await add_event(db, m3, "mediation_followup", local("2026-11-01", 0, 30), {"kept": True})
    # M4: open, MA runs to 11-30: not overdue.
    m4 = await add_case(db, "TJ-2026-000004", "mediation", "submitted", "2026-11-20", **room)
    await add_deadline(db, m4, "MA", "2026-11-20", "2026-11-30")

    # Reception days.
    s1 = await add_session(db, PSB, "2026-11-10")
    for status, outcome in (
        ("attended", "settled"),
        ("attended", "petition"),
        ("no_show", None),
        ("cancelled", None),
        ("expired", None),
    ):
        await add_booking(db, s1, PSB, status, outcome)
    s2 = await add_session(db, PSB, "2026-12-08")
    await add_booking(db, s2, PSB, "booked")
    s3 = await add_session(db, HRSS, "2026-11-17")
    await add_booking(db, s3, HRSS, "attended", "referred")
    await add_booking(db, s3, HRSS, "released")

    # Court appearances of the PSB.
    lawsuit = await _insert(
        db,
        "INSERT INTO lawsuits(agency_id, agency, court, court_case_number, plaintiff,"
        " act_challenged, complaint_received_on, registered_by, created_at, updated_at)"
        " VALUES (?, '谷城县公安局', '谷城县人民法院', '(2026)鄂0625行初1号', '李四', '罚款',"
        " '2026-09-01', 9001, ?, ?)",
        (PSB, STAMP, STAMP),
    )
    name = "谷城县公安局"
    await add_hearing(db, lawsuit, name, "2026-11-12", "held", "head", head_required=True)
    await add_hearing(db, lawsuit, name, "2026-11-18", "held", "staff")
    await add_hearing(db, lawsuit, name, "2026-11-20", "scheduled")  # took place, unrecorded
    await add_hearing(db, lawsuit, name, "2026-10-30", "held", "absent")  # October
    await add_hearing(db, lawsuit, name, "2026-12-03", "scheduled")  # still to come


NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


async def county_stats(db: Database, clock: Any) -> Any:
    """The StatsService over the hand-counted county (built here)."""
    from cases.litigation.court_cases import LitigationService
    from cases.org.organisation import load_organisation
    from cases.reports.figures import StatsService
    from settings import Settings

    org = load_organisation(Settings(bot_token="1:x", _env_file=None).organisation_path)
    await build_county(db)
    return StatsService(db, clock, org, LitigationService(db, clock, org, engine=ENGINE))
