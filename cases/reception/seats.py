"""Seats and the waitlist: booking, reschedule, cancel and release, "I will come", and the
waitlist's offers that hold a freed seat for the first in line and pass on when they run out."""

from __future__ import annotations

from datetime import datetime

from cases.i18n import N_
from cases.org.users import Role
from cases.reception.base import ServiceBase
from cases.reception.model import (
    BOOKING_COLUMNS,
    BOOKING_FROM,
    LIVE,
    MAX_PEOPLE,
    NUMBER_PREFIX,
    SEAT_HOLDING,
    SEATS_TAKEN,
    Booking,
    BookingError,
    BookingStatus,
    Issue,
    NoSuchBooking,
    NoSuchSession,
    Outcome,
    Outgoing,
    Proxy,
    Result,
    S,
    Session,
    SessionClosed,
    booking_from_row,
    in_sql,
    load_booking,
    record_event,
    sources_of,
    still_open,
)
from cases.store.db import Connection
from cases.store.time import to_db


class SeatsMixin(ServiceBase):
    # -- booking ---------------------------------------------------------------------------

    async def live_booking(
        self, agency: str, *, user_id: int, phone: str | None = None
    ) -> Booking | None:
        if phone is not None:
            sql, params = "b.person_phone = ? AND b.agency = ?", (phone, agency)
        else:
            sql, params = "b.citizen_id = ? AND b.agency = ?", (user_id, agency)  # type: ignore[assignment]
        row = await self.db.fetch_one(
            f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE {sql} AND b.status IN {in_sql(LIVE)}",
            params,
        )
        return None if row is None else booking_from_row(row)

    async def get(self, booking_id: int, *, user_id: int) -> Booking:
        """A booking of this person (or booked by them); anyone else's is "not found"."""
        row = await self.db.fetch_one(
            f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE b.id = ?"
            " AND (b.citizen_id = ? OR b.booked_by = ?)",
            (booking_id, user_id, user_id),
        )
        if row is None:
            raise NoSuchBooking()
        return booking_from_row(row)

    async def my_bookings(self, user_id: int) -> list[Booking]:
        rows = await self.db.fetch_all(
            f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE (b.citizen_id = ? OR b.booked_by = ?)"
            f" AND b.status IN {in_sql(LIVE)} ORDER BY s.day, s.starts, b.slot",
            (user_id, user_id),
        )
        return [booking_from_row(r) for r in rows]

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
        it back instead (a double press, a second attempt).

        The session is read inside the unit, not before it: the unit is queued at once, so
        bookings made together are served in the order they came (a read before it, on
        PostgreSQL's pool of connections, could let a later one overtake for the last seat)."""
        if not 1 <= issue.people <= MAX_PEOPLE:
            raise BookingError()
        now_dt = self.clock.now()
        now = to_db(now_dt)
        citizen_id = None if proxy else user_id
        booked_by = proxy.worker_id if proxy else None

        def work(conn: Connection) -> Result:
            row = conn.execute(
                "SELECT * FROM reception_sessions WHERE id = ?", (session_id,)
            ).fetchone()
            session = self.check_open(None if row is None else Session.from_row(row), slot)
            year = session.day.year
            if proxy is not None:
                where, key = "person_phone = ?", proxy.phone
            else:
                where, key = "citizen_id = ?", user_id  # type: ignore[assignment]
            existing = conn.execute(
                f"SELECT id FROM bookings WHERE {where} AND agency = ?"
                f" AND status IN {in_sql(LIVE)}",
                (key, session.agency),
            ).fetchone()
            if existing is not None:
                found = load_booking(conn, existing[0])
                assert found is not None
                if proxy is not None and found.booked_by != booked_by:
                    # Another worker's booking for this phone: its details are not ours to show.
                    return Result(Outcome.existing_elsewhere, found)
                return Result(Outcome.existing, found)
            seq = conn.execute(
                "INSERT INTO case_sequences(prefix, year, last_value) VALUES (?, ?, 1)"
                " ON CONFLICT(prefix, year)"
                " DO UPDATE SET last_value = case_sequences.last_value + 1"
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
                proxy.name if proxy else issue.name,
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
                " WHERE " + SEATS_TAKEN.format(session="?", slot="?") + " < ? RETURNING id",
                (*values, session.id, slot, session.seats),
            )
            outcome = Outcome.booked
            inserted = cursor.fetchone()
            if inserted is None:
                inserted = conn.execute(
                    "INSERT INTO bookings(number, session_id, slot, agency, citizen_id,"
                    " booked_by, person_name, person_phone, status, subject, request, people,"
                    " created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?) RETURNING id",
                    values,
                ).fetchone()
                outcome = Outcome.waitlisted
            booking_id = int(inserted[0])
            booking = load_booking(conn, booking_id)
            assert booking is not None
            record_event(conn, booking_id, now, user_id, outcome.value, {"number": number})
            position = 0
            if outcome is Outcome.booked:
                self._booked_messages(conn, booking, now_dt)
            else:
                position = self._position(conn, booking)
            return Result(outcome, booking, position)

        return await self.db.run(work)

    def _position(self, conn: Connection, booking: Booking) -> int:
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

        def work(conn: Connection) -> Result:
            still_open(conn, session_id)
            # What the booking held, read inside the unit (units are serialised).
            before = load_booking(conn, booking_id)
            assert before is not None
            cursor = conn.execute(
                "UPDATE bookings SET session_id = ?, slot = ?,"
                " status = CASE WHEN status = 'confirmed' THEN 'booked'"
                "               WHEN status IN ('waiting', 'offered') THEN 'booked'"
                "               ELSE status END,"
                " offer_until = NULL, updated_at = ?"
                f" WHERE id = ? AND status IN {in_sql(LIVE)} AND "
                + SEATS_TAKEN.format(session="?", slot="?")
                + " < ?",
                (session_id, slot, now, booking_id, session_id, slot, session.seats),
            )
            booking = load_booking(conn, booking_id)
            assert booking is not None
            if cursor.rowcount == 0:
                return Result(Outcome.full if booking.live else Outcome.already, booking)
            record_event(
                conn,
                booking_id,
                now,
                user_id,
                "rescheduled",
                {"from": [before.session.id, before.slot], "to": [session_id, slot]},
            )
            if before.status in SEAT_HOLDING:
                self._seat_freed(conn, before.session, before.slot, now_dt)
            # The agency heard of a booking, not of a waitlist place: "moved" or "new".
            moved = before.status in (S.booked, S.confirmed)
            self._booked_messages(conn, booking, now_dt, rescheduled=moved)
            return Result(Outcome.booked, booking)

        return await self.db.run(work)

    async def cancel(self, booking_id: int, *, user_id: int) -> Result:
        """Cancel (or leave the waitlist); a freed seat goes to the waitlist at once."""
        return await self._let_go(booking_id, user_id, S.cancelled)

    async def _let_go(self, booking_id: int, user_id: int, target: BookingStatus) -> Result:
        """Cancelled or released: the booking ends, its reminders are withdrawn, a seat it
        held goes to the waitlist at once, and the agency, which was told of the booking, is
        told it ends; a second press reports "already"."""
        await self.get(booking_id, user_id=user_id)
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def work(conn: Connection) -> Result:
            # Read inside the unit (units are serialised): what the booking held when it ended.
            before = load_booking(conn, booking_id)
            assert before is not None
            cursor = conn.execute(
                "UPDATE bookings SET status = ?, offer_until = NULL, updated_at = ?"
                f" WHERE id = ? AND status IN {in_sql(sources_of(target))}",
                (target.value, now, booking_id),
            )
            booking = load_booking(conn, booking_id)
            assert booking is not None
            if cursor.rowcount == 0:
                return Result(Outcome.already, booking)
            record_event(conn, booking_id, now, user_id, target.value)
            self._cancel(conn, f"bk-rem:{booking_id}:", now_dt)
            if before.status in SEAT_HOLDING:
                self._seat_freed(conn, booking.session, booking.slot, now_dt)
            if before.status in (S.booked, S.confirmed):
                self._tell_agency(
                    conn,
                    booking.agency,
                    "agency_" + target.value,
                    self._params(booking),
                    f"bk-agency-end:{booking_id}",
                    now_dt,
                )
            return Result(Outcome.cancelled, booking)

        return await self.db.run(work)

    async def confirm(self, booking_id: int, *, user_id: int) -> Result:
        """ "I will come"."""
        await self.get(booking_id, user_id=user_id)
        now = to_db(self.clock.now())

        def work(conn: Connection) -> Result:
            cursor = conn.execute(
                "UPDATE bookings SET status = 'confirmed', updated_at = ?"
                " WHERE id = ? AND status = 'booked'",
                (now, booking_id),
            )
            booking = load_booking(conn, booking_id)
            assert booking is not None
            if cursor.rowcount:
                record_event(conn, booking_id, now, user_id, "confirmed")
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

        def work(conn: Connection) -> bool:
            # Checked again inside the unit: cancelled while staff were typing → not sent.
            current = load_booking(conn, booking.id)
            if current is None or current.status not in (S.booked, S.confirmed):
                return False
            count = conn.execute(
                "SELECT count(*) FROM booking_events WHERE booking_id = ? AND kind = 'answered'",
                (booking.id,),
            ).fetchone()[0]
            record_event(conn, booking.id, now, actor, "answered", {"note": note})
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

        def work(conn: Connection) -> Result:
            cursor = conn.execute(
                "UPDATE bookings SET status = 'booked', offer_until = NULL, updated_at = ?"
                " WHERE id = ? AND status = 'offered' AND offer_until > ?",
                (now, booking_id, now),
            )
            booking = load_booking(conn, booking_id)
            assert booking is not None
            if cursor.rowcount == 0:
                return Result(Outcome.already, booking)
            record_event(conn, booking_id, now, user_id, "offer_taken")
            self._booked_messages(conn, booking, now_dt)
            return Result(Outcome.booked, booking)

        return await self.db.run(work)

    # -- the waitlist ------------------------------------------------------------------------

    def _seat_freed(self, conn: Connection, session: Session, slot: int, now_dt: datetime) -> None:
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
        booking = load_booking(conn, row[0])
        assert booking is not None
        record_event(conn, booking.id, now, None, "offered", {"until": to_db(until)})
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

        def work(conn: Connection) -> int:
            changed = 0
            for target, sources in (
                (S.expired, (S.waiting, S.offered)),
                (S.no_show, (S.booked, S.confirmed)),
            ):
                rows = conn.execute(
                    f"UPDATE bookings SET status = ?, offer_until = NULL, updated_at = ?"
                    f" WHERE status IN {in_sql(sources)} AND session_id IN"
                    " (SELECT id FROM reception_sessions WHERE day < ?) RETURNING id",
                    (target.value, now, today),
                ).fetchall()
                for row in rows:
                    record_event(conn, row[0], now, None, f"auto_{target.value}")
                changed += len(rows)
            return changed

        return await self.db.run(work)

    async def expire_offers(self) -> int:
        """Offers whose hold ran out pass to the next in line, each exactly once: the status
        change, the next offer and its message commit together, and a second run (or another
        process after a restart) finds nothing left to expire."""
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def work(conn: Connection) -> int:
            passed = 0
            for row in conn.execute(
                f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM}"
                " WHERE b.status = 'offered' AND b.offer_until <= ? ORDER BY b.offer_until",
                (now,),
            ).fetchall():
                booking = booking_from_row(row)
                changed = conn.execute(
                    "UPDATE bookings SET status = 'expired', updated_at = ?"
                    " WHERE id = ? AND status = 'offered'",
                    (now, booking.id),
                ).rowcount
                if not changed:
                    continue
                record_event(conn, booking.id, now, None, "offer_expired")
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
