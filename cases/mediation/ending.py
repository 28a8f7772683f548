"""Winding up a mediation that ended, wherever the end was recorded.

A mediation ends by its own buttons (agreement, no agreement, refusal), but also on the staff
case page ("agreement reached" / "no agreement"), by the applicant's withdrawal, or half-way
when a unit of work was interrupted after the case's status changed. Whatever the path, the
same things must follow, once: the sessions still to come are called off with their pending
notices and reminders (nobody sets out for a session that will not take place), and the other
party who joined is told how it ended (after an agreement with the 30-day window for court
confirmation and its reminders; after a withdrawal the mediators are told too).

The services call :func:`wind_up` inside the unit of work that records the outcome; the tick
step :meth:`Ending.sweep` (run before every send) winds up the ends recorded elsewhere.
``mediation_parties.wound_up_at`` is the compare-and-set: whoever gets there first tells.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from cases.mediation.common import (
    MEDIATION_OPEN,
    MediationCase,
    Outbox,
    Outgoing,
    Person,
    Side,
    load_case,
    mediators,
    parties,
)
from cases.procedures.statuses import CaseStatus
from cases.store.db import Database, UnitConnection, row_in, rows_in
from cases.store.time import LEGAL_TZ, Clock, legal_today, to_db

REMIND_AT = time(8, 30)
"""Day-based reminders go out in the morning, as the planner's do."""


def morning(day: date) -> datetime:
    return datetime.combine(day, REMIND_AT, LEGAL_TZ)


async def wind_up(
    conn: UnitConnection,
    outbox: Outbox,
    case_id: int,
    now: datetime,
    today: date,
    *,
    m1_days_before: Sequence[int],
) -> bool:
    """Inside the caller's unit of work, for a case no longer running: call off the sessions
    still to come, and (once per case) stop the pending mediation messages and tell the other
    party how it ended. True when this call did the telling."""
    case = await load_case(conn, case_id)
    if case is None or case.status in MEDIATION_OPEN:
        return False
    stamp = to_db(now)
    called_off = await conn.execute(
        "UPDATE mediation_sessions SET status = 'cancelled', updated_at = ?"
        " WHERE case_id = ? AND status = 'scheduled' AND starts_at > ?",
        (stamp, case_id, stamp),
    )
    await outbox.cancel(conn, f"med:{case_id}:ses:", now)
    await conn.execute(
        "INSERT INTO mediation_parties(case_id, updated_at) VALUES (?, ?)"
        " ON CONFLICT(case_id) DO NOTHING",
        (case_id, stamp),
    )
    won = await conn.execute(
        "UPDATE mediation_parties SET wound_up_at = ?, updated_at = ?"
        " WHERE case_id = ? AND wound_up_at IS NULL",
        (stamp, stamp, case_id),
    )
    if won.rowcount != 1:
        return False
    # What was waiting to be said while the mediation ran no longer holds (a link, an
    # extension request, a "cannot come").
    await outbox.cancel(conn, f"med:{case_id}:", now)
    facts: dict[str, object] = {"ended_on": today.isoformat()}
    if called_off.rowcount:
        facts["called_off"] = True
    other = [p for p in await parties(conn, case) if p.side is Side.other_party]
    if case.status is CaseStatus.settled:
        await _tell_agreed(conn, outbox, case, other, facts, now, m1_days_before)
        return True
    message = {
        CaseStatus.closed: "failed",
        CaseStatus.withdrawn: "withdrawn",
    }.get(case.status, "ended")
    for person in other:
        await outbox.queue(
            conn, Outgoing(f"med:{case_id}:{message}:op", person, case, message, facts), now
        )
    if case.status is CaseStatus.withdrawn:
        # Nobody else tells the mediator that the applicant withdrew.
        for person in await mediators(conn, case):
            await outbox.queue(
                conn,
                Outgoing(
                    f"med:{case_id}:withdrawn:{person.chat_id}",
                    person,
                    case,
                    "withdrawn_staff",
                    facts,
                ),
                now,
            )
    return True


async def _tell_agreed(
    conn: UnitConnection,
    outbox: Outbox,
    case: MediationCase,
    other: list[Person],
    facts: dict[str, object],
    now: datetime,
    m1_days_before: Sequence[int],
) -> None:
    """The other party hears of the agreement and of M1 on the days the applicant does."""
    m1 = await row_in(
        conn,
        "SELECT trigger_on, due_on, provisional FROM case_deadlines WHERE case_id = ?"
        " AND rule_id = 'M1' ORDER BY id DESC",
        (case.id,),
    )
    if m1 is None:
        return
    confirm_due = date.fromisoformat(m1["due_on"])
    facts = {
        **facts,
        "ended_on": m1["trigger_on"],
        "confirm_due": confirm_due.isoformat(),
        "provisional": bool(m1["provisional"]),
    }
    for person in other:
        await outbox.queue(
            conn, Outgoing(f"med:{case.id}:agreed:op", person, case, "agreed", facts), now
        )
        for days in m1_days_before:
            due = morning(confirm_due - timedelta(days=days))
            if due <= now:
                continue
            await outbox.queue(
                conn,
                Outgoing(
                    f"med:{case.id}:m1:-{days}cd:{person.chat_id}",
                    person,
                    case,
                    "confirm_reminder",
                    facts,
                    due_at=due,
                    expires_at=morning(confirm_due + timedelta(days=1)),
                    reminder=True,
                ),
                now,
            )


class Ending:
    """The tick step: mediations that ended elsewhere are wound up before anything is sent."""

    def __init__(
        self, db: Database, clock: Clock, outbox: Outbox, *, m1_days_before: Sequence[int]
    ) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        self._m1_days_before = tuple(m1_days_before)

    async def sweep(self) -> int:
        """Wind up every ended mediation with a session still to come or an other party not
        yet told; returns how many were told."""
        now = self._clock.now()
        open_marks = ",".join("?" for _ in MEDIATION_OPEN)
        async with self._db.transaction() as conn:
            candidates = await rows_in(
                conn,
                "SELECT c.id FROM cases c WHERE c.procedure = 'mediation'"
                f" AND c.status NOT IN ({open_marks}) AND c.id IN ("
                " SELECT case_id FROM mediation_sessions"
                "  WHERE status = 'scheduled' AND starts_at > ?"
                " UNION SELECT case_id FROM mediation_parties"
                "  WHERE user_id IS NOT NULL AND wound_up_at IS NULL)"
                " ORDER BY c.id LIMIT 200",
                (*[s.value for s in MEDIATION_OPEN], to_db(now)),
            )
        told = 0
        for row in candidates:
            async with self._db.transaction() as conn:
                told += await wind_up(
                    conn,
                    self._outbox,
                    row["id"],
                    now,
                    legal_today(self._clock),
                    m1_days_before=self._m1_days_before,
                )
        return told
