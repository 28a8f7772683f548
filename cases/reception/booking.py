"""局长接待日 (XF 18(2)): reception sessions, bookings, the waitlist and the day's outcomes.

Booking is one more procedure with its own statuses (:class:`BookingStatus`) and a transition
table kept as data (:data:`TRANSITIONS`). Seats are counted by the database: every statement
that takes a seat is conditional on the seats left *in that statement* (``INSERT … SELECT …
WHERE count < seats`` / ``UPDATE … WHERE count < seats``), and two triggers in migration 0010
refuse any row that would over-book whatever the caller does. Nothing here reads a count in
Python and writes afterwards.

Sessions: the organisation file's recurring ``reception_days`` are written as rows when they
enter the booking window (never on a legal rest day; a year the calendar does not cover is
marked provisional), and administrators add, move and cancel sessions. Bookings point at a
session and a slot number, so a moved session takes its bookings along.

Messages (receipts to agencies, waitlist offers, reminders, session cancellations) go into the
outbox in the same unit of work as the change they report, through a :class:`Mailer` that the
scheduling layer provides (quiet hours, rendering). No Telegram here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aiosqlite
from pydantic import BaseModel, Field

from cases.i18n import N_
from cases.law.calendar import LegalCalendar
from cases.org.organisation import Organisation
from cases.org.users import Role
from cases.procedures.case_clocks import open_deadline
from cases.store.db import Database, row_in
from cases.store.time import LEGAL_TZ, Clock, from_db, to_db


class BookingStatus(StrEnum):
    waiting = "waiting"  # on the session's waitlist, no seat
    offered = "offered"  # a freed seat is held for this person until offer_until
    booked = "booked"
    confirmed = "confirmed"  # "I will come"
    attended = "attended"
    no_show = "no_show"
    cancelled = "cancelled"
    expired = "expired"  # an offer not taken in time, or a waitlist place whose day passed
    released = "released"  # the agency answered before the day and the citizen let the seat go


S = BookingStatus
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.waiting: frozenset({S.offered, S.booked, S.cancelled, S.expired}),
    S.offered: frozenset({S.booked, S.expired, S.cancelled}),
    S.booked: frozenset({S.confirmed, S.cancelled, S.released, S.attended, S.no_show}),
    # A rescheduled "I will come" booking is asked again for the new time.
    S.confirmed: frozenset({S.booked, S.cancelled, S.released, S.attended, S.no_show}),
    S.attended: frozenset(),
    S.no_show: frozenset({S.attended}),  # a late correction, or an automatic no-show undone
    S.cancelled: frozenset(),
    S.expired: frozenset(),
    S.released: frozenset(),
}
"""Which status may follow which. Every UPDATE below names its allowed "from" statuses from
this table (:func:`sources_of`), so a stale button cannot move a booking backwards."""

SEAT_HOLDING = (S.offered, S.booked, S.confirmed)
LIVE = (S.waiting, *SEAT_HOLDING)


def sources_of(target: BookingStatus) -> tuple[BookingStatus, ...]:
    return tuple(s for s, nexts in TRANSITIONS.items() if target in nexts)


def _in(statuses: Sequence[BookingStatus]) -> str:
    return "(" + ", ".join(f"'{s.value}'" for s in statuses) + ")"


SEATS_TAKEN = (
    "(SELECT count(*) FROM bookings b WHERE b.session_id = {session} AND b.slot = {slot}"
    f" AND b.status IN {_in(SEAT_HOLDING)})"
)

MAX_PEOPLE = 5
"""XF 20(3): many people raising a common matter choose at most five representatives."""
NUMBER_PREFIX = "JD"


class AgencySlots(BaseModel):
    minutes: int = Field(default=30, ge=5, le=240)
    seats: int = Field(default=3, ge=1, le=500)


class BookingSettings(BaseModel):
    """Settings (``BOOKING__…``): slot length and seats per agency, the booking window."""

    slot_minutes: int = Field(default=30, ge=5, le=240)
    seats: int = Field(default=3, ge=1, le=500)
    weeks_ahead: int = Field(default=4, ge=1, le=26)
    close_hours: int = Field(default=24, ge=0, le=24 * 14)
    offer_hours: int = Field(default=2, ge=1, le=72)
    agencies: dict[str, AgencySlots] = {}
    """Per-agency slot length and seats, e.g. ``{"county_psb": {"minutes": 20, "seats": 2}}``."""

    def slots_for(self, agency: str) -> tuple[int, int]:
        found = self.agencies.get(agency)
        if found is not None:
            return found.minutes, found.seats
        return self.slot_minutes, self.seats


# -- errors ------------------------------------------------------------------------------------


class BookingError(Exception):
    """A request the rules refuse; ``msgid`` is what the person is told."""

    msgid = N_("This booking is not possible.")


class NoSuchSession(BookingError):
    msgid = N_("This reception session is no longer available. Please choose again.")


class SessionClosed(BookingError):
    msgid = N_(
        "Bookings for this time are closed: they close {hours} hours before the time. Please "
        "choose another day."
    )


class NoSuchBooking(BookingError):
    msgid = N_("This booking was not found.")


class SessionTooShort(BookingError):
    msgid = N_(
        "The new hours are shorter than the times already booked: the session was not moved."
    )


class RestDay(BookingError):
    msgid = N_("That day is a rest day in the legal calendar: no reception session can be held.")


# -- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    id: int
    agency: str
    source: str
    day: date
    starts: time
    ends: time
    place: str
    place_en: str
    slot_minutes: int
    seats: int
    status: str
    provisional: bool
    confirmed: bool

    @property
    def slot_count(self) -> int:
        minutes = (
            datetime.combine(self.day, self.ends) - datetime.combine(self.day, self.starts)
        ).seconds // 60
        return max(1, minutes // self.slot_minutes)

    def slot_start(self, slot: int, tz: ZoneInfo = LEGAL_TZ) -> datetime:
        first = datetime.combine(self.day, self.starts, tz)
        return first + timedelta(minutes=self.slot_minutes * slot)

    def place_in(self, locale: str) -> str:
        return self.place_en if locale == "en" else self.place

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Session:
        return cls(
            id=row["id"],
            agency=row["agency"],
            source=row["source"],
            day=date.fromisoformat(row["day"]),
            starts=time.fromisoformat(row["starts"]),
            ends=time.fromisoformat(row["ends"]),
            place=row["place"],
            place_en=row["place_en"],
            slot_minutes=row["slot_minutes"],
            seats=row["seats"],
            status=row["status"],
            provisional=bool(row["provisional"]),
            confirmed=bool(row["confirmed"]),
        )


@dataclass(frozen=True)
class Slot:
    slot: int
    starts_at: datetime
    seats_left: int


@dataclass(frozen=True)
class OpenDay:
    session: Session
    seats_left: int


@dataclass(frozen=True)
class Issue:
    """The matter in brief, asked before the day so the agency can prepare (or settle it)."""

    subject: str
    request: str
    people: int = 1


@dataclass(frozen=True)
class Proxy:
    """A community worker (社区网格员) books for a citizen who is with them."""

    worker_id: int
    name: str
    phone: str


@dataclass(frozen=True)
class Booking:
    id: int
    number: str
    session: Session
    slot: int
    agency: str
    citizen_id: int | None
    booked_by: int | None
    person_name: str | None
    person_phone: str | None
    status: BookingStatus
    subject: str
    request: str
    people: int
    offer_until: datetime | None
    outcome: str | None
    outcome_note: str | None
    case_id: int | None

    @property
    def starts_at(self) -> datetime:
        return self.session.slot_start(self.slot)

    @property
    def contact_id(self) -> int:
        """Who gets the messages: the citizen, or the community worker who booked for them."""
        return int(self.citizen_id if self.citizen_id is not None else self.booked_by or 0)

    @property
    def live(self) -> bool:
        return self.status in LIVE


class Outcome(StrEnum):
    booked = "booked"
    waitlisted = "waitlisted"
    existing = "existing"  # one live booking per person per agency
    existing_elsewhere = "existing_elsewhere"  # booked for this person by someone else: no details
    full = "full"  # a reschedule to a slot that has no seat left: the old seat is kept
    unchanged = "unchanged"
    cancelled = "cancelled"
    already = "already"  # cancelled (or ended) before


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    booking: Booking
    position: int = 0  # on the waitlist


# -- outbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One message to one chat, written to the outbox with the change it reports."""

    dedup_key: str
    chat_id: int
    audience: Role
    key: str
    params: Mapping[str, Any]
    buttons: tuple[tuple[str, str], ...] = ()
    due_at: datetime | None = None  # None: now (after quiet hours for citizens)
    expires_at: datetime | None = None


