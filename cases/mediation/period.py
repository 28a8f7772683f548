"""The county's mediation period (rule MA) and its one extension.

MA is a clock like the others (cases/law/deadline_rules.py: the county's rule, not a statute;
30 calendar days from acceptance by default): the planner reminds the mediator and the digest
lists it when due or overdue. The mediator may ask once to extend it, with a reason; only the
lead of the case's room (``users.leads_room``) approves or refuses. The extension is granted
whole (the setting's figure) and once: one request row per case, and the clock's own guard
(``extend_deadline`` with ``expected_days=0``) refuses a second grant.
"""

from __future__ import annotations

from datetime import datetime

from cases.law.deadline_rules import DeadlineEngine
from cases.mediation.common import (
    APPROVE_BUTTON,
    MAX_REASON,
    OPEN_BUTTON,
    REFUSE_BUTTON,
    MediationCase,
    Outbox,
    Outgoing,
    Result,
    acts_as_mediator,
    everyone,
    is_room_lead,
    load_case,
    mediators,
    room_leads,
)
from cases.org.users import User
from cases.procedures.case_clocks import ClockError, ExtensionChanged, extend_deadline
from cases.procedures.deadline_records import CaseDeadline, open_deadlines
from cases.procedures.history import append_event
from cases.store.db import Database, UnitConnection, row_in
from cases.store.time import Clock, legal_today, to_db

PERIOD_RULE = "MA"


