"""Mediation sessions: scheduled by the mediator, told to everyone, reminded, moved, cancelled.

Both parties and the mediator get the notice, and reminders the day before and two hours
before (never in the quiet hours; a reminder the night would carry past the start is
dropped). The parties answer "I will come" / "I cannot come"; a "cannot" is told to the
mediator. A session on a legal rest day is taken only when the mediator confirms it (the
handler asks, as for a court hearing).

Moving a session is a compare-and-set on its ``version``: a second press of the same stale
button finds the version moved and does nothing. In the same unit of work every pending row
of the old version is cancelled and the new version's notices and reminders are written, each
under a key that names the version: no duplicates, none lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from cases.law.calendar import LegalCalendar
from cases.mediation.common import (
    CANNOT_BUTTON,
    COME_BUTTON,
    MAX_PLACE,
    OPEN_BUTTON,
    MediationCase,
    Outbox,
    Outgoing,
    Person,
    Result,
    Side,
    acts_as_mediator,
    everyone,
    load_case,
    mediators,
    parties,
)
from cases.org.users import User
from cases.procedures.history import append_event
from cases.store.db import Database, UnitConnection, row_in, rows_in
from cases.store.time import LEGAL_TZ, Clock, from_db, to_db

SETTING_OUT = timedelta(hours=3)
"""A change to a session that starts within this time after the quiet hours end is told at
once, also at night: people may set out before 08:00. Later sessions are told in the morning."""

REMINDER_STEPS: tuple[tuple[str, timedelta], ...] = (
    ("day", timedelta(days=1)),
    ("2h", timedelta(hours=2)),
)
"""When everyone is reminded of a session: the day before, and two hours before."""


@dataclass(frozen=True)
class Session:
    id: int
    case_id: int
    starts_at: datetime
    place: str
    status: str
    version: int


@dataclass(frozen=True)
class Attendance:
    person_id: int
    side: str
    coming: bool


def _session(row: aiosqlite.Row) -> Session:
    return Session(
        row["id"],
        row["case_id"],
        from_db(row["starts_at"]),
        row["place"],
        row["status"],
        row["version"],
    )


class SessionService:
    def __init__(
        self, db: Database, clock: Clock, outbox: Outbox, calendar: LegalCalendar
    ) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        self._calendar = calendar

    def on_rest_day(self, moment: datetime) -> bool:
        """A weekend or public holiday (the legal calendar, make-up working days count)."""
        return not self._calendar.is_workday(moment.astimezone(LEGAL_TZ).date())

    async def sessions(self, case_id: int, *, include_cancelled: bool = False) -> list[Session]:
        rows = await self._db.fetch_all(
            "SELECT * FROM mediation_sessions WHERE case_id = ?"
            + ("" if include_cancelled else " AND status = 'scheduled'")
            + " ORDER BY starts_at, id",
            (case_id,),
        )
        return [_session(r) for r in rows]

    async def get(self, session_id: int) -> Session | None:
        row = await self._db.fetch_one(
            "SELECT * FROM mediation_sessions WHERE id = ?", (session_id,)
        )
        return _session(row) if row is not None else None

    async def attendance(self, session_id: int) -> list[Attendance]:
        rows = await self._db.fetch_all(
            "SELECT person_id, side, coming FROM mediation_attendance WHERE session_id = ?"
            " ORDER BY side",
            (session_id,),
        )
        return [Attendance(r["person_id"], r["side"], bool(r["coming"])) for r in rows]

    async def schedule(
        self, case_id: int, user: User, starts_at: datetime, place: str
    ) -> tuple[Result, Session | None]:
        now = self._clock.now()
        place = place.strip()[:MAX_PLACE]
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
            if case is None or not acts_as_mediator(user, case):
                return Result.not_allowed, None
            if not case.running:
                return Result.closed, None
            if starts_at <= now:
                return Result.already, None
            cursor = await conn.execute(
                "INSERT INTO mediation_sessions(case_id, starts_at, place, created_by,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (case_id, to_db(starts_at), place, user.telegram_id, to_db(now), to_db(now)),
            )
            session_id = int((await cursor.fetchone())[0])
            session = Session(session_id, case_id, starts_at, place, "scheduled", 1)
            await append_event(
                conn,
                case_id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_session",
                detail={"session_id": session.id, "starts_at": to_db(starts_at), "place": place},
            )
            await self._tell_and_plan(conn, case, session, "session_new", now)
        return Result.done, session

    async def move(
        self, session_id: int, user: User, version: int, starts_at: datetime, place: str
    ) -> Result:
        now = self._clock.now()
        place = place.strip()[:MAX_PLACE]
        async with self._db.transaction() as conn:
            found = await self._session_of(conn, session_id)
            if found is None:
                return Result.not_allowed
            session, case = found
            if not acts_as_mediator(user, case):
                return Result.not_allowed
            if not case.running:
                return Result.closed
            if starts_at <= now:
                return Result.already
            cursor = await conn.execute(
                "UPDATE mediation_sessions SET starts_at = ?, place = ?, version = version + 1,"
                " updated_at = ? WHERE id = ? AND version = ? AND status = 'scheduled'",
                (to_db(starts_at), place, to_db(now), session_id, version),
            )
            if cursor.rowcount != 1:
                return Result.already
            # What was said about the old time no longer holds: its pending reminders and
            # notices stop, and the answers are asked again.
            await self._outbox.cancel(conn, f"med:{case.id}:ses:{session_id}:", now)
            await conn.execute(
                "DELETE FROM mediation_attendance WHERE session_id = ?", (session_id,)
            )
            moved = Session(session_id, case.id, starts_at, place, "scheduled", version + 1)
            await append_event(
                conn,
                case.id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_session_moved",
                detail={
                    "session_id": session_id,
                    "from": to_db(session.starts_at),
                    "starts_at": to_db(starts_at),
                    "place": place,
                },
            )
            await self._tell_and_plan(
                conn,
                case,
                moved,
                "session_moved",
                now,
                before=session.starts_at,
                urgent=self._soon(min(session.starts_at, starts_at), now),
            )
        return Result.done

    async def cancel(self, session_id: int, user: User, version: int) -> Result:
        now = self._clock.now()
        async with self._db.transaction() as conn:
            found = await self._session_of(conn, session_id)
            if found is None:
                return Result.not_allowed
            session, case = found
            if not acts_as_mediator(user, case):
                return Result.not_allowed
            cursor = await conn.execute(
                "UPDATE mediation_sessions SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND version = ? AND status = 'scheduled'",
                (to_db(now), session_id, version),
            )
            if cursor.rowcount != 1:
                return Result.already
            await self._outbox.cancel(conn, f"med:{case.id}:ses:{session_id}:", now)
            await append_event(
                conn,
                case.id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_session_cancelled",
                detail={"session_id": session_id, "starts_at": to_db(session.starts_at)},
            )
            for person in await everyone(conn, case):
                await self._outbox.queue(
                    conn,
                    Outgoing(
                        f"med:{case.id}:sesx:{session_id}:{person.chat_id}",
                        person,
                        case,
                        "session_cancelled",
                        {"starts_at": to_db(session.starts_at), "place": session.place},
                        urgent=self._soon(session.starts_at, now),
                    ),
                    now,
                )
        return Result.done

    async def answer(
        self, session_id: int, person_id: int, version: int, *, coming: bool
    ) -> Result:
        """A party's "I will come" / "I cannot come" for this version of the session."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            found = await self._session_of(conn, session_id)
            if found is None:
                return Result.not_allowed
            session, case = found
            side = next(
                (p.side for p in await parties(conn, case) if p.chat_id == person_id), None
            )
            if side is None:
                return Result.not_allowed
            if session.status != "scheduled" or session.version != version or not case.running:
                return Result.closed
            if session.starts_at <= now:
                return Result.closed
            previous = await row_in(
                conn,
                "SELECT coming FROM mediation_attendance WHERE session_id = ? AND person_id = ?",
                (session_id, person_id),
            )
            if previous is not None and bool(previous["coming"]) == coming:
                return Result.already
            await conn.execute(
                "INSERT INTO mediation_attendance(session_id, person_id, side, coming,"
                " answered_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, person_id)"
                " DO UPDATE SET coming = excluded.coming, answered_at = excluded.answered_at",
                (session_id, person_id, side.value, int(coming), to_db(now)),
            )
            await append_event(
                conn,
                case.id,
                at=to_db(now),
                actor_id=person_id,
                actor_role="citizen" if side is Side.applicant else side.value,
                kind="mediation_attendance",
                detail={"session_id": session_id, "coming": coming, "side": side.value},
            )
            if not coming:
                for person in await mediators(conn, case):
                    await self._outbox.queue(
                        conn,
                        Outgoing(
                            f"med:{case.id}:ses:{session_id}:v{version}:cannot:{person_id}:"
                            f"{to_db(now)}:{person.chat_id}",
                            person,
                            case,
                            "cannot_come",
                            {
                                "side": side.value,
                                "starts_at": to_db(session.starts_at),
                                "place": session.place,
                            },
                            buttons=((OPEN_BUTTON, "open", case.id, 0),),
                        ),
                        now,
                    )
        return Result.done

    async def retarget(self) -> int:
        """Session messages planned while nobody had accepted the case went to every mediator of
        the room; once one has, the others' pending ones stop and the mediator who has the case
        gets any they were missing (keys name the person, so nothing is planned twice).
        Returns how many rows were taken back. A tick step (bot.py, via Mediation.tick)."""
        now = self._clock.now()
        stamp = to_db(now)
        taken = 0
        async with self._db.transaction() as conn:
            cases = await rows_in(
                conn,
                "SELECT DISTINCT s.case_id FROM mediation_sessions s"
                " JOIN cases c ON c.id = s.case_id"
                " WHERE s.status = 'scheduled' AND s.starts_at > ? AND c.mediator_id IS NOT NULL"
                " AND c.status IN ('submitted', 'accepted')",
                (stamp,),
            )
            for row in cases:
                case = await load_case(conn, row["case_id"])
                if case is None or case.mediator_id is None:
                    continue
                prefix = f"med:{case.id}:ses:"
                cursor = await conn.execute(
                    "UPDATE reminders SET status = 'cancelled', updated_at = ?"
                    " WHERE case_id = ? AND status = 'pending' AND audience = 'mediator'"
                    " AND chat_id <> ? AND dedup_key >= ? AND dedup_key < ?",
                    (stamp, case.id, case.mediator_id, prefix, prefix + "\uffff"),
                )
                if cursor.rowcount == 0:
                    continue
                taken += cursor.rowcount
                mediator = await mediators(conn, case)
                for session in await scheduled_sessions(conn, case.id, now):
                    await plan_session_messages(
                        conn, self._outbox, case, session, mediator, "session_new", now
                    )
        return taken

    # -- helpers -------------------------------------------------------------------------------

    async def _session_of(
        self, conn: UnitConnection, session_id: int
    ) -> tuple[Session, MediationCase] | None:
        row = await row_in(conn, "SELECT * FROM mediation_sessions WHERE id = ?", (session_id,))
        if row is None:
            return None
        case = await load_case(conn, row["case_id"])
        return (_session(row), case) if case is not None else None

    def _soon(self, starts_at: datetime, now: datetime) -> bool:
        """The session starts before people who set out early would read a morning notice."""
        return starts_at <= self._outbox.defer(now) + SETTING_OUT

    async def _tell_and_plan(
        self,
        conn: UnitConnection,
        case: MediationCase,
        session: Session,
        message: str,
        now: datetime,
        *,
        before: datetime | None = None,
        urgent: bool = False,
    ) -> None:
        """The notice now and the reminders later, to both parties and the mediator."""
        await plan_session_messages(
            conn,
            self._outbox,
            case,
            session,
            await everyone(conn, case),
            message,
            now,
            before,
            urgent=urgent,
        )


