"""Reception sessions: the organisation file's recurring ``reception_days`` written as rows when
they enter the booking window (never on a legal rest day; a year the calendar does not cover is
marked provisional), and the sessions administrators add, move and cancel. Bookings point at a
session and a slot number, so a moved session takes its bookings along."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from cases.org.users import Role
from cases.reception.base import ServiceBase
from cases.reception.model import (
    BOOKING_COLUMNS,
    BOOKING_FROM,
    LIVE,
    SEAT_HOLDING,
    BadHours,
    NoSuchSession,
    OpenDay,
    Outgoing,
    PastDay,
    RestDay,
    S,
    Session,
    SessionTooShort,
    Slot,
    booking_from_row,
    in_sql,
    record_event,
)
from cases.store.db import Connection
from cases.store.time import to_db


class SessionsMixin(ServiceBase):
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

        def write(conn: Connection) -> int:
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

    async def open_days(
        self, agency: str, *, limit: int = 8, include_full: bool = False
    ) -> list[OpenDay]:
        """The agency's next sessions that can still be booked, with their seats left (one
        read: the sessions with their taken seats per slot). ``include_full``: also sessions
        whose every slot is taken, still open for the waitlist (seats left 0)."""
        await self.ensure_sessions()
        rows = await self.db.fetch_all(
            "SELECT s.*, b.slot AS taken_slot, count(b.id) AS taken FROM reception_sessions s"
            " LEFT JOIN bookings b ON b.session_id = s.id"
            f" AND b.status IN {in_sql(SEAT_HOLDING)}"
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
            slots = self._slots(session, taken.get(session_id, {}), include_full=include_full)
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
                f" AND status IN {in_sql(SEAT_HOLDING)} GROUP BY slot",
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
        self.org.agency(agency)  # UnknownId for a wrong id
        minutes, default_seats = self.settings.slots_for(agency)
        self._check_times(day, starts, ends, minutes, seats or default_seats)
        rule = next((r for r in self.org.reception_days_of(agency)), None)
        place_zh = place or (rule.place if rule else self.org.agency(agency).name)
        place_en = place or (rule.place_en if rule else self.org.agency(agency).name_en)
        now = to_db(self.clock.now())
        row_id = await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO reception_sessions(agency, source, day, starts, ends, place,"
                " place_en, slot_minutes, seats, provisional, confirmed, created_by,"
                " created_at, updated_at)"
                " VALUES (?, 'admin', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id",
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
            ).fetchone()[0]
        )
        found = await self.session(int(row_id or 0))
        assert found is not None
        return found

    def _check_times(self, day: date, starts: time, ends: time, minutes: int, seats: int) -> None:
        """A new or moved session: a working day of the legal calendar, not in the past, with
        at least one slot and a seat count the schema accepts."""
        if day < self.today():
            raise PastDay()
        if not self.calendar.is_workday(day):
            raise RestDay()
        length = (datetime.combine(day, ends) - datetime.combine(day, starts)).total_seconds()
        if length < minutes * 60 or not 1 <= seats <= 500:
            raise BadHours()

    async def move_session(
        self, session_id: int, day: date, starts: time, ends: time, *, actor: int
    ) -> tuple[Session, int]:
        """Move a session; its bookings follow and their people are told (an "I will come"
        is asked again for the new time). Returns the session and how many were told."""
        current = await self.session(session_id)
        if current is None:
            raise NoSuchSession()
        self._check_times(day, starts, ends, current.slot_minutes, current.seats)
        now_dt = self.clock.now()
        now = to_db(now_dt)

        def move(conn: Connection) -> int:
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
            # A booked slot past the new end would vanish: the move is refused (rolled back).
            session = Session.from_row(
                conn.execute(
                    "SELECT * FROM reception_sessions WHERE id = ?", (session_id,)
                ).fetchone()
            )
            told = 0
            for row in conn.execute(
                f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE b.session_id = ?"
                f" AND b.status IN {in_sql(LIVE)}",
                (session_id,),
            ).fetchall():
                booking = booking_from_row(row)
                if booking.slot >= session.slot_count:
                    raise SessionTooShort()
                detail = {"day": day.isoformat()}
                record_event(conn, booking.id, now, actor, "session_moved", detail)
                if booking.status is S.confirmed:  # "I will come" was for the old time
                    conn.execute(
                        "UPDATE bookings SET status = 'booked', updated_at = ?"
                        " WHERE id = ? AND status = 'confirmed'",
                        (now, booking.id),
                    )
                if booking.status in (S.booked, S.confirmed):  # a waitlist place has none
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
            self._tell_agency(
                conn,
                session.agency,
                "agency_session_moved",
                {**self._session_params(session), "count": told},
                f"bk-agency-moved:{session_id}:{day.isoformat()}:{starts}",
                now_dt,
            )
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

        def cancel(conn: Connection) -> int:
            changed = conn.execute(
                "UPDATE reception_sessions SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND status = 'open'",
                (now, session_id),
            ).rowcount
            if not changed:
                raise NoSuchSession()
            told = 0
            for row in conn.execute(
                f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE b.session_id = ?"
                f" AND b.status IN {in_sql(LIVE)}",
                (session_id,),
            ).fetchall():
                booking = booking_from_row(row)
                conn.execute(
                    "UPDATE bookings SET status = 'cancelled', updated_at = ? WHERE id = ?",
                    (now, booking.id),
                )
                record_event(conn, booking.id, now, actor, "session_cancelled")
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
            self._tell_agency(
                conn,
                session.agency,
                "agency_session_cancelled",
                {**self._session_params(session), "count": told},
                f"bk-agency-session-cancelled:{session_id}",
                now_dt,
            )
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
