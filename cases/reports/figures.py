"""The figures of /stats and of the monthly report, computed from the stored facts.

Every figure is defined once, on its field below; the README repeats the definitions for the
readers. In short, for a period of local dates [first, last]:

- received: cases whose ``received_on`` lies in the period;
- closed: cases now in an ending status whose ending (the last event of the transition that
  leads to that status, or the citizen's withdrawal) lies in the period;
- open now / overdue now: a snapshot as of today, whatever the period: cases in an open status,
  and those of them with a handling deadline (a rule whose actor is the office, the agency or
  the mediator, :data:`HANDLING_ACTORS`) still open after its last day;
- closed on time: closed cases none of whose handling deadlines was late (missed, met after
  the last day, cancelled after it, or still open after it);
- handling days: calendar days from receipt to the ending, of the cases closed in the period;
  median (the middle value, the mean of the two middle ones for an even count) and the 90th
  percentile by nearest rank (the value at position ⌈0.9·n⌉ of the sorted list);
- deemed acceptances (FY 30(3)): ``deemed_accepted`` events whose acceptance day lies in the
  period;
- mediation agreements: mediation cases closed in the period with an agreement (settled), and
  their share of all mediation cases closed in the period;
- agreements kept: the agreements followed up in the period (``mediation_followup`` events,
  detail ``kept``), each once, as its last follow-up of the period found it;
- reception days (局长接待日): bookings of sessions held in the period, by outcome;
- court appearances: the hearings of the period, as ``LitigationService.appearance_between``
  counts them (the same figures as /appearance).

Cases belong to an agency as the intake recorded it: a reconsideration to its respondent
(``respondent_id``), a petition to the agency it concerns (``body_concerned``) or, taken up on
an agency's reception day, to that agency (``received_by``, as /roster records it; the case
itself goes to the petition office; older cases were routed to the agency's id), a mediation
to the agency running its mediation room. A name typed by the citizen, or none, is "other".
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic
from typing import Any

from pydantic import BaseModel, Field

from cases.i18n import N_, translate
from cases.intake.forms import Procedure
from cases.law.deadline_rules import RULES
from cases.litigation.court_cases import AppearanceStats, LitigationService
from cases.org.organisation import Organisation, UnknownId
from cases.procedures.statuses import OPEN_STATUSES, CaseStatus
from cases.procedures.transitions import TRANSITIONS
from cases.reports.periods import Period
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock, from_db, legal_today, to_db

OTHER_AGENCY = ""
"""The key of cases that name no agency of the organisation file (typed names, none)."""

HANDLING_ACTORS = frozenset({"petition_office", "reconsideration_office", "agency", "mediator"})
"""Whose periods measure the handling: not the applicant's (F7), the respondent's reply (F10),
the parties' (M1) or the court's."""
HANDLING_RULES = frozenset(rule.id for rule in RULES.values() if rule.actor in HANDLING_ACTORS)

_OPEN = frozenset(s.value for s in OPEN_STATUSES)


def _ending_events() -> dict[tuple[str, str], frozenset[str]]:
    """(procedure, ending status) → the event kinds that lead there (the transition table),
    plus the citizen's withdrawal."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in TRANSITIONS:
        if row.target is not None and row.target.value not in _OPEN and row.event:
            found[(row.procedure.value, row.target.value)].add(row.event)
    for procedure in Procedure:
        found[(procedure.value, CaseStatus.withdrawn.value)].add("withdrawn")
    return {key: frozenset(kinds) for key, kinds in found.items()}


ENDING_EVENTS = _ending_events()
ENDING_KINDS = frozenset(kind for kinds in ENDING_EVENTS.values() for kind in kinds)


