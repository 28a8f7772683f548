"""Case clocks: the statutory deadlines a case runs, stored in SQLite, with pauses, extensions,
deemed acceptance and recomputation when the calendar data grows.

Every write is one transaction and leaves a ``case_events`` row, so the history is complete.
The handlers and the scheduler read the events ('deadline_extended', 'deemed_accepted',
'deadline_recomputed' …) to tell the people concerned; this module never sends anything.

Pauses (⚠ domain §9.4). FY 2023 does not say expressly that 补正 or 中止 time is excluded from
the decision period; FYSS 29 (补正) and FYSS 34 (现场勘验) exclude it, FY 39 "中止 … 恢复审理"
implies it, and XF 36(2) excludes hearing time in 复核. How the clock moves:

- The pause day counts as elapsed; the resume day is a new start day, not counted (C1), and
  the remaining units run from it: ``remaining = count − units in (trigger, pause day]``, then
  ``due = count_period(resume day, remaining)``.
- Calendar-day periods: this equals the old last day moved by the paused calendar days,
  ``trigger + count + (resume − pause)``, then rolled forward off a rest day (C4).
- Working-day periods: the remaining working days are recounted from the resume date on the
  legal calendar, so holidays inside the pause do not shorten the rest of the period.
- Months and years: the unrolled last day moves by the paused calendar days, then C4.
- F5 after 补正 restarts in full from the day the materials arrive: "行政复议机关收到补正材料后，
  依照本法第三十条的规定处理" (FY 31(3)).
- Which rules a reason pauses is data: ``Rule.pausable`` in :mod:`cases.law.deadline_rules` (F5:
  补正; F9/F10/F12/F13: 中止 ⚠ — the whole proceeding stands still; F12/F13 also 补正 and
  勘验; X8: 听证; M5: 鉴定评估).

Extensions (X4 +30 CD, XF 34; F12 +30 CD, FY 62; F7 "合理", no cap; M5/M6 by the parties'
consent, no cap): an approver with an allowed role is required, the total never exceeds the
allowance, and the period must still be running (an extension is decided before it ends).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cases.law.deadline_rules import (
    DeadlineEngine,
)
from cases.procedures.deadline_records import (
    PAUSE_REASONS,
    RUNNING,
    ChangedDeadline,
    ClockError,
    ExtensionChanged,
    actor_role,
    approver_roles,
    check_not_future,
    clock_event,
    deadline_row,
    recount,
    rule_or_none,
)
from cases.store.db import Database, Row, UnitConnection, row_in, rows_in
from cases.store.time import Clock, legal_today, to_db

# -- writes -------------------------------------------------------------------------------------


async def open_deadline(
    conn: UnitConnection,
    case_id: int,
    rule_id: str,
    trigger: date,
    *,
    simplified: bool = False,
    clock: Clock,
    actor_id: int | None = None,
    engine: DeadlineEngine | None = None,
) -> int:
    """Start a rule's clock inside the caller's transaction (e.g. F5 on case submission)."""
    # Only cases/reception/booking.py still opens X2 without one (its split is pending).
    engine = engine if engine is not None else DeadlineEngine()
    deadline = engine.compute(rule_id, trigger, simplified=simplified)
    running = await row_in(
        conn,
        "SELECT id FROM case_deadlines WHERE case_id = ? AND rule_id = ?"
        " AND status IN ('open', 'paused')",
        (case_id, rule_id),
    )
    if running is not None:
        raise ClockError(f"{rule_id} is already running for case {case_id}")
    role = await actor_role(conn, actor_id)
    now = to_db(clock.now())
    cursor = await conn.execute(
        "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, provisional, status,"
        " simplified, unit, count, direction, basis, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            case_id,
            rule_id,
            trigger.isoformat(),
            deadline.due.isoformat(),
            int(deadline.provisional),
            int(simplified),
            deadline.unit.value,
            deadline.count,
            deadline.direction,
            deadline.basis,
            now,
            now,
        ),
    )
    deadline_id = int((await cursor.fetchone())[0])
    await clock_event(
        conn,
        case_id,
        actor_id,
        role,
        "deadline_opened",
        {
            "deadline_id": deadline_id,
            "rule_id": rule_id,
            "trigger_on": trigger.isoformat(),
            "due_on": deadline.due.isoformat(),
            "provisional": deadline.provisional,
            "simplified": simplified,
            "basis": deadline.basis,
        },
        clock,
    )
    return deadline_id


async def pause_case(
    db: Database,
    case_id: int,
    reason: str,
    on: date,
    actor_id: int | None,
    clock: Clock,
    *,
    engine: DeadlineEngine,
) -> list[int]:
    """Stop the running deadlines the reason pauses (``Rule.pausable``); returns their ids."""
    if reason not in PAUSE_REASONS:
        raise ClockError(f"unknown pause reason {reason!r}; known: {sorted(PAUSE_REASONS)}")
    check_not_future(on, clock)
    day = on.isoformat()
    async with db.transaction() as conn:
        role = await actor_role(conn, actor_id)
        rows = await rows_in(
            conn,
            "SELECT * FROM case_deadlines WHERE case_id = ? AND status = 'open'"
            " AND trigger_on <= ? AND due_on >= ? ORDER BY due_on, id",
            (case_id, day, day),
        )
        paused = []
        for row in rows:
            rule = rule_or_none(engine, row["rule_id"])
            if rule is not None and reason in rule.pausable:
                paused.append(row)
        if not paused:
            raise ClockError(f"case {case_id} has no running deadline that {reason} pauses")
        now = to_db(clock.now())
        for row in paused:
            await conn.execute(
                "UPDATE case_deadlines SET status = 'paused', paused_since = ?, updated_at = ?"
                " WHERE id = ?",
                (day, now, row["id"]),
            )
            await conn.execute(
                "INSERT INTO deadline_pauses(deadline_id, case_id, reason, started_on,"
                " started_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row["id"], case_id, reason, day, actor_id, now, now),
            )
        await clock_event(
            conn,
            case_id,
            actor_id,
            role,
            "case_paused",
            {
                "reason": reason,
                "on": day,
                "deadlines": [
                    {"deadline_id": r["id"], "rule_id": r["rule_id"], "due_on": r["due_on"]}
                    for r in paused
                ],
            },
            clock,
        )
    return [r["id"] for r in paused]


async def resume_case(
    db: Database,
    case_id: int,
    on: date,
    actor_id: int | None,
    clock: Clock,
    *,
    engine: DeadlineEngine,
) -> list[ChangedDeadline]:
    """Restart the paused deadlines of a case; each last day moves as the module doc says."""
    check_not_future(on, clock)
    day = on.isoformat()
    changes: list[ChangedDeadline] = []
    async with db.transaction() as conn:
        role = await actor_role(conn, actor_id)
        rows = await rows_in(
            conn,
            "SELECT * FROM case_deadlines WHERE case_id = ? AND status = 'paused' ORDER BY id",
            (case_id,),
        )
        if not rows:
            raise ClockError(f"case {case_id} has no paused deadline")
        now = to_db(clock.now())
        for row in rows:
            paused_since = date.fromisoformat(row["paused_since"])
            if on < paused_since:
                raise ClockError(f"resume date {day} is before the pause ({paused_since})")
            await conn.execute(
                "UPDATE deadline_pauses SET ended_on = ?, ended_by = ?, updated_at = ?"
                " WHERE deadline_id = ? AND ended_on IS NULL",
                (day, actor_id, now, row["id"]),
            )
            new_due, provisional = await recount(conn, row, engine)
            await conn.execute(
                "UPDATE case_deadlines SET status = 'open', paused_since = NULL,"
                " paused_days = paused_days + ?, due_on = ?, provisional = ?, updated_at = ?"
                " WHERE id = ?",
                ((on - paused_since).days, new_due.isoformat(), int(provisional), now, row["id"]),
            )
            changes.append(
                ChangedDeadline(
                    deadline_id=row["id"],
                    case_id=case_id,
                    rule_id=row["rule_id"],
                    old_due=date.fromisoformat(row["due_on"]),
                    new_due=new_due,
                    provisional=provisional,
                )
            )
        await clock_event(
            conn,
            case_id,
            actor_id,
            role,
            "case_resumed",
            {"on": day, "deadlines": [c.model_dump(mode="json") for c in changes]},
            clock,
        )
    return changes


async def extend_deadline(
    db: Database,
    deadline_id: int,
    approver_id: int | None,
    days: int,
    reason: str,
    clock: Clock,
    *,
    engine: DeadlineEngine,
    expected_days: int | None = None,
) -> date:
    """Grant an extension (X4, F12, F7, M5/M6, MA if configured); returns the new last day.

    ``expected_days``: the extension already granted when the approver chose this one; if
    another approver extended in the meantime, ExtensionChanged is raised instead of adding
    both (checked inside the unit of work, so two simultaneous presses cannot both pass).

    The 'deadline_extended' event carries the reason and whom to tell (XF 34: the petitioner
    with the reason; FY 62: the parties in writing).
    """
    if approver_id is None:
        raise ClockError("an extension needs an approver")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ClockError("an extension is a positive whole number of days")
    if not reason or not reason.strip():
        raise ClockError("an extension needs a reason (the citizen is told it)")
    async with db.transaction() as conn:
        row = await deadline_row(conn, deadline_id)
        rule = rule_or_none(engine, row["rule_id"])
        if rule is None or rule.extension is None:
            raise ClockError(f"{row['rule_id']} cannot be extended: the law allows no extension")
        if row["status"] != "open":
            raise ClockError(f"deadline {deadline_id} is {row['status']}, not open")
        if expected_days is not None and row["extension_days"] != expected_days:
            raise ExtensionChanged(f"deadline {deadline_id} was extended in the meantime")
        old_due = date.fromisoformat(row["due_on"])
        if legal_today(clock) > old_due:
            raise ClockError("the period has already ended; it can no longer be extended")
        role = await actor_role(conn, approver_id)
        allowance = rule.extension
        if not await approver_roles(conn, approver_id) & allowance.approver_roles:
            raise ClockError(f"a user with role {role!r} cannot approve this extension")
        total = row["extension_days"] + days
        if allowance.max_count is not None and total > allowance.max_count:
            left = allowance.max_count - row["extension_days"]
            raise ClockError(
                f"{rule.id} may be extended by at most {allowance.max_count} "
                f"{rule.unit.value.replace('_', ' ')}; {left} left"
            )
        extended = dict(row)
        extended["extension_days"] = total
        new_due, provisional = await recount(conn, extended, engine)
        await conn.execute(
            "UPDATE case_deadlines SET extension_days = ?, extended_by = ?, extension_reason = ?,"
            " due_on = ?, provisional = ?, updated_at = ? WHERE id = ?",
            (
                total,
                approver_id,
                reason.strip(),
                new_due.isoformat(),
                int(provisional),
                to_db(clock.now()),
                deadline_id,
            ),
        )
        await clock_event(
            conn,
            row["case_id"],
            approver_id,
            role,
            "deadline_extended",
            {
                "deadline_id": deadline_id,
                "rule_id": rule.id,
                "old_due": old_due.isoformat(),
                "new_due": new_due.isoformat(),
                "days": days,
                "unit": rule.unit.value,
                "extension_total": total,
                "extension_max": allowance.max_count,
                "reason": reason.strip(),
                "approver_id": approver_id,
                "tell": allowance.tell,
                "provisional": provisional,
                "basis": row["basis"],
            },
            clock,
        )
    return new_due


async def close_row(
    conn: UnitConnection,
    row: Row,
    status: str,
    kind: str,
    actor_id: int | None,
    role: str,
    on: date,
    clock: Clock,
    extra: dict[str, Any],
) -> None:
    now = to_db(clock.now())
    await conn.execute(
        "UPDATE deadline_pauses SET ended_on = max(started_on, ?), ended_by = ?,"
        " updated_at = ? WHERE deadline_id = ? AND ended_on IS NULL",
        (on.isoformat(), actor_id, now, row["id"]),
    )
    await conn.execute(
        "UPDATE case_deadlines SET status = ?, paused_since = NULL, closed_on = ?,"
        " closed_by = ?, updated_at = ? WHERE id = ?",
        (status, on.isoformat(), actor_id, now, row["id"]),
    )
    await clock_event(
        conn,
        row["case_id"],
        actor_id,
        role,
        kind,
        {
            "deadline_id": row["id"],
            "rule_id": row["rule_id"],
            "due_on": row["due_on"],
            "on": on.isoformat(),
            **extra,
        },
        clock,
    )


async def close_deadline(
    db: Database,
    deadline_id: int,
    status: str,
    kind: str,
    actor_id: int | None,
    on: date,
    clock: Clock,
    extra: dict[str, Any],
    also: tuple[str, ...] = (),
) -> None:
    async with db.transaction() as conn:
        row = await deadline_row(conn, deadline_id)
        if row["status"] not in (*RUNNING, *also):
            raise ClockError(f"deadline {deadline_id} is already {row['status']}")
        role = await actor_role(conn, actor_id)
        await close_row(conn, row, status, kind, actor_id, role, on, clock, extra)


async def mark_met(
    db: Database,
    deadline_id: int,
    actor_id: int | None,
    on: date,
    clock: Clock,
    *,
    late_ok: bool = False,
) -> None:
    """The act was done on ``on`` (the event records whether that was after the last day).
    ``late_ok``: a clock the scheduler already marked missed may be met late (the
    respondent's reply after F10: its chase-up stops, the lateness stays on record)."""
    check_not_future(on, clock)
    row = await db.fetch_one("SELECT due_on FROM case_deadlines WHERE id = ?", (deadline_id,))
    late = row is not None and on.isoformat() > row["due_on"]
    await close_deadline(
        db,
        deadline_id,
        "met",
        "deadline_met",
        actor_id,
        on,
        clock,
        {"late": late},
        also=("missed",) if late_ok else (),
    )


async def cancel_deadline(
    db: Database, deadline_id: int, actor_id: int | None, reason: str, clock: Clock
) -> None:
    """The period no longer runs (application withdrawn, case diverted, 终止 …)."""
    if not reason or not reason.strip():
        raise ClockError("cancelling a deadline needs a reason")
    today = legal_today(clock)
    await close_deadline(
        db,
        deadline_id,
        "cancelled",
        "deadline_cancelled",
        actor_id,
        today,
        clock,
        {"reason": reason.strip()},
    )


async def cancel_case_deadlines(
    conn: UnitConnection,
    case_id: int,
    *,
    reason: str,
    actor_id: int | None,
    clock: Clock,
) -> list[int]:
    """Stop every running clock of a case inside the caller's transaction (withdrawal,
    diversion to another procedure, 终止); open pauses are closed too. Returns the ids."""
    role = await actor_role(conn, actor_id)
    today = legal_today(clock)
    rows = await rows_in(
        conn,
        "SELECT * FROM case_deadlines WHERE case_id = ? AND status IN ('open', 'paused')"
        " ORDER BY id",
        (case_id,),
    )
    for row in rows:
        await close_row(
            conn,
            row,
            "cancelled",
            "deadline_cancelled",
            actor_id,
            role,
            today,
            clock,
            {"reason": reason},
        )
    return [row["id"] for row in rows]
