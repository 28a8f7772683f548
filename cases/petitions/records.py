"""Petitions handed to agencies: the records, texts, results and small steps the
hand-over service shares (cases.petitions.handover assembles the service)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel

from cases.i18n import N_
from cases.intake.validation import ValidationError, clean_text
from cases.law.deadline_rules import citation
from cases.org.users import Role
from cases.procedures.deadline_records import CaseDeadline
from cases.procedures.statuses import CaseStatus
from cases.store.db import Database, Row, UnitConnection, row_in

AGENCY_ROLES = frozenset({Role.agency_liaison, Role.agency_head})


OFFICE_ROLES = frozenset({Role.admin, Role.office_staff})


MAX_REASON = 500


MAX_OPINION_TEXT = 3500


"""The opinion reaches the citizen in one message with its heading (Telegram: 4,096)."""


MAX_BODY_NAME = 100


OBJECTION_REMINDER_AT = time(8, 30)


"""The last objection day's reminder (X3a) goes out as the working day starts."""


HANDED_OVER_MEETS = ("X1", "X2")


"""Assigning or transferring a petition tells the petitioner in writing where it went and
why: it meets X1 (the petition office's forwarding, XF 22) and, for a petition an agency took
up on its reception day, X2 (XF 23: tell the petitioner how it is handled), as the transition
table's accept and forward rows do."""


class HandoverNotice(StrEnum):
    """Notice kinds of this module (texts: :data:`NOTICE_TEXTS`, merged into
    ``scheduling.notices.NOTICE_TEXTS``)."""

    assigned = "petition_assigned"  # citizen: where it went (交办)
    transferred = "petition_transferred"  # citizen: the body outside the county (转送)
    agency_accepted = "petition_agency_accepted"  # citizen: X3, in the agency's name
    opinion = "petition_opinion"  # citizen: the opinion's text (then ``concluded``)
    to_agency = "petition_to_agency"  # liaisons and head: a petition to handle
    forwarded_to_agency = "petition_forwarded_to_agency"  # a suggestion or report, for study
    extension_requested = "petition_extension_requested"  # the head: approve or refuse
    extension_decided = "petition_extension_decided"  # the liaisons: the head's answer
    returned = "petition_returned"  # the petition office: the agency objects (XF 23(3))
    objection_agreed = "petition_objection_agreed"  # the agency: the office took it back
    objection_refused = "petition_objection_refused"  # the agency: it must handle the matter
    objection_last_day = "petition_objection_last_day"  # liaisons and head: X3a ends today


