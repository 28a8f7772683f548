"""Assigning mediation cases to mediators: offers, answers, time-outs, conflicts, the lead.

A submitted mediation case without a mediator is offered to ONE eligible mediator of its room
(``cases.routed_to = 'room:<id>'``): one who serves the dispute category (no skills declared =
every category of the room), is not absent today, carries fewer open cases than their maximum,
and has no conflict of interest (回避): their name or phone matches a party, they declared a
conflict on this case, they belong to the agency the dispute is with, or they already declined
the case or let its offer run out. Among them: the fewest open cases (pending offers count),
ties to the one idle longest (the oldest last assignment; never assigned first).

Everything is in the database (``mediation_offers``; at most one pending offer per case by a
unique index), so a restart loses nothing: the scheduler's tick (:meth:`tick`) expires offers
left unanswered for the set number of working hours (the legal calendar's working days, office
hours only) and offers every unassigned case again. Answers are compare-and-set updates, so a
double press or a stale button acts once. Every step is an event in the case history
(``cases.procedures.history.ASSIGNMENT_EVENT_TEXTS`` words it).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cases.law.calendar import Counted, LegalCalendar
from cases.mediation.common import MediationSettings
from cases.mediation.profiles import normalise_phone
from cases.org.organisation import Organisation, UnknownId
from cases.org.users import Role, User
from cases.procedures.statuses import OPEN_STATUSES
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock, from_db, to_db

log = logging.getLogger(__name__)

Statement = tuple[str, Sequence[Any]]
MAX_REASON = 300
"""A decline reason or conflict note, typed by the mediator (longer ones are refused)."""
_OPEN = tuple(s.value for s in OPEN_STATUSES)
_OPEN_SQL = ",".join("?" for _ in _OPEN)


class OfferStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"


class DeclineReason(StrEnum):
    busy = "busy"
    absent = "absent"
    conflict = "conflict"
    other = "other"


class Outcome(StrEnum):
    done = "done"
    already = "already"
    """The same person already did this (a double press): nothing changed."""
    stale = "stale"
    """The offer is no longer open (answered, run out, withdrawn)."""
    refused = "refused"
    """Not this person's to answer (a forged or forwarded button)."""
    conflict = "conflict"
    """The chosen mediator has a conflict of interest on the case."""


@dataclass(frozen=True)
class Outgoing:
    """One message to one chat, written to the outbox with the change it reports."""

    dedup_key: str
    chat_id: int
    audience: Role
    key: str
    params: Mapping[str, Any]


class Mailer(Protocol):
    """Implemented by scheduling.assignment: outbox statements joining the unit of work."""

    def queue(self, message: Outgoing, now: datetime) -> list[Statement]: ...


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    case_id: int | None = None
    number: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnassignedCase:
    case_id: int
    number: str
    category_id: str
    township_id: str | None
    received_on: date
    pending_to: int | None
    pending_until: datetime | None
    declined: int
    expired: int
    last_reason: str | None = None
    """The last decline's reason code (DeclineReason) and typed note, "code: note"."""