Statement = tuple[str, Sequence[Any]]


class Mailer(Protocol):
    """Implemented by scheduling.booking: the outbox statements and the quiet-hours
    arithmetic. Statements, not a connection, so they join whichever unit of work reports."""

    def queue(self, message: Outgoing, now: datetime) -> list[Statement]: ...

    def cancel(self, prefix: str, now: datetime) -> list[Statement]: ...

    def hold_until(self, now: datetime, hours: int) -> datetime: ...


class NullMailer:
    """For tools and tests that only need the rules."""

    def queue(self, message: Outgoing, now: datetime) -> list[Statement]:
        return []

    def cancel(self, prefix: str, now: datetime) -> list[Statement]:
        return []

    def hold_until(self, now: datetime, hours: int) -> datetime:
        return now + timedelta(hours=hours)


# -- the service ---------------------------------------------------------------------------------

_BOOKING_COLUMNS = (
    "b.id, b.number, b.session_id, b.slot, b.agency, b.citizen_id, b.booked_by, b.person_name,"
    " b.person_phone, b.status, b.subject, b.request, b.people, b.offer_until, b.outcome,"
    " b.outcome_note, b.case_id, s.id AS s_id, s.agency AS s_agency, s.source, s.day, s.starts,"
    " s.ends, s.place, s.place_en, s.slot_minutes, s.seats, s.status AS s_status,"
    " s.provisional, s.confirmed"
)
_BOOKING_FROM = " FROM bookings b JOIN reception_sessions s ON s.id = b.session_id"


def _booking(row: sqlite3.Row) -> Booking:
    session = Session(
        id=row["s_id"],
        agency=row["s_agency"],
        source=row["source"],
        day=date.fromisoformat(row["day"]),
        starts=time.fromisoformat(row["starts"]),
        ends=time.fromisoformat(row["ends"]),
        place=row["place"],
        place_en=row["place_en"],
        slot_minutes=row["slot_minutes"],
        seats=row["seats"],
        status=row["s_status"],
        provisional=bool(row["provisional"]),
        confirmed=bool(row["confirmed"]),
    )
    return Booking(
        id=row["id"],
        number=row["number"],
        session=session,
        slot=row["slot"],
        agency=row["agency"],
        citizen_id=row["citizen_id"],
        booked_by=row["booked_by"],
        person_name=row["person_name"],
        person_phone=row["person_phone"],
        status=BookingStatus(row["status"]),
        subject=row["subject"],
        request=row["request"],
        people=row["people"],
        offer_until=from_db(row["offer_until"]) if row["offer_until"] else None,
        outcome=row["outcome"],
        outcome_note=row["outcome_note"],
        case_id=row["case_id"],
    )


def _one(conn: sqlite3.Connection, booking_id: int) -> Booking | None:
    row = conn.execute(
        f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE b.id = ?", (booking_id,)
    ).fetchone()
    return None if row is None else _booking(row)


def _event(
    conn: sqlite3.Connection,
    booking_id: int,
    now: str,
    actor: int | None,
    kind: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO booking_events(booking_id, at, actor_id, kind, detail) VALUES (?,?,?,?,?)",
        (booking_id, now, actor, kind, json.dumps(dict(detail or {}), ensure_ascii=False)),
    )


