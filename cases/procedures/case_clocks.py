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

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, get_args

import aiosqlite
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict

from cases.law.calendar import Counted, LegalCalendar
from cases.law.deadline_rules import (
    RECONSIDERATION_HEAD,
    DeadlineEngine,
    Direction,
    PauseReason,
    Rule,
    Unit,
    UnknownRule,
    count_period,
)
from cases.procedures.history import append_event
from cases.store.db import Database, row_in, rows_in
from cases.store.time import Clock, legal_today, to_db

PAUSE_REASONS: frozenset[str] = frozenset(get_args(PauseReason))
RUNNING = ("open", "paused")


class ClockError(ValueError):
    """A clock operation the law or the case's state does not allow; the message says why."""


class ExtensionChanged(ClockError):
    """Another approver extended this period since the extension was chosen."""


@dataclass(frozen=True, slots=True)
class PauseInterval:
    started_on: date
    ended_on: date
    reason: str


class CaseDeadline(BaseModel):
    """A stored deadline, as the handlers and the scheduler read it."""

    model_config = ConfigDict(frozen=True)

    id: int
    case_id: int
    rule_id: str
    title: str  # English msgid; translate where shown
    actor: str
    trigger_on: date
    due_on: date
    provisional: bool
    status: str
    simplified: bool
    unit: Unit
    count: int
    direction: Direction
    basis: str
    paused_since: date | None
    paused_days: int
    extension_days: int


class ChangedDeadline(BaseModel):
    """A deadline whose last day moved: tell whoever must act (and the citizen)."""

    model_config = ConfigDict(frozen=True)

    deadline_id: int
    case_id: int
    rule_id: str
    old_due: date
    new_due: date
    provisional: bool


# -- the pure part ------------------------------------------------------------------------------


def clock_due(
    calendar: LegalCalendar,
    unit: Unit,
    count: int,
    trigger: date,
    *,
    direction: Direction = "after",
    extension: int = 0,
    pauses: Sequence[PauseInterval] = (),
    restart_on: Iterable[str] = (),
) -> Counted:
    """The last day of a period with closed pauses and granted extensions (see module doc)."""
    total = count + extension
    if direction == "before" or not pauses:
        return count_period(calendar, unit, trigger, total, direction)
    ordered = sorted(pauses, key=lambda p: (p.started_on, p.ended_on))
    if unit in (Unit.MONTHS, Unit.YEARS):
        delta = relativedelta(months=total) if unit is Unit.MONTHS else relativedelta(years=total)
        shift = sum((p.ended_on - p.started_on).days for p in ordered)
        return calendar.roll_forward(trigger + delta + timedelta(days=shift))
    restart = frozenset(restart_on)
    position, remaining, provisional = trigger, total, False
    for pause in ordered:
        if pause.reason in restart:
            remaining = total
        elif unit is Unit.WORKING_DAYS:
            used = calendar.workdays_between(position, pause.started_on)
            provisional = provisional or any(
                not calendar.covers(date(y, 1, 1))
                for y in range(position.year, pause.started_on.year + 1)
            )
            remaining = max(0, remaining - used)
        else:
            remaining = max(0, remaining - (pause.started_on - position).days)
        position = max(position, pause.ended_on)
    if remaining == 0:
        day, late_provisional = calendar.roll_forward(position)
    else:
        day, late_provisional = count_period(calendar, unit, position, remaining)
    return Counted(day, provisional or late_provisional)


# -- helpers ------------------------------------------------------------------------------------


async def _actor_role(conn: aiosqlite.Connection, actor_id: int | None) -> str:
    if actor_id is None:
        return "system"
    row = await row_in(conn, "SELECT role FROM users WHERE telegram_id = ?", (actor_id,))
    if row is None:
        raise ClockError(f"unknown user {actor_id}")
    return str(row["role"])


async def _approver_roles(conn: aiosqlite.Connection, actor_id: int | None) -> set[str]:
    """The person's role, and ``reconsideration_head`` for the flagged head of the 复议机构."""
    role = await _actor_role(conn, actor_id)
    roles = {role}
    if role == "office_staff":
        row = await row_in(
            conn, "SELECT heads_reconsideration FROM users WHERE telegram_id = ?", (actor_id,)
        )
        if row is not None and row[0]:
            roles.add(RECONSIDERATION_HEAD)
    return roles