NOTICE_TEXTS: dict[str, str] = {
    HandoverNotice.assigned: N_(
        "Your petition {number} was assigned on {assigned_on} to {agency}, which must handle "
        "it ({basis}).\nReason: {reason}\n{agency} tells you within 15 days whether it accepts "
        "the matter and how it will be handled, by {x3_due} at the latest."
    ),
    HandoverNotice.transferred: N_(
        "Your petition {number} was transferred on {transferred_on} to {body}, which is "
        "competent for it ({basis}). Please follow it up there; the case is closed here.\n"
        "Reason: {reason}"
    ),
    HandoverNotice.agency_accepted: N_(
        "{agency} accepted your petition {number} on {accepted_on} ({basis}). It handles the "
        "matter and issues a written handling opinion by {conclude_due} at the latest "
        "(《信访工作条例》第三十四条)."
    ),
    HandoverNotice.opinion: N_(
        "Written handling opinion of {agency} on your petition {number}:\n\n{opinion}"
        "\n\nAttached documents: {files}."
    ),
    HandoverNotice.to_agency: N_(
        "Petition {number} was assigned to your agency on {assigned_on} ({basis}).\nMatter: "
        "{subject}\nReason given by the petition office: {reason}\nPlease accept it and tell "
        "the petitioner by {x3_due}; the petition office is the contact for questions: "
        "{office}.\nPress “Open case” to read it and answer."
    ),
    HandoverNotice.forwarded_to_agency: N_(
        "Petition {number} was forwarded to your agency on {assigned_on} ({basis}), to be "
        "studied and handled under your own rules; it is closed at the petition office.\n"
        "Matter: {subject}\nReason given by the petition office: {reason}\nContact: {office}."
    ),
    HandoverNotice.extension_requested: N_(
        "Petition {number}: {requester} asks to extend the handling period by {days} days "
        "(now by {conclude_due}).\nReason: {reason}\nThe head of the agency approves or refuses "
        "(《信访工作条例》第三十四条). Press “Open case”."
    ),
    HandoverNotice.returned: N_(
        "Petition {number}: {agency} objects that the matter is not within its competence "
        "({basis}).\nReason: {reason}\nThe materials go back only if the petition office "
        "agrees: press “Open case” and agree (then assign or transfer it again) or not (then "
        "the agency must handle it)."
    ),
    HandoverNotice.objection_agreed: N_(
        "Petition {number}: the petition office agreed with your objection ({basis}); the "
        "matter is no longer your agency's."
    ),
    HandoverNotice.objection_refused: N_(
        "Petition {number}: the petition office did not agree with your objection ({basis}); "
        "your agency must handle the matter. Please accept it and tell the petitioner by "
        "{x3_due}. Press “Open case”."
    ),
    HandoverNotice.objection_last_day: N_(
        "Petition {number}: today, {objection_due}, is the last day to object that the matter "
        "is not within your agency's competence ({basis}); after it your agency must handle it. "
        "If it is yours, accept it and tell the petitioner by {x3_due}. Press “Open case”."
    ),
    HandoverNotice.extension_decided: N_(
        "Petition {number}: the extension of {days} days was {decision_msgid}. The handling "
        "opinion is due by {conclude_due}."
    ),
}


APPROVED = N_("approved")


REFUSED = N_("refused")


# Event kinds (history texts: HISTORY_CITIZEN / HISTORY_STAFF, placeholders from the detail).
ASSIGNED = "petition_assigned"


TRANSFERRED = "petition_transferred"


AGENCY_ACCEPTED = "petition_agency_accepted"


EXTENSION_REQUESTED = "petition_extension_requested"


RETURNED = "petition_returned"


OBJECTED = "petition_objected"


OBJECTION_REFUSED = "petition_objection_refused"


EXTENSION_APPROVED = "petition_extension_approved"


EXTENSION_REFUSED = "petition_extension_refused"


CONCLUDED = "concluded"  # the transition table's event: one history line for both routes


HISTORY_CITIZEN: dict[str, str] = {
    ASSIGNED: N_("Your petition was assigned to {agency_name} for handling."),
    TRANSFERRED: N_("Your petition was transferred to {body_name}; reason: {reason}"),
    AGENCY_ACCEPTED: N_("{agency_name} accepted your petition."),
    RETURNED: N_("Your petition is being passed to the competent body."),
    EXTENSION_REQUESTED: N_("The handling agency asked to extend the handling period."),
}


HISTORY_STAFF: dict[str, str] = {
    ASSIGNED: N_("Assigned (交办) to {agency_name}; reason: {reason}"),
    TRANSFERRED: N_("Transferred (转送) to {body_name}; reason: {reason}"),
    AGENCY_ACCEPTED: N_("{agency_name} accepted the petition for handling."),
    RETURNED: N_("{agency_name} objected (not within its competence); reason: {reason}"),
    OBJECTED: N_(
        "{agency_name} objects (not within its competence), awaiting the office's answer; "
        "reason: {reason}"
    ),
    OBJECTION_REFUSED: N_(
        "The objection of {agency_name} was not agreed; the agency must handle the matter."
    ),
    EXTENSION_REQUESTED: N_("Extension of {days} days requested; reason: {reason}"),
    EXTENSION_APPROVED: N_("Extension of {days} days approved by the head of the agency."),
    EXTENSION_REFUSED: N_("Extension of {days} days refused by the head of the agency."),
}


# Refusals the handler explains (English msgids).
REASON_MISSING = N_("Please give the reason (the citizen and the agency read it).")


BODY_MISSING = N_("Please type the name of the body the petition goes to.")


