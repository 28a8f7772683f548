"""A case's deadlines as records: the models, the errors, the pure last-day computation of a
clock with pauses (``clock_due``), the row helpers the writes share, and the reads.

The pause and extension rules are described in :mod:`cases.procedures.case_clocks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, get_args

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict

from cases.law.calendar import Counted, LegalCalendar
from cases.law.deadline_rules import (
    RECONSIDERATION_HEAD,
    ROOM_LEAD,
    DeadlineEngine,
    Direction,
    PauseReason,
    Rule,
    Unit,
    UnknownRule,
    count_period,
)
from cases.procedures.history import append_event
from cases.store.db import Database, Row, UnitConnection, row_in, rows_in
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


async def actor_role(conn: UnitConnection, actor_id: int | None) -> str:
    if actor_id is None:
        return "system"
    row = await row_in(conn, "SELECT role FROM users WHERE telegram_id = ?", (actor_id,))
    if row is None:
        raise ClockError(f"unknown user {actor_id}")
    return str(row["role"])


async def approver_roles(conn: UnitConnection, actor_id: int | None) -> set[str]:
    """The person's role, and ``reconsideration_head`` for the flagged head of the 复议机构,
    ``room_lead`` for the flagged lead of a mediation room (MA)."""
    role = await actor_role(conn, actor_id)
    roles = {role}
    if role == "mediator":
        row = await row_in(conn, "SELECT leads_room FROM users WHERE telegram_id = ?", (actor_id,))
        if row is not None and row[0]:
            roles.add(ROOM_LEAD)
    if role == "office_staff":
        row = await row_in(
            conn, "SELECT heads_reconsideration FROM users WHERE telegram_id = ?", (actor_id,)
        )
        if row is not None and row[0]:
            roles.add(RECONSIDERATION_HEAD)
    return roles


async def clock_event(
    conn: UnitConnection,
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


async def closed_pauses(conn: UnitConnection, deadline_id: int) -> list[PauseInterval]:
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


def rule_or_none(engine: DeadlineEngine, rule_id: str) -> Rule | None:
    try:
        return engine.rule(rule_id)
    except UnknownRule:
        return None


async def recount(
    conn: UnitConnection, row: Row | Mapping[str, Any], engine: DeadlineEngine
) -> Counted:
    """The row's last day from its stored period, pauses and extensions (not from settings)."""
    rule = rule_or_none(engine, row["rule_id"])
    return clock_due(
        engine.calendar,
        Unit(row["unit"]),
        row["count"],
        date.fromisoformat(row["trigger_on"]),
        direction=row["direction"],
        extension=row["extension_days"],
        pauses=await closed_pauses(conn, row["id"]),
        restart_on=rule.restart_on_resume if rule else (),
    )


async def deadline_row(conn: UnitConnection, deadline_id: int) -> Row:
    row = await row_in(conn, "SELECT * FROM case_deadlines WHERE id = ?", (deadline_id,))
    if row is None:
        raise ClockError(f"no deadline {deadline_id}")
    return row


def check_not_future(on: date, clock: Clock) -> None:
    if on > legal_today(clock):
        raise ClockError(f"{on.isoformat()} is in the future")


# -- reads --------------------------------------------------------------------------------------


def deadline_model(row: Row, engine: DeadlineEngine) -> CaseDeadline:
    rule = rule_or_none(engine, row["rule_id"])
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
    return None if row is None else deadline_model(row, engine)


async def open_deadlines(db: Database, case_id: int, engine: DeadlineEngine) -> list[CaseDeadline]:
    """Running deadlines of a case (open and paused), soonest first."""
    rows = await db.fetch_all(
        "SELECT * FROM case_deadlines WHERE case_id = ? AND status IN ('open', 'paused')"
        " ORDER BY due_on, id",
        (case_id,),
    )
    return [deadline_model(row, engine) for row in rows]


async def next_deadline(db: Database, case_id: int, engine: DeadlineEngine) -> CaseDeadline | None:
    """The open deadline due first (a paused one has no running last day)."""
    row = await db.fetch_one(
        "SELECT * FROM case_deadlines WHERE case_id = ? AND status = 'open'"
        " ORDER BY due_on, id LIMIT 1",
        (case_id,),
    )
    return None if row is None else deadline_model(row, engine)
