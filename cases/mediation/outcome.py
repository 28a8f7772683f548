"""The outcome of a mediation, and the follow-up visit (回访) after an agreement.

Agreement and failure are rows of the transition table (cases/procedures/transitions.py:
``agreed`` settles the case and starts M1, the 30-day window for a joint application for
court confirmation, 民事诉讼法 Art 205; ``failed`` closes it and the applicant's notice names
the routes that remain). This module adds what the table does not know: the agreement's main
terms, the other party's notice and M1 reminders (the planner reminds the applicant and the
mediator), and the follow-up visit due some days after the agreement, reminded to the mediator,
who records whether the agreement was kept (case event ``mediation_followup``, counted by the
statistics).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from cases.law.calendar import LegalCalendar
from cases.mediation.common import (
    BROKEN_BUTTON,
    KEPT_BUTTON,
    MAX_NOTE,
    MAX_TERMS,
    OPEN_BUTTON,
    MediationCase,
    MediationSettings,
    Outbox,
    Outgoing,
    Result,
    acts_as_mediator,
    load_case,
    mediators,
)
from cases.mediation.ending import morning, wind_up
from cases.org.users import User
from cases.procedures.actions import CaseActions, Outcome
from cases.procedures.history import append_event
from cases.procedures.statuses import CaseStatus
from cases.store.db import Database, UnitConnection, row_in
from cases.store.time import Clock, legal_today, to_db


class OutcomeService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        outbox: Outbox,
        actions: CaseActions,
        settings: MediationSettings,
        calendar: LegalCalendar,
        *,
        m1_days_before: Sequence[int],
    ) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        self._actions = actions
        self._settings = settings
        self._calendar = calendar
        self._m1_days_before = tuple(m1_days_before)

    async def outcome(self, case_id: int) -> dict[str, Any] | None:
        row = await self._db.fetch_one(
            "SELECT * FROM mediation_outcomes WHERE case_id = ?", (case_id,)
        )
        return dict(row) if row is not None else None

    async def _authorised(self, case_id: int, user: User) -> MediationCase | None:
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
        return case if case is not None and acts_as_mediator(user, case) else None

    async def agree(self, case_id: int, user: User, terms: str) -> tuple[Result, dict[str, Any]]:
        """The agreement with its main terms. Returns the facts of the transition
        (``confirm_due``: the M1 last day) for the mediator's confirmation."""
        case = await self._authorised(case_id, user)
        if case is None:
            return Result.not_allowed, {}
        if case.status is CaseStatus.settled:
            # Settled from the staff case page ("agreement reached"), which records no terms:
            # the terms, the other party's notices and the follow-up visit are added now.
            m1 = await self._db.fetch_one(
                "SELECT due_on, provisional FROM case_deadlines WHERE case_id = ?"
                " AND rule_id = 'M1' ORDER BY id DESC",
                (case_id,),
            )
            if m1 is None:
                return Result.already, {}
            facts = {"confirm_due": m1["due_on"], "provisional": bool(m1["provisional"])}
        else:
            result = await self._actions.mediation_outcome(case_id, user, agreed=True)
            if result.outcome is Outcome.not_allowed:
                return Result.not_allowed, {}
            if result.outcome is not Outcome.done:
                return Result.already, {}
            facts = dict(result.facts)
        now = self._clock.now()
        today = legal_today(self._clock)
        followup_on = self._calendar.add_calendar_days(today, self._settings.followup_days).day
        confirm_due = date.fromisoformat(str(facts["confirm_due"]))
        async with self._db.transaction() as conn:
            inserted = await conn.execute(
                "INSERT INTO mediation_outcomes(case_id, agreed, terms, ended_on, recorded_by,"
                " followup_due_on) VALUES (?, 1, ?, ?, ?, ?) ON CONFLICT(case_id) DO NOTHING",
                (
                    case_id,
                    terms.strip()[:MAX_TERMS],
                    today.isoformat(),
                    user.telegram_id,
                    followup_on.isoformat(),
                ),
            )
            if inserted.rowcount != 1:
                return Result.already, {}
            await append_event(
                conn,
                case_id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_terms",
                detail={"terms": terms.strip()[:MAX_TERMS], "followup_due_on": str(followup_on)},
            )
            # Sessions still to come are called off; the other party hears of the agreement
            # and of M1 (once, also when the staff case page recorded it first).
            await wind_up(
                conn,
                self._outbox,
                case_id,
                now,
                today,
                m1_days_before=self._m1_days_before,
            )
            facts = {
                "ended_on": today.isoformat(),
                "confirm_due": confirm_due.isoformat(),
                "provisional": bool(facts.get("provisional")),
            }
            await self._plan_followup(conn, case, followup_on, now)
        return Result.done, facts

    async def fail(self, case_id: int, user: User) -> Result:
        """No agreement: the case closes (the applicant is told the routes by the table's
        notice), pending session messages stop, the other party is told."""
        case = await self._authorised(case_id, user)
        if case is None:
            return Result.not_allowed
        result = await self._actions.mediation_outcome(case_id, user, agreed=False)
        if result.outcome is Outcome.not_allowed:
            return Result.not_allowed
        if result.outcome is not Outcome.done:
            return Result.already
        now = self._clock.now()
        today = legal_today(self._clock)
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO mediation_outcomes(case_id, agreed, ended_on, recorded_by)"
                " VALUES (?, 0, ?, ?) ON CONFLICT(case_id) DO NOTHING",
                (case_id, today.isoformat(), user.telegram_id),
            )
            await wind_up(
                conn, self._outbox, case_id, now, today, m1_days_before=self._m1_days_before
            )
        return Result.done

    async def record_followup(
        self, case_id: int, user: User, *, kept: bool, note: str | None
    ) -> Result:
        """The follow-up visit: whether the agreement was kept. Once per case."""
        now = self._clock.now()
        note = note.strip()[:MAX_NOTE] if note and note.strip() else None
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
            if case is None or not acts_as_mediator(user, case):
                return Result.not_allowed
            outcome = await row_in(
                conn, "SELECT agreed FROM mediation_outcomes WHERE case_id = ?", (case_id,)
            )
            if outcome is None or not outcome["agreed"]:
                return Result.closed
            cursor = await conn.execute(
                "UPDATE mediation_outcomes SET followup_at = ?, followup_by = ?,"
                " followup_kept = ?, followup_note = ?"
                " WHERE case_id = ? AND agreed = 1 AND followup_at IS NULL",
                (to_db(now), user.telegram_id, int(kept), note, case_id),
            )
            if cursor.rowcount != 1:
                return Result.already
            await append_event(
                conn,
                case_id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_followup",
                detail={"kept": kept, "note": note},
            )
            await self._outbox.cancel(conn, f"med:{case_id}:followup:", now)
        return Result.done

    async def _plan_followup(
        self, conn: UnitConnection, case: MediationCase, day: date, now: datetime
    ) -> None:
        for person in await mediators(conn, case):
            await self._outbox.queue(
                conn,
                Outgoing(
                    f"med:{case.id}:followup:{day.isoformat()}:{person.chat_id}",
                    person,
                    case,
                    "followup_due",
                    {"due_on": day.isoformat()},
                    (
                        (KEPT_BUTTON, "kept", case.id, 0),
                        (BROKEN_BUTTON, "broken", case.id, 0),
                        (OPEN_BUTTON, "open", case.id, 0),
                    ),
                    due_at=morning(day),
                    reminder=True,
                ),
                now,
            )