async def _event(
    conn: aiosqlite.Connection,
    case_id: int,
    actor_id: int | None,
    actor_role: str,
    kind: str,
    detail: dict[str, Any],
    clock: Clock,
) -> None:
    await append_event(
        conn,
        case_id,
        at=to_db(clock.now()),
        actor_id=actor_id,
        actor_role=actor_role,
        kind=kind,
        detail=detail,
    )


async def _closed_pauses(conn: aiosqlite.Connection, deadline_id: int) -> list[PauseInterval]:
    rows = await rows_in(
        conn,
        "SELECT started_on, ended_on, reason FROM deadline_pauses"
        " WHERE deadline_id = ? AND ended_on IS NOT NULL ORDER BY started_on, id",
        (deadline_id,),
    )
    return [
        PauseInterval(date.fromisoformat(r["started_on"]), date.fromisoformat(r["ended_on"]), r[2])
        for r in rows
    ]


def _rule_or_none(engine: DeadlineEngine, rule_id: str) -> Rule | None:
    try:
        return engine.rule(rule_id)
    except UnknownRule:
        return None


async def _recount(
    conn: aiosqlite.Connection, row: sqlite3.Row | Mapping[str, Any], engine: DeadlineEngine
) -> Counted:
    """The row's last day from its stored period, pauses and extensions (not from settings)."""
    rule = _rule_or_none(engine, row["rule_id"])
    return clock_due(
        engine.calendar,
        Unit(row["unit"]),
        row["count"],
        date.fromisoformat(row["trigger_on"]),
        direction=row["direction"],
        extension=row["extension_days"],
        pauses=await _closed_pauses(conn, row["id"]),
        restart_on=rule.restart_on_resume if rule else (),
    )


async def _deadline_row(conn: aiosqlite.Connection, deadline_id: int) -> sqlite3.Row:
    row = await row_in(conn, "SELECT * FROM case_deadlines WHERE id = ?", (deadline_id,))
    if row is None:
        raise ClockError(f"no deadline {deadline_id}")
    return row


def _check_not_future(on: date, clock: Clock) -> None:
    if on > legal_today(clock):
        raise ClockError(f"{on.isoformat()} is in the future")


# -- writes -------------------------------------------------------------------------------------


