"""局长接待日 (XF 18(2)): the booking service, put together from its parts.

Booking is one more procedure with its own statuses (:class:`BookingStatus`) and a transition
table kept as data (:data:`TRANSITIONS`), both in :mod:`cases.reception.model`. The service's
concerns live in their own modules: sessions (:mod:`.sessions`), seats and the waitlist
(:mod:`.seats`), the roster and outcomes (:mod:`.roster`); what they share (the clock, the
window, the messages) in :mod:`.base`. This module is the one others import from.
"""

from __future__ import annotations

from cases.reception.model import (
    BOOKING_COLUMNS,
    BOOKING_FROM,
    LIVE,
    MAX_PEOPLE,
    NUMBER_PREFIX,
    SEAT_HOLDING,
    SEATS_TAKEN,
    TRANSITIONS,
    AgencySlots,
    BadHours,
    Booking,
    BookingError,
    BookingSettings,
    BookingStatus,
    Issue,
    Mailer,
    NoSuchBooking,
    NoSuchSession,
    NullMailer,
    OpenDay,
    Outcome,
    Outgoing,
    PastDay,
    Proxy,
    ReminderTime,
    RestDay,
    Result,
    S,
    Session,
    SessionClosed,
    SessionTooShort,
    Slot,
    Statement,
    booking_from_row,
    in_sql,
    load_booking,
    record_event,
    sources_of,
    still_open,
)
from cases.reception.roster import RosterMixin, Row
from cases.reception.seats import SeatsMixin
from cases.reception.sessions import SessionsMixin


class BookingService(SessionsMixin, SeatsMixin, RosterMixin):
    """Sessions, seats and the waitlist, the roster: one service the dispatcher passes on as
    ``booking``."""


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
    "BookingService",
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
    "Row",
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