def _buttons(person: Person, session: Session) -> tuple[tuple[str, str, int, int], ...]:
    if person.side is Side.mediator:
        return ((OPEN_BUTTON, "open", session.case_id, 0),)
    return (
        (COME_BUTTON, "come", session.id, session.version),
        (CANNOT_BUTTON, "cannot", session.id, session.version),
        (OPEN_BUTTON, "open", session.case_id, 0),
    )


async def plan_session_messages(
    conn: UnitConnection,
    outbox: Outbox,
    case: MediationCase,
    session: Session,
    people: list[Person],
    message: str,
    now: datetime,
    before: datetime | None = None,
    *,
    urgent: bool = False,
) -> None:
    """A session's notice now and its reminders the day before and two hours before, for
    ``people``; keys name the session's version, so writing them twice writes them once.
    ``urgent``: the notice goes out at once, also at night (a move of an early session)."""
    prefix = f"med:{case.id}:ses:{session.id}:v{session.version}"
    params = {"starts_at": to_db(session.starts_at), "place": session.place}
    if before is not None:
        params["before"] = to_db(before)
    for person in people:
        buttons = _buttons(person, session)
        await outbox.queue(
            conn,
            Outgoing(
                f"{prefix}:notice:{person.chat_id}",
                person,
                case,
                message,
                params,
                buttons,
                expires_at=session.starts_at,
                urgent=urgent,
            ),
            now,
        )
        for step, ahead in REMINDER_STEPS:
            due = session.starts_at - ahead
            if due <= now:
                continue
            await outbox.queue(
                conn,
                Outgoing(
                    f"{prefix}:{step}:{person.chat_id}",
                    person,
                    case,
                    "reminder_day" if step == "day" else "reminder_2h",
                    params,
                    buttons,
                    due_at=due,
                    expires_at=session.starts_at,
                    reminder=True,
                ),
                now,
            )


async def scheduled_sessions(conn: UnitConnection, case_id: int, now: datetime) -> list[Session]:
    """The sessions of a case still to come."""
    rows = await rows_in(
        conn,
        "SELECT * FROM mediation_sessions WHERE case_id = ? AND status = 'scheduled'"
        " AND starts_at > ? ORDER BY starts_at",
        (case_id, to_db(now)),
    )
    return [_session(r) for r in rows]
