"""Clock work done without a staff press: deemed acceptance when an F5 review ends undecided
(FY 30(3)), and the recount of provisional deadlines when the holiday data grows (domain §1.2).
"""

from __future__ import annotations

from datetime import date, datetime

from cases.law.deadline_rules import (
    DeadlineEngine,
)
from cases.procedures.case_clocks import (
    open_deadline,
)
from cases.procedures.deadline_records import (
    ChangedDeadline,
    clock_event,
    recount,
)
from cases.store.db import Database, row_in, rows_in
from cases.store.time import Clock, to_db


async def expire_acceptance_reviews(
    db: Database, today: date, clock: Clock, *, engine: DeadlineEngine
) -> list[int]:
    """F5 reviews whose last day has passed: deemed accepted (FY 30(3)); returns the case ids.

    "审查期限届满之日起视为受理": the acceptance date is the F5 last day, so F9 and F12 (F13 when
    the case runs the simplified procedure) open with that day as their trigger.
    """
    accepted: list[int] = []
    async with db.transaction() as conn:
        rows = await rows_in(
            conn,
            "SELECT * FROM case_deadlines WHERE rule_id = 'F5' AND status = 'open'"
            " AND due_on < ? ORDER BY due_on, id",
            (today.isoformat(),),
        )
        now = to_db(clock.now())
        for row in rows:
            case_id, due_on = row["case_id"], row["due_on"]
            accepted_on = date.fromisoformat(due_on)
            await conn.execute(
                "UPDATE case_deadlines SET status = 'missed', closed_on = ?, updated_at = ?"
                " WHERE id = ?",
                (due_on, now, row["id"]),
            )
            await clock_event(
                conn,
                case_id,
                None,
                "system",
                "deadline_missed",
                {"deadline_id": row["id"], "rule_id": "F5", "due_on": due_on},
                clock,
            )
            await clock_event(
                conn,
                case_id,
                None,
                "system",
                "deemed_accepted",
                {"accepted_on": due_on, "deadline_id": row["id"], "basis": row["basis"]},
                clock,
            )
            simplified = bool(row["simplified"])
            for rule_id in ("F9", "F13" if simplified else "F12"):
                running = await row_in(
                    conn,
                    "SELECT 1 FROM case_deadlines WHERE case_id = ? AND rule_id = ?"
                    " AND status IN ('open', 'paused')",
                    (case_id, rule_id),
                )
                if running is None:
                    await open_deadline(
                        conn,
                        case_id,
                        rule_id,
                        accepted_on,
                        simplified=simplified,
                        clock=clock,
                        engine=engine,
                    )
            accepted.append(case_id)
    return accepted


async def recompute_provisional(
    db: Database, engine: DeadlineEngine, clock: Clock
) -> list[ChangedDeadline]:
    """After the calendar data was extended: recount every running provisional deadline.

    Clears ``provisional`` where the days are now covered; returns those whose last day moved,
    so whoever must act (and the citizen) can be told. Call it at start-up after loading the
    calendar, with the engine built on it.
    """
    changed: list[ChangedDeadline] = []
    async with db.transaction() as conn:
        rows = await rows_in(
            conn,
            "SELECT * FROM case_deadlines WHERE provisional = 1"
            " AND status IN ('open', 'paused') ORDER BY id",
        )
        now = to_db(clock.now())
        for row in rows:
            new_due, provisional = await recount(conn, row, engine)
            old_due = date.fromisoformat(row["due_on"])
            if new_due == old_due and provisional:
                continue
            await conn.execute(
                "UPDATE case_deadlines SET due_on = ?, provisional = ?, updated_at = ?"
                " WHERE id = ?",
                (new_due.isoformat(), int(provisional), now, row["id"]),
            )
            change = ChangedDeadline(
                deadline_id=row["id"],
                case_id=row["case_id"],
                rule_id=row["rule_id"],
                old_due=old_due,
                new_due=new_due,
                provisional=provisional,
            )
            await clock_event(
                conn,
                row["case_id"],
                None,
                "system",
                "deadline_recomputed",
                change.model_dump(mode="json"),
                clock,
            )
            if new_due != old_due:
                changed.append(change)
    return changed


async def recent_recomputations(db: Database, since: datetime) -> list[ChangedDeadline]:
    """Moved deadlines recorded since ``since`` (the ``deadline_recomputed`` events written in
    the same unit as the move). Telling people is a separate unit, so start-up re-reads these:
    a crash between the two must not leave anyone untold (the notices are deduplicated)."""
    changes = []
    for row in await db.fetch_all(
        "SELECT detail FROM case_events WHERE kind = 'deadline_recomputed' AND at >= ?"
        " ORDER BY id",
        (to_db(since),),
    ):
        change = ChangedDeadline.model_validate_json(row["detail"])
        if change.old_due != change.new_due:
            changes.append(change)
    return changes
