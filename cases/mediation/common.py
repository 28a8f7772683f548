"""What the mediation services share: the case as mediation sees it, who may act on it, the
people to tell, and the outbox rows they write.

Rows hold facts, not text (``payload.mediation`` names the message, ``params`` its facts,
``buttons`` its buttons as (label msgid, action, id)); scheduling/mediation.py renders them in
the reader's language when the outbox sends them. Timed reminders are rows of kind ``reminder``
with ``source_kind = 'notice'``: the planner cancels them when the case closes and never
replans them; the services cancel and replace them themselves (a moved session).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cases.i18n import N_
from cases.org.users import Role, User
from cases.procedures.statuses import CaseStatus
from cases.store.db import UnitConnection, row_in, rows_in
from cases.store.time import to_db

MEDIATION_OPEN = (CaseStatus.submitted, CaseStatus.accepted)
"""While the mediation runs: the other party may join, sessions may be scheduled."""

OPEN_BUTTON = N_("Open the mediation")
COME_BUTTON = N_("👍 I will come")
CANNOT_BUTTON = N_("I cannot come")
KEPT_BUTTON = N_("The agreement was kept")
BROKEN_BUTTON = N_("The agreement was not kept")
APPROVE_BUTTON = N_("Approve the extension")
REFUSE_BUTTON = N_("Refuse the extension")

MAX_PLACE = 100
MAX_TERMS = 2000
MAX_NOTE = 500
MAX_REASON = 300


class MediationSettings(BaseModel):
    """The county's choices for mediation (``MEDIATION__…``): the mediation itself and the
    assignment of cases (the period is ``LocalPeriods``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link_days: int = Field(default=7, ge=1, le=60)
    """How long the one-time link for the other party stays valid."""
    followup_days: int = Field(default=30, ge=1, le=365)
    """Days after an agreement when the follow-up visit (回访) is due."""
    default_max_load: int = Field(default=8, ge=1, le=500)
    """Open cases a mediator carries at most when they set no maximum of their own."""
    offer_working_hours: int = Field(default=4, ge=1, le=80)
    """An offer not answered within this many working hours passes to the next mediator."""
    workday_start: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    workday_end: str = Field(default="17:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """Office hours on a working day of the legal calendar (offers count only these)."""
    contact_working_days: int = Field(default=3, ge=1, le=30)
    """The mediator contacts the applicant within this many working days of accepting."""


class Result(StrEnum):
    done = "done"
    already = "already"  # a double press, or the case moved on
    not_allowed = "not_allowed"  # this person may not do this on this case
    closed = "closed"  # the mediation has ended
    joined = "joined"  # the other party has already joined (no new link)
    no_lead = "no_lead"  # the room has no lead to approve an extension
    period_ended = "period_ended"  # the mediation period's last day has passed: no extension


class Side(StrEnum):
    applicant = "applicant"
    other_party = "other_party"
    mediator = "mediator"


@dataclass(frozen=True)
class MediationCase:
    id: int
    number: str
    status: CaseStatus
    citizen_id: int
    mediator_id: int | None
    room: str | None
    room_name: str
    mediator_name: str | None

    @property
    def running(self) -> bool:
        return self.status in MEDIATION_OPEN


@dataclass(frozen=True)
class Person:
    chat_id: int
    locale: str
    side: Side


async def load_case(conn: UnitConnection, case_id: int) -> MediationCase | None:
    row = await row_in(
        conn,
        # The mediator as their profile shows them to the parties (/profile name, as the
        # assignment's notice and the agreement name them); else their Telegram name.
        "SELECT c.id, c.number, c.status, c.citizen_id, c.mediator_id, c.routed_to,"
        " c.routed_to_name, coalesce(m.shown_name, u.display_name) AS display_name"
        " FROM cases c LEFT JOIN users u ON u.telegram_id = c.mediator_id"
        " LEFT JOIN mediator_profiles m ON m.user_id = c.mediator_id"
        " WHERE c.id = ? AND c.procedure = 'mediation'",
        (case_id,),
    )
    if row is None:
        return None
    routed = row["routed_to"] or ""
    return MediationCase(
        id=row["id"],
        number=row["number"],
        status=CaseStatus(row["status"]),
        citizen_id=row["citizen_id"],
        mediator_id=row["mediator_id"],
        room=routed.removeprefix("room:") if routed.startswith("room:") else None,
        room_name=row["routed_to_name"] or "",
        mediator_name=row["display_name"],
    )


def acts_as_mediator(user: User | None, case: MediationCase) -> bool:
    """The mediator the case is assigned to (``cases.mediator_id``), and the lead of its room
    (``users.leads_room``), who assigns it by hand; the same people as
    ``cases.procedures.access.mediator_may_open`` (issue #10: assigned-only access). Any other
    mediator of the room, while nobody has accepted the case, is refused as everyone else is:
    the assignment offers it to one mediator at a time."""
    if user is None or user.role is not Role.mediator:
        return False
    if case.mediator_id is not None and case.mediator_id == user.telegram_id:
        return True
    return is_room_lead(user, case)


def is_room_lead(user: User | None, case: MediationCase) -> bool:
    return (
        user is not None
        and user.role is Role.mediator
        and user.leads_room
        and case.room is not None
        and user.unit == case.room
    )


def _locale(value: str | None) -> str:
    return value if value in ("zh", "en") else "zh"


async def mediators(conn: UnitConnection, case: MediationCase) -> list[Person]:
    """The mediator who accepted the case; while nobody has, the room's leads (the only other
    mediators who may open it, ``acts_as_mediator``)."""
    if case.mediator_id is None:
        return await room_leads(conn, case)
    rows = await rows_in(
        conn, "SELECT telegram_id, locale FROM users WHERE telegram_id = ?", (case.mediator_id,)
    )
    return [Person(r["telegram_id"], _locale(r["locale"]), Side.mediator) for r in rows]


async def room_leads(conn: UnitConnection, case: MediationCase) -> list[Person]:
    rows = await rows_in(
        conn,
        "SELECT telegram_id, locale FROM users WHERE role = 'mediator' AND unit = ?"
        " AND leads_room = 1 ORDER BY telegram_id",
        (case.room or "",),
    )
    return [Person(r["telegram_id"], _locale(r["locale"]), Side.mediator) for r in rows]


async def parties(conn: UnitConnection, case: MediationCase) -> list[Person]:
    """The applicant and, once joined, the other party."""
    out = []
    row = await row_in(conn, "SELECT locale FROM users WHERE telegram_id = ?", (case.citizen_id,))
    out.append(Person(case.citizen_id, _locale(row["locale"] if row else None), Side.applicant))
    other = await row_in(
        conn,
        "SELECT p.user_id, u.locale FROM mediation_parties p"
        " JOIN users u ON u.telegram_id = p.user_id WHERE p.case_id = ?",
        (case.id,),
    )
    if other is not None:
        out.append(Person(other["user_id"], _locale(other["locale"]), Side.other_party))
    return out


async def everyone(conn: UnitConnection, case: MediationCase) -> list[Person]:
    """Both parties and the mediator(s), each chat once."""
    seen: set[int] = set()
    out = []
    for person in [*await parties(conn, case), *await mediators(conn, case)]:
        if person.chat_id not in seen:
            seen.add(person.chat_id)
            out.append(person)
    return out


Button = tuple[str, str, int, int]
"""(label msgid, action of handlers/mediation_callbacks.MedAction, id, version): the version
of a session, so an answer given to an old time does not count for the new one (else 0)."""


@dataclass(frozen=True)
class Outgoing:
    dedup_key: str
    person: Person
    case: MediationCase
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    buttons: Sequence[Button] = ()
    due_at: datetime | None = None
    expires_at: datetime | None = None
    reminder: bool = False
    """A timed reminder (kind ``reminder``), else a notice sent now (after quiet hours)."""
    urgent: bool = False
    """Sent at once, also at night (a cancelled session: someone may set out early)."""


class Outbox:
    """Writes mediation messages into the durable outbox inside the caller's unit of work.

    ``defer`` moves a moment out of the quiet hours (``scheduling.planner.after_quiet_hours``
    bound to the deployment's time zone: the one quiet-hours setting)."""

    def __init__(self, defer: Callable[[datetime], datetime]) -> None:
        self.defer = defer

    async def queue(self, conn: UnitConnection, out: Outgoing, now: datetime) -> bool:
        due = (out.due_at or now) if out.urgent else self.defer(out.due_at or now)
        if out.expires_at is not None and due >= out.expires_at:
            return False  # the night would carry it past its use
        audience = Role.mediator if out.person.side is Side.mediator else Role.citizen
        payload = {
            "mediation": out.message,
            "case_number": out.case.number,
            "procedure": "mediation",
            "params": out.params,
            "buttons": [list(b) for b in out.buttons],
        }
        stamp = to_db(now)
        cursor = await conn.execute(
            "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id, case_id,"
            " step, audience, chat_id, locale, critical, quiet, payload, due_at, expires_at,"
            " created_at, updated_at)"
            " VALUES (?, ?, NULL, 'notice', NULL, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(dedup_key) DO NOTHING",
            (
                out.dedup_key,
                "reminder" if out.reminder else "notice",
                out.case.id,
                "mediation:" + out.message,
                audience.value,
                out.person.chat_id,
                out.person.locale,
                "none" if out.urgent else "defer",
                json.dumps(payload, ensure_ascii=False),
                to_db(due),
                to_db(out.expires_at) if out.expires_at else None,
                stamp,
                stamp,
            ),
        )
        return cursor.rowcount == 1

    @staticmethod
    async def cancel(conn: UnitConnection, prefix: str, now: datetime) -> int:
        """Pending rows whose key starts with ``prefix`` are cancelled, never sent."""
        cursor = await conn.execute(
            "UPDATE reminders SET status = 'cancelled', updated_at = ?"
            " WHERE status = 'pending' AND dedup_key >= ? AND dedup_key < ?",
            (to_db(now), prefix, prefix + "\uffff"),
        )
        return cursor.rowcount