def median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile_nearest_rank(values: list[int], share: float) -> int | None:
    """The value at position ⌈share·n⌉ of the sorted values (1-based): always an observed
    value, so a reader can find the case it belongs to."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class CaseFigures(BaseModel):
    """One row of the case tables: one procedure, one agency, or the total."""

    key: str
    """The procedure, the agency id (:data:`OTHER_AGENCY` for none), or "total"."""
    name_zh: str = ""
    name_en: str = ""
    received: int = 0
    open_now: int = 0
    closed: int = 0
    overdue_now: int = 0
    closed_on_time: int = 0
    handling_days: list[int] = Field(default_factory=list)
    deemed_accepted: int = 0
    mediation_closed: int = 0
    agreements: int = 0
    followups_kept: int = 0
    followups_checked: int = 0

    @property
    def on_time_share(self) -> float | None:
        return _share(self.closed_on_time, self.closed)

    @property
    def median_days(self) -> float | None:
        return median(self.handling_days)

    @property
    def p90_days(self) -> int | None:
        return percentile_nearest_rank(self.handling_days, 0.9)

    @property
    def agreement_share(self) -> float | None:
        return _share(self.agreements, self.mediation_closed)


class ReceptionFigures(BaseModel):
    """局长接待日 bookings of the sessions held in the period, for one agency or the total."""

    key: str
    name_zh: str = ""
    name_en: str = ""
    booked: int = 0
    """Bookings that held a seat on the day: booked, confirmed, attended, no-show."""
    attended: int = 0
    no_show: int = 0
    cancelled: int = 0
    """Cancelled or released (the citizen let the seat go) before the day."""
    settled: int = 0
    petition: int = 0
    referred: int = 0

    @property
    def attendance_share(self) -> float | None:
        return _share(self.attended, self.attended + self.no_show)


class Report(BaseModel):
    period: Period
    today: date
    procedure: Procedure | None = None
    agency: str | None = None
    agency_name_zh: str = ""
    agency_name_en: str = ""
    total: CaseFigures
    by_procedure: list[CaseFigures]
    by_agency: list[CaseFigures]
    reception: list[ReceptionFigures]
    reception_total: ReceptionFigures
    appearance: AppearanceStats | None = None
    """None when a procedure is chosen: court cases belong to no procedure of the bot."""


@dataclass(slots=True)
class _Tally:
    """CaseFigures' counters while counting."""

    received: int = 0
    open_now: int = 0
    closed: int = 0
    overdue_now: int = 0
    closed_on_time: int = 0
    handling_days: list[int] = field(default_factory=list)
    deemed_accepted: int = 0
    mediation_closed: int = 0
    agreements: int = 0
    followups_kept: int = 0
    followups_checked: int = 0

    def figures(self, key: str, name_zh: str, name_en: str) -> CaseFigures:
        counts = {f.name: getattr(self, f.name) for f in fields(self)}
        return CaseFigures(key=key, name_zh=name_zh, name_en=name_en, **counts)


@dataclass(frozen=True)
class _Facts:
    """What one report reads from the database, before counting."""

    cases: list[Any]
    endings: list[Any]
    late: set[int]
    overdue: set[int]
    deemed: list[int]
    followups: list[tuple[int, bool]]


def _local_day(stamp: str) -> date:
    return from_db(stamp).astimezone(LEGAL_TZ).date()


REPEAT_WINDOW_S = 10.0
"""A second press of the same "Show" or "Export" button this soon after the first was
answered is a double press (updates of one chat are handled one after another, so it arrives
once the first has been answered): it is not counted and sent again."""


