"""The agency's side of the day: the list of a session's bookings the working afternoon
before, the roster with attendance and outcomes (settled, registered as a petition, referred),
and the monthly totals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from cases.intake.forms import PETITION_KINDS
from cases.org.users import Role
from cases.procedures.case_clocks import open_deadline
from cases.procedures.privacy import mask_numbers
from cases.reception.base import ServiceBase
from cases.reception.model import (
    BOOKING_COLUMNS,
    BOOKING_FROM,
    SEAT_HOLDING,
    Booking,
    BookingStatus,
    NoSuchBooking,
    Outgoing,
    S,
    Session,
    booking_from_row,
    in_sql,
    record_event,
    sources_of,
)
from cases.store.db import Connection, UnitConnection, row_in
from cases.store.time import to_db

PETITION_KIND_VALUES = tuple(choice.value for choice in PETITION_KINDS)
"""The kinds intake asks (申诉求决, 建议意见, 检举控告): staff choose one when registering."""
SENSITIVE_PETITION_KIND = "report"
"""检举控告 (XF 30(3)): never disclosed to the person or unit reported; as intake decides."""


class RosterMixin(ServiceBase):
    async def queue_day_lists(self) -> int:
        """The working afternoon before (from 15:00): each agency's liaisons and head get the
        list of a session's bookings on the last working day before it, so a Monday's list
        comes on Friday, not on Sunday when nobody reads it, and the list after a holiday on
        the day before the holiday. Bookings made after the list (until ``close_hours``
        before the time) reach the agency one by one as they are made. Once per session (the
        outbox's dedup key); a list missed on that day (the bot was down) follows on a later
        afternoon before the session."""
        now_dt = self.clock.now()
        local = now_dt.astimezone(self.tz)
        if local.time() < time(15, 0):
            return 0
        today = local.date()
        until = today + timedelta(days=1)
        # Sessions fall on working days only: every day up to the next working day is covered
        # now (the calendar's longest run of rest days is well under the cap).
        while not self.calendar.is_workday(until) and until < today + timedelta(days=15):
            until += timedelta(days=1)

        def work(conn: Connection) -> int:
            queued = 0
            sessions = conn.execute(
                "SELECT * FROM reception_sessions WHERE day > ? AND day <= ? AND status = 'open'"
                " ORDER BY day, starts, id",
                (today.isoformat(), until.isoformat()),
            ).fetchall()
            for srow in sessions:
                session = Session.from_row(srow)
                entries = [
                    {
                        "time": session.slot_start(r["slot"], self.tz).strftime("%H:%M"),
                        "number": r["number"],
                        # Typed by the citizen: an ID or phone number in it is masked (an
                        # agency sees no ID number; the visitor shows theirs on the day).
                        "subject": mask_numbers(r["subject"]),
                        "people": r["people"],
                        "name": r["person_name"],
                    }
                    for r in conn.execute(
                        "SELECT slot, number, subject, people, person_name FROM bookings"
                        " WHERE session_id = ?"
                        f" AND status IN {in_sql(SEAT_HOLDING)} ORDER BY slot, id",
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
                            dedup_key=f"bk-daylist:{session.id}:{session.day}:{urow[0]}",
                            chat_id=int(urow[0]),
                            audience=Role(urow[1]),
                            key="day_list",
                            params={
                                "agency_zh": agency.name,
                                "agency_en": agency.name_en,
                                "day_on": session.day.isoformat(),
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
            f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE b.agency = ? AND s.day = ?"
            " AND b.status IN ('booked', 'confirmed', 'attended', 'no_show')"
            " ORDER BY s.starts, b.slot, b.id",
            (agency, day.isoformat()),
        )
        return [booking_from_row(r) for r in rows]

    async def staff_booking(self, booking_id: int, agencies: Sequence[str] | None) -> Booking:
        """A booking as staff see it: only their own agency's (``None``: any agency)."""
        row = await self.db.fetch_one(
            f"SELECT {BOOKING_COLUMNS}{BOOKING_FROM} WHERE b.id = ?", (booking_id,)
        )
        if row is None:
            raise NoSuchBooking()
        booking = booking_from_row(row)
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

        def work(conn: Connection) -> bool:
            changed = conn.execute(
                "UPDATE bookings SET status = ?, updated_at = ?"
                f" WHERE id = ? AND status IN {in_sql(sources_of(status))}",
                (status.value, now, booking.id),
            ).rowcount
            if changed:
                record_event(conn, booking.id, now, actor, status.value)
            return bool(changed)

        return await self.db.run(work)

    async def record_outcome(
        self,
        booking: Booking,
        outcome: str,
        *,
        actor: int,
        note: str | None = None,
        petition_kind: str | None = None,
    ) -> tuple[bool, str | None]:
        """Settled (with a note), registered as a petition (an XF case from the booking's
        data, X2 from the reception day; ``petition_kind`` as intake asks it) or referred to
        another procedure (``note``: which). Recorded once; the citizen is told."""
        if outcome not in ("settled", "petition", "referred"):
            raise ValueError(outcome)
        if outcome == "petition" and petition_kind not in PETITION_KIND_VALUES:
            raise ValueError(petition_kind)
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
                assert petition_kind is not None
                case_id, number = await self._register_petition(
                    conn, booking, actor, petition_kind
                )
                await conn.execute(
                    "UPDATE bookings SET case_id = ? WHERE id = ?", (case_id, booking.id)
                )
            await conn.execute(
                "INSERT INTO booking_events(booking_id, at, actor_id, kind, detail)"
                " VALUES (?, ?, ?, 'outcome', ?)",
                (booking.id, now, actor, json.dumps({"outcome": outcome, "case": number})),
            )
            for sql, params in self.mailer.queue(
                self._outcome_message(booking, outcome, note, number, now_dt), now_dt
            ):
                await conn.execute(sql, params)
        return True, number

    def _outcome_message(
        self,
        booking: Booking,
        outcome: str,
        note: str | None,
        number: str | None,
        now: datetime,
    ) -> Outgoing:
        """What the person who booked is told. A community worker who booked for a citizen
        without an account is told what to pass on (the case number, the command to start a
        referred procedure), not the content: the settlement note and the case's later notices
        are the citizen's, and the petition is the citizen's case, not the worker's."""
        key = "outcome_" + outcome
        if outcome == "referred":
            key += "_mediation" if note == "mediation" else "_reconsideration"
        proxy = booking.citizen_id is None
        if proxy and outcome in ("settled", "petition"):
            key += "_proxy"
        params = {**self._params(booking), "case_number": number or ""}
        if not proxy:
            params["note"] = note or ""
        return Outgoing(
            dedup_key=f"bk-outcome:{booking.id}",
            chat_id=booking.contact_id,
            audience=Role.citizen,
            key=key,
            params=params,
            due_at=now,
        )

    async def _register_petition(
        self, conn: UnitConnection, booking: Booking, actor: int, petition_kind: str
    ) -> tuple[int, str]:
        """An XF case received directly by the agency on the reception day: X2 (tell the
        petitioner whether it is accepted) counts from that day (XF 23; domain §6.3).

        The case is the citizen's: the booking's account, or, for a booking a community
        worker made for a citizen without one, no account at all (the name and phone are the
        applicant party). A 检举控告 (``report``) is sensitive as at intake (XF 30(3)): only
        the petition office and the administrators see it. The case goes to the petition
        office, which follows the X2 clock of every petition."""
        received_on = booking.session.day
        year = received_on.year
        seq = await row_in(
            conn,
            "INSERT INTO case_sequences(prefix, year, last_value) VALUES ('XF', ?, 1)"
            " ON CONFLICT(prefix, year)"
            " DO UPDATE SET last_value = case_sequences.last_value + 1"
            " RETURNING last_value",
            (year,),
        )
        assert seq is not None
        number = f"XF-{year}-{seq[0]:06d}"
        now = to_db(self.clock.now())
        agency = self.org.agency(booking.agency)
        sensitive = petition_kind == SENSITIVE_PETITION_KIND
        office = self.org.office_for_role("petition")
        routed_to = f"office:{office.id}" if office else "office:unknown"
        answers = {
            "petition_kind": petition_kind,
            "subject": booking.subject,
            "request": booking.request,
            "people": booking.people,
            "channel": "reception_day",
            "received_by": agency.id,
            "booking": booking.number,
        }
        cursor = await conn.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, sensitive, respondent,"
            " subject, answers, received_on, routed_to, routed_to_name, created_at,"
            " updated_at) VALUES (?, 'petition', 'submitted', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                number,
                booking.citizen_id,
                int(sensitive),
                None if sensitive else agency.name,
                # cases.subject is the list label, shown to every role: numbers masked, as
                # cases.intake.submission.subject_of does (the answers keep what was typed).
                mask_numbers(booking.subject),
                json.dumps(answers, ensure_ascii=False),
                received_on.isoformat(),
                routed_to,
                office.name if office else "",
                now,
                now,
            ),
        )
        case_id = int((await cursor.fetchone())[0])
        if booking.person_name:
            await conn.execute(
                "INSERT INTO parties(case_id, role, name, phone) VALUES (?, 'applicant', ?, ?)",
                (case_id, booking.person_name, booking.person_phone),
            )
        await conn.execute(
            "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
            " VALUES (?, ?, ?, coalesce((SELECT role FROM users WHERE telegram_id = ?),"
            " 'agency_liaison'), 'received_at_reception', ?)",
            (
                case_id,
                now,
                actor,
                actor,
                json.dumps({"number": number, "booking": booking.number}),
            ),
        )
        await open_deadline(conn, case_id, "X2", received_on, clock=self.clock, engine=self.engine)
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
            f"{BOOKING_FROM} WHERE substr(s.day, 1, 7) = ? GROUP BY b.agency ORDER BY b.agency",
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