REPORT_TO_ACCUSED = N_(
    "A report (检举控告) must not be passed to the agency it concerns: 《信访工作条例》第三十条 "
    "forbids disclosing report materials to the persons or bodies reported. Choose another "
    "body, or transfer it to the discipline inspection and supervision body."
)


REPORT_NOT_CONFIRMED = N_(
    "This is a report (检举控告). Confirm that it is assigned deliberately to a body that is "
    "not the one reported."
)


OPINION_MISSING = N_("Send the text of the handling opinion first (《信访工作条例》第三十二条).")


OPINION_TOO_LONG = N_(
    "The opinion is too long for the chat: send at most 3,500 characters of text and 20 files, "
    "and the rest on paper."
)


OBJECTION_ENDED = N_(
    "The time to object ended on {objection_due} (five working days after the assignment, "
    "《信访工作条例》第二十三条): the agency must handle the matter."
)


NO_EXTENSION_LEFT = N_("No extension is left: the handling period may be extended by 30 days.")


EXTENSION_IMPOSSIBLE = N_(
    "The extension cannot be granted: the handling period has already ended, or the 30 days "
    "the law allows are used up (《信访工作条例》第三十四条). Refuse the request instead."
)


PERIOD_ENDED = N_(
    "The handling period ended on {conclude_due}; it can no longer be extended "
    "(《信访工作条例》第三十四条). Please send the handling opinion now."
)


EXTENSION_PENDING = N_("An extension request is already waiting for the head's decision.")


class Raced(Exception):
    """Another press made the handover first: the unit is rolled back."""


class Outcome(StrEnum):
    done = "done"
    already = "already"
    not_allowed = "not_allowed"
    refused = "refused"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


ALREADY = Result(Outcome.already)


NOT_ALLOWED = Result(Outcome.not_allowed)


class Person(Protocol):
    chat_id: int
    locale: str
    role: Role


class AgencyNotices(Protocol):
    """Where notices to an agency's liaisons and head go (``scheduling.handover_notices``):
    the people are resolved before the unit of work, the rows written inside it."""

    async def people(self, roles: Sequence[Role], unit: str) -> Sequence[Person]: ...

    async def queue(
        self,
        conn: UnitConnection,
        case_id: int,
        person: Person,
        kind: str,
        params: Mapping[str, Any],
        dedup_key: str,
        *,
        due_at: datetime | None = None,
    ) -> bool: ...

    async def cancel(self, conn: UnitConnection, prefix: str) -> None: ...


class Handover(BaseModel):
    id: int
    case_id: int
    kind: str
    agency_id: str | None
    body_name: str | None
    reason: str
    status: str
    assigned_on: date
    accepted_on: date | None = None
    objection_reason: str | None = None
    """XF 23(3): the agency objected; the petition office agrees or not."""
    objection_refused: bool = False

    @property
    def objection_pending(self) -> bool:
        return (
            self.status == "assigned"
            and self.objection_reason is not None
            and not self.objection_refused
        )


class PendingExtension(BaseModel):
    id: int
    days: int
    reason: str
    base_extension_days: int = 0


class AgencyPetitionView(BaseModel):
    """The petition as the agency's liaison or head may read it (minimised, see above)."""

    id: int
    number: str
    status: CaseStatus
    sensitive: bool
    kind: str | None
    subject: str
    received_on: date
    request: str
    facts: str
    place: str | None
    petitioner: str | None
    """Name, and the phone once accepted; None for a report (XF 30(3))."""
    handover: Handover
    deadlines: list[CaseDeadline]
    pending_extension: PendingExtension | None
    office_contact: str
    opinion_sent: bool
    objection_due: date | None = None
    """X3a (XF 23(3)): while the agency has not accepted, the last day it may object."""
    may_object: bool = False
    period_ended: bool = False
    """X4 ran out (the clock stays open until the opinion): no extension any more (XF 34)."""

    def running(self, rule_id: str) -> CaseDeadline | None:
        return next((d for d in self.deadlines if d.rule_id == rule_id), None)