async def open_deadline(
    conn: aiosqlite.Connection,
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
    role = await _actor_role(conn, actor_id)
    now = to_db(clock.now())
    cursor = await conn.execute(
        "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, provisional, status,"
        " simplified, unit, count, direction, basis, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)",
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
    deadline_id = cursor.lastrowid
    assert deadline_id is not None
    await _event(
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
    _check_not_future(on, clock)
    day = on.isoformat()
    async with db.transaction() as conn:
        role = await _actor_role(conn, actor_id)
        rows = await rows_in(
            conn,
            "SELECT * FROM case_deadlines WHERE case_id = ? AND status = 'open'"
            " AND trigger_on <= ? AND due_on >= ? ORDER BY due_on, id",
            (case_id, day, day),
        )
        paused = []
        for row in rows:
            rule = _rule_or_none(engine, row["rule_id"])
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
        await _event(
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
    _check_not_future(on, clock)
    day = on.isoformat()
    changes: list[ChangedDeadline] = []
    async with db.transaction() as conn:
        role = await _actor_role(conn, actor_id)
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
            new_due, provisional = await _recount(conn, row, engine)
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
        await _event(
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
        row = await _deadline_row(conn, deadline_id)
        rule = _rule_or_none(engine, row["rule_id"])
        if rule is None or rule.extension is None:
            raise ClockError(f"{row['rule_id']} cannot be extended: the law allows no extension")
        if row["status"] != "open":
            raise ClockError(f"deadline {deadline_id} is {row['status']}, not open")
        if expected_days is not None and row["extension_days"] != expected_days:
            raise ExtensionChanged(f"deadline {deadline_id} was extended in the meantime")
        old_due = date.fromisoformat(row["due_on"])
        if legal_today(clock) > old_due:
            raise ClockError("the period has already ended; it can no longer be extended")
        role = await _actor_role(conn, approver_id)
        allowance = rule.extension
        if not await _approver_roles(conn, approver_id) & allowance.approver_roles:
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
        new_due, provisional = await _recount(conn, extended, engine)
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
        await _event(
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


async def _close_row(
    conn: aiosqlite.Connection,
    row: sqlite3.Row,
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
    await _event(
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


async def _close(
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
        row = await _deadline_row(conn, deadline_id)
        if row["status"] not in (*RUNNING, *also):
            raise ClockError(f"deadline {deadline_id} is already {row['status']}")
        role = await _actor_role(conn, actor_id)
        await _close_row(conn, row, status, kind, actor_id, role, on, clock, extra)


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
    _check_not_future(on, clock)
    row = await db.fetch_one("SELECT due_on FROM case_deadlines WHERE id = ?", (deadline_id,))
    late = row is not None and on.isoformat() > row["due_on"]
    await _close(
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
    await _close(
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
    conn: aiosqlite.Connection,
    case_id: int,
    *,
    reason: str,
    actor_id: int | None,
    clock: Clock,
) -> list[int]:
    """Stop every running clock of a case inside the caller's transaction (withdrawal,
    diversion to another procedure, 终止); open pauses are closed too. Returns the ids."""
    role = await _actor_role(conn, actor_id)
    today = legal_today(clock)
    rows = await rows_in(
        conn,
        "SELECT * FROM case_deadlines WHERE case_id = ? AND status IN ('open', 'paused')"
        " ORDER BY id",
        (case_id,),
    )
    for row in rows:
        await _close_row(
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
            await _event(
                conn,
                case_id,
                None,
                "system",
                "deadline_missed",
                {"deadline_id": row["id"], "rule_id": "F5", "due_on": due_on},
                clock,
            )
            await _event(
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
            new_due, provisional = await _recount(conn, row, engine)
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
            await _event(
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


# -- reads --------------------------------------------------------------------------------------


def _model(row: sqlite3.Row, engine: DeadlineEngine) -> CaseDeadline:
    rule = _rule_or_none(engine, row["rule_id"])
    return CaseDeadline(
        id=row["id"],
        case_id=row["case_id"],
        rule_id=row["rule_id"],
        title=rule.title if rule else row["rule_id"],
        actor=rule.actor if rule else "",
        trigger_on=date.fromisoformat(row["trigger_on"]),
        due_on=date.fromisoformat(row["due_on"]),
        provisional=bool(row["provisional"]),
        status=row["status"],
        simplified=bool(row["simplified"]),
        unit=Unit(row["unit"]),
        count=row["count"],
        direction=row["direction"],
        basis=row["basis"],
        paused_since=date.fromisoformat(row["paused_since"]) if row["paused_since"] else None,
        paused_days=row["paused_days"],
        extension_days=row["extension_days"],
    )


async def get_deadline(
    db: Database, deadline_id: int, engine: DeadlineEngine
) -> CaseDeadline | None:
    row = await db.fetch_one("SELECT * FROM case_deadlines WHERE id = ?", (deadline_id,))
    return None if row is None else _model(row, engine)


async def open_deadlines(db: Database, case_id: int, engine: DeadlineEngine) -> list[CaseDeadline]:
    """Running deadlines of a case (open and paused), soonest first."""
    rows = await db.fetch_all(
        "SELECT * FROM case_deadlines WHERE case_id = ? AND status IN ('open', 'paused')"
        " ORDER BY due_on, id",
        (case_id,),
    )
    return [_model(row, engine) for row in rows]


async def next_deadline(db: Database, case_id: int, engine: DeadlineEngine) -> CaseDeadline | None:
    """The open deadline due first (a paused one has no running last day)."""
    row = await db.fetch_one(
        "SELECT * FROM case_deadlines WHERE case_id = ? AND status = 'open'"
        " ORDER BY due_on, id LIMIT 1",
        (case_id,),
    )
    return None if row is None else _model(row, engine)
