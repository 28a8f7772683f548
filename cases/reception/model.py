"""局长接待日 (XF 18(2)): the booking procedure's statuses and transitions (data), its settings,
errors and values, and the outbox protocol the scheduling layer implements.

Seats are counted by the database: every statement that takes a seat is conditional on the
seats left *in that statement* (``INSERT … SELECT … WHERE count < seats`` / ``UPDATE … WHERE
count < seats``), and two triggers in migration 0010 refuse any row that would over-book
whatever the caller does. Nothing in this package reads a count in Python and writes afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from cases.i18n import N_
from cases.org.users import Role
from cases.store.db import Connection, Row
from cases.store.time import LEGAL_TZ, from_db


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


def in_sql(statuses: Sequence[BookingStatus]) -> str:
    return "(" + ", ".join(f"'{s.value}'" for s in statuses) + ")"


SEATS_TAKEN = (
    "(SELECT count(*) FROM bookings b WHERE b.session_id = {session} AND b.slot = {slot}"
    f" AND b.status IN {in_sql(SEAT_HOLDING)})"
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


class PastDay(BookingError):
    msgid = N_("That day has passed: a session can be held today or later.")


class BadHours(BookingError):
    msgid = N_(
        "The session must end after it starts, last at least one slot, and hold 1 to 500 seats "
        "per slot."
    )


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
    def from_row(cls, row: Row) -> Session:
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
    name: str | None = None
    """The visitor's full name, as on the ID card the agency checks on arrival (domain §6.3,
    XF 19: a petition names its petitioner); a proxy booking has the citizen's in Proxy."""


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
    booked_by_name: str | None = None  # the community worker's name, as Telegram gives it

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


@dataclass(frozen=True)
class ReminderTime:
    """One reminder before a booked time, as the reminder policy places it."""

    step: str  # stable label for the dedup key, e.g. "-24h"
    key: str  # which text
    due_at: datetime


class Mailer(Protocol):
    """Implemented by scheduling.booking: the outbox statements, the quiet-hours arithmetic
    and the reminder times (the shared reminder policy's, scheduling/policy.py). Statements,
    not a connection, so they join whichever unit of work reports."""

    def queue(self, message: Outgoing, now: datetime) -> list[Statement]: ...

    def cancel(self, prefix: str, now: datetime) -> list[Statement]: ...

    def hold_until(self, now: datetime, hours: int) -> datetime: ...

    def reminder_times(self, starts_at: datetime, now: datetime) -> list[ReminderTime]: ...


class NullMailer:
    """For tools and tests that only need the rules."""

    def queue(self, message: Outgoing, now: datetime) -> list[Statement]:
        return []

    def cancel(self, prefix: str, now: datetime) -> list[Statement]:
        return []

    def hold_until(self, now: datetime, hours: int) -> datetime:
        return now + timedelta(hours=hours)

    def reminder_times(self, starts_at: datetime, now: datetime) -> list[ReminderTime]:
        return []


# -- the service ---------------------------------------------------------------------------------

BOOKING_COLUMNS = (
    "b.id, b.number, b.session_id, b.slot, b.agency, b.citizen_id, b.booked_by, b.person_name,"
    " b.person_phone, b.status, b.subject, b.request, b.people, b.offer_until, b.outcome,"
    " b.outcome_note, b.case_id, s.id AS s_id, s.agency AS s_agency, s.source, s.day, s.starts,"
    " s.ends, s.place, s.place_en, s.slot_minutes, s.seats, s.status AS s_status,"
    " s.provisional, s.confirmed,"
    " (SELECT display_name FROM users WHERE telegram_id = b.booked_by) AS booked_by_name"
)
BOOKING_FROM = " FROM bookings b JOIN reception_sessions s ON s.id = b.session_id"


def booking_from_row(row: Row) -> Booking:
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
        booked_by_name=row["booked_by_name"],
    )


def load_booking(conn: Connection, booking_id: int) -> Booking | None:
    row = conn.execute(
        f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE b.id = ?", (booking_id,)
    ).fetchone()
    return None if row is None else booking_from_row(row)


def record_event(
    conn: Connection,
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


def still_open(conn: Connection, session_id: int) -> None:
    """Inside the unit that books: a session cancelled a moment ago takes no booking (units
    are serialised, so this read and the write after it see the same state)."""
    row = conn.execute(
        "SELECT status FROM reception_sessions WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None or row[0] != "open":
        raise NoSuchSession()


__all__ = [
    "BOOKING_COLUMNS",
    "BOOKING_FROM",
    "LIVE",
    "MAX_PEOPLE",
    "NUMBER_PREFIX",
    "SEATS_TAKEN",
    "SEAT_HOLDING",
    "TRANSITIONS",
    "AgencySlots",
    "BadHours",
    "Booking",
    "BookingError",
    "BookingSettings",
    "BookingStatus",
    "Issue",
    "Mailer",
    "NoSuchBooking",
    "NoSuchSession",
    "NullMailer",
    "OpenDay",
    "Outcome",
    "Outgoing",
    "PastDay",
    "Proxy",
    "ReminderTime",
    "RestDay",
    "Result",
    "S",
    "Session",
    "SessionClosed",
    "SessionTooShort",
    "Slot",
    "Statement",
    "booking_from_row",
    "in_sql",
    "load_booking",
    "record_event",
    "sources_of",
    "still_open",
]