class PeriodService:
    def __init__(self, db: Database, clock: Clock, outbox: Outbox, engine: DeadlineEngine) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        self._engine = engine

    @property
    def engine(self) -> DeadlineEngine:
        return self._engine

    async def running(self, case_id: int) -> CaseDeadline | None:
        for deadline in await open_deadlines(self._db, case_id, self.engine):
            if deadline.rule_id == PERIOD_RULE and deadline.status == "open":
                return deadline
        return None

    def extension_days(self) -> int | None:
        allowance = self.engine.rule(PERIOD_RULE).extension
        return allowance.max_count if allowance is not None else None

    async def request(self, case_id: int) -> dict[str, object] | None:
        row = await self._db.fetch_one(
            "SELECT * FROM mediation_extensions WHERE case_id = ?", (case_id,)
        )
        return dict(row) if row is not None else None

    async def request_extension(self, case_id: int, user: User, reason: str) -> Result:
        now = self._clock.now()
        days = self.extension_days()
        deadline = await self.running(case_id)
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
            if case is None or not acts_as_mediator(user, case):
                return Result.not_allowed
            if not case.running or deadline is None or not days or deadline.extension_days:
                return Result.closed
            if legal_today(self._clock) > deadline.due_on:
                return Result.period_ended  # an ended period is not extended (the clock's rule)
            leads = await room_leads(conn, case)
            if not leads:
                return Result.no_lead
            cursor = await conn.execute(
                "INSERT INTO mediation_extensions(case_id, days, reason, requested_by,"
                " requested_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(case_id) DO NOTHING",
                (case_id, days, reason.strip()[:MAX_REASON], user.telegram_id, to_db(now)),
            )
            if cursor.rowcount != 1:
                return Result.already
            await append_event(
                conn,
                case_id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_extension_requested",
                detail={"days": days, "reason": reason.strip()[:MAX_REASON]},
            )
            params = {
                "days": days,
                "reason": reason.strip()[:MAX_REASON],
                "due_on": deadline.due_on.isoformat(),
            }
            for lead in leads:
                await self._outbox.queue(
                    conn,
                    Outgoing(
                        f"med:{case_id}:ext:ask:{lead.chat_id}",
                        lead,
                        case,
                        "extension_requested",
                        params,
                        (
                            (APPROVE_BUTTON, "approve", case_id, 0),
                            (REFUSE_BUTTON, "refuse_ext", case_id, 0),
                            (OPEN_BUTTON, "open", case_id, 0),
                        ),
                    ),
                    now,
                )
        return Result.done

    async def decide(self, case_id: int, user: User, *, approve: bool) -> Result:
        """The room lead's answer. Anyone else, a lead of another room included, is refused."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
            if case is None or not is_room_lead(user, case):
                return Result.not_allowed
            pending = await row_in(
                conn,
                "SELECT * FROM mediation_extensions WHERE case_id = ? AND status = 'pending'",
                (case_id,),
            )
        if pending is None:
            return Result.already
        new_due = None
        if approve:
            # Two units: the clock, then the request. A press interrupted between them (or a
            # second lead's press) finds the clock extended and completes the request.
            deadline = await self.running(case_id)
            if deadline is None:
                return Result.closed
            if not deadline.extension_days:
                if legal_today(self._clock) > deadline.due_on:
                    return await self._lapse(case, user, now)
                try:
                    await extend_deadline(
                        self._db,
                        deadline.id,
                        user.telegram_id,
                        int(pending["days"]),
                        str(pending["reason"]),
                        self._clock,
                        engine=self.engine,
                        expected_days=0,
                    )
                except ExtensionChanged:
                    pass  # extended in the meantime by the same request's approval
                except ClockError:
                    return Result.closed
                deadline = await self.running(case_id)
                if deadline is None or not deadline.extension_days:
                    return Result.closed
            new_due = deadline.due_on
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE mediation_extensions SET status = ?, decided_by = ?, decided_at = ?"
                " WHERE case_id = ? AND status = 'pending'"
                # A refusal cannot overtake an approval whose clock step is already done.
                + (
                    ""
                    if approve
                    else " AND NOT EXISTS (SELECT 1 FROM case_deadlines WHERE case_id = ?"
                    " AND rule_id = 'MA' AND extension_days > 0)"
                ),
                ("approved" if approve else "refused", user.telegram_id, to_db(now), case_id)
                + (() if approve else (case_id,)),
            )
            if cursor.rowcount != 1:
                return Result.already
            if not approve:
                await append_event(
                    conn,
                    case_id,
                    at=to_db(now),
                    actor_id=user.telegram_id,
                    actor_role=user.role.value,
                    kind="mediation_extension_refused",
                    detail={"days": int(pending["days"])},
                )
            await self._outbox.cancel(conn, f"med:{case_id}:ext:ask:", now)
            await self._tell(conn, case, approve, new_due.isoformat() if new_due else None, now)
        return Result.done

    async def _lapse(self, case: MediationCase, user: User, now: datetime) -> Result:
        """The period ended before the lead decided: the request lapses (it can no longer be
        granted), the mediator is told, and the lead's buttons stop."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE mediation_extensions SET status = 'lapsed', decided_by = ?,"
                " decided_at = ? WHERE case_id = ? AND status = 'pending'",
                (user.telegram_id, to_db(now), case.id),
            )
            if cursor.rowcount != 1:
                return Result.already
            await self._outbox.cancel(conn, f"med:{case.id}:ext:ask:", now)
            for person in await mediators(conn, case):
                await self._outbox.queue(
                    conn,
                    Outgoing(
                        f"med:{case.id}:ext:lapsed:{person.chat_id}",
                        person,
                        case,
                        "ext_lapsed",
                        buttons=((OPEN_BUTTON, "open", case.id, 0),),
                    ),
                    now,
                )
        return Result.period_ended

    async def _tell(
        self,
        conn: UnitConnection,
        case: MediationCase,
        approve: bool,
        new_due: str | None,
        now: datetime,
    ) -> None:
        if not approve:
            for person in await mediators(conn, case):
                await self._outbox.queue(
                    conn,
                    Outgoing(
                        f"med:{case.id}:ext:no:{person.chat_id}", person, case, "ext_refused"
                    ),
                    now,
                )
            return
        for person in await everyone(conn, case):
            await self._outbox.queue(
                conn,
                Outgoing(
                    f"med:{case.id}:ext:yes:{person.chat_id}",
                    person,
                    case,
                    "period_extended",
                    {"due_on": new_due},
                ),
                now,
            )
