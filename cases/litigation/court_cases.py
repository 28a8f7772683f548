"""行政应诉: court cases against county agencies, their defence period (L3) and hearings (L7).

Staff register a suit when the agency receives the complaint copy. That one unit of work writes
the ``lawsuits`` record (domain §6.5), the ``litigation_defences`` row whose due date is L3
(XS 67(1): 15 CD to file the evidence, the normative documents relied on and the 答辩状; late
evidence counts as none, XS 34(2)), and a ``hearings`` row when the hearing date is known. The
reminder planner (scheduling/planner.py) reads those two tables; nothing here sends anything.

After each hearing staff record who appeared for the agency. XS 3(3) requires the head or, if
the head cannot, 相应的工作人员; XSJS 128 forbids sending only a lawyer. The 2013 county plan's
"100 % 出庭率" is the share of hearings attended by the head or by such staff; the head-in-person
rate and the lawyer-only incidents are tracked separately (domain §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from cases.i18n import N_
from cases.intake.validation import FutureDateError, ValidationError
from cases.law.deadline_rules import DeadlineEngine
from cases.litigation.hearing_times import (
    UNKNOWN_AGENCY,
    check_hearing_time,
)
from cases.litigation.models import (
    HEARING_NOT_STARTED,
    AgencyAppearances,
    Appearance,
    AppearanceStats,
    Attendance,
    Defence,
    DefenceNotFound,
    Hearing,
    HearingNotFound,
    Lawsuit,
    LawsuitNotFound,
    RegisterLawsuit,
)
from cases.org.organisation import Organisation, UnknownId
from cases.store.db import Connection, Database, Row
from cases.store.time import LEGAL_TZ, Clock, from_db, legal_today, to_db

# --- the service ------------------------------------------------------------------------------


class LitigationService:
    """Every write is one unit of work (``db.run``); reads see committed data only."""

    def __init__(
        self, db: Database, clock: Clock, org: Organisation, *, engine: DeadlineEngine
    ) -> None:
        self._db = db
        self._clock = clock
        self.org = org
        self.engine = engine
        self.tz = LEGAL_TZ

    def today(self) -> date:
        return legal_today(self._clock, self.tz)

    def now(self) -> datetime:
        return self._clock.now()

    def on_rest_day(self, moment: datetime) -> bool:
        """Courts sit on working days; a hearing on a weekend or a public holiday (legal
        calendar, C5 make-up days count as working days) is more likely a typing slip."""
        return not self.engine.calendar.is_workday(moment.astimezone(self.tz).date())

    # registration -----------------------------------------------------------------------

    async def register_lawsuit(self, data: RegisterLawsuit) -> Lawsuit:
        """The suit, its L3 defence period and (if known) its first hearing, together.

        Registering the same court case for the same agency again returns the first record
        with ``created=False``: a double press or a re-delivered update registers once.
        """
        try:
            agency = self.org.agency(data.agency_id)
        except UnknownId:
            raise ValidationError(UNKNOWN_AGENCY, code="agency") from None
        today = self.today()
        if data.complaint_received_on > today:
            raise FutureDateError(
                N_("This date is after today. Please type a date up to today ({today})."),
                {"today": today},
            )
        if data.hearing_at is not None:
            self.check_hearing_time(data.hearing_at, data.complaint_received_on)
        # L3 (XS 67(1)): 15 CD from receipt of the complaint copy; C1, C4 on the legal calendar.
        deadline = self.engine.compute("L3", data.complaint_received_on)
        stamp = to_db(self.now())
        head_required = data.major or data.court_requested_head

        def work(conn: Connection) -> tuple[int, bool]:
            existing = conn.execute(
                "SELECT id FROM lawsuits WHERE court_case_number = ? AND agency_id = ?",
                (data.court_case_number, agency.id),
            ).fetchone()
            if existing is not None:
                return int(existing[0]), False
            lawsuit_id = conn.execute(
                "INSERT INTO lawsuits(agency_id, agency, court, court_case_number, plaintiff,"
                " act_challenged, complaint_received_on, major, court_requested_head,"
                " registered_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                " RETURNING id",
                (
                    agency.id,
                    agency.name,
                    data.court,
                    data.court_case_number,
                    data.plaintiff,
                    data.act_challenged,
                    data.complaint_received_on.isoformat(),
                    int(data.major),
                    int(data.court_requested_head),
                    data.registered_by,
                    stamp,
                    stamp,
                ),
            ).fetchone()[0]
            # The planner reads ``agency`` as a display name: the Chinese name, as in cases.
            conn.execute(
                "INSERT INTO litigation_defences(lawsuit_id, agency, court, court_case_number,"
                " complaint_received_on, due_on, provisional, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    lawsuit_id,
                    agency.name,
                    data.court,
                    data.court_case_number,
                    data.complaint_received_on.isoformat(),
                    deadline.due.isoformat(),
                    int(deadline.provisional),
                    stamp,
                    stamp,
                ),
            )
            if data.hearing_at is not None:
                _insert_hearing(
                    conn,
                    int(lawsuit_id or 0),
                    agency.name,
                    data.court,
                    data.court_case_number,
                    data.hearing_at,
                    major=data.major,
                    head_required=head_required,
                    stamp=stamp,
                )
            return int(lawsuit_id or 0), True

        lawsuit_id, created = await self._db.run(work)
        lawsuit = await self.get(lawsuit_id, include_closed=True)
        return lawsuit.model_copy(update={"created": created})

    def check_hearing_time(self, starts_at: datetime, received_on: date | None) -> None:
        check_hearing_time(starts_at, received_on, now=self.now(), tz=self.tz)

    async def add_hearing(self, lawsuit: int | str, hearing_at: datetime, *, by: int) -> Hearing:
        """Another hearing (the first one once the court sets it, or a continued hearing).

        ``lawsuit`` is the record id or the court case number (unique unless co-defendants
        registered it; then every co-defendant's record gets the hearing). ``head_required``
        follows the case's flags (XSJS 129(1)).
        """
        if isinstance(lawsuit, str):
            rows = await self._db.fetch_all(
                "SELECT * FROM lawsuits WHERE court_case_number = ? AND status = 'open'",
                (lawsuit.strip(),),
            )
        else:
            rows = await self._db.fetch_all(
                "SELECT * FROM lawsuits WHERE id = ? AND status = 'open'", (lawsuit,)
            )
        if not rows:
            raise LawsuitNotFound(lawsuit)
        for row in rows:
            self.check_hearing_time(hearing_at, date.fromisoformat(row["complaint_received_on"]))
        stamp = to_db(self.now())

        def work(conn: Connection) -> list[int]:
            ids: list[int] = []
            for row in rows:
                still_open = conn.execute(
                    "SELECT 1 FROM lawsuits WHERE id = ? AND status = 'open'", (row["id"],)
                ).fetchone()
                if still_open is None:
                    continue
                ids.append(
                    _insert_hearing(
                        conn,
                        row["id"],
                        row["agency"],
                        row["court"],
                        row["court_case_number"],
                        hearing_at,
                        major=bool(row["major"]),
                        head_required=bool(row["major"] or row["court_requested_head"]),
                        stamp=stamp,
                    )
                )
            return ids

        ids = await self._db.run(work)
        if not ids:
            raise LawsuitNotFound(lawsuit)
        hearing = await self._hearing(ids[0])
        assert hearing is not None
        return hearing

    # progress ---------------------------------------------------------------------------

    async def mark_defence_filed(self, defence_id: int, by: int) -> bool:
        """The evidence and 答辩状 were filed with the court: L3 reminders stop (the planner
        cancels pending ones). False if it was already marked (or cancelled)."""
        params = (self.today().isoformat(), by, to_db(self.now()), defence_id)

        def work(conn: Connection) -> bool:
            row = conn.execute(
                "SELECT status FROM litigation_defences WHERE id = ?", (defence_id,)
            ).fetchone()
            if row is None:
                raise DefenceNotFound(defence_id)
            changed = conn.execute(
                "UPDATE litigation_defences SET status = 'filed', filed_on = ?, filed_by = ?,"
                " updated_at = ? WHERE id = ? AND status = 'open'",
                params,
            ).rowcount
            return changed == 1

        return await self._db.run(work)

    async def record_appearance(
        self,
        hearing_id: int,
        *,
        head_appeared: bool,
        appeared_by: str | None = None,
        lawyer_only: bool = False,
        excuse: str | None = None,
        by: int,
    ) -> Hearing:
        """Who appeared for the agency (XS 3(3); XSJS 128); the hearing becomes 'held'.

        head → the head in person; otherwise a named person → 相应的工作人员; ``lawyer_only``
        → the forbidden case of XSJS 128; nobody → absent. Recorded once per hearing.
        """
        if head_appeared and lawyer_only:
            raise ValueError("the head appeared, so it was not lawyer-only")
        if head_appeared:
            attendance: Attendance = "head"
        elif lawyer_only:
            attendance = "lawyer_only"
        elif appeared_by:
            attendance = "staff"
        else:
            attendance = "absent"
        hearing = await self._hearing(hearing_id)
        if hearing is None or hearing.status != "scheduled":
            raise HearingNotFound(hearing_id)
        if hearing.starts_at > self.now():
            # The moment, not the day: at 09:00 a 15:00 hearing has not been held, and an
            # "absent" recorded then would stop its L7 reminders and count in the 出庭率.
            local = hearing.starts_at.astimezone(self.tz)
            raise ValidationError(
                HEARING_NOT_STARTED,
                {"date": local.date(), "time": f"{local:%H:%M}"},
                code="not_yet",
            )
        stamp = to_db(self.now())
        params = (
            hearing_id,
            attendance,
            (appeared_by or "").strip() or None,
            None if head_appeared else ((excuse or "").strip() or None),
            by,
            stamp,
        )

        def work(conn: Connection) -> None:
            changed = conn.execute(
                "UPDATE hearings SET status = 'held', updated_at = ?"
                " WHERE id = ? AND status = 'scheduled'",
                (stamp, hearing_id),
            ).rowcount
            if changed != 1:
                raise HearingNotFound(hearing_id)  # recorded meanwhile (a second press)
            conn.execute(
                "INSERT INTO hearing_appearances(hearing_id, attendance, appeared_by, excuse,"
                " recorded_by, recorded_at) VALUES (?,?,?,?,?,?)",
                params,
            )

        await self._db.run(work)
        recorded = await self._hearing(hearing_id)
        assert recorded is not None
        return recorded

    async def close_lawsuit(self, lawsuit_id: int, by: int) -> bool:
        """The suit ended (judgment, withdrawal): an open defence period and hearings still
        scheduled are cancelled, so their reminders stop. False if it was already closed."""
        stamp = to_db(self.now())

        def work(conn: Connection) -> bool:
            changed = conn.execute(
                "UPDATE lawsuits SET status = 'closed', closed_by = ?, updated_at = ?"
                " WHERE id = ? AND status = 'open'",
                (by, stamp, lawsuit_id),
            ).rowcount
            if changed != 1:
                return False
            conn.execute(
                "UPDATE litigation_defences SET status = 'cancelled', updated_at = ?"
                " WHERE lawsuit_id = ? AND status = 'open'",
                (stamp, lawsuit_id),
            )
            conn.execute(
                "UPDATE hearings SET status = 'cancelled', updated_at = ?"
                " WHERE lawsuit_id = ? AND status = 'scheduled'",
                (stamp, lawsuit_id),
            )
            return True

        return await self._db.run(work)

    # reading ----------------------------------------------------------------------------

    async def recompute_provisional(self) -> int:
        """After the holiday calendar was extended: recount open provisional defence dates
        (L3) on the current engine; returns how many changed. The planner then replaces
        their reminders (a moved date has a new dedup key)."""
        rows = await self._db.fetch_all(
            "SELECT id, complaint_received_on, due_on FROM litigation_defences"
            " WHERE status = 'open' AND provisional = 1"
        )
        updates = []
        for row in rows:
            deadline = self.engine.compute("L3", date.fromisoformat(row["complaint_received_on"]))
            if deadline.provisional and deadline.due.isoformat() == row["due_on"]:
                continue
            stamp = to_db(self._clock.now())
            updates.append((deadline.due.isoformat(), int(deadline.provisional), stamp, row["id"]))
        if updates:
            await self._db.run(
                lambda conn: conn.executemany(
                    "UPDATE litigation_defences SET due_on = ?, provisional = ?, updated_at = ?"
                    " WHERE id = ?",
                    updates,
                )
            )
        return len(updates)

    async def get(self, lawsuit_id: int, *, include_closed: bool = False) -> Lawsuit:
        row = await self._db.fetch_one("SELECT * FROM lawsuits WHERE id = ?", (lawsuit_id,))
        if row is None or (row["status"] != "open" and not include_closed):
            raise LawsuitNotFound(lawsuit_id)
        return (await self._assemble([row]))[0]

    async def list_open(self, agency_id: str | None = None) -> list[Lawsuit]:
        """Open court cases, the most urgent first (next due date or hearing)."""
        if agency_id is None:
            rows = await self._db.fetch_all(
                "SELECT * FROM lawsuits WHERE status = 'open' ORDER BY id"
            )
        else:
            rows = await self._db.fetch_all(
                "SELECT * FROM lawsuits WHERE status = 'open' AND agency_id = ? ORDER BY id",
                (agency_id,),
            )
        lawsuits = await self._assemble(rows)
        now = self.now()

        def urgency(lawsuit: Lawsuit) -> datetime:
            moments = [h.starts_at for h in lawsuit.hearings if h.status == "scheduled"]
            if lawsuit.defence is not None and lawsuit.defence.status == "open":
                moments.append(datetime.combine(lawsuit.defence.due_on, time(0), self.tz))
            return min(moments, default=now + timedelta(days=3650))

        return sorted(lawsuits, key=urgency)

    async def _assemble(self, rows: Sequence[Row]) -> list[Lawsuit]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        marks = ",".join("?" for _ in ids)
        defences = {
            r["lawsuit_id"]: r
            for r in await self._db.fetch_all(
                f"SELECT * FROM litigation_defences WHERE lawsuit_id IN ({marks}) ORDER BY id",
                ids,
            )
        }
        hearing_rows = await self._db.fetch_all(
            "SELECT h.*, a.attendance, a.appeared_by, a.excuse, a.recorded_at"
            " FROM hearings h LEFT JOIN hearing_appearances a ON a.hearing_id = h.id"
            f" WHERE h.lawsuit_id IN ({marks}) ORDER BY h.starts_at, h.id",
            ids,
        )
        hearings: dict[int, list[Hearing]] = {}
        for r in hearing_rows:
            hearings.setdefault(r["lawsuit_id"], []).append(_hearing_model(r))
        return [
            Lawsuit(
                id=row["id"],
                agency_id=row["agency_id"],
                agency=row["agency"],
                court=row["court"],
                court_case_number=row["court_case_number"],
                plaintiff=row["plaintiff"],
                act_challenged=row["act_challenged"],
                complaint_received_on=date.fromisoformat(row["complaint_received_on"]),
                major=bool(row["major"]),
                court_requested_head=bool(row["court_requested_head"]),
                status=row["status"],
                defence=_defence_model(defences[row["id"]]) if row["id"] in defences else None,
                hearings=hearings.get(row["id"], []),
            )
            for row in rows
        ]

    async def _hearing(self, hearing_id: int) -> Hearing | None:
        row = await self._db.fetch_one(
            "SELECT h.*, a.attendance, a.appeared_by, a.excuse, a.recorded_at"
            " FROM hearings h LEFT JOIN hearing_appearances a ON a.hearing_id = h.id"
            " WHERE h.id = ?",
            (hearing_id,),
        )
        return _hearing_model(row) if row is not None else None

    async def hearing_lawsuit(self, hearing_id: int) -> tuple[Hearing, Lawsuit]:
        """A hearing awaiting its record and its open court case (for the appearance form)."""
        row = await self._db.fetch_one(
            "SELECT h.lawsuit_id FROM hearings h JOIN lawsuits l ON l.id = h.lawsuit_id"
            " WHERE h.id = ? AND h.status = 'scheduled' AND l.status = 'open'",
            (hearing_id,),
        )
        if row is None:
            raise HearingNotFound(hearing_id)
        lawsuit = await self.get(row[0])
        hearing = next(h for h in lawsuit.hearings if h.id == hearing_id)
        return hearing, lawsuit

    async def appearance_stats(self, year: int) -> AppearanceStats:
        """The year's 出庭 figures: held, by whom; lawyer-only incidents; unrecorded."""
        return await self.appearance_between(date(year, 1, 1), date(year, 12, 31))

    async def appearance_between(
        self, first: date, last: date, *, agency_id: str | None = None
    ) -> AppearanceStats:
        """The 出庭 figures of the hearings on the local days ``first``..``last`` (``year`` is
        the first day's), of one agency (the organisation file's id of its court cases: the
        name a hearing stores is the one of its registration, and agencies get renamed) or of
        all; /stats and the monthly report use these, so their rates are /appearance's."""
        start = to_db(datetime.combine(first, datetime.min.time(), self.tz))
        end = to_db(datetime.combine(last + timedelta(days=1), datetime.min.time(), self.tz))
        only = (
            " AND h.lawsuit_id IN (SELECT id FROM lawsuits WHERE agency_id = ?)"
            if agency_id is not None
            else ""
        )
        extra: tuple[str, ...] = (agency_id,) if agency_id is not None else ()
        rows = await self._db.fetch_all(
            "SELECT h.agency, a.attendance, h.head_required, count(*) AS n"
            " FROM hearings h JOIN hearing_appearances a ON a.hearing_id = h.id"
            " WHERE h.status = 'held' AND h.starts_at >= ? AND h.starts_at < ?"
            + only
            + " GROUP BY h.agency, a.attendance, h.head_required",
            (start, end, *extra),
        )
        # Taken place (started by now) but not recorded: counted as not attended (yet).
        unrecorded_rows = await self._db.fetch_all(
            "SELECT h.agency, h.head_required, count(*) AS n FROM hearings h"
            " WHERE h.status = 'scheduled' AND h.starts_at >= ? AND h.starts_at < ?"
            " AND h.starts_at <= ?" + only + " GROUP BY h.agency, h.head_required",
            (start, end, to_db(self.now()), *extra),
        )
        totals = dict.fromkeys(("head", "staff", "lawyer_only", "absent"), 0)
        agencies: dict[str, dict[str, int]] = {}
        unrecorded_by_agency: dict[str, int] = {}
        required_by_agency: dict[str, list[int]] = {}  # [taken place, head in person]
        required_held = required_head = required_unrecorded = 0
        for r in rows:
            n = int(r["n"])
            totals[r["attendance"]] += n
            per = agencies.setdefault(r["agency"], dict.fromkeys(totals, 0))
            per[r["attendance"]] += n
            if r["head_required"]:
                required_held += n
                required = required_by_agency.setdefault(r["agency"], [0, 0])
                required[0] += n
                if r["attendance"] == "head":
                    required_head += n
                    required[1] += n
        for r in unrecorded_rows:
            n = int(r["n"])
            unrecorded_by_agency[r["agency"]] = unrecorded_by_agency.get(r["agency"], 0) + n
            agencies.setdefault(r["agency"], dict.fromkeys(totals, 0))
            if r["head_required"]:
                required_unrecorded += n
                required_by_agency.setdefault(r["agency"], [0, 0])[0] += n
        return AppearanceStats(
            year=first.year,
            held=sum(totals.values()),
            head=totals["head"],
            staff=totals["staff"],
            lawyer_only=totals["lawyer_only"],
            absent=totals["absent"],
            head_required_held=required_held,
            head_required_head=required_head,
            unrecorded=sum(unrecorded_by_agency.values()),
            head_required_unrecorded=required_unrecorded,
            by_agency=[
                AgencyAppearances(
                    agency=name,
                    held=sum(per.values()),
                    unrecorded=unrecorded_by_agency.get(name, 0),
                    head_required=required_by_agency.get(name, [0, 0])[0],
                    head_required_head=required_by_agency.get(name, [0, 0])[1],
                    **per,
                )
                for name, per in sorted(agencies.items())
            ],
        )


# --- rows -------------------------------------------------------------------------------------


def _insert_hearing(
    conn: Connection,
    lawsuit_id: int,
    agency: str,
    court: str,
    court_case_number: str,
    starts_at: datetime,
    *,
    major: bool,
    head_required: bool,
    stamp: str,
) -> int:
    cursor = conn.execute(
        "INSERT INTO hearings(lawsuit_id, agency, court, court_case_number, starts_at, major,"
        " head_required, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
        (
            lawsuit_id,
            agency,
            court,
            court_case_number,
            to_db(starts_at),
            int(major),
            int(head_required),
            stamp,
            stamp,
        ),
    )
    return int(cursor.fetchone()[0])


def _defence_model(row: Row) -> Defence:
    return Defence(
        id=row["id"],
        due_on=date.fromisoformat(row["due_on"]),
        provisional=bool(row["provisional"]),
        status=row["status"],
        filed_on=date.fromisoformat(row["filed_on"]) if row["filed_on"] else None,
    )


def _hearing_model(row: Row) -> Hearing:
    appearance = (
        Appearance(
            attendance=row["attendance"],
            appeared_by=row["appeared_by"],
            excuse=row["excuse"],
            recorded_at=from_db(row["recorded_at"]),
        )
        if row["attendance"] is not None
        else None
    )
    return Hearing(
        id=row["id"],
        starts_at=from_db(row["starts_at"]),
        head_required=bool(row["head_required"]),
        status=row["status"],
        appearance=appearance,
    )
