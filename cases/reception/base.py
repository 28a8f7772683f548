"""What every part of the booking service shares: its collaborators, the clock and window
arithmetic, and the messages a change writes to the outbox in the same unit of work (receipts to
agencies, reminders). No Telegram here: a :class:`Mailer` from the scheduling layer turns them
into outbox rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cases.i18n import N_
from cases.law.calendar import LegalCalendar
from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation
from cases.org.users import Role
from cases.reception.model import (
    Booking,
    BookingSettings,
    Mailer,
    NullMailer,
    Outgoing,
    Session,
)
from cases.store.db import Connection, Database
from cases.store.time import LEGAL_TZ, Clock, to_db


class ServiceBase:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        org: Organisation,
        calendar: LegalCalendar,
        settings: BookingSettings | None = None,
        mailer: Mailer | None = None,
        tz: ZoneInfo = LEGAL_TZ,
        engine: DeadlineEngine | None = None,
    ) -> None:
        """``engine``: the process's deadline engine (local periods), for the X2 of a petition
        registered at the roster; ``calendar`` places the sessions."""
        self.engine = engine
        self.db = db
        self.clock = clock
        self.org = org
        self.calendar = calendar
        self.settings = settings or BookingSettings()
        self.mailer: Mailer = mailer or NullMailer()
        self.tz = tz
        self._ensured_on: date | None = None

    def _q(self, conn: Connection, message: Outgoing, now: datetime) -> None:
        for sql, params in self.mailer.queue(message, now):
            conn.execute(sql, params)

    def _cancel(self, conn: Connection, prefix: str, now: datetime) -> None:
        for sql, params in self.mailer.cancel(prefix, now):
            conn.execute(sql, params)

    # -- sessions --------------------------------------------------------------------------

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def window_end(self) -> date:
        return self.today() + timedelta(weeks=self.settings.weeks_ahead)

    def closes_at(self, session: Session, slot: int) -> datetime:
        return session.slot_start(slot, self.tz) - timedelta(hours=self.settings.close_hours)

    async def session(self, session_id: int) -> Session | None:
        """One session by id; the sessions part (cases/reception/sessions.py) implements it,
        and the seats part uses it."""
        raise NotImplementedError

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
            "booked_by_name": booking.booked_by_name or "",
        }

    def _session_params(self, session: Session) -> dict[str, Any]:
        """A session as the agency's messages about it name it."""
        agency = self.org.agency(session.agency)
        return {
            "session_id": session.id,
            "agency_zh": agency.name,
            "agency_en": agency.name_en,
            "starts_at": to_db(session.slot_start(0, self.tz)),
            "place_zh": session.place,
            "place_en": session.place_en,
            "provisional": session.provisional,
        }

    def _manage_buttons(self, booking: Booking) -> tuple[tuple[str, str], ...]:
        return (
            (N_("Reschedule"), f"bk:resched:{booking.id}"),
            (N_("Cancel the booking"), f"bk:cancel:{booking.id}"),
        )

    def _plan_reminders(self, conn: Connection, booking: Booking, now: datetime) -> None:
        """The reminders before the time (the reminder policy's steps: the day before and two
        hours before, quiet hours respected), with "I will come" and "cancel". A moved or
        rescheduled booking replaces its pending reminders."""
        self._cancel(conn, f"bk-rem:{booking.id}:", now)
        starts = booking.starts_at
        buttons = (
            (N_("👍 I will come"), f"bk:come:{booking.id}"),
            (N_("Cancel the booking"), f"bk:cancel:{booking.id}"),
        )
        stamp = starts.strftime("%Y%m%d%H%M")
        for reminder in self.mailer.reminder_times(starts, now):
            self._q(
                conn,
                Outgoing(
                    dedup_key=f"bk-rem:{booking.id}:{stamp}:{reminder.step}",
                    chat_id=booking.contact_id,
                    audience=Role.citizen,
                    key=reminder.key,
                    params=self._params(booking),
                    buttons=buttons,
                    due_at=reminder.due_at,
                    expires_at=starts,
                ),
                now,
            )

    def _tell_agency(
        self,
        conn: Connection,
        agency: str,
        key: str,
        params: dict[str, Any],
        dedup: str,
        now: datetime,
    ) -> None:
        """One message to each liaison and the head of the agency (the existing units), at
        once: ``dedup`` names the event, the chat is added."""
        for row in conn.execute(
            "SELECT telegram_id, role FROM users WHERE unit = ? AND role IN (?, ?)",
            (agency, Role.agency_liaison.value, Role.agency_head.value),
        ).fetchall():
            self._q(
                conn,
                Outgoing(
                    dedup_key=f"{dedup}:{row[0]}",
                    chat_id=int(row[0]),
                    audience=Role(row[1]),
                    key=key,
                    params=params,
                    due_at=now,
                ),
                now,
            )

    def _booked_messages(
        self,
        conn: Connection,
        booking: Booking,
        now: datetime,
        *,
        rescheduled: bool = False,
    ) -> None:
        """Reminders for the citizen; the booking and its summary to the agency at once."""
        self._plan_reminders(conn, booking, now)
        self._tell_agency(
            conn,
            booking.agency,
            "agency_rescheduled" if rescheduled else "agency_new",
            self._params(booking),
            f"bk-agency:{booking.id}:{booking.starts_at.strftime('%Y%m%d%H%M')}",
            now,
        )