def _still_open(conn: sqlite3.Connection, session_id: int) -> None:
    """Inside the unit that books: a session cancelled a moment ago takes no booking (units
    are serialised, so this read and the write after it see the same state)."""
    row = conn.execute(
        "SELECT status FROM reception_sessions WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None or row[0] != "open":
        raise NoSuchSession()


class BookingService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        org: Organisation,
        calendar: LegalCalendar,
        settings: BookingSettings | None = None,
        mailer: Mailer | None = None,
        tz: ZoneInfo = LEGAL_TZ,
    ) -> None:
        self.db = db
        self.clock = clock
        self.org = org
        self.calendar = calendar
        self.settings = settings or BookingSettings()
        self.mailer: Mailer = mailer or NullMailer()
        self.tz = tz
        self._ensured_on: date | None = None

    def _q(self, conn: sqlite3.Connection, message: Outgoing, now: datetime) -> None:
        for sql, params in self.mailer.queue(message, now):
            conn.execute(sql, params)

    def _cancel(self, conn: sqlite3.Connection, prefix: str, now: datetime) -> None:
        for sql, params in self.mailer.cancel(prefix, now):
            conn.execute(sql, params)

    # -- sessions --------------------------------------------------------------------------

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def window_end(self) -> date:
        return self.today() + timedelta(weeks=self.settings.weeks_ahead)

    def closes_at(self, session: Session, slot: int) -> datetime:
        return session.slot_start(slot, self.tz) - timedelta(hours=self.settings.close_hours)

    def agencies_with_days(self) -> list[str]:
        """Agencies that hold reception days (recurring or added), in organisation order."""
        ids = {day.agency_id for day in self.org.reception_days}
        return [a.id for a in self.org.agencies if a.id in ids]

    async def ensure_sessions(self) -> int:
        """Write the recurring sessions that have entered the window. Idempotent: one row per
        agency and day (a cancelled or moved one stays as it is). Rest days are skipped."""
        if self._ensured_on == self.today():
            return 0  # the window moves once a day; rule rows are written once
        now = to_db(self.clock.now())
        rows: list[tuple[Any, ...]] = []
        day = self.today()
        end = self.window_end()
        while day <= end:
            if self.calendar.is_workday(day):
                provisional = int(not self.calendar.covers(day))
                for rule in self.org.reception_days:
                    if rule.weekday != day.isoweekday():
                        continue
                    minutes, seats = self.settings.slots_for(rule.agency_id)
                    rows.append(
                        (
                            rule.agency_id,
                            day.isoformat(),
                            day.isoformat(),
                            rule.start.strftime("%H:%M"),
                            rule.end.strftime("%H:%M"),
                            rule.place,
                            rule.place_en,
                            minutes,
                            seats,
                            provisional,
                            int(rule.confirmed),
                            now,
                            now,
                        )
                    )
            day += timedelta(days=1)

        def write(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO reception_sessions(agency, source, rule_day, day, starts, ends,"
                " place, place_en, slot_minutes, seats, provisional, confirmed, created_at,"
                " updated_at) VALUES (?, 'rule', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(agency, rule_day) WHERE source = 'rule' DO NOTHING",
                rows,
            )
            return conn.total_changes - before

        written = await self.db.run(write)
        self._ensured_on = self.today()
        await self.settle_provisional()
        return written

    async def settle_provisional(self) -> int:
        """Sessions offered as provisional in a year the calendar now covers (the override file
        was extended and the bot restarted): a working day loses the mark; a day that turned
        out to be a rest day is cancelled, and its people are told with alternatives."""
        rows = await self.db.fetch_all(
            "SELECT * FROM reception_sessions WHERE provisional = 1 AND status = 'open'"
            " AND day >= ?",
            (self.today().isoformat(),),
        )
        sessions = [Session.from_row(r) for r in rows]
        covered = [s for s in sessions if self.calendar.covers(s.day)]
        workdays = [s.id for s in covered if self.calendar.is_workday(s.day)]
        if workdays:
            now = to_db(self.clock.now())
            await self.db.run(
                lambda conn: conn.executemany(
                    "UPDATE reception_sessions SET provisional = 0, updated_at = ? WHERE id = ?",
                    [(now, sid) for sid in workdays],
                )
            )
        for session in covered:
            if session.id not in workdays:
                await self.cancel_session(session.id, actor=None)
        return len(covered)

    async def session(self, session_id: int) -> Session | None:
        row = await self.db.fetch_one(
            "SELECT * FROM reception_sessions WHERE id = ?", (session_id,)
        )
        return None if row is None else Session.from_row(row)

    async def open_days(self, agency: str, *, limit: int = 8) -> list[OpenDay]:
        """The agency's next sessions that can still be booked, with their seats left (one
        read: the sessions with their taken seats per slot)."""
        await self.ensure_sessions()
        rows = await self.db.fetch_all(
            "SELECT s.*, b.slot AS taken_slot, count(b.id) AS taken FROM reception_sessions s"
            " LEFT JOIN bookings b ON b.session_id = s.id"
            f" AND b.status IN {_in(SEAT_HOLDING)}"
            " WHERE s.agency = ? AND s.status = 'open' AND s.day >= ? AND s.day <= ?"
            " GROUP BY s.id, b.slot ORDER BY s.day, s.starts, s.id",
            (agency, self.today().isoformat(), self.window_end().isoformat()),
        )
        sessions: dict[int, Session] = {}
        taken: dict[int, dict[int, int]] = {}
        for row in rows:
            sessions.setdefault(row["id"], Session.from_row(row))
            if row["taken_slot"] is not None:
                taken.setdefault(row["id"], {})[row["taken_slot"]] = row["taken"]
        found: list[OpenDay] = []
        for session_id, session in sessions.items():
            slots = self._slots(session, taken.get(session_id, {}), include_full=False)
            if slots:
                found.append(OpenDay(session, sum(s.seats_left for s in slots)))
            if len(found) >= limit:
                break
        return found

    async def free_slots(self, session: Session, *, include_full: bool = False) -> list[Slot]:
        """The session's slots still open for booking (not within ``close_hours``)."""
        taken = {
            row[0]: row[1]
            for row in await self.db.fetch_all(
                "SELECT slot, count(*) FROM bookings WHERE session_id = ?"
                f" AND status IN {_in(SEAT_HOLDING)} GROUP BY slot",
                (session.id,),
            )
        }
        return self._slots(session, taken, include_full=include_full)

    def _slots(self, session: Session, taken: dict[int, int], *, include_full: bool) -> list[Slot]:
        now = self.clock.now()
        slots = []
        for slot in range(session.slot_count):
            if self.closes_at(session, slot) <= now:
                continue
            left = max(0, session.seats - taken.get(slot, 0))
            if left or include_full:
                slots.append(Slot(slot, session.slot_start(slot, self.tz), left))
        return slots

    async def alternatives(
        self, agency: str, *, exclude_session: int | None = None, limit: int = 3
    ) -> list[tuple[Session, Slot]]:
        """The nearest open times of the agency (one per session)."""
        found: list[tuple[Session, Slot]] = []
        for day in await self.open_days(agency, limit=limit + 1):
            if day.session.id == exclude_session:
                continue
            slots = await self.free_slots(day.session)
            if slots:
                found.append((day.session, slots[0]))
            if len(found) >= limit:
                break
        return found

    async def add_session(
        self,
        agency: str,
        day: date,
        starts: time,
        ends: time,
        *,
        actor: int,
        seats: int | None = None,
        place: str | None = None,
    ) -> Session:
        if not self.calendar.is_workday(day):
            raise RestDay()
        self.org.agency(agency)  # UnknownId for a wrong id
        minutes, default_seats = self.settings.slots_for(agency)
        rule = next((r for r in self.org.reception_days_of(agency)), None)
        place_zh = place or (rule.place if rule else self.org.agency(agency).name)
        place_en = place or (rule.place_en if rule else self.org.agency(agency).name_en)
        now = to_db(self.clock.now())
        row_id = await self.db.run(
            lambda conn: (
                conn.execute(
                    "INSERT INTO reception_sessions(agency, source, day, starts, ends, place,"
                    " place_en, slot_minutes, seats, provisional, confirmed, created_by,"
                    " created_at, updated_at)"
                    " VALUES (?, 'admin', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    (
                        agency,
                        day.isoformat(),
                        starts.strftime("%H:%M"),
                        ends.strftime("%H:%M"),
                        place_zh,
                        place_en,
                        minutes,
                        seats or default_seats,
                        int(not self.calendar.covers(day)),
                        actor,
                        now,
                        now,
                    ),
                ).lastrowid
            )
        )
        found = await self.session(int(row_id or 0))
        assert found is not None
        return found

    async def move_session(
        self, session_id: int, day: date, starts: time, ends: time, *, actor: int
    ) -> tuple[Session, int]:
        """Move a session; its bookings follow and their people are told. Returns the session
        and how many were told."""
        if not self.calendar.is_workday(day):
            raise RestDay()
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def move(conn: sqlite3.Connection) -> int:
            changed = conn.execute(
                "UPDATE reception_sessions SET day = ?, starts = ?, ends = ?, provisional = ?,"
                " updated_at = ? WHERE id = ? AND status = 'open'",
                (
                    day.isoformat(),
                    starts.strftime("%H:%M"),
                    ends.strftime("%H:%M"),
                    int(not self.calendar.covers(day)),
                    now,
                    session_id,
                ),
            ).rowcount
            if not changed:
                raise NoSuchSession()
            # Slots past the new end move to the last slot that exists.
            session = Session.from_row(
                conn.execute(
                    "SELECT * FROM reception_sessions WHERE id = ?", (session_id,)
                ).fetchone()
            )
            told = 0
            for row in conn.execute(
                f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE b.session_id = ?"
                f" AND b.status IN {_in(LIVE)}",
                (session_id,),
            ).fetchall():
                booking = _booking(row)
                if booking.slot >= session.slot_count:
                    raise SessionTooShort()  # rolls the move back: a booked time would vanish
                _event(conn, booking.id, now, actor, "session_moved", {"day": day.isoformat()})
                self._plan_reminders(conn, booking, now_dt)
                self._q(
                    conn,
                    Outgoing(
                        dedup_key=f"bk-moved:{booking.id}:{day.isoformat()}:{starts}",
                        chat_id=booking.contact_id,
                        audience=Role.citizen,
                        key="moved",
                        params=self._params(booking),
                        buttons=self._manage_buttons(booking),
                    ),
                    now_dt,
                )
                told += 1
            return told

        told = await self.db.run(move)
        moved = await self.session(session_id)
        assert moved is not None
        return moved, told

    async def cancel_session(self, session_id: int, *, actor: int | None) -> int:
        """Cancel a session: every live booking ends, and each person is told at once with
        the nearest open alternatives of the same agency as buttons."""
        session = await self.session(session_id)
        if session is None or session.status != "open":
            raise NoSuchSession()
        alternatives = await self.alternatives(session.agency, exclude_session=session_id)
        options = [(s.slot_start(slot.slot, self.tz), s.id, slot.slot) for s, slot in alternatives]
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def cancel(conn: sqlite3.Connection) -> int:
            changed = conn.execute(
                "UPDATE reception_sessions SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND status = 'open'",
                (now, session_id),
            ).rowcount
            if not changed:
                raise NoSuchSession()
            told = 0
            for row in conn.execute(
                f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE b.session_id = ?"
                f" AND b.status IN {_in(LIVE)}",
                (session_id,),
            ).fetchall():
                booking = _booking(row)
                conn.execute(
                    "UPDATE bookings SET status = 'cancelled', updated_at = ? WHERE id = ?",
                    (now, booking.id),
                )
                _event(conn, booking.id, now, actor, "session_cancelled")
                self._cancel(conn, f"bk-rem:{booking.id}:", now_dt)
                self._q(
                    conn,
                    Outgoing(
                        dedup_key=f"bk-session-cancelled:{booking.id}",
                        chat_id=booking.contact_id,
                        audience=Role.citizen,
                        key="session_cancelled",
                        params=self._params(booking),
                        buttons=tuple(
                            ("@slot:" + at.isoformat(), f"bkalt:{booking.id}:{sid}:{slot}")
                            for at, sid, slot in options
                        ),
                        due_at=now_dt,  # at once, also at night: the day is off
                    ),
                    now_dt,
                )
                told += 1
            return told

        return await self.db.run(cancel)

    async def upcoming_sessions(self, agency: str | None = None) -> list[Session]:
        await self.ensure_sessions()
        sql = "SELECT * FROM reception_sessions WHERE day >= ? AND status = 'open'"
        params: list[Any] = [self.today().isoformat()]
        if agency:
            sql += " AND agency = ?"
            params.append(agency)
        rows = await self.db.fetch_all(sql + " ORDER BY day, starts, agency LIMIT 30", params)
        return [Session.from_row(r) for r in rows]

    # -- booking ---------------------------------------------------------------------------

    async def live_booking(
        self, agency: str, *, user_id: int, phone: str | None = None
    ) -> Booking | None:
        if phone is not None:
            sql, params = "b.person_phone = ? AND b.agency = ?", (phone, agency)
        else:
            sql, params = "b.citizen_id = ? AND b.agency = ?", (user_id, agency)  # type: ignore[assignment]
        row = await self.db.fetch_one(
            f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE {sql} AND b.status IN {_in(LIVE)}",
            params,
        )
        return None if row is None else _booking(row)

    async def get(self, booking_id: int, *, user_id: int) -> Booking:
        """A booking of this person (or booked by them); anyone else's is "not found"."""
        row = await self.db.fetch_one(
            f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE b.id = ?"
            " AND (b.citizen_id = ? OR b.booked_by = ?)",
            (booking_id, user_id, user_id),
        )
        if row is None:
            raise NoSuchBooking()
        return _booking(row)

    async def my_bookings(self, user_id: int) -> list[Booking]:
        rows = await self.db.fetch_all(
            f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE (b.citizen_id = ? OR b.booked_by = ?)"
            f" AND b.status IN {_in(LIVE)} ORDER BY s.day, s.starts, b.slot",
            (user_id, user_id),
        )
        return [_booking(r) for r in rows]

    def check_open(self, session: Session | None, slot: int) -> Session:
        """The session exists, is open, is in the window and the slot still takes bookings;
        else the error that tells the person why."""
        if (
            session is None
            or session.status != "open"
            or not 0 <= slot < session.slot_count
            or session.day > self.window_end()
        ):
            raise NoSuchSession()
        if self.closes_at(session, slot) <= self.clock.now():
            raise SessionClosed()
        return session

    async def book(
        self,
        user_id: int,
        session_id: int,
        slot: int,
        issue: Issue,
        *,
        proxy: Proxy | None = None,
    ) -> Result:
        """Take a seat in one conditional statement; if there is none left, the same unit puts
        the person on the session's waitlist. A person with a live booking at the agency gets
        it back instead (a double press, a second attempt)."""
        session = self.check_open(await self.session(session_id), slot)
        if not 1 <= issue.people <= MAX_PEOPLE:
            raise BookingError()
        now_dt = self.clock.now()
        now = to_db(now_dt)
        year = session.day.year
        citizen_id = None if proxy else user_id
        booked_by = proxy.worker_id if proxy else None

        def work(conn: sqlite3.Connection) -> Result:
            _still_open(conn, session.id)
            if proxy is not None:
                where, key = "person_phone = ?", proxy.phone
            else:
                where, key = "citizen_id = ?", user_id  # type: ignore[assignment]
            existing = conn.execute(
                f"SELECT id FROM bookings WHERE {where} AND agency = ? AND status IN {_in(LIVE)}",
                (key, session.agency),
            ).fetchone()
            if existing is not None:
                found = _one(conn, existing[0])
                assert found is not None
                if proxy is not None and found.booked_by != booked_by:
                    # Another worker's booking for this phone: its details are not ours to show.
                    return Result(Outcome.existing_elsewhere, found)
                return Result(Outcome.existing, found)
            seq = conn.execute(
                "INSERT INTO case_sequences(prefix, year, last_value) VALUES (?, ?, 1)"
                " ON CONFLICT(prefix, year) DO UPDATE SET last_value = last_value + 1"
                " RETURNING last_value",
                (NUMBER_PREFIX, year),
            ).fetchone()
            number = f"{NUMBER_PREFIX}-{year}-{seq[0]:06d}"
            values = (
                number,
                session.id,
                slot,
                session.agency,
                citizen_id,
                booked_by,
                proxy.name if proxy else None,
                proxy.phone if proxy else None,
                issue.subject,
                issue.request,
                issue.people,
                now,
                now,
            )
            cursor = conn.execute(
                "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, booked_by,"
                " person_name, person_phone, status, subject, request, people, created_at,"
                " updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?, ?"
                " WHERE " + SEATS_TAKEN.format(session="?", slot="?") + " < ?",
                (*values, session.id, slot, session.seats),
            )
            outcome = Outcome.booked
            if cursor.rowcount == 0:
                cursor = conn.execute(
                    "INSERT INTO bookings(number, session_id, slot, agency, citizen_id,"
                    " booked_by, person_name, person_phone, status, subject, request, people,"
                    " created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?)",
                    values,
                )
                outcome = Outcome.waitlisted
            booking_id = int(cursor.lastrowid or 0)
            booking = _one(conn, booking_id)
            assert booking is not None
            _event(conn, booking_id, now, user_id, outcome.value, {"number": number})
            position = 0
            if outcome is Outcome.booked:
                self._booked_messages(conn, booking, now_dt)
            else:
                position = self._position(conn, booking)
            return Result(outcome, booking, position)

        return await self.db.run(work)

    def _position(self, conn: sqlite3.Connection, booking: Booking) -> int:
        return int(
            conn.execute(
                "SELECT count(*) FROM bookings WHERE session_id = ? AND status = 'waiting'"
                " AND id <= ?",
                (booking.session.id, booking.id),
            ).fetchone()[0]
        )

    async def reschedule(
        self, booking_id: int, *, user_id: int, session_id: int, slot: int
    ) -> Result:
        """Move to another time in one conditional UPDATE: the old seat is kept until the new
        one is taken; a full new slot leaves everything as it was."""
        current = await self.get(booking_id, user_id=user_id)
        session = self.check_open(await self.session(session_id), slot)
        if session.agency != current.agency:
            raise NoSuchSession()
        if not current.live:
            return Result(Outcome.already, current)
        if (
            current.session.id == session_id
            and current.slot == slot
            and current.status in (SEAT_HOLDING)
        ):
            return Result(Outcome.unchanged, current)
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def work(conn: sqlite3.Connection) -> Result:
            _still_open(conn, session_id)
            cursor = conn.execute(
                "UPDATE bookings SET session_id = ?, slot = ?,"
                " status = CASE WHEN status = 'confirmed' THEN 'booked'"
                "               WHEN status IN ('waiting', 'offered') THEN 'booked'"
                "               ELSE status END,"
                " offer_until = NULL, updated_at = ?"
                f" WHERE id = ? AND status IN {_in(LIVE)} AND "
                + SEATS_TAKEN.format(session="?", slot="?")
                + " < ?",
                (session_id, slot, now, booking_id, session_id, slot, session.seats),
            )
            booking = _one(conn, booking_id)
            assert booking is not None
            if cursor.rowcount == 0:
                return Result(Outcome.full if booking.live else Outcome.already, booking)
            _event(
                conn,
                booking_id,
                now,
                user_id,
                "rescheduled",
                {"from": [current.session.id, current.slot], "to": [session_id, slot]},
            )
            if current.status in SEAT_HOLDING:
                self._seat_freed(conn, current.session, current.slot, now_dt)
            self._booked_messages(conn, booking, now_dt, rescheduled=True)
            return Result(Outcome.booked, booking)

        return await self.db.run(work)

    async def cancel(self, booking_id: int, *, user_id: int) -> Result:
        """Cancel (or leave the waitlist); a freed seat goes to the waitlist at once."""
        return await self._let_go(booking_id, user_id, S.cancelled)

    async def _let_go(self, booking_id: int, user_id: int, target: BookingStatus) -> Result:
        """Cancelled or released: the booking ends, its reminders are withdrawn, and a seat it
        held goes to the waitlist at once; a second press reports "already"."""
        current = await self.get(booking_id, user_id=user_id)
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def work(conn: sqlite3.Connection) -> Result:
            cursor = conn.execute(
                "UPDATE bookings SET status = ?, offer_until = NULL, updated_at = ?"
                f" WHERE id = ? AND status IN {_in(sources_of(target))}",
                (target.value, now, booking_id),
            )
            booking = _one(conn, booking_id)
            assert booking is not None
            if cursor.rowcount == 0:
                return Result(Outcome.already, booking)
            _event(conn, booking_id, now, user_id, target.value)
            self._cancel(conn, f"bk-rem:{booking_id}:", now_dt)
            if current.status in SEAT_HOLDING:
                self._seat_freed(conn, booking.session, booking.slot, now_dt)
            return Result(Outcome.cancelled, booking)

        return await self.db.run(work)

    async def confirm(self, booking_id: int, *, user_id: int) -> Result:
        """ "I will come"."""
        await self.get(booking_id, user_id=user_id)
        now = to_db(self.clock.now())

        def work(conn: sqlite3.Connection) -> Result:
            cursor = conn.execute(
                "UPDATE bookings SET status = 'confirmed', updated_at = ?"
                " WHERE id = ? AND status = 'booked'",
                (now, booking_id),
            )
            booking = _one(conn, booking_id)
            assert booking is not None
            if cursor.rowcount:
                _event(conn, booking_id, now, user_id, "confirmed")
                return Result(Outcome.booked, booking)
            return Result(Outcome.unchanged, booking)

        return await self.db.run(work)

    async def answer_before(self, booking: Booking, note: str, *, actor: int) -> bool:
        """The agency answered the matter before the day (the point of asking in advance):
        the citizen reads the answer and is asked whether to keep or release the seat."""
        if booking.status not in (S.booked, S.confirmed):
            return False
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def work(conn: sqlite3.Connection) -> bool:
            count = conn.execute(
                "SELECT count(*) FROM booking_events WHERE booking_id = ? AND kind = 'answered'",
                (booking.id,),
            ).fetchone()[0]
            _event(conn, booking.id, now, actor, "answered", {"note": note})
            self._q(
                conn,
                Outgoing(
                    dedup_key=f"bk-answered:{booking.id}:{count + 1}",
                    chat_id=booking.contact_id,
                    audience=Role.citizen,
                    key="answered",
                    params={**self._params(booking), "note": note},
                    buttons=(
                        (N_("Keep my seat"), f"bk:keep:{booking.id}"),
                        (N_("Release the seat"), f"bk:release:{booking.id}"),
                    ),
                ),
                now_dt,
            )
            return True

        return await self.db.run(work)

    async def release(self, booking_id: int, *, user_id: int) -> Result:
        """The citizen is content with the agency's answer and lets the seat go."""
        return await self._let_go(booking_id, user_id, S.released)

    async def take_offer(self, booking_id: int, *, user_id: int) -> Result:
        """ "Take it": an offered seat becomes a booking if the hold has not run out."""
        await self.get(booking_id, user_id=user_id)
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def work(conn: sqlite3.Connection) -> Result:
            cursor = conn.execute(
                "UPDATE bookings SET status = 'booked', offer_until = NULL, updated_at = ?"
                " WHERE id = ? AND status = 'offered' AND offer_until > ?",
                (now, booking_id, now),
            )
            booking = _one(conn, booking_id)
            assert booking is not None
            if cursor.rowcount == 0:
                return Result(Outcome.already, booking)
            _event(conn, booking_id, now, user_id, "offer_taken")
            self._booked_messages(conn, booking, now_dt)
            return Result(Outcome.booked, booking)

        return await self.db.run(work)

    # -- the waitlist ------------------------------------------------------------------------

    def _seat_freed(
        self, conn: sqlite3.Connection, session: Session, slot: int, now_dt: datetime
    ) -> None:
        """Offer the freed seat to the first in line, in the unit that freed it."""
        if session.status != "open" or self.closes_at(session, slot) <= now_dt:
            return
        until = self.mailer.hold_until(now_dt, self.settings.offer_hours)
        # The offer must end before bookings close for that slot.
        until = min(until, self.closes_at(session, slot))
        now = to_db(now_dt)
        row = conn.execute(
            "UPDATE bookings SET status = 'offered', slot = ?, offer_until = ?, updated_at = ?"
            " WHERE id = (SELECT id FROM bookings WHERE session_id = ? AND status = 'waiting'"
            "             ORDER BY id LIMIT 1)"
            " AND " + SEATS_TAKEN.format(session="?", slot="?") + " < ?"
            " RETURNING id",
            (slot, to_db(until), now, session.id, session.id, slot, session.seats),
        ).fetchone()
        if row is None:
            return
        booking = _one(conn, row[0])
        assert booking is not None
        _event(conn, booking.id, now, None, "offered", {"until": to_db(until)})
        self._q(
            conn,
            Outgoing(
                dedup_key=f"bk-offer:{booking.id}",
                chat_id=booking.contact_id,
                audience=Role.citizen,
                key="offer",
                params={**self._params(booking), "until": to_db(until)},
                buttons=(
                    (N_("✅ Take it"), f"bk:take:{booking.id}"),
                    (N_("Leave the waitlist"), f"bk:cancel:{booking.id}"),
                ),
            ),
            now_dt,
        )

    async def close_past_days(self) -> int:
        """After a reception day: waitlist places and offers lapse, and seats nobody recorded
        count as no-shows (staff can still correct them to attended). Without this a past
        booking would block the person's next booking at the agency (one live at a time)."""
        today = self.today().isoformat()
        now = to_db(self.clock.now())

        def work(conn: sqlite3.Connection) -> int:
            changed = 0
            for target, sources in (
                (S.expired, (S.waiting, S.offered)),
                (S.no_show, (S.booked, S.confirmed)),
            ):
                rows = conn.execute(
                    f"UPDATE bookings SET status = ?, offer_until = NULL, updated_at = ?"
                    f" WHERE status IN {_in(sources)} AND session_id IN"
                    " (SELECT id FROM reception_sessions WHERE day < ?) RETURNING id",
                    (target.value, now, today),
                ).fetchall()
                for row in rows:
                    _event(conn, row[0], now, None, f"auto_{target.value}")
                changed += len(rows)
            return changed

        return await self.db.run(work)

    async def expire_offers(self) -> int:
        """Offers whose hold ran out pass to the next in line, each exactly once: the status
        change, the next offer and its message commit together, and a second run (or another
        process after a restart) finds nothing left to expire."""
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def work(conn: sqlite3.Connection) -> int:
            passed = 0
            for row in conn.execute(
                f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM}"
                " WHERE b.status = 'offered' AND b.offer_until <= ? ORDER BY b.offer_until",
                (now,),
            ).fetchall():
                booking = _booking(row)
                changed = conn.execute(
                    "UPDATE bookings SET status = 'expired', updated_at = ?"
                    " WHERE id = ? AND status = 'offered'",
                    (now, booking.id),
                ).rowcount
                if not changed:
                    continue
                _event(conn, booking.id, now, None, "offer_expired")
                self._q(
                    conn,
                    Outgoing(
                        dedup_key=f"bk-offer-expired:{booking.id}",
                        chat_id=booking.contact_id,
                        audience=Role.citizen,
                        key="offer_expired",
                        params=self._params(booking),
                    ),
                    now_dt,
                )
                self._seat_freed(conn, booking.session, booking.slot, now_dt)
                passed += 1
            return passed

        return await self.db.run(work)

    # -- messages ------------------------------------------------------------------------------

    def _params(self, booking: Booking) -> dict[str, Any]:
        agency = self.org.agency(booking.agency)
        return {
            "booking_id": booking.id,
            "number": booking.number,
            "agency_zh": agency.name,
            "agency_en": agency.name_en,
            "starts_at": to_db(booking.starts_at),
            "place_zh": booking.session.place,
            "place_en": booking.session.place_en,
            "provisional": booking.session.provisional,
            "subject": booking.subject,
            "request": booking.request,
            "people": booking.people,
            "person_name": booking.person_name or "",
            "proxy": booking.booked_by is not None,
        }

    def _manage_buttons(self, booking: Booking) -> tuple[tuple[str, str], ...]:
        return (
            (N_("Reschedule"), f"bk:resched:{booking.id}"),
            (N_("Cancel the booking"), f"bk:cancel:{booking.id}"),
        )

    def _plan_reminders(self, conn: sqlite3.Connection, booking: Booking, now: datetime) -> None:
        """The day before and two hours before, with "I will come" and "cancel". A moved or
        rescheduled booking replaces its pending reminders."""
        self._cancel(conn, f"bk-rem:{booking.id}:", now)
        starts = booking.starts_at
        buttons = (
            (N_("👍 I will come"), f"bk:come:{booking.id}"),
            (N_("Cancel the booking"), f"bk:cancel:{booking.id}"),
        )
        stamp = starts.strftime("%Y%m%d%H%M")
        for step, before in (("day", timedelta(days=1)), ("2h", timedelta(hours=2))):
            due = starts - before
            if due <= now:
                continue
            self._q(
                conn,
                Outgoing(
                    dedup_key=f"bk-rem:{booking.id}:{stamp}:{step}",
                    chat_id=booking.contact_id,
                    audience=Role.citizen,
                    key="reminder_day" if step == "day" else "reminder_2h",
                    params=self._params(booking),
                    buttons=buttons,
                    due_at=due,
                    expires_at=starts,
                ),
                now,
            )

    def _booked_messages(
        self,
        conn: sqlite3.Connection,
        booking: Booking,
        now: datetime,
        *,
        rescheduled: bool = False,
    ) -> None:
        """Reminders for the citizen; the booking and its summary to the agency at once."""
        self._plan_reminders(conn, booking, now)
        for row in conn.execute(
            "SELECT telegram_id, role FROM users WHERE unit = ? AND role IN (?, ?)",
            (booking.agency, Role.agency_liaison.value, Role.agency_head.value),
        ).fetchall():
            self._q(
                conn,
                Outgoing(
                    dedup_key=(
                        f"bk-agency:{booking.id}:{row[0]}:"
                        f"{booking.starts_at.strftime('%Y%m%d%H%M')}"
                    ),
                    chat_id=int(row[0]),
                    audience=Role(row[1]),
                    key="agency_rescheduled" if rescheduled else "agency_new",
                    params=self._params(booking),
                    due_at=now,
                ),
                now,
            )

    async def queue_day_lists(self) -> int:
        """The afternoon before (from 15:00): each agency's liaisons and head get the list of
        the next day's bookings, once per session (the outbox's dedup key)."""
        now_dt = self.clock.now()
        local = now_dt.astimezone(self.tz)
        if local.time() < time(15, 0):
            return 0
        tomorrow = (local.date() + timedelta(days=1)).isoformat()

        def work(conn: sqlite3.Connection) -> int:
            queued = 0
            sessions = conn.execute(
                "SELECT * FROM reception_sessions WHERE day = ? AND status = 'open'",
                (tomorrow,),
            ).fetchall()
            for srow in sessions:
                session = Session.from_row(srow)
                entries = [
                    {
                        "time": session.slot_start(r["slot"], self.tz).strftime("%H:%M"),
                        "number": r["number"],
                        "subject": r["subject"],
                        "people": r["people"],
                    }
                    for r in conn.execute(
                        "SELECT slot, number, subject, people FROM bookings WHERE session_id = ?"
                        f" AND status IN {_in(SEAT_HOLDING)} ORDER BY slot, id",
                        (session.id,),
                    ).fetchall()
                ]
                agency = self.org.agency(session.agency)
                for urow in conn.execute(
                    "SELECT telegram_id, role FROM users WHERE unit = ? AND role IN (?, ?)",
                    (session.agency, Role.agency_liaison.value, Role.agency_head.value),
                ).fetchall():
                    self._q(
                        conn,
                        Outgoing(
                            dedup_key=f"bk-daylist:{session.id}:{tomorrow}:{urow[0]}",
                            chat_id=int(urow[0]),
                            audience=Role(urow[1]),
                            key="day_list",
                            params={
                                "agency_zh": agency.name,
                                "agency_en": agency.name_en,
                                "day_on": tomorrow,
                                "entries": entries,
                                "place_zh": session.place,
                                "place_en": session.place_en,
                            },
                            due_at=now_dt,
                        ),
                        now_dt,
                    )
                    queued += 1
            return queued

        return await self.db.run(work)

    # -- the day -----------------------------------------------------------------------------

    async def roster(self, agency: str, day: date) -> list[Booking]:
        rows = await self.db.fetch_all(
            f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE b.agency = ? AND s.day = ?"
            " AND b.status IN ('booked', 'confirmed', 'attended', 'no_show')"
            " ORDER BY s.starts, b.slot, b.id",
            (agency, day.isoformat()),
        )
        return [_booking(r) for r in rows]

    async def staff_booking(self, booking_id: int, agencies: Sequence[str] | None) -> Booking:
        """A booking as staff see it: only their own agency's (``None``: any agency)."""
        row = await self.db.fetch_one(
            f"SELECT {_BOOKING_COLUMNS}{_BOOKING_FROM} WHERE b.id = ?", (booking_id,)
        )
        if row is None:
            raise NoSuchBooking()
        booking = _booking(row)
        if agencies is not None and booking.agency not in agencies:
            raise NoSuchBooking()
        return booking

    async def mark(self, booking: Booking, status: BookingStatus, *, actor: int) -> bool:
        """Attended or no-show, on the day or after it."""
        if status not in (S.attended, S.no_show):
            raise ValueError(status)
        if booking.session.day > self.today():
            return False
        now = to_db(self.clock.now())

        def work(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE bookings SET status = ?, updated_at = ?"
                f" WHERE id = ? AND status IN {_in(sources_of(status))}",
                (status.value, now, booking.id),
            ).rowcount
            if changed:
                _event(conn, booking.id, now, actor, status.value)
            return bool(changed)

        return await self.db.run(work)

    async def record_outcome(
        self, booking: Booking, outcome: str, *, actor: int, note: str | None = None
    ) -> tuple[bool, str | None]:
        """Settled (with a note), registered as a petition (an XF case from the booking's
        data, X2 from the reception day) or referred to another procedure (``note``: which).
        Recorded once; the citizen is told."""
        if outcome not in ("settled", "petition", "referred"):
            raise ValueError(outcome)
        now_dt = self.clock.now()
        now = to_db(now_dt)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE bookings SET outcome = ?, outcome_note = ?, updated_at = ?"
                " WHERE id = ? AND status = 'attended' AND outcome IS NULL",
                (outcome, note, now, booking.id),
            )
            if cursor.rowcount == 0:
                return False, None
            number = None
            if outcome == "petition":
                case_id, number = await self._register_petition(conn, booking, actor)
                await conn.execute(
                    "UPDATE bookings SET case_id = ? WHERE id = ?", (case_id, booking.id)
                )
            await conn.execute(
                "INSERT INTO booking_events(booking_id, at, actor_id, kind, detail)"
                " VALUES (?, ?, ?, 'outcome', ?)",
                (booking.id, now, actor, json.dumps({"outcome": outcome, "case": number})),
            )
            key = "outcome_" + outcome
            if outcome == "referred":
                key += "_mediation" if note == "mediation" else "_reconsideration"
            message = Outgoing(
                dedup_key=f"bk-outcome:{booking.id}",
                chat_id=booking.contact_id,
                audience=Role.citizen,
                key=key,
                params={**self._params(booking), "case_number": number or "", "note": note or ""},
                due_at=now_dt,
            )
            for sql, params in self.mailer.queue(message, now_dt):
                await conn.execute(sql, params)
        return True, number

    async def _register_petition(
        self, conn: aiosqlite.Connection, booking: Booking, actor: int
    ) -> tuple[int, str]:
        """An XF case received directly by the agency on the reception day: X2 (tell the
        petitioner whether it is accepted) counts from that day (XF 23; domain §6.3)."""
        received_on = booking.session.day
        year = received_on.year
        seq = await row_in(
            conn,
            "INSERT INTO case_sequences(prefix, year, last_value) VALUES ('XF', ?, 1)"
            " ON CONFLICT(prefix, year) DO UPDATE SET last_value = last_value + 1"
            " RETURNING last_value",
            (year,),
        )
        assert seq is not None
        number = f"XF-{year}-{seq[0]:06d}"
        now = to_db(self.clock.now())
        agency = self.org.agency(booking.agency)
        citizen = booking.citizen_id if booking.citizen_id is not None else booking.booked_by
        answers = {
            "petition_kind": "request",
            "subject": booking.subject,
            "request": booking.request,
            "people": booking.people,
            "channel": "reception_day",
            "booking": booking.number,
        }
        cursor = await conn.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, sensitive, respondent,"
            " subject, answers, received_on, routed_to, routed_to_name, created_at,"
            " updated_at) VALUES (?, 'petition', 'submitted', ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                citizen,
                agency.name,
                booking.subject,
                json.dumps(answers, ensure_ascii=False),
                received_on.isoformat(),
                agency.id,
                agency.name,
                now,
                now,
            ),
        )
        case_id = int(cursor.lastrowid or 0)
        if booking.person_name:
            await conn.execute(
                "INSERT INTO parties(case_id, role, name, phone) VALUES (?, 'applicant', ?, ?)",
                (case_id, booking.person_name, booking.person_phone),
            )
        await conn.execute(
            "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
            " VALUES (?, ?, ?, 'agency', 'submitted', ?)",
            (case_id, now, actor, json.dumps({"number": number, "booking": booking.number})),
        )
        await open_deadline(conn, case_id, "X2", received_on, clock=self.clock)
        return case_id, number

    async def totals(self, month: str, agencies: Sequence[str] | None = None) -> list[Row]:
        """Per agency for one month (YYYY-MM): booked, attended, no-shows, cancelled, and the
        outcomes of those who came."""
        rows = await self.db.fetch_all(
            "SELECT b.agency,"
            " count(*) FILTER (WHERE b.status IN ('booked','confirmed','attended','no_show')),"
            " count(*) FILTER (WHERE b.status = 'attended'),"
            " count(*) FILTER (WHERE b.status = 'no_show'),"
            " count(*) FILTER (WHERE b.status = 'cancelled'),"
            " count(*) FILTER (WHERE b.outcome = 'settled'),"
            " count(*) FILTER (WHERE b.outcome = 'petition'),"
            " count(*) FILTER (WHERE b.outcome = 'referred')"
            f"{_BOOKING_FROM} WHERE substr(s.day, 1, 7) = ? GROUP BY b.agency ORDER BY b.agency",
            (month,),
        )
        return [
            Row(*r)
            for r in rows
            if agencies is None or r[0] in agencies  # staff see their own agency only
        ]


@dataclass(frozen=True)
class Row:
    agency: str
    booked: int
    attended: int
    no_show: int
    cancelled: int
    settled: int
    petition: int
    referred: int
