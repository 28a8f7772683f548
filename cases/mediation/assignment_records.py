"""What the parts of the assignment service share: offers and answers as models, the
helpers that read rows and write a history event inside one unit of work, and the service's
common state (store, clock, organisation, calendar, office time, the case facts of a message)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cases.law.calendar import Counted, LegalCalendar
from cases.mediation.common import MediationSettings
from cases.org.organisation import Organisation, UnknownId
from cases.org.users import Role
from cases.procedures.statuses import OPEN_STATUSES
from cases.store.db import Connection, Database
from cases.store.time import LEGAL_TZ, Clock

Statement = tuple[str, Sequence[Any]]
MAX_REASON = 300
"""A decline reason or conflict note, typed by the mediator (longer ones are refused)."""
OPEN_VALUES = tuple(s.value for s in OPEN_STATUSES)
OPEN_SQL = ",".join("?" for _ in OPEN_VALUES)


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
class Candidate:
    user_id: int
    names: tuple[str, ...]
    phone: str
    max_load: int
    skills: set[str] = field(default_factory=set)
    load: int = 0
    idle_since: str = ""


def select_all(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def select_one(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    return conn.execute(sql, params).fetchone()


def add_event(
    conn: Connection,
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


def compact_text(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


class AssignmentBase:
    """The state every part of the assignment service shares, office time and the case
    facts its messages carry."""

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

    # -- the case and its messages ------------------------------------------------------

    def _case(self, conn: Connection, case_id: int) -> Any:
        return select_one(
            conn,
            "SELECT id, number, procedure, status, routed_to, answers, mediator_id, citizen_id,"
            " respondent FROM cases WHERE id = ?",
            (case_id,),
        )

    def _queue(self, conn: Connection, message: Outgoing, now: datetime) -> None:
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

    def _shown_name(self, conn: Connection, mediator_id: int) -> str:
        row = select_one(
            conn,
            "SELECT coalesce(p.shown_name, u.display_name, '') FROM users u"
            " LEFT JOIN mediator_profiles p ON p.user_id = u.telegram_id"
            " WHERE u.telegram_id = ?",
            (mediator_id,),
        )
        return str(row[0]) if row else ""

    def _tell_citizen(self, conn: Connection, case: Any, mediator_id: int, now: datetime) -> str:
        contact = self.contact_by(self.today())
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        params = self._case_params(case) | {
            "mediator": self._shown_name(conn, mediator_id),
            "room_id": room_id,
            "contact_due": contact.day.isoformat(),
            "provisional": contact.provisional,
        }
        count = select_one(
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