class StatsService:
    """Reads only; one report is a handful of queries over the committed data."""

    def __init__(
        self, db: Database, clock: Clock, org: Organisation, litigation: LitigationService
    ) -> None:
        self._db = db
        self._clock = clock
        self.org = org
        self._litigation = litigation
        self._known: dict[str, bool] = {}
        self._room_agency: dict[str, str] = {
            room.id: room.agency_id or OTHER_AGENCY for room in org.mediation_rooms
        }
        self._answered: dict[tuple[Any, ...], float] = {}

    def is_repeat(self, key: tuple[Any, ...]) -> bool:
        """Whether the press ``key`` (chat, message, button) was answered moments ago."""
        now = time_monotonic()
        self._answered = {k: t for k, t in self._answered.items() if now - t < REPEAT_WINDOW_S}
        return key in self._answered

    def answered(self, key: tuple[Any, ...]) -> None:
        self._answered[key] = time_monotonic()

    def today(self) -> date:
        return legal_today(self._clock)

    def agency_names(self, agency_id: str) -> tuple[str, str]:
        if agency_id == OTHER_AGENCY:
            return _names(OTHER_AGENCY_LABEL)
        try:
            agency = self.org.agency(agency_id)
        except UnknownId:
            return agency_id, agency_id
        return agency.name, agency.name_en

    def is_agency(self, agency_id: str) -> bool:
        known = self._known.get(agency_id)
        if known is None:
            try:
                self.org.agency(agency_id)
                known = True
            except UnknownId:
                known = False
            self._known[agency_id] = known
        return known

    def _case_agency(self, procedure: str, agency_ref: Any, routed_to: Any) -> str:
        if procedure == Procedure.mediation.value:
            if isinstance(routed_to, str) and routed_to.startswith("room:"):
                return self._room_agency.get(routed_to[5:], OTHER_AGENCY)
            return OTHER_AGENCY
        if isinstance(agency_ref, str) and self.is_agency(agency_ref):
            return agency_ref
        if (
            procedure == Procedure.petition.value
            and isinstance(routed_to, str)
            and self.is_agency(routed_to)
        ):
            # Taken up by the agency itself on its reception day, registered before /roster
            # sent these petitions to the petition office (``received_by`` since).
            return routed_to
        return OTHER_AGENCY

    async def agencies_with_cases(self) -> list[str]:
        """Agency ids that any case, booking or court case names, busiest first: the buttons
        of the agency filter."""
        counts: dict[str, int] = defaultdict(int)
        # Grouped in SQLite: a row per (procedure, route, agency), not per case (this runs on
        # the event loop at every press of the picker).
        for row in await self._db.fetch_all(
            "SELECT procedure, routed_to, coalesce(json_extract(answers, '$.respondent_id'),"
            " json_extract(answers, '$.body_concerned'), json_extract(answers, '$.received_by'))"
            " AS agency_ref, count(*) AS n"
            " FROM cases GROUP BY 1, 2, 3"
        ):
            key = self._case_agency(row["procedure"], row["agency_ref"], row["routed_to"])
            if key != OTHER_AGENCY:
                counts[key] += int(row["n"])
        for row in await self._db.fetch_all(
            "SELECT agency, count(*) AS n FROM bookings GROUP BY 1"
        ):
            if self.is_agency(row["agency"]):
                counts[row["agency"]] += int(row["n"])
        for row in await self._db.fetch_all(
            "SELECT agency_id, count(*) AS n FROM lawsuits GROUP BY 1"
        ):
            if self.is_agency(row["agency_id"]):
                counts[row["agency_id"]] += int(row["n"])
        return sorted(counts, key=lambda k: (-counts[k], k))

    async def report(
        self,
        period: Period,
        *,
        procedure: Procedure | None = None,
        agency: str | None = None,
    ) -> Report:
        """The figures of ``period``. The rows are read on the event loop (each query is one
        trip to the database thread); counting them, a few seconds of Python for a county's
        fifty thousand cases, runs in a worker thread so the chat never waits for it."""
        today = self.today()
        sql = (
            "SELECT id, procedure, status, received_on, routed_to, updated_at,"
            " coalesce(json_extract(answers, '$.respondent_id'),"
            " json_extract(answers, '$.body_concerned'), json_extract(answers, '$.received_by'))"
            " AS agency_ref FROM cases"
        )
        params: tuple[Any, ...] = ()
        if procedure is not None:
            sql += " WHERE procedure = ?"
            params = (procedure.value,)
        marks = ",".join("?" for _ in ENDING_KINDS)
        facts = _Facts(
            cases=await self._db.fetch_all(sql, params),
            endings=await self._db.fetch_all(
                f"SELECT case_id, kind, max(at) AS at FROM case_events WHERE kind IN ({marks})"
                " GROUP BY case_id, kind",
                tuple(sorted(ENDING_KINDS)),
            ),
            late=await self._late_cases(today),
            overdue=await self._overdue_cases(today),
            deemed=await self._deemed(period),
            followups=await self._followups(period),
        )
        total, by_procedure, by_agency = await asyncio.to_thread(
            self._count, period, agency, facts
        )
        show_all = procedure is None
        reception, reception_total = (
            await self._reception(period, agency)
            if show_all
            else ([], ReceptionFigures(key="total"))
        )
        appearance = None
        if show_all:
            appearance = await self._litigation.appearance_between(
                period.first, period.last, agency_id=agency
            )
        names = self.agency_names(agency) if agency is not None else ("", "")
        return Report(
            period=period,
            today=today,
            procedure=procedure,
            agency=agency,
            agency_name_zh=names[0],
            agency_name_en=names[1],
            total=total,
            by_procedure=by_procedure,
            by_agency=by_agency,
            reception=reception,
            reception_total=reception_total,
            appearance=appearance,
        )

    def _count(
        self, period: Period, agency: str | None, facts: _Facts
    ) -> tuple[CaseFigures, list[CaseFigures], list[CaseFigures]]:
        """Every case counted once into the total, its procedure's row and its agency's row
        (plain counters: a pydantic model per increment cost most of the time)."""
        cases: dict[int, tuple[str, str, date, str]] = {}
        updated: dict[int, str] = {}
        for row in facts.cases:
            key = self._case_agency(row["procedure"], row["agency_ref"], row["routed_to"])
            if agency is not None and key != agency:
                continue
            case_id = int(row["id"])
            cases[case_id] = (
                row["procedure"],
                row["status"],
                date.fromisoformat(row["received_on"]),
                key,
            )
            updated[case_id] = row["updated_at"]
        latest: dict[tuple[int, str], str] = {
            (int(r["case_id"]), r["kind"]): r["at"] for r in facts.endings
        }
        total = _Tally()
        by_procedure: dict[str, _Tally] = {}
        by_agency: dict[str, _Tally] = {}
        mediation, settled = Procedure.mediation.value, CaseStatus.settled.value

        def rows_of(procedure: str, key: str) -> tuple[_Tally, _Tally, _Tally]:
            proc_row = by_procedure.get(procedure)
            if proc_row is None:
                proc_row = by_procedure[procedure] = _Tally()
            agency_row = by_agency.get(key)
            if agency_row is None:
                agency_row = by_agency[key] = _Tally()
            return total, proc_row, agency_row

        for case_id, (procedure, status, received, key) in cases.items():
            rows = rows_of(procedure, key)
            if period.first <= received <= period.last:
                for row in rows:
                    row.received += 1
            if status in _OPEN:
                overdue = case_id in facts.overdue
                for row in rows:
                    row.open_now += 1
                    row.overdue_now += overdue
                continue
            kinds = ENDING_EVENTS.get((procedure, status), frozenset())
            stamps = [latest[(case_id, k)] for k in kinds if (case_id, k) in latest]
            ended_on = _local_day(max(stamps) if stamps else updated[case_id])
            if not period.first <= ended_on <= period.last:
                continue
            on_time = case_id not in facts.late
            days = (ended_on - received).days
            for row in rows:
                row.closed += 1
                row.handling_days.append(days)
                row.closed_on_time += on_time
                if procedure == mediation:
                    row.mediation_closed += 1
                    row.agreements += status == settled
        for case_id in facts.deemed:
            if case_id in cases:
                for row in rows_of(cases[case_id][0], cases[case_id][3]):
                    row.deemed_accepted += 1
        for case_id, kept in facts.followups:
            if case_id in cases:
                for row in rows_of(cases[case_id][0], cases[case_id][3]):
                    row.followups_checked += 1
                    row.followups_kept += kept
        procedures = [
            by_procedure[p.value].figures(p.value, *_names(PROCEDURE_LABELS[p.value]))
            for p in Procedure
            if p.value in by_procedure
        ]
        agencies = sorted(
            (tally.figures(key, *self.agency_names(key)) for key, tally in by_agency.items()),
            key=lambda r: (r.key == OTHER_AGENCY, -r.received, -r.open_now, r.key),
        )
        return total.figures("total", "", ""), procedures, agencies

    async def _late_cases(self, today: date) -> set[int]:
        marks = ",".join("?" for _ in HANDLING_RULES)
        rows = await self._db.fetch_all(
            "SELECT DISTINCT case_id FROM case_deadlines"
            f" WHERE rule_id IN ({marks}) AND (status = 'missed'"
            "   OR (status IN ('met', 'cancelled') AND closed_on > due_on)"
            "   OR (status = 'open' AND due_on < ?))",
            (*sorted(HANDLING_RULES), today.isoformat()),
        )
        return {int(r["case_id"]) for r in rows}

    async def _overdue_cases(self, today: date) -> set[int]:
        marks = ",".join("?" for _ in HANDLING_RULES)
        rows = await self._db.fetch_all(
            "SELECT DISTINCT case_id FROM case_deadlines"
            f" WHERE rule_id IN ({marks}) AND status = 'open' AND due_on < ?",
            (*sorted(HANDLING_RULES), today.isoformat()),
        )
        return {int(r["case_id"]) for r in rows}

    async def _deemed(self, period: Period) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT case_id, json_extract(detail, '$.accepted_on') AS accepted_on, at"
            " FROM case_events WHERE kind = 'deemed_accepted'"
        )
        found: dict[int, date] = {}
        for r in rows:
            day = date.fromisoformat(r["accepted_on"]) if r["accepted_on"] else _local_day(r["at"])
            if period.contains(day):
                found.setdefault(int(r["case_id"]), day)
        return sorted(found)

    async def _followups(self, period: Period) -> list[tuple[int, bool]]:
        """Each agreement once, as its last follow-up of the period found it: a second visit
        to the same agreement is not a second agreement kept (or broken)."""
        start, end = _utc_bounds(period)
        # The detail is read in Python: json_extract gives SQLite's 0/1 for a JSON boolean
        # but PostgreSQL's text 'false', which is truthy.
        rows = await self._db.fetch_all(
            "SELECT case_id, detail FROM case_events"
            " WHERE kind = 'mediation_followup' AND at >= ? AND at < ? ORDER BY at, id",
            (start, end),
        )
        last: dict[int, bool] = {}
        for r in rows:
            kept = json.loads(r["detail"] or "{}").get("kept")
            if kept is not None:
                last[int(r["case_id"])] = bool(kept)
        return sorted(last.items())

    async def _reception(
        self, period: Period, agency: str | None
    ) -> tuple[list[ReceptionFigures], ReceptionFigures]:
        sql = (
            "SELECT b.agency, b.status, b.outcome, count(*) AS n FROM bookings b"
            " JOIN reception_sessions s ON s.id = b.session_id"
            " WHERE s.day >= ? AND s.day <= ?"
        )
        params: list[Any] = [period.first.isoformat(), period.last.isoformat()]
        if agency is not None:
            sql += " AND b.agency = ?"
            params.append(agency)
        rows = await self._db.fetch_all(sql + " GROUP BY 1, 2, 3", tuple(params))
        total = ReceptionFigures(key="total")
        per: dict[str, ReceptionFigures] = {}
        for r in rows:
            n = int(r["n"])
            key = r["agency"]
            if key not in per:
                zh, en = self.agency_names(key)
                per[key] = ReceptionFigures(key=key, name_zh=zh, name_en=en)
            for fig in (total, per[key]):
                status = r["status"]
                if status in ("booked", "confirmed", "attended", "no_show"):
                    fig.booked += n
                if status == "attended":
                    fig.attended += n
                    if r["outcome"] in ("settled", "petition", "referred"):
                        setattr(fig, r["outcome"], getattr(fig, r["outcome"]) + n)
                elif status == "no_show":
                    fig.no_show += n
                elif status in ("cancelled", "released"):
                    fig.cancelled += n
        return sorted(per.values(), key=lambda f: (-f.booked, f.key)), total


def _utc_bounds(period: Period) -> tuple[str, str]:
    """The period's local days as UTC instants [start, end) in the store's text form."""
    start = datetime.combine(period.first, time.min, LEGAL_TZ)
    end = datetime.combine(period.last + timedelta(days=1), time.min, LEGAL_TZ)
    return to_db(start), to_db(end)


PROCEDURE_LABELS: dict[str, str] = {
    Procedure.reconsideration.value: N_("Administrative reconsideration"),
    Procedure.petition.value: N_("Petitions"),
    Procedure.mediation.value: N_("Administrative mediation"),
}
OTHER_AGENCY_LABEL = N_("Other or not named")


def _names(msgid: str) -> tuple[str, str]:
    return translate("zh", msgid), translate("en", msgid)
