"""Case clocks against a real SQLite file: open, pause/resume, extend, deemed acceptance,
recompute after the calendar data grows. The fake clock stands at Wed 2026-11-25."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cases.law.calendar import LegalCalendar
from cases.law.deadline_rules import DeadlineEngine, Unit
from cases.procedures.case_clocks import (
    cancel_case_deadlines,
    cancel_deadline,
    extend_deadline,
    mark_met,
    open_deadline,
    pause_case,
    resume_case,
)
from cases.procedures.deadline_records import (
    ClockError,
    PauseInterval,
    clock_due,
    get_deadline,
    next_deadline,
    open_deadlines,
)
from cases.procedures.deadline_recount import expire_acceptance_reviews, recompute_provisional
from cases.store.db import Database
from cases.store.time import FakeClock, to_db
from tests.backends import table_columns
from tests.support import ENGINE

CITIZEN, STAFF, HEAD, MEDIATOR = 1001, 2001, 3001, 4001


async def make_head(db: Database, telegram_id: int) -> None:
    """Office staff flagged as the head of the reconsideration body (FY 62(1))."""
    await db.execute(
        "UPDATE users SET heads_reconsideration = 1 WHERE telegram_id = ?", (telegram_id,)
    )


async def add_user(db: Database, telegram_id: int, role: str, clock: FakeClock) -> None:
    now = to_db(clock.now())
    await db.execute(
        "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen)"
        " VALUES (?, 'zh', ?, ?, ?)",
        (telegram_id, role, now, now),
    )


async def add_case(db: Database, clock: FakeClock, procedure: str = "reconsideration") -> int:
    now = to_db(clock.now())
    number = f"GC-{await db.fetch_value('SELECT count(*) + 1 FROM cases')}"
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
            " created_at, updated_at) VALUES (?, ?, 'submitted', ?, 'test', '2026-11-20', ?, ?)"
            " RETURNING id",
            (number, procedure, CITIZEN, now, now),
        )
        return int((await cursor.fetchone())[0])


@pytest.fixture
async def case_id(db: Database, clock: FakeClock) -> int:
    for telegram_id, role in (
        (CITIZEN, "citizen"),
        (STAFF, "office_staff"),
        (HEAD, "agency_head"),
        (MEDIATOR, "mediator"),
    ):
        await add_user(db, telegram_id, role, clock)
    await make_head(db, STAFF)  # FY 62(1): the head of the reconsideration body extends F12
    return await add_case(db, clock)


async def start(
    db: Database,
    clock: FakeClock,
    case_id: int,
    rule_id: str,
    trigger: date,
    simplified: bool = False,
) -> int:
    async with db.transaction() as conn:
        return await open_deadline(
            conn, case_id, rule_id, trigger, simplified=simplified, clock=clock, engine=ENGINE
        )


async def row(db: Database, deadline_id: int) -> dict[str, Any]:
    found = await db.fetch_one("SELECT * FROM case_deadlines WHERE id = ?", (deadline_id,))
    assert found is not None
    return dict(found)


async def events(db: Database, case_id: int, kind: str) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        "SELECT actor_id, actor_role, detail FROM case_events WHERE case_id = ? AND kind = ?"
        " ORDER BY id",
        (case_id, kind),
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


def calendar_with_2027(tmp_path: Path, holidays: list[str]) -> LegalCalendar:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"years": {"2027": {"holidays": holidays}}}), "utf-8")
    return LegalCalendar(path)


# -- schema -------------------------------------------------------------------------------------


async def test_deadline_table_has_the_columns_the_planner_reads(db: Database) -> None:
    columns = await table_columns(db, "case_deadlines")
    assert {
        "id", "case_id", "rule_id", "trigger_on", "due_on", "provisional", "status",
        "created_at", "updated_at",
    } <= columns  # fmt: skip


# -- open ---------------------------------------------------------------------------------------


async def test_open_deadline_stores_the_computed_date_and_an_event(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    deadline_id = await start(db, clock, case_id, "F5", date(2026, 11, 20))
    stored = await row(db, deadline_id)
    assert (stored["due_on"], stored["status"], stored["provisional"]) == ("2026-11-27", "open", 0)
    assert stored["basis"] == "《行政复议法》第三十条"
    [opened] = await events(db, case_id, "deadline_opened")
    assert opened["actor_role"] == "system"
    assert opened["detail"]["due_on"] == "2026-11-27"


async def test_a_rule_runs_once_at_a_time_per_case(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    await start(db, clock, case_id, "F5", date(2026, 11, 20))
    with pytest.raises(ClockError, match="already running"):
        await start(db, clock, case_id, "F5", date(2026, 11, 23))


async def test_open_deadline_rolls_back_with_the_callers_transaction(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await open_deadline(
                conn, case_id, "F5", date(2026, 11, 20), clock=clock, engine=ENGINE
            )
            raise RuntimeError("submission failed")
    assert await open_deadlines(db, case_id, ENGINE) == []


async def test_provisional_deadline_is_flagged_for_staff(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    deadline_id = await start(db, clock, case_id, "F12", date(2026, 12, 20))
    [shown] = await open_deadlines(db, case_id, ENGINE)
    assert (shown.id, shown.due_on, shown.provisional) == (deadline_id, date(2027, 2, 18), True)
    [opened] = await events(db, case_id, "deadline_opened")
    assert opened["detail"]["provisional"] is True


# -- pause and resume ---------------------------------------------------------------------------


async def test_suspension_moves_a_calendar_day_period_by_the_paused_days(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    # 2026-09-01 + 60 CD = Sat 10-31 → Mon 11-02. Paused 09-10 … 09-20 (10 days): the unrolled
    # last day 10-31 moves to Tue 11-10 (not the rolled 11-02 + 10).
    deadline_id = await start(db, clock, case_id, "F12", date(2026, 9, 1))
    assert (await row(db, deadline_id))["due_on"] == "2026-11-02"
    assert await pause_case(
        db, case_id, "suspension", date(2026, 9, 10), STAFF, clock, engine=ENGINE
    ) == [deadline_id]
    paused = await row(db, deadline_id)
    assert (paused["status"], paused["paused_since"]) == ("paused", "2026-09-10")
    assert (
        await next_deadline(db, case_id, ENGINE) is None
    )  # a paused clock has no running last day

    [change] = await resume_case(db, case_id, date(2026, 9, 20), STAFF, clock, engine=ENGINE)
    assert (change.old_due, change.new_due) == (date(2026, 11, 2), date(2026, 11, 10))
    resumed = await row(db, deadline_id)
    assert (resumed["status"], resumed["due_on"], resumed["paused_days"]) == (
        "open",
        "2026-11-10",
        10,
    )
    [paused_event] = await events(db, case_id, "case_paused")
    assert paused_event["actor_role"] == "office_staff"
    assert paused_event["detail"]["reason"] == "suspension"
    assert len(await events(db, case_id, "case_resumed")) == 1


async def test_suspension_recounts_remaining_working_days_from_the_resume_date(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    # F10: Mon 11-02 + 10 WD = 11-16. Suspended Wed 11-04 after 2 WD; 8 WD remain from
    # Fri 11-20: 23, 24, 25, 26, 27, 30, 12-01, 12-02.
    deadline_id = await start(db, clock, case_id, "F10", date(2026, 11, 2))
    await pause_case(db, case_id, "suspension", date(2026, 11, 4), STAFF, clock, engine=ENGINE)
    [change] = await resume_case(db, case_id, date(2026, 11, 20), STAFF, clock, engine=ENGINE)
    assert change.new_due == date(2026, 12, 2)
    assert (await row(db, deadline_id))["due_on"] == "2026-12-02"


async def test_acceptance_review_restarts_in_full_after_correction(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    # F5: Mon 11-16 → 11-23. 补正 notice 11-18; materials arrive Tue 11-24 → a new 5 WD
    # review from 11-24 (FY 31(3)): 12-01.
    deadline_id = await start(db, clock, case_id, "F5", date(2026, 11, 16))
    await pause_case(db, case_id, "correction", date(2026, 11, 18), STAFF, clock, engine=ENGINE)
    await resume_case(db, case_id, date(2026, 11, 24), STAFF, clock, engine=ENGINE)
    assert (await row(db, deadline_id))["due_on"] == "2026-12-01"
    pauses = await db.fetch_all("SELECT reason, started_on, ended_on FROM deadline_pauses")
    assert [tuple(p) for p in pauses] == [("correction", "2026-11-18", "2026-11-24")]


async def test_only_rules_the_reason_pauses_stop(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    f12 = await start(db, clock, case_id, "F12", date(2026, 11, 2))
    f14 = await start(db, clock, case_id, "F14", date(2026, 11, 2))
    assert await pause_case(
        db, case_id, "suspension", date(2026, 11, 10), STAFF, clock, engine=ENGINE
    ) == [f12]
    assert (await row(db, f14))["status"] == "open"
    with pytest.raises(ClockError, match="no running deadline"):
        await pause_case(db, case_id, "hearing", date(2026, 11, 10), STAFF, clock, engine=ENGINE)


async def test_pause_and_resume_are_refused_when_they_make_no_sense(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    await start(db, clock, case_id, "F12", date(2026, 11, 2))
    with pytest.raises(ClockError, match="future"):
        await pause_case(
            db, case_id, "suspension", date(2026, 11, 26), STAFF, clock, engine=ENGINE
        )
    with pytest.raises(ClockError, match="unknown pause reason"):
        await pause_case(db, case_id, "holiday", date(2026, 11, 10), STAFF, clock, engine=ENGINE)
    with pytest.raises(ClockError, match="no paused deadline"):
        await resume_case(db, case_id, date(2026, 11, 20), STAFF, clock, engine=ENGINE)
    await pause_case(db, case_id, "suspension", date(2026, 11, 10), STAFF, clock, engine=ENGINE)
    with pytest.raises(ClockError, match="before the pause"):
        await resume_case(db, case_id, date(2026, 11, 9), STAFF, clock, engine=ENGINE)


def test_months_periods_move_by_the_paused_calendar_days() -> None:
    cal = LegalCalendar()
    pauses = [PauseInterval(date(2025, 3, 1), date(2025, 3, 11), "suspension")]
    # 2024-08-31 + 6 M = 2025-02-28, + 10 days = Mon 03-10.
    assert clock_due(cal, Unit.MONTHS, 6, date(2024, 8, 31), pauses=pauses).day == date(
        2025, 3, 10
    )


# -- extensions ---------------------------------------------------------------------------------


async def test_petition_extension_up_to_thirty_days_with_the_heads_approval(
    db: Database, clock: FakeClock
) -> None:
    for telegram_id, role in (
        (CITIZEN, "citizen"),
        (HEAD, "agency_head"),
        (STAFF, "office_staff"),
    ):
        await add_user(db, telegram_id, role, clock)
    case_id = await add_case(db, clock, "petition")
    # X4: 2026-10-01 + 60 CD = Mon 11-30.
    deadline_id = await start(db, clock, case_id, "X4", date(2026, 10, 1))
    new_due = await extend_deadline(
        db, deadline_id, HEAD, 20, "需要补充调查", clock, engine=ENGINE
    )
    assert new_due == date(2026, 12, 21)  # Sun 12-20 rolls to Monday
    assert await extend_deadline(
        db, deadline_id, HEAD, 10, "仍需调查", clock, engine=ENGINE
    ) == date(2026, 12, 30)
    with pytest.raises(ClockError, match="at most 30"):
        await extend_deadline(db, deadline_id, HEAD, 1, "再延一天", clock, engine=ENGINE)
    with pytest.raises(ClockError, match="cannot approve"):
        await extend_deadline(db, deadline_id, STAFF, 1, "x", clock, engine=ENGINE)
    first, second = await events(db, case_id, "deadline_extended")
    assert first["detail"]["tell"] == "petitioner"
    assert first["detail"]["reason"] == "需要补充调查"
    assert (first["detail"]["old_due"], first["detail"]["new_due"]) == ("2026-11-30", "2026-12-21")
    assert second["detail"]["extension_total"] == 30
    assert (await row(db, deadline_id))["extension_days"] == 30


async def test_reconsideration_decision_extension(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    deadline_id = await start(db, clock, case_id, "F12", date(2026, 10, 1))
    assert await extend_deadline(
        db, deadline_id, STAFF, 30, "情况复杂", clock, engine=ENGINE
    ) == date(2026, 12, 30)
    [extended] = await events(db, case_id, "deadline_extended")
    assert extended["detail"]["tell"] == "parties"


async def test_extension_refusals(db: Database, clock: FakeClock, case_id: int) -> None:
    f12 = await start(db, clock, case_id, "F12", date(2026, 10, 1))
    f5 = await start(db, clock, case_id, "F5", date(2026, 11, 23))
    with pytest.raises(ClockError, match="approver"):
        await extend_deadline(db, f12, None, 5, "情况复杂", clock, engine=ENGINE)
    with pytest.raises(ClockError, match="no extension"):
        await extend_deadline(db, f5, STAFF, 2, "情况复杂", clock, engine=ENGINE)
    with pytest.raises(ClockError, match="cannot approve"):
        await extend_deadline(db, f12, CITIZEN, 5, "情况复杂", clock, engine=ENGINE)
    with pytest.raises(ClockError, match="reason"):
        await extend_deadline(db, f12, STAFF, 5, "  ", clock, engine=ENGINE)
    with pytest.raises(ClockError, match="at most 30"):
        await extend_deadline(db, f12, STAFF, 31, "情况复杂", clock, engine=ENGINE)
    assert (await row(db, f12))["due_on"] == "2026-11-30"
    assert await events(db, case_id, "deadline_extended") == []


async def test_an_ended_period_cannot_be_extended(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    deadline_id = await start(db, clock, case_id, "F12", date(2026, 9, 1))  # due 11-02
    with pytest.raises(ClockError, match="already ended"):
        await extend_deadline(db, deadline_id, STAFF, 10, "情况复杂", clock, engine=ENGINE)


# -- deemed acceptance --------------------------------------------------------------------------


async def test_expired_acceptance_review_means_deemed_accepted(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    other_case = await add_case(db, clock)
    f5 = await start(db, clock, case_id, "F5", date(2026, 11, 13))  # due Fri 11-20
    await start(db, clock, other_case, "F5", date(2026, 11, 18))  # due today, 11-25

    assert await expire_acceptance_reviews(db, date(2026, 11, 25), clock, engine=ENGINE) == [
        case_id
    ]
    assert (await row(db, f5))["status"] == "missed"
    [accepted] = await events(db, case_id, "deemed_accepted")
    assert accepted["detail"]["accepted_on"] == "2026-11-20"
    running = {d.rule_id: d for d in await open_deadlines(db, case_id, ENGINE)}
    assert set(running) == {"F9", "F12"}
    assert running["F9"].trigger_on == date(2026, 11, 20)
    assert running["F9"].due_on == date(2026, 12, 1)
    assert (running["F12"].due_on, running["F12"].provisional) == (date(2027, 1, 19), True)
    # The other case's review ends at 24:00 today: still open.
    assert [d.rule_id for d in await open_deadlines(db, other_case, ENGINE)] == ["F5"]
    # Running it again changes nothing.
    assert await expire_acceptance_reviews(db, date(2026, 11, 25), clock, engine=ENGINE) == []


async def test_deemed_acceptance_in_the_simplified_procedure(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    await start(db, clock, case_id, "F5", date(2026, 11, 13), simplified=True)
    await expire_acceptance_reviews(db, date(2026, 11, 25), clock, engine=ENGINE)
    running = {d.rule_id: d.due_on for d in await open_deadlines(db, case_id, ENGINE)}
    assert running == {"F9": date(2026, 11, 25), "F13": date(2026, 12, 21)}


# -- recompute after the calendar data grows ----------------------------------------------------


async def test_recompute_after_overrides_cover_the_year(
    db: Database, clock: FakeClock, case_id: int, tmp_path: Path
) -> None:
    moved = await start(db, clock, case_id, "F12", date(2026, 11, 20))  # 2027-01-19, provisional
    other_case = await add_case(db, clock)
    # 2027-01-05: Monday-Friday less the fixed 1 January holiday (FJ Art 2), provisional.
    recounted = await start(db, clock, other_case, "F5", date(2026, 12, 28))
    third_case = await add_case(db, clock)
    unchanged = await start(db, clock, third_case, "F12", date(2026, 12, 20))  # 2027-02-18

    calendar = calendar_with_2027(tmp_path, ["2027-01-01", "2027-01-05", "2027-01-19"])
    changes = await recompute_provisional(db, DeadlineEngine(calendar), clock)

    # 12-29, 12-30, 12-31, (01-01 holiday) 01-04, (01-05 now a holiday too) 01-06.
    assert [(c.deadline_id, c.case_id, c.old_due, c.new_due) for c in changes] == [
        (moved, case_id, date(2027, 1, 19), date(2027, 1, 20)),
        (recounted, other_case, date(2027, 1, 5), date(2027, 1, 6)),
    ]
    for deadline_id in (moved, recounted, unchanged):
        assert (await row(db, deadline_id))["provisional"] == 0
    # The date that did not move is no longer provisional, but nobody needs to be told.
    assert (await row(db, unchanged))["due_on"] == "2027-02-18"
    assert len(await events(db, third_case, "deadline_recomputed")) == 1
    # Nothing provisional is left: a second run changes nothing.
    assert await recompute_provisional(db, DeadlineEngine(calendar), clock) == []


async def test_recompute_without_new_data_changes_nothing(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    deadline_id = await start(db, clock, case_id, "F12", date(2026, 11, 20))
    assert await recompute_provisional(db, DeadlineEngine(LegalCalendar()), clock) == []
    assert (await row(db, deadline_id))["provisional"] == 1
    assert await events(db, case_id, "deadline_recomputed") == []


async def test_recompute_keeps_pauses_and_extensions(
    db: Database, clock: FakeClock, case_id: int, tmp_path: Path
) -> None:
    deadline_id = await start(db, clock, case_id, "F12", date(2026, 11, 2))  # 2027-01-01 prov.
    await pause_case(db, case_id, "suspension", date(2026, 11, 10), STAFF, clock, engine=ENGINE)
    await resume_case(
        db, case_id, date(2026, 11, 12), STAFF, clock, engine=ENGINE
    )  # +2 → Sun 01-03 → 01-04
    await extend_deadline(db, deadline_id, STAFF, 3, "情况复杂", clock, engine=ENGINE)  # 01-06
    assert (await row(db, deadline_id))["due_on"] == "2027-01-06"
    calendar = calendar_with_2027(tmp_path, ["2027-01-06", "2027-01-07"])
    [change] = await recompute_provisional(db, DeadlineEngine(calendar), clock)
    assert change.new_due == date(2027, 1, 8)


# -- closing and reading ------------------------------------------------------------------------


async def test_met_and_cancelled_deadlines_leave_the_running_list(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    f9 = await start(db, clock, case_id, "F9", date(2026, 11, 20))  # due 12-01
    f12 = await start(db, clock, case_id, "F12", date(2026, 10, 1))  # due 11-30
    nxt = await next_deadline(db, case_id, ENGINE)
    assert nxt is not None
    assert (nxt.id, nxt.title) == (f12, "Decide the reconsideration case")

    await mark_met(db, f12, STAFF, date(2026, 11, 25), clock)
    with pytest.raises(ClockError, match="already met"):
        await mark_met(db, f12, STAFF, date(2026, 11, 25), clock)
    [met] = await events(db, case_id, "deadline_met")
    assert met["detail"]["late"] is False

    await cancel_deadline(db, f9, STAFF, "申请人撤回申请", clock)
    assert await open_deadlines(db, case_id, ENGINE) == []
    cancelled = await get_deadline(db, f9, ENGINE)
    assert cancelled is not None and cancelled.status == "cancelled"


async def test_withdrawal_stops_every_clock_and_closes_the_pause(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    f5 = await start(db, clock, case_id, "F5", date(2026, 11, 20))
    f12 = await start(db, clock, case_id, "F12", date(2026, 11, 2))
    await pause_case(db, case_id, "suspension", date(2026, 11, 10), STAFF, clock, engine=ENGINE)
    async with db.transaction() as conn:
        stopped = await cancel_case_deadlines(
            conn, case_id, reason="withdrawn", actor_id=CITIZEN, clock=clock
        )
    assert stopped == [f5, f12]
    assert await open_deadlines(db, case_id, ENGINE) == []
    assert await db.fetch_value("SELECT ended_on FROM deadline_pauses") == "2026-11-25"
    assert len(await events(db, case_id, "deadline_cancelled")) == 2


async def test_every_change_is_in_the_history(
    db: Database, clock: FakeClock, case_id: int
) -> None:
    engine = ENGINE
    f12 = await start(db, clock, case_id, "F12", date(2026, 10, 1))
    await pause_case(db, case_id, "inspection", date(2026, 10, 5), STAFF, clock, engine=engine)
    await resume_case(db, case_id, date(2026, 10, 8), STAFF, clock, engine=engine)
    await extend_deadline(db, f12, STAFF, 5, "情况复杂", clock, engine=engine)
    await mark_met(db, f12, STAFF, date(2026, 11, 25), clock)
    kinds = [
        r["kind"]
        for r in await db.fetch_all(
            "SELECT kind FROM case_events WHERE case_id = ? ORDER BY id", (case_id,)
        )
    ]
    assert kinds == [
        "deadline_opened",
        "case_paused",
        "case_resumed",
        "deadline_extended",
        "deadline_met",
    ]