@dataclass
class _Candidate:
    user_id: int
    names: tuple[str, ...]
    phone: str
    max_load: int
    skills: set[str] = field(default_factory=set)
    load: int = 0
    idle_since: str = ""


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _row(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    return conn.execute(sql, params).fetchone()


def _event(
    conn: sqlite3.Connection,
    case_id: int,
    *,
    at: str,
    actor_id: int | None,
    actor_role: str,
    kind: str,
    detail: Mapping[str, Any],
) -> None:
    """``cases.procedures.history.append_event`` inside a one-trip unit (``Database.run``)."""
    conn.execute(
        "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (case_id, at, actor_id, actor_role, kind, json.dumps(detail, ensure_ascii=False)),
    )


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


class AssignmentService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        org: Organisation,
        calendar: LegalCalendar,
        settings: MediationSettings,
        mailer: Mailer,
        tz: ZoneInfo = LEGAL_TZ,
    ) -> None:
        self.db = db
        self.clock = clock
        self.org = org
        self.calendar = calendar
        self.settings = settings
        self.mailer = mailer
        self.tz = tz

    # -- time -----------------------------------------------------------------------------

    def offer_expires(self, start: datetime) -> tuple[datetime, bool]:
        """``offer_working_hours`` of office time after ``start``, on the legal calendar's
        working days (a holiday or a weekend is skipped, a 调休 Saturday counts). Provisional
        when a day consulted lies in a year the calendar does not cover."""
        day_start = time.fromisoformat(self.settings.workday_start)
        day_end = time.fromisoformat(self.settings.workday_end)
        cursor = start.astimezone(self.tz)
        remaining = timedelta(hours=self.settings.offer_working_hours)
        provisional = False
        for _ in range(400):
            day = cursor.date()
            provisional = provisional or not self.calendar.covers(day)
            if self.calendar.is_workday(day):
                opens = datetime.combine(day, day_start, self.tz)
                closes = datetime.combine(day, day_end, self.tz)
                cursor = max(cursor, opens)
                if cursor < closes:
                    if cursor + remaining <= closes:
                        return (cursor + remaining).astimezone(UTC), provisional
                    remaining -= closes - cursor
            cursor = datetime.combine(day + timedelta(days=1), day_start, self.tz)
        raise RuntimeError("no working day within 400 days")

    def contact_by(self, today: date) -> Counted:
        """The day the mediator contacts the applicant by (a local setting, working days)."""
        return self.calendar.add_workdays(today, self.settings.contact_working_days)

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    # -- who may take a case -------------------------------------------------------------

    def _agency_of_dispute(self, case: Any, answers: Mapping[str, Any]) -> str | None:
        """The agency the dispute is with: named in the answers, or the other side's name
        matching an agency of the organisation file."""
        agency_id = answers.get("respondent_id")
        if agency_id and not str(agency_id).startswith("text:"):
            return str(agency_id)
        other = _clean(str(answers.get("other_party_name") or case["respondent"] or ""))
        if not other:
            return None
        for agency in self.org.agencies:
            name = _clean(agency.name)
            if name and (name in other or (len(other) >= 4 and other in name)):
                return agency.id
        return None

    def _parties(self, conn: sqlite3.Connection, case_id: int) -> tuple[set[str], str]:
        """The parties' names and every phone digit run found in their details and answers."""
        rows = _rows(
            conn, "SELECT name, phone, details FROM parties WHERE case_id = ?", (case_id,)
        )
        names = {_clean(r[0]) for r in rows if _clean(r[0])}
        digits = " ".join(re.sub(r"[\s-]", "", f"{r[1] or ''} {r[2] or ''}") for r in rows)
        return names, digits

    def _conflicted(
        self,
        candidate: _Candidate,
        names: set[str],
        digits: str,
        dispute_agency: str | None,
        room_agency: str | None,
    ) -> bool:
        for name in candidate.names:
            if len(name) >= 2 and any(name == party or name in party for party in names):
                return True
        if candidate.phone and candidate.phone in digits:
            return True
        return dispute_agency is not None and dispute_agency == room_agency

    def _candidates(
        self, conn: sqlite3.Connection, case: Mapping[str, Any], *, any_state: bool = False
    ) -> list[_Candidate]:
        """The eligible mediators of the case's room, best first. ``any_state``: the lead
        assigning by hand may pass over skills, absence and load, never a conflict."""
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        try:
            room = self.org.room(room_id)
        except UnknownId:
            return []
        answers = json.loads(case["answers"] or "{}")
        rows = _rows(
            conn,
            "SELECT u.telegram_id, u.display_name, p.shown_name, p.phone, p.max_load,"
            " p.real_name"
            " FROM users u LEFT JOIN mediator_profiles p ON p.user_id = u.telegram_id"
            " WHERE u.role = 'mediator' AND u.unit = ? ORDER BY u.telegram_id",
            (room_id,),
        )
        if not rows:
            return []
        found = {
            int(r[0]): _Candidate(
                user_id=int(r[0]),
                # The real name, once given, is the one checked: a Telegram nickname ("小王")
                # or a shown name would otherwise bar mediators for look-alike parties, and a
                # conflict is not the lead's to override. Without it, both stand in.
                names=(
                    (_clean(r[5]),)
                    if _clean(r[5])
                    else tuple(n for n in (_clean(r[1]), _clean(r[2])) if n)
                ),
                phone=normalise_phone(r[3]),
                max_load=int(r[4] or self.settings.default_max_load),
            )
            for r in rows
        }
        ids = tuple(found)
        marks = ",".join("?" for _ in ids)
        for r in _rows(
            conn,
            f"SELECT user_id, category_id FROM mediator_skills WHERE user_id IN ({marks})",
            ids,
        ):
            found[int(r[0])].skills.add(str(r[1]))
        for r in _rows(
            conn,
            f"SELECT mediator_id, count(*) FROM cases WHERE mediator_id IN ({marks})"
            f" AND status IN ({_OPEN_SQL}) GROUP BY mediator_id",
            (*ids, *_OPEN),
        ):
            found[int(r[0])].load += int(r[1])
        for r in _rows(
            conn,
            "SELECT mediator_id, sum(status = 'pending'),"
            " max(CASE WHEN status = 'accepted' THEN answered_at END)"
            f" FROM mediation_offers WHERE mediator_id IN ({marks})"
            " AND status IN ('pending', 'accepted') GROUP BY mediator_id",
            ids,
        ):
            found[int(r[0])].load += int(r[1] or 0)
            found[int(r[0])].idle_since = str(r[2] or "")
        declared = {
            int(r[0])
            for r in _rows(
                conn, "SELECT user_id FROM mediator_conflicts WHERE case_id = ?", (case["id"],)
            )
        }
        passed = {
            int(r[0])
            for r in _rows(
                conn,
                "SELECT mediator_id FROM mediation_offers WHERE case_id = ?"
                " AND status IN ('declined', 'expired')",
                (case["id"],),
            )
        }
        absent: set[int] = set()
        if not any_state:
            today = self.today().isoformat()
            absent = {
                int(r[0])
                for r in _rows(
                    conn,
                    f"SELECT user_id FROM mediator_absences WHERE user_id IN ({marks})"
                    " AND starts_on <= ? AND ends_on >= ?",
                    (*ids, today, today),
                )
            }
        names, digits = self._parties(conn, int(case["id"]))
        dispute_agency = self._agency_of_dispute(case, answers)
        category = str(answers.get("category_id") or "")
        eligible = []
        for candidate in found.values():
            if self._conflicted(candidate, names, digits, dispute_agency, room.agency_id):
                continue
            if candidate.user_id in declared:
                continue
            if not any_state:
                if candidate.user_id in passed:
                    continue
                if candidate.skills and category not in candidate.skills:
                    continue
                if candidate.user_id in absent or candidate.load >= candidate.max_load:
                    continue
            eligible.append(candidate)
        eligible.sort(key=lambda c: (c.load, c.idle_since, c.user_id))
        return eligible

    # -- offering ------------------------------------------------------------------------

    def _case(self, conn: sqlite3.Connection, case_id: int) -> Any:
        return _row(
            conn,
            "SELECT id, number, procedure, status, routed_to, answers, mediator_id, citizen_id,"
            " respondent FROM cases WHERE id = ?",
            (case_id,),
        )

    def _queue(self, conn: sqlite3.Connection, message: Outgoing, now: datetime) -> None:
        for sql, params in self.mailer.queue(message, now):
            conn.execute(sql, params)

    def _case_params(self, case: Any) -> dict[str, Any]:
        """Facts for the message, names in both languages (the sender has no organisation)."""
        answers = json.loads(case["answers"] or "{}")
        params: dict[str, Any] = {"case_id": int(case["id"]), "number": str(case["number"])}
        for key, kind, item_id in (
            ("category", "category", answers.get("category_id")),
            ("township", "township", answers.get("township_id")),
            ("room", "room", str(case["routed_to"] or "").removeprefix("room:")),
        ):
            try:
                named = getattr(self.org, kind)(str(item_id)) if item_id else None
            except UnknownId:
                named = None
            params[key + "_zh"] = named.name if named else ""
            params[key + "_en"] = named.name_en if named else ""
        return params

    def _room_is_a_party(self, case: Any) -> bool:
        """The dispute is with the agency the case's room belongs to, and that room is not the
        county's default room: nobody of the room may mediate it (回避)."""
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        try:
            room = self.org.room(room_id)
        except UnknownId:
            return False
        if room.default or room.agency_id is None:
            return False
        answers = json.loads(case["answers"] or "{}")
        return self._agency_of_dispute(case, answers) == room.agency_id

    def _room_all_recused(self, conn: sqlite3.Connection, case: Any) -> bool:
        """Every mediator of the case's room (there is at least one) has a conflict of interest
        on it, and the room is not the default one: the lead could not assign it either, so
        the case would wait for ever (a small township room related to a party)."""
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        try:
            room = self.org.room(room_id)
        except UnknownId:
            return False
        if room.default:
            return False
        staffed = _row(
            conn,
            "SELECT 1 FROM users WHERE role = 'mediator' AND unit = ? LIMIT 1",
            (room_id,),
        )
        return staffed is not None and not self._candidates(conn, case, any_state=True)

    def _move_to_default_room(
        self, conn: sqlite3.Connection, case: Any, stamp: str, *, recused: bool = False
    ) -> Any:
        """Hand the case to the county's default room (the one that takes what no other room
        takes), recorded in the history; returns the case as it now is. ``recused``: every
        mediator of the room has a conflict, rather than the room's agency being the party."""
        room = self.org.default_room
        source = str(case["routed_to"] or "").removeprefix("room:")
        conn.execute(
            "UPDATE cases SET routed_to = ?, routed_to_name = ?, updated_at = ? WHERE id = ?",
            (f"room:{room.id}", room.name, stamp, case["id"]),
        )
        _event(
            conn,
            int(case["id"]),
            at=stamp,
            actor_id=None,
            actor_role="system",
            kind="mediation_moved_recused" if recused else "mediation_moved",
            detail={"from": source, "to": room.id},
        )
        moved = self._case(conn, int(case["id"]))
        # The citizen was told at submission which room handles the case: they are told that
        # it changed, and why, not left to find another room's name later.
        params = self._case_params(moved)
        try:
            before = self.org.room(source)
            params |= {"from_room_zh": before.name, "from_room_en": before.name_en}
        except UnknownId:
            pass
        self._queue(
            conn,
            Outgoing(
                f"asg:moved:{case['id']}:{room.id}",
                int(case["citizen_id"]),
                Role.citizen,
                "citizen_moved_recused" if recused else "citizen_moved",
                params,
            ),
            from_db(stamp),
        )
        return moved

    def _offer_next(self, conn: sqlite3.Connection, case: Any, now: datetime) -> int | None:
        """Offer ``case`` to the best eligible mediator, or tell the room's lead nobody is."""
        stamp = to_db(now)
        candidates = self._candidates(conn, case)
        if not candidates and self._room_is_a_party(case):
            case = self._move_to_default_room(conn, case, stamp)
            candidates = self._candidates(conn, case)
        elif not candidates and self._room_all_recused(conn, case):
            case = self._move_to_default_room(conn, case, stamp, recused=True)
            candidates = self._candidates(conn, case)
        if not candidates:
            last = _row(
                conn,
                "SELECT kind FROM case_events WHERE case_id = ? AND kind LIKE 'mediation_%'"
                " ORDER BY id DESC LIMIT 1",
                (case["id"],),
            )
            if last is None or last[0] != "mediation_unassigned":
                _event(
                    conn,
                    int(case["id"]),
                    at=stamp,
                    actor_id=None,
                    actor_role="system",
                    kind="mediation_unassigned",
                    detail={},
                )
                rounds = _row(
                    conn, "SELECT count(*) FROM mediation_offers WHERE case_id = ?", (case["id"],)
                )
                room_id = str(case["routed_to"] or "").removeprefix("room:")
                # The room's leads assign by hand; a room without a lead (or without any
                # mediator) would leave the case waiting unseen, so the administrators are told
                # instead: they make a lead (/mediators) or register mediators.
                key, audience = "nobody", Role.mediator
                recipients = _rows(
                    conn,
                    "SELECT telegram_id FROM users WHERE role = 'mediator' AND unit = ?"
                    " AND leads_room = 1",
                    (room_id,),
                )
                if not recipients:
                    key, audience = "nobody_no_lead", Role.admin
                    recipients = _rows(
                        conn, "SELECT telegram_id FROM users WHERE role = 'admin' ORDER BY 1"
                    )
                for person in recipients:
                    self._queue(
                        conn,
                        Outgoing(
                            f"asg:{key}:{case['id']}:{rounds[0] if rounds else 0}:{person[0]}",
                            int(person[0]),
                            audience,
                            key,
                            self._case_params(case),
                        ),
                        now,
                    )
            return None
        chosen = candidates[0]
        expires, provisional = self.offer_expires(now)
        cursor = conn.execute(
            "INSERT INTO mediation_offers(case_id, mediator_id, offered_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (case["id"], chosen.user_id, stamp, to_db(expires)),
        )
        offer_id = int(cursor.lastrowid or 0)
        _event(
            conn,
            int(case["id"]),
            at=stamp,
            actor_id=chosen.user_id,
            actor_role="mediator",
            kind="mediation_offered",
            detail={"offer_id": offer_id, "until": to_db(expires), "load": chosen.load},
        )
        first = _row(
            conn,
            "SELECT min(due_on) FROM case_deadlines WHERE case_id = ? AND status = 'open'",
            (case["id"],),
        )
        params = self._case_params(case) | {
            "offer_id": offer_id,
            "until": to_db(expires),
            "first_due": first[0] if first else None,
            "contact_due": self.contact_by(self.today()).day.isoformat(),
            "provisional": provisional,
        }
        self._queue(
            conn,
            Outgoing(f"asg:offer:{offer_id}", chosen.user_id, Role.mediator, "offer", params),
            now,
        )
        return chosen.user_id

    def _offer_one(self, conn: sqlite3.Connection, case_id: int, now: datetime) -> int | None:
        case = self._case(conn, case_id)
        if (
            case is None
            or case["procedure"] != "mediation"
            or case["status"] not in _OPEN
            or case["mediator_id"] is not None
        ):
            return None
        pending = _row(
            conn,
            "SELECT 1 FROM mediation_offers WHERE case_id = ? AND status = 'pending'",
            (case_id,),
        )
        if pending is not None:
            return None
        return self._offer_next(conn, case, now)

    async def offer(self, case_id: int) -> int | None:
        """Offer one unassigned mediation case (idempotent: a case already assigned or with a
        pending offer is left as it is). Returns the mediator offered, if any."""
        now = self.clock.now()
        return await self.db.run(lambda conn: self._offer_one(conn, case_id, now))

    async def offer_unassigned(self, limit: int = 500) -> int:
        """Every open mediation case without a mediator or a pending offer is offered (new
        submissions, cases whose mediator stepped aside, cases nobody could take before), in
        one unit of work: a backlog after downtime costs one commit, and each offer sees the
        ones made before it (pending offers count as load)."""
        now = self.clock.now()

        def work(conn: sqlite3.Connection) -> int:
            rows = _rows(
                conn,
                "SELECT c.id FROM cases c WHERE c.procedure = 'mediation'"
                f" AND c.mediator_id IS NULL AND c.status IN ({_OPEN_SQL})"
                " AND NOT EXISTS (SELECT 1 FROM mediation_offers o WHERE o.case_id = c.id"
                " AND o.status = 'pending')"
                # Cases nobody could take at the last pass (the lead or the administrators
                # were told) come last, so a backlog of them never keeps new cases waiting.
                " ORDER BY coalesce((SELECT e.kind FROM case_events e WHERE e.case_id = c.id"
                " AND e.kind LIKE 'mediation_%' ORDER BY e.id DESC LIMIT 1), '')"
                " = 'mediation_unassigned', c.id LIMIT ?",
                (*_OPEN, limit),
            )
            offered = 0
            for row in rows:
                # One case that fails (bad data) must not hold up the others: its own
                # savepoint is rolled back and the rest are offered.
                conn.execute("SAVEPOINT offer_one")
                try:
                    offered += self._offer_one(conn, int(row[0]), now) is not None
                except Exception:
                    conn.execute("ROLLBACK TO offer_one")
                    log.exception("offering mediation case %s failed", row[0])
                conn.execute("RELEASE offer_one")
            return offered

        return await self.db.run(work)

    async def expire_due(self) -> int:
        """Offers unanswered past their time pass to the next mediator (once each)."""
        now = self.clock.now()
        rows = await self.db.fetch_all(
            "SELECT id FROM mediation_offers WHERE status = 'pending' AND expires_at <= ?"
            " ORDER BY expires_at, id",
            (to_db(now),),
        )

        def work(conn: sqlite3.Connection, offer_id: int) -> bool:
            changed = conn.execute(
                "UPDATE mediation_offers SET status = 'expired', answered_at = ?"
                " WHERE id = ? AND status = 'pending' AND expires_at <= ?",
                (to_db(now), offer_id, to_db(now)),
            )
            if changed.rowcount != 1:
                return False
            offer = _row(
                conn,
                "SELECT case_id, mediator_id FROM mediation_offers WHERE id = ?",
                (offer_id,),
            )
            _event(
                conn,
                int(offer[0]),
                at=to_db(now),
                actor_id=int(offer[1]),
                actor_role="mediator",
                kind="mediation_offer_expired",
                detail={"offer_id": int(offer_id)},
            )
            case = self._case(conn, int(offer[0]))
            self._queue(
                conn,
                Outgoing(
                    f"asg:expired:{offer_id}",
                    int(offer[1]),
                    Role.mediator,
                    "offer_expired",
                    self._case_params(case),
                ),
                now,
            )
            if case["status"] in _OPEN and case["mediator_id"] is None:
                self._offer_next(conn, case, now)
            return True

        expired = 0
        for row in rows:
            if await self.db.run(partial(work, offer_id=int(row[0]))):
                expired += 1
        return expired

    async def withdraw_closed(self) -> int:
        """Pending offers of cases that closed meanwhile (withdrawn by the applicant, say), made
        to someone who is no longer a mediator of the case's room, or to a mediator who has
        since declared an absence covering today are withdrawn: they neither wait out their
        hours nor count as load, the history says why, and the case is offered again (an
        absent mediator's case to someone else; they may have it again when back)."""
        now = self.clock.now()
        stamp = to_db(now)
        today = self.today().isoformat()

        def work(conn: sqlite3.Connection) -> int:
            rows = _rows(
                conn,
                "SELECT o.id, o.case_id, o.mediator_id,"
                f" CASE WHEN c.status NOT IN ({_OPEN_SQL}) THEN 'closed'"
                "  WHEN NOT EXISTS (SELECT 1 FROM users u WHERE u.telegram_id = o.mediator_id"
                "   AND u.role = 'mediator' AND c.routed_to = 'room:' || u.unit) THEN 'left'"
                "  WHEN EXISTS (SELECT 1 FROM mediator_absences a"
                "   WHERE a.user_id = o.mediator_id AND a.starts_on <= ? AND a.ends_on >= ?)"
                "  THEN 'absent' END"
                " FROM mediation_offers o JOIN cases c ON c.id = o.case_id"
                " WHERE o.status = 'pending'",
                (*_OPEN, today, today),
            )
            withdrawn = 0
            for offer_id, case_id, mediator_id, why in rows:
                if why is None:
                    continue
                changed = conn.execute(
                    "UPDATE mediation_offers SET status = 'withdrawn', answered_at = ?,"
                    " reason_code = ? WHERE id = ? AND status = 'pending'",
                    (stamp, why, offer_id),
                )
                if changed.rowcount != 1:
                    continue
                _event(
                    conn,
                    int(case_id),
                    at=stamp,
                    actor_id=int(mediator_id),
                    actor_role="mediator",
                    kind="mediation_offer_withdrawn",
                    detail={"offer_id": int(offer_id), "why": why},
                )
                if why == "closed":  # else they know: they left the room or declared absence
                    self._queue(
                        conn,
                        Outgoing(
                            f"asg:closed:{offer_id}",
                            int(mediator_id),
                            Role.mediator,
                            "offer_closed",
                            self._case_params(self._case(conn, int(case_id))),
                        ),
                        now,
                    )
                withdrawn += 1
            return withdrawn

        return await self.db.run(work)

    async def release_departed(self) -> int:
        """Open cases held by someone who is no longer a mediator of the case's room (their role
        or room changed with /grant, or they were removed) go back to the room's queue: else
        nobody mediates them and no lead sees them in /unassigned. Offered again this tick."""
        stamp = to_db(self.clock.now())

        def work(conn: sqlite3.Connection) -> int:
            rows = _rows(
                conn,
                "SELECT c.id, c.mediator_id FROM cases c WHERE c.procedure = 'mediation'"
                f" AND c.mediator_id IS NOT NULL AND c.status IN ({_OPEN_SQL})"
                " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.telegram_id = c.mediator_id"
                " AND u.role = 'mediator' AND c.routed_to = 'room:' || u.unit)",
                _OPEN,
            )
            released = 0
            for case_id, mediator_id in rows:
                changed = conn.execute(
                    "UPDATE cases SET mediator_id = NULL, updated_at = ? WHERE id = ?"
                    " AND mediator_id = ?",
                    (stamp, case_id, mediator_id),
                )
                if changed.rowcount != 1:
                    continue
                _event(
                    conn,
                    int(case_id),
                    at=stamp,
                    actor_id=None,
                    actor_role="system",
                    kind="mediation_released",
                    detail={"mediator_id": int(mediator_id)},
                )
                released += 1
            return released

        return await self.db.run(work)

    async def tick(self) -> None:
        await self.withdraw_closed()
        await self.release_departed()
        await self.expire_due()
        await self.offer_unassigned()

    # -- answers -------------------------------------------------------------------------

    def _answer_state(
        self, conn: sqlite3.Connection, offer_id: int, user: User, wanted: OfferStatus
    ) -> Result:
        row = _row(
            conn,
            "SELECT o.case_id, o.mediator_id, o.status, c.number FROM mediation_offers o"
            " JOIN cases c ON c.id = o.case_id WHERE o.id = ?",
            (offer_id,),
        )
        if row is None or int(row[1]) != user.telegram_id:
            return Result(Outcome.refused)
        outcome = Outcome.already if row[2] == wanted.value else Outcome.stale
        return Result(outcome, int(row[0]), str(row[3]))

    async def pending_offer(self, offer_id: int, user: User) -> Result:
        """Whether ``user`` may still answer this offer (before the decline reasons are shown);
        the same outcomes as an answer, without changing anything."""
        row = await self.db.fetch_one(
            "SELECT o.case_id, o.mediator_id, o.status, o.expires_at, c.number"
            " FROM mediation_offers o JOIN cases c ON c.id = o.case_id WHERE o.id = ?",
            (offer_id,),
        )
        if row is None or int(row[1]) != user.telegram_id:
            return Result(Outcome.refused)
        if row[2] != OfferStatus.pending.value or from_db(row[3]) <= self.clock.now():
            return Result(Outcome.stale, int(row[0]), str(row[4]))
        return Result(Outcome.done, int(row[0]), str(row[4]))

    async def accept(self, offer_id: int, user: User) -> Result:
        """The offered mediator takes the case: ``cases.mediator_id`` is set (compare-and-set),
        the citizen is told who mediates and by when they will be contacted."""
        now = self.clock.now()
        stamp = to_db(now)

        def work(conn: sqlite3.Connection) -> Result:
            changed = conn.execute(
                "UPDATE mediation_offers SET status = 'accepted', answered_at = ?"
                " WHERE id = ? AND mediator_id = ? AND status = 'pending' AND expires_at > ?"
                " AND EXISTS (SELECT 1 FROM cases WHERE id = case_id AND mediator_id IS NULL"
                f" AND status IN ({_OPEN_SQL}))",
                (stamp, offer_id, user.telegram_id, stamp, *_OPEN),
            )
            if changed.rowcount != 1:
                return self._answer_state(conn, offer_id, user, OfferStatus.accepted)
            offer = _row(conn, "SELECT case_id FROM mediation_offers WHERE id = ?", (offer_id,))
            case_id = int(offer[0])
            conn.execute(
                "UPDATE cases SET mediator_id = ?, updated_at = ? WHERE id = ?"
                " AND mediator_id IS NULL",
                (user.telegram_id, stamp, case_id),
            )
            _event(
                conn,
                case_id,
                at=stamp,
                actor_id=user.telegram_id,
                actor_role="mediator",
                kind="mediation_accepted",
                detail={"offer_id": offer_id},
            )
            case = self._case(conn, case_id)
            contact = self._tell_citizen(conn, case, user.telegram_id, now)
            return Result(Outcome.done, case_id, str(case["number"]), {"contact_due": contact})

        return await self.db.run(work)

    def _shown_name(self, conn: sqlite3.Connection, mediator_id: int) -> str:
        row = _row(
            conn,
            "SELECT coalesce(p.shown_name, u.display_name, '') FROM users u"
            " LEFT JOIN mediator_profiles p ON p.user_id = u.telegram_id"
            " WHERE u.telegram_id = ?",
            (mediator_id,),
        )
        return str(row[0]) if row else ""

    def _tell_citizen(
        self, conn: sqlite3.Connection, case: Any, mediator_id: int, now: datetime
    ) -> str:
        contact = self.contact_by(self.today())
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        params = self._case_params(case) | {
            "mediator": self._shown_name(conn, mediator_id),
            "room_id": room_id,
            "contact_due": contact.day.isoformat(),
            "provisional": contact.provisional,
        }
        count = _row(
            conn,
            "SELECT count(*) FROM case_events WHERE case_id = ? AND kind IN"
            " ('mediation_accepted', 'mediation_assigned')",
            (case["id"],),
        )
        self._queue(
            conn,
            Outgoing(
                f"asg:citizen:{case['id']}:{count[0] if count else 0}",
                int(case["citizen_id"]),
                Role.citizen,
                "citizen_assigned",
                params,
            ),
            now,
        )
        return contact.day.isoformat()

    async def decline(
        self, offer_id: int, user: User, reason: DeclineReason, text: str | None = None
    ) -> Result:
        """The offered mediator declines, with a reason; the case passes to the next. A
        conflict of interest given as the reason is recorded: never offered to them again."""
        now = self.clock.now()
        stamp = to_db(now)
        note = (text or "").strip()[:MAX_REASON] or None

        def work(conn: sqlite3.Connection) -> Result:
            changed = conn.execute(
                "UPDATE mediation_offers SET status = 'declined', answered_at = ?,"
                " reason_code = ?, reason = ? WHERE id = ? AND mediator_id = ?"
                " AND status = 'pending'",
                (stamp, reason.value, note, offer_id, user.telegram_id),
            )
            if changed.rowcount != 1:
                return self._answer_state(conn, offer_id, user, OfferStatus.declined)
            offer = _row(conn, "SELECT case_id FROM mediation_offers WHERE id = ?", (offer_id,))
            case_id = int(offer[0])
            if reason is DeclineReason.conflict:
                conn.execute(
                    "INSERT INTO mediator_conflicts(case_id, user_id, reason, declared_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (case_id, user.telegram_id, note, stamp),
                )
            _event(
                conn,
                case_id,
                at=stamp,
                actor_id=user.telegram_id,
                actor_role="mediator",
                kind="mediation_declined",
                detail={"offer_id": offer_id, "reason": reason.value, "note": note},
            )
            case = self._case(conn, case_id)
            if case["status"] in _OPEN and case["mediator_id"] is None:
                self._offer_next(conn, case, now)
            return Result(Outcome.done, case_id, str(case["number"]))

        return await self.db.run(work)

    async def declare_conflict(self, user: User, number: str, reason: str | None) -> Result:
        """A mediator who finds a conflict of interest (回避) on a case they hold, or one
        offered to them, steps aside: the case is handed on and never offered to them again."""
        now = self.clock.now()
        stamp = to_db(now)
        note = (reason or "").strip()[:MAX_REASON] or None

        def work(conn: sqlite3.Connection) -> Result:
            case = _row(
                conn,
                "SELECT id FROM cases WHERE number = ? AND procedure = 'mediation'",
                (number.strip().upper(),),
            )
            if case is None:
                return Result(Outcome.refused)
            case_id = int(case[0])
            pending = _row(
                conn,
                "SELECT id FROM mediation_offers WHERE case_id = ? AND mediator_id = ?"
                " AND status = 'pending'",
                (case_id, user.telegram_id),
            )
            if pending is not None:
                conn.execute(
                    "UPDATE mediation_offers SET status = 'declined', answered_at = ?,"
                    " reason_code = 'conflict', reason = ? WHERE id = ?",
                    (stamp, note, pending[0]),
                )
                kind = "mediation_declined"
            else:
                # Only an open case is handed on: a closed one keeps the mediator who
                # mediated it (its record must still say who did).
                changed = conn.execute(
                    "UPDATE cases SET mediator_id = NULL, updated_at = ? WHERE id = ?"
                    f" AND mediator_id = ? AND status IN ({_OPEN_SQL})",
                    (stamp, case_id, user.telegram_id, *_OPEN),
                )
                if changed.rowcount != 1:
                    held = _row(
                        conn,
                        "SELECT 1 FROM cases WHERE id = ? AND mediator_id = ?",
                        (case_id, user.telegram_id),
                    )
                    if held is not None:
                        return Result(Outcome.stale, case_id, number)
                    return Result(Outcome.refused)
                kind = "mediation_handed_over"
            conn.execute(
                "INSERT INTO mediator_conflicts(case_id, user_id, reason, declared_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (case_id, user.telegram_id, note, stamp),
            )
            _event(
                conn,
                case_id,
                at=stamp,
                actor_id=user.telegram_id,
                actor_role="mediator",
                kind=kind,
                detail={"reason": DeclineReason.conflict.value, "note": note},
            )
            row = self._case(conn, case_id)
            if row["status"] in _OPEN:
                self._offer_next(conn, row, now)
            return Result(Outcome.done, case_id, number)

        return await self.db.run(work)

    # -- the room lead -------------------------------------------------------------------

    def _leads(self, lead: User, case: Any) -> bool:
        return (
            lead.role is Role.mediator
            and lead.leads_room
            and lead.unit is not None
            and str(case["routed_to"] or "") == f"room:{lead.unit}"
        )

    async def unassigned(self, lead: User) -> list[UnassignedCase]:
        """The lead's room's open mediation cases nobody has accepted: waiting for an answer,
        declined or run out, or with nobody eligible."""
        if not (lead.role is Role.mediator and lead.leads_room and lead.unit):
            return []
        rows = await self.db.fetch_all(
            "SELECT c.id, c.number, c.answers, c.received_on,"
            " (SELECT mediator_id FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'pending'),"
            " (SELECT expires_at FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'pending'),"
            " (SELECT count(*) FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'declined'),"
            " (SELECT count(*) FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'expired'),"
            " (SELECT reason_code || ':' || coalesce(reason, '') FROM mediation_offers"
            "  WHERE case_id = c.id AND status = 'declined' ORDER BY id DESC LIMIT 1)"
            " FROM cases c WHERE c.procedure = 'mediation' AND c.mediator_id IS NULL"
            f" AND c.status IN ({_OPEN_SQL}) AND c.routed_to = ? ORDER BY c.id",
            (*_OPEN, f"room:{lead.unit}"),
        )
        out = []
        for r in rows:
            answers = json.loads(r[2] or "{}")
            out.append(
                UnassignedCase(
                    case_id=int(r[0]),
                    number=str(r[1]),
                    category_id=str(answers.get("category_id") or ""),
                    township_id=answers.get("township_id"),
                    received_on=date.fromisoformat(r[3]),
                    pending_to=r[4],
                    pending_until=from_db(r[5]) if r[5] else None,
                    declined=int(r[6]),
                    expired=int(r[7]),
                    last_reason=r[8],
                )
            )
        return out

    async def choosable(self, lead: User, case_id: int) -> list[int] | None:
        """The mediators the lead may assign ``case_id`` to (no conflict), or None when the
        case is not the lead's to assign."""

        def work(conn: sqlite3.Connection) -> list[int] | None:
            case = self._case(conn, case_id)
            if case is None or not self._leads(lead, case) or case["mediator_id"] is not None:
                return None
            return [c.user_id for c in self._candidates(conn, case, any_state=True)]

        return await self.db.run(work)

    async def assign_by_lead(self, lead: User, case_id: int, mediator_id: int) -> Result:
        """The room lead assigns by hand: a pending offer is withdrawn; the mediator is told,
        and so is the citizen. Skills, absence and load are the lead's call; a conflict of
        interest is not."""
        now = self.clock.now()
        stamp = to_db(now)

        def work(conn: sqlite3.Connection) -> Result:
            case = self._case(conn, case_id)
            if case is None or not self._leads(lead, case):
                return Result(Outcome.refused)
            if case["mediator_id"] is not None or case["status"] not in _OPEN:
                return Result(Outcome.stale, case_id, str(case["number"]))
            allowed = {c.user_id for c in self._candidates(conn, case, any_state=True)}
            if mediator_id not in allowed:
                member = _row(
                    conn,
                    "SELECT 1 FROM users WHERE telegram_id = ? AND role = 'mediator' AND unit = ?",
                    (mediator_id, lead.unit),
                )
                outcome = Outcome.conflict if member else Outcome.refused
                return Result(outcome, case_id, str(case["number"]))
            pending = _row(
                conn,
                "SELECT id, mediator_id FROM mediation_offers WHERE case_id = ?"
                " AND status = 'pending'",
                (case_id,),
            )
            if pending is not None:
                conn.execute(
                    "UPDATE mediation_offers SET status = 'withdrawn', answered_at = ?"
                    " WHERE id = ?",
                    (stamp, pending[0]),
                )
                if int(pending[1]) != mediator_id:
                    self._queue(
                        conn,
                        Outgoing(
                            f"asg:withdrawn:{pending[0]}",
                            int(pending[1]),
                            Role.mediator,
                            "offer_withdrawn",
                            self._case_params(case),
                        ),
                        now,
                    )
            changed = conn.execute(
                "UPDATE cases SET mediator_id = ?, updated_at = ? WHERE id = ?"
                " AND mediator_id IS NULL",
                (mediator_id, stamp, case_id),
            )
            if changed.rowcount != 1:
                return Result(Outcome.stale, case_id, str(case["number"]))
            cursor = conn.execute(
                "INSERT INTO mediation_offers(case_id, mediator_id, status, offered_at,"
                " expires_at, answered_at, reason_code) VALUES (?, ?, 'accepted', ?, ?, ?,"
                " 'by_lead')",
                (case_id, mediator_id, stamp, stamp, stamp),
            )
            _event(
                conn,
                case_id,
                at=stamp,
                actor_id=lead.telegram_id,
                actor_role="mediator",
                kind="mediation_assigned",
                detail={"mediator_id": mediator_id, "offer_id": int(cursor.lastrowid or 0)},
            )
            contact = self._tell_citizen(conn, case, mediator_id, now)
            self._queue(
                conn,
                Outgoing(
                    f"asg:assigned:{cursor.lastrowid}",
                    mediator_id,
                    Role.mediator,
                    "assigned",
                    self._case_params(case) | {"contact_due": contact},
                ),
                now,
            )
            return Result(Outcome.done, case_id, str(case["number"]), {"contact_due": contact})

        return await self.db.run(work)

    async def absent_today(self, mediator_ids: Sequence[int]) -> set[int]:
        if not mediator_ids:
            return set()
        marks = ",".join("?" for _ in mediator_ids)
        today = self.today().isoformat()
        rows = await self.db.fetch_all(
            f"SELECT DISTINCT user_id FROM mediator_absences WHERE user_id IN ({marks})"
            " AND starts_on <= ? AND ends_on >= ?",
            (*mediator_ids, today, today),
        )
        return {int(r[0]) for r in rows}

    async def open_load(self, mediator_ids: Sequence[int]) -> dict[int, int]:
        """Open cases held per mediator (for the lead's lists and the benchmark)."""
        if not mediator_ids:
            return {}
        marks = ",".join("?" for _ in mediator_ids)
        rows = await self.db.fetch_all(
            f"SELECT mediator_id, count(*) FROM cases WHERE mediator_id IN ({marks})"
            f" AND status IN ({_OPEN_SQL}) GROUP BY mediator_id",
            (*mediator_ids, *_OPEN),
        )
        found = {int(r[0]): int(r[1]) for r in rows}
        return {m: found.get(m, 0) for m in mediator_ids}