def basis_of(law: str, article: str, zh_suffix: str = "", en_suffix: str = "") -> dict[str, str]:
    zh, en = citation(law, article)
    return {"basis_zh": zh + zh_suffix, "basis_en": en + en_suffix}


def handover_from_row(row: Row | Mapping[str, Any]) -> Handover:
    return Handover(
        id=row["id"],
        case_id=row["case_id"],
        kind=row["kind"],
        agency_id=row["agency_id"],
        body_name=row["body_name"],
        reason=row["reason"],
        status=row["status"],
        assigned_on=date.fromisoformat(row["assigned_at"][:10]),
        accepted_on=date.fromisoformat(row["accepted_on"]) if row["accepted_on"] else None,
        objection_reason=row["objection_reason"],
        objection_refused=row["objection_refused_at"] is not None,
    )


def clean_typed(text: str, limit: int) -> str:
    try:
        return clean_text(text or "", max_len=limit)
    except ValidationError:
        return ""


PLACE_SUFFIXES = ("省", "市", "县", "区", "镇", "乡", "村")


"""A name that is only a place ("谷城县") is in every body's name there: not a match."""


def same_body(first: str, second: str) -> bool:
    a, b = ("".join(x.split()).casefold() for x in (first, second))
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    return short == long or (
        len(short) >= 3 and short in long and not short.endswith(PLACE_SUFFIXES)
    )


def objection_key(handover_id: int | None) -> str:
    """The dedup-key prefix of a handover's last-objection-day reminders (one per person)."""
    return f"notice:{HandoverNotice.objection_last_day}:{handover_id}:"


async def set_case_status(
    conn: UnitConnection, case_id: int, old: CaseStatus, new: CaseStatus, now: str
) -> bool:
    cursor = await conn.execute(
        "UPDATE cases SET status = ?, updated_at = ? WHERE id = ? AND status = ?"
        " AND procedure = 'petition'",
        (new, now, case_id, old),
    )
    return cursor.rowcount == 1


async def x3_met(conn: UnitConnection, case_id: int) -> bool:
    """X3 met while the handover is still 'assigned': an acceptance is between its two steps
    (it meets X3, then takes the handover), so an objection or a return yields to it."""
    return bool(
        await row_in(
            conn,
            "SELECT 1 FROM case_deadlines WHERE case_id = ? AND rule_id = 'X3' AND status = 'met'",
            (case_id,),
        )
    )


async def case_still(conn: UnitConnection, case_id: int, status: CaseStatus) -> bool:
    row = await row_in(conn, "SELECT status FROM cases WHERE id = ?", (case_id,))
    return row is not None and row[0] == status


async def due_of(conn: UnitConnection, deadline_id: int) -> tuple[str, bool]:
    row = await row_in(
        conn, "SELECT due_on, provisional FROM case_deadlines WHERE id = ?", (deadline_id,)
    )
    assert row is not None
    return str(row[0]), bool(row[1])


async def live_handovers(db: Database, case_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Where the listed petitions are, for the office's case list: case id → (state, agency
    id) of each live handover; state is ``assigned``, ``objected`` or ``accepted``."""
    if not case_ids:
        return {}
    rows = await db.fetch_all(
        "SELECT case_id, status, agency_id, objection_reason IS NOT NULL"
        " AND objection_refused_at IS NULL AS objected FROM petition_handovers"
        " WHERE status IN ('assigned', 'accepted') AND kind = 'assign'"
        f" AND case_id IN ({','.join('?' for _ in case_ids)})",
        tuple(case_ids),
    )
    return {
        int(r["case_id"]): (
            "objected" if r["status"] == "assigned" and r["objected"] else str(r["status"]),
            str(r["agency_id"]),
        )
        for r in rows
    }


async def handed_to_agency(db: Database, case_id: int) -> bool:
    """Whether an agency holds this petition now (the office's own actions step back)."""
    return bool(
        await db.fetch_value(
            "SELECT count(*) FROM petition_handovers WHERE case_id = ?"
            " AND status IN ('assigned', 'accepted', 'concluded')",
            (case_id,),
        )
    )
