"""The petition office hands a petition to the agency that must answer it; the agency answers.

The law, step by step (domain.md §2):

- X1, XF 22: the 信访部门 forwards (转送) or assigns (交办) a matter within 15 days of receipt.
  :meth:`PetitionHandover.assign` hands it to an agency of the organisation file, with a reason;
  :meth:`PetitionHandover.transfer` sends it to a body outside the county, named as typed, with
  a reason, tells the citizen where it went, and closes the case here. Nothing is closed as "not
  ours" any other way: the transition table no longer forwards a suggestion or a report without
  naming the body and the reason (``Guard.office_handles``).
- X3, XF 23(3): the agency that receives an assigned matter tells the petitioner in writing,
  within 15 days, that it was received and how it will be handled. The agency does the telling,
  so the acceptance notice goes out when the agency presses "accept" (:meth:`accept`), in the
  agency's name.
- X4, XF 34: the agency concludes within 60 days of acceptance with a written 处理意见书; an
  extension of at most 30 days is approved by the head of the body (本机关、单位负责人) and the
  petitioner is told the reason. The liaison asks (:meth:`request_extension`); the approver
  rules are the X4 row's (``cases.law.deadline_rules``: the agency head or an administrator),
  checked by ``may_approve_extension`` as for F12.
- X5, XF 35: the opinion (text and files, each with its SHA-256, as the respondent's reply in
  reconsideration) reaches the citizen with the 30-day 复查 window and the 复查 offer
  (``cases.procedures.followup``: the closing notice ``concluded``).
- XF 30(3): 检举控告 materials are never passed to the persons or bodies reported. A report is
  assigned only by a deliberate, confirmed choice, and never to the agency it concerns.

Personal data for the agency (PIPL 6: the minimum the purpose needs): the petitioner's name (the
opinion is addressed to them, XF 32) and, once the agency accepted the matter, the phone number
(its handling means checking facts with the petitioner and may mean mediation, XF 33); never the
ID number or the address. For a 检举控告 the agency sees neither name nor phone: contact goes
through the petition office.

Units of work as in ``cases.procedures.actions``: clock steps that keep their own transaction
(met, extend) run first and tolerate "already done"; then one unit with the compare-and-set on
the handover row and the case status, the clocks started or stopped, the event and the notices.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Protocol

import aiosqlite
from pydantic import BaseModel

from cases.i18n import N_
from cases.intake.forms import Procedure
from cases.intake.validation import ValidationError, clean_text, mask_phone
from cases.law.deadline_rules import DeadlineEngine, citation
from cases.org.contact import office_contact
from cases.org.organisation import Agency, Organisation, UnknownId
from cases.org.users import Role, User
from cases.procedures.access import extension_left, may_approve_extension, staff_case_view
from cases.procedures.actions import (
    MAX_REPLY_FILES,
    NoticeSink,
    ReplyFile,
    staff_event,
)
from cases.procedures.case_clocks import (
    ClockError,
    ExtensionChanged,
    cancel_case_deadlines,
    extend_deadline,
    mark_met,
    open_deadline,
)
from cases.procedures.deadline_records import CaseDeadline, get_deadline, open_deadlines
from cases.procedures.privacy import mask_numbers
from cases.procedures.statuses import CaseStatus
from cases.procedures.transitions import Notice
from cases.store.db import Database, row_in
from cases.store.time import LEGAL_TZ, Clock, legal_today, to_db

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


class _Raced(Exception):
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


_ALREADY = Result(Outcome.already)
_NOT_ALLOWED = Result(Outcome.not_allowed)


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
        conn: aiosqlite.Connection,
        case_id: int,
        person: Person,
        kind: str,
        params: Mapping[str, Any],
        dedup_key: str,
        *,
        due_at: datetime | None = None,
    ) -> bool: ...

    async def cancel(self, conn: aiosqlite.Connection, prefix: str) -> None: ...


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


def _basis(law: str, article: str, zh_suffix: str = "", en_suffix: str = "") -> dict[str, str]:
    zh, en = citation(law, article)
    return {"basis_zh": zh + zh_suffix, "basis_en": en + en_suffix}


def _handover(row: sqlite3.Row | Mapping[str, Any]) -> Handover:
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


def _clean(text: str, limit: int) -> str:
    try:
        return clean_text(text or "", max_len=limit)
    except ValidationError:
        return ""


class PetitionHandover:
    """Assign, transfer, accept, conclude and extend a petition between the petition office
    and the agencies (one service; handlers/petition_agency.py renders it)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        org: Organisation,
        notify: NoticeSink,
        agencies: AgencyNotices,
        *,
        engine: DeadlineEngine,
    ) -> None:
        self._db = db
        self._clock = clock
        self.org = org
        self._notify = notify
        self._agencies = agencies
        self._engine = engine

    @property
    def engine(self) -> DeadlineEngine:
        return self._engine

    def today(self) -> date:
        return legal_today(self._clock)

    def _now(self) -> str:
        return to_db(self._clock.now())

    # -- reading ----------------------------------------------------------------------------

    async def live(self, case_id: int) -> Handover | None:
        row = await self._db.fetch_one(
            "SELECT * FROM petition_handovers WHERE case_id = ?"
            " AND status IN ('assigned', 'accepted')",
            (case_id,),
        )
        return _handover(row) if row else None

    async def latest(self, case_id: int) -> Handover | None:
        row = await self._db.fetch_one(
            "SELECT * FROM petition_handovers WHERE case_id = ? ORDER BY id DESC LIMIT 1",
            (case_id,),
        )
        return _handover(row) if row else None

    async def agency_view(self, case_id: int, user: User) -> AgencyPetitionView | None:
        """None unless this person is the liaison or head of the agency the petition was
        assigned to (the latest assignment: open, or concluded by that agency)."""
        if user.role not in AGENCY_ROLES or not user.unit:
            return None
        handover = await self.latest(case_id)
        if (
            handover is None
            or handover.kind != "assign"
            or handover.agency_id != user.unit
            or handover.status not in ("assigned", "accepted", "concluded", "transferred")
        ):
            return None
        return await self._view(case_id, handover, user)

    async def page_view(self, case_id: int, user: User) -> AgencyPetitionView | None:
        """The agency's page for its liaison or head; for an administrator, the page of a
        petition an agency is handling, where they stand in for an agency without a head
        (the extension request reaches them, scheduling.recipients) and decide it."""
        if user.role is not Role.admin:
            return await self.agency_view(case_id, user)
        handover = await self.live(case_id)
        if handover is None or handover.kind != "assign" or handover.status != "accepted":
            return None
        return await self._view(case_id, handover, user)

    async def _view(
        self, case_id: int, handover: Handover, user: User
    ) -> AgencyPetitionView | None:
        case = await self._db.fetch_one(
            "SELECT * FROM cases WHERE id = ? AND procedure = 'petition'", (case_id,)
        )
        if case is None:
            return None
        answers = json.loads(case["answers"] or "{}")
        sensitive = bool(case["sensitive"])
        petitioner = None
        if not sensitive:
            party = await self._db.fetch_one(
                "SELECT name, phone FROM parties WHERE case_id = ? AND role = 'applicant'"
                " ORDER BY id LIMIT 1",
                (case_id,),
            )
            if party is not None:
                bits = [mask_numbers(str(party["name"]))]
                if party["phone"]:
                    # In full to the agency that accepted it (it answers the petitioner); an
                    # administrator standing in for its head sees it masked, as elsewhere.
                    answering = user.role in AGENCY_ROLES and handover.status in (
                        "accepted",
                        "concluded",
                    )
                    bits.append(party["phone"] if answering else mask_phone(party["phone"]))
                petitioner = " · ".join(bits)
        place = None
        township = answers.get("township_id")
        if township:
            with contextlib.suppress(UnknownId):
                place = self.org.township(str(township)).name
        pending = await self._db.fetch_one(
            "SELECT id, days, reason FROM petition_extension_requests"
            " WHERE case_id = ? AND status = 'pending'",
            (case_id,),
        )
        deadlines = await open_deadlines(self._db, case_id, self._engine)
        objection_due = (
            self.engine.compute("X3a", handover.assigned_on).due
            if handover.status == "assigned"
            else None
        )
        facts = str(answers.get("facts") or "")
        if answers.get("reasons"):
            facts += "\n" + str(answers["reasons"])
        return AgencyPetitionView(
            id=case["id"],
            number=case["number"],
            status=case["status"],
            sensitive=sensitive,
            kind=answers.get("petition_kind"),
            subject=mask_numbers(case["subject"]),
            received_on=date.fromisoformat(case["received_on"]),
            request=mask_numbers(str(answers.get("request") or "")),
            facts=mask_numbers(facts),
            place=place,
            petitioner=petitioner,
            handover=handover,
            deadlines=deadlines,
            pending_extension=PendingExtension(
                id=pending["id"], days=pending["days"], reason=pending["reason"]
            )
            if pending
            else None,
            office_contact=office_contact(self.org, "petition", user.locale or "zh"),
            opinion_sent=handover.status == "concluded",
            objection_due=objection_due,
            period_ended=any(d.rule_id == "X4" and d.due_on < self.today() for d in deadlines),
            may_object=objection_due is not None
            and self.today() <= objection_due
            and handover.objection_reason is None,
        )

    async def agency_petitions(self, user: User, *, limit: int = 20) -> list[tuple[int, str, str]]:
        """(case id, number, handover status) of the open petitions assigned to this
        person's agency, oldest first."""
        if user.role not in AGENCY_ROLES or not user.unit:
            return []
        rows = await self._db.fetch_all(
            "SELECT h.case_id, c.number, h.status FROM petition_handovers h"
            " JOIN cases c ON c.id = h.case_id WHERE h.agency_id = ? AND h.kind = 'assign'"
            " AND h.status IN ('assigned', 'accepted') ORDER BY h.id LIMIT ?",
            (user.unit, limit),
        )
        return [(r["case_id"], r["number"], r["status"]) for r in rows]

    async def opinion_for_office(self, case_id: int, user: User) -> dict[str, Any] | None:
        """The agency's handling opinion as recorded (text, files with SHA-256, who and when),
        for the petition office overseeing it; None if none or not theirs to read."""
        if (
            user.role not in OFFICE_ROLES
            or await staff_case_view(self._db, case_id, user, self._engine) is None
        ):
            return None
        row = await self._db.fetch_one(
            "SELECT detail FROM case_events WHERE case_id = ? AND kind = ?"
            " AND json_extract(detail, '$.agency_id') IS NOT NULL ORDER BY id DESC LIMIT 1",
            (case_id, CONCLUDED),
        )
        return json.loads(row["detail"]) if row else None

    async def office_may_hand_over(self, case_id: int, user: User) -> bool:
        """The petition office (or an administrator) on a petition still at the office."""
        if user.role not in OFFICE_ROLES:
            return False
        view = await staff_case_view(self._db, case_id, user, self._engine)
        if view is None or view.procedure is not Procedure.petition:
            return False
        return view.status is CaseStatus.submitted and await self.live(case_id) is None

    # -- the petition office ----------------------------------------------------------------

    async def assign(
        self,
        case_id: int,
        user: User,
        *,
        agency_id: str,
        reason: str,
        confirmed_report: bool = False,
    ) -> Result:
        """交办 (XF 22): to an agency of the organisation file, with a reason. A complaint
        (申诉求决) stays open here while the agency handles it (X3, then X4); a suggestion
        or a report is forwarded, and the case closes here with the agency named."""
        if not await self.office_may_hand_over(case_id, user):
            return await self.already_or_not(case_id, user)
        reason = _clean(reason, MAX_REASON)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        try:
            agency = self.org.agency(agency_id)
        except UnknownId:
            return _NOT_ALLOWED
        case = await self._db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
        assert case is not None
        answers = json.loads(case["answers"] or "{}")
        kind = answers.get("petition_kind") or "complaint"
        if case["sensitive"] or kind == "report":
            # XF 30(3): never to the agency reported; only as a deliberate, confirmed choice.
            if self._reported(answers, agency.id, agency.name, agency.name_en):
                return Result(Outcome.refused, REPORT_TO_ACCUSED)
            if not confirmed_report:
                return Result(Outcome.refused, REPORT_NOT_CONFIRMED)
        forwarded = kind != "complaint"
        await self._close_met(case_id, HANDED_OVER_MEETS, user)
        people = await self._agencies.people(list(AGENCY_ROLES), agency.id)
        today = self.today()
        now = self._now()
        facts: dict[str, Any] = {"assigned_on": today.isoformat()}
        try:
            return await self._assign_unit(
                case, user, agency, reason, kind, forwarded, people, today, now, facts
            )
        except _Raced:
            return _ALREADY

    async def _assign_unit(
        self,
        case: Any,
        user: User,
        agency: Agency,
        reason: str,
        kind: str,
        forwarded: bool,
        people: Sequence[Person],
        today: date,
        now: str,
        facts: dict[str, Any],
    ) -> Result:
        """The assignment's one unit of work (rolled back whole by :class:`_Raced`)."""
        case_id = int(case["id"])
        async with self._db.transaction() as conn:
            if not forwarded and not await _still(conn, case_id, CaseStatus.submitted):
                raise _Raced  # transferred meanwhile
            if forwarded and not await _set_status(
                conn, case_id, CaseStatus.submitted, CaseStatus.closed, now
            ):
                return _ALREADY
            try:
                cursor = await conn.execute(
                    "INSERT INTO petition_handovers(case_id, kind, agency_id, reason, status,"
                    " assigned_by, assigned_at) VALUES (?, 'assign', ?, ?, ?, ?, ?)",
                    (
                        case_id,
                        agency.id,
                        reason,
                        "transferred" if forwarded else "assigned",
                        user.telegram_id,
                        now,
                    ),
                )
            except sqlite3.IntegrityError:
                raise _Raced from None  # a double press: one live handover per case
            handover_id = cursor.lastrowid
            if forwarded:
                await cancel_case_deadlines(
                    conn, case_id, reason="forwarded", actor_id=user.telegram_id, clock=self._clock
                )
            else:
                x3 = await open_deadline(
                    conn,
                    case_id,
                    "X3",
                    today,
                    clock=self._clock,
                    actor_id=user.telegram_id,
                    engine=self._engine,
                )
                facts["x3_due"], facts["provisional"] = await _due(conn, x3)
            detail = {
                "agency_id": agency.id,
                "agency_name": agency.name,
                "agency_name_en": agency.name_en,
                "reason": reason,
                "forwarded": forwarded,
                "handover_id": handover_id,
                **facts,
            }
            await staff_event(conn, case_id, now, user, ASSIGNED, detail)
            citizen = {
                "agency": agency.name,
                "reason": reason,
                **facts,
                **_basis("XF", "22"),
            }
            if forwarded:
                citizen["transferred_on"] = today.isoformat()
                citizen["body"] = agency.name
            if kind == "report":
                citizen.pop("reason")  # XF 30(3): nothing about the matter in the message
            await self._notify(
                conn,
                case_id,
                HandoverNotice.transferred if forwarded else HandoverNotice.assigned,
                citizen,
                f"notice:{ASSIGNED}:{handover_id}",
            )
            to_agency = {
                "rule_id": "X3",
                "subject": mask_numbers(case["subject"]),
                "reason": reason,
                "office": office_contact(self.org, "petition"),
                **facts,
                **_basis("XF", "22"),
            }
            for person in people:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.forwarded_to_agency if forwarded else HandoverNotice.to_agency,
                    to_agency,
                    f"notice:{HandoverNotice.to_agency}:{handover_id}:{person.chat_id}",
                )
            if not forwarded:
                await self._remind_objection_end(conn, case_id, handover_id, people, today, facts)
        return Result(Outcome.done, facts={**facts, "agency": agency.name, "forwarded": forwarded})

    async def _remind_objection_end(
        self,
        conn: aiosqlite.Connection,
        case_id: int,
        handover_id: int | None,
        people: Sequence[Person],
        assigned_on: date,
        facts: Mapping[str, Any],
    ) -> None:
        """X3a (XF 23(3)): the agency may object within 5 working days; on the last of them,
        at 08:30, its people are reminded (cancelled once it accepts or objects)."""
        objection = self.engine.compute("X3a", assigned_on)
        due_at = datetime.combine(objection.due, OBJECTION_REMINDER_AT, tzinfo=LEGAL_TZ)
        if due_at <= self._clock.now():
            return
        params = {
            "rule_id": "X3",  # the sender gives agency staff "Open case" (X3's petition)
            "objection_due": objection.due.isoformat(),
            "x3_due": facts.get("x3_due"),
            "provisional": objection.provisional,
            **_basis("XF", "23", "第三款", "(3)"),
        }
        for person in people:
            await self._agencies.queue(
                conn,
                case_id,
                person,
                HandoverNotice.objection_last_day,
                params,
                f"{_objection_key(handover_id)}{person.chat_id}",
                due_at=due_at,
            )

    async def transfer(self, case_id: int, user: User, *, body_name: str, reason: str) -> Result:
        """转送 (XF 22) to a body outside the county: named as typed, with the reason; the
        citizen is told where it went and the case closes here."""
        if not await self.office_may_hand_over(case_id, user):
            return await self.already_or_not(case_id, user)
        body = _clean(body_name, MAX_BODY_NAME)
        reason = _clean(reason, MAX_REASON)
        if not body:
            return Result(Outcome.refused, BODY_MISSING)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        case = await self._db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
        assert case is not None
        answers = json.loads(case["answers"] or "{}")
        if (case["sensitive"] or answers.get("petition_kind") == "report") and self._reported(
            answers, "", body
        ):
            return Result(Outcome.refused, REPORT_TO_ACCUSED)
        await self._close_met(case_id, HANDED_OVER_MEETS, user)
        today = self.today()
        now = self._now()
        async with self._db.transaction() as conn:
            if await row_in(
                conn,
                "SELECT 1 FROM petition_handovers WHERE case_id = ?"
                " AND status IN ('assigned', 'accepted')",
                (case_id,),
            ) or not await _set_status(
                conn, case_id, CaseStatus.submitted, CaseStatus.closed, now
            ):
                return _ALREADY  # assigned or transferred meanwhile: nothing written yet
            cursor = await conn.execute(
                "INSERT INTO petition_handovers(case_id, kind, body_name, reason, status,"
                " assigned_by, assigned_at) VALUES (?, 'transfer', ?, ?, 'transferred', ?, ?)",
                (case_id, body, reason, user.telegram_id, now),
            )
            await cancel_case_deadlines(
                conn, case_id, reason="transferred", actor_id=user.telegram_id, clock=self._clock
            )
            detail = {"body_name": body, "reason": reason, "transferred_on": today.isoformat()}
            await staff_event(conn, case_id, now, user, TRANSFERRED, detail)
            await self._notify(
                conn,
                case_id,
                HandoverNotice.transferred,
                {
                    "body": body,
                    "reason": reason,
                    "transferred_on": today.isoformat(),
                    **_basis("XF", "22"),
                },
                f"notice:{TRANSFERRED}:{cursor.lastrowid}",
            )
        return Result(Outcome.done, facts={"body": body, "transferred_on": today.isoformat()})

    def _reported(self, answers: Mapping[str, Any], agency_id: str, *names: str | None) -> bool:
        """XF 30(3): whether the body a report concerns (``body_concerned``: an agency of the
        organisation file, or a name the citizen typed) is this one, by id or by name; a
        name typed by either side matches the other when one contains the other
        ("交通运输局" in "谷城县交通运输局")."""
        concerned = str(answers.get("body_concerned") or "").strip()
        if not concerned:
            return False
        if agency_id and concerned == agency_id:
            return True
        reported = {concerned.removeprefix("text:")}
        if not concerned.startswith("text:"):
            with contextlib.suppress(UnknownId):
                known = self.org.agency(concerned)
                reported |= {known.name, known.name_en or ""}
        return any(_same_body(a, b) for a in reported for b in names if a and b)

    # -- the agency ---------------------------------------------------------------------------

    async def accept(self, case_id: int, user: User) -> Result:
        """受理 by the agency (XF 23(3), X3 met): the citizen is told by the agency; X4 runs."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return _NOT_ALLOWED
        if view.handover.status != "assigned":
            return _ALREADY
        await self._close_met(case_id, ("X3",), user)
        today = self.today()
        now = self._now()
        agency = self.org.agency(user.unit or "")
        async with self._db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE petition_handovers SET status = 'accepted', accepted_by = ?,"
                " accepted_on = ? WHERE id = ? AND status = 'assigned'",
                (user.telegram_id, today.isoformat(), view.handover.id),
            )
            if changed.rowcount != 1:
                return _ALREADY
            await self._agencies.cancel(conn, _objection_key(view.handover.id))
            if not await _set_status(
                conn, case_id, CaseStatus.submitted, CaseStatus.accepted, now
            ):
                raise RuntimeError(f"petition {case_id} left 'submitted' while assigned")
            x4 = await open_deadline(
                conn,
                case_id,
                "X4",
                today,
                clock=self._clock,
                actor_id=user.telegram_id,
                engine=self._engine,
            )
            due, provisional = await _due(conn, x4)
            facts = {"accepted_on": today.isoformat(), "conclude_due": due}
            await staff_event(
                conn,
                case_id,
                now,
                user,
                AGENCY_ACCEPTED,
                {**facts, "agency_id": agency.id, "agency_name": agency.name},
            )
            await self._notify(
                conn,
                case_id,
                HandoverNotice.agency_accepted,
                {
                    **facts,
                    "agency": agency.name,
                    "provisional": provisional,
                    **_basis("XF", "23", "第三款", "(3)"),
                },
                f"notice:{AGENCY_ACCEPTED}:{view.handover.id}",
            )
        return Result(Outcome.done, facts={**facts, "provisional": provisional})

    async def conclude(
        self, case_id: int, user: User, *, text: str, files: Sequence[ReplyFile] = ()
    ) -> Result:
        """The written 信访处理意见书 (XF 32, 34): X4 met; the citizen receives the text, then
        the closing notice with the 复查 window (X5, XF 35) and its button."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return _NOT_ALLOWED
        if view.handover.status != "accepted":
            return _ALREADY
        text = (text or "").strip()
        if len(text) > MAX_OPINION_TEXT or len(files) > MAX_REPLY_FILES:
            return Result(Outcome.refused, OPINION_TOO_LONG)
        if not text:
            return Result(Outcome.refused, OPINION_MISSING)
        await self._close_met(case_id, ("X4",), user, late_ok=True)
        today = self.today()
        now = self._now()
        agency = self.org.agency(user.unit or "")
        following = self.engine.compute("X5", today)
        async with self._db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE petition_handovers SET status = 'concluded', concluded_by = ?,"
                " concluded_on = ? WHERE id = ? AND status = 'accepted'",
                (user.telegram_id, today.isoformat(), view.handover.id),
            )
            if changed.rowcount != 1:
                return _ALREADY
            if not await _set_status(conn, case_id, CaseStatus.accepted, CaseStatus.decided, now):
                raise RuntimeError(f"petition {case_id} left 'accepted' while handled")
            await cancel_case_deadlines(
                conn, case_id, reason="decided", actor_id=user.telegram_id, clock=self._clock
            )
            facts = {
                "decided_on": today.isoformat(),
                "next_due": following.due.isoformat(),
                "provisional": following.provisional,
            }
            await staff_event(
                conn,
                case_id,
                now,
                user,
                CONCLUDED,
                {
                    **facts,
                    "agency_id": agency.id,
                    "agency_name": agency.name,
                    "text": text,
                    "files": [f.model_dump() for f in files],
                },
            )
            await self._notify(
                conn,
                case_id,
                HandoverNotice.opinion,
                {"agency": agency.name, "opinion": text, "files": len(files)},
                f"notice:{HandoverNotice.opinion}:{view.handover.id}",
            )
            await self._notify(
                conn,
                case_id,
                Notice.concluded,
                {**facts, **_basis("XF", "35")},
                f"notice:concluded:{case_id}",
            )
        return Result(Outcome.done, facts=facts)

    async def object(self, case_id: int, user: User, *, reason: str) -> Result:
        """异议 (XF 23(3)): the agency finds the matter outside its competence and says why,
        within 5 working days of the assignment (X3a). The materials go back only once the
        office agrees (:meth:`decide_objection`); meanwhile X3 runs and the agency may still
        accept. Not a closure: the case stays open."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return _NOT_ALLOWED
        if view.handover.status != "assigned":
            return _ALREADY
        reason = _clean(reason, MAX_REASON)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        if not view.may_object:
            due = view.objection_due.isoformat() if view.objection_due else ""
            return Result(Outcome.refused, OBJECTION_ENDED, {"objection_due": due})
        office = self.org.office_for_role("petition")
        clerks = await self._agencies.people([Role.office_staff], office.id if office else "")
        agency = self.org.agency(user.unit or "")
        now = self._now()
        async with self._db.transaction() as conn:
            if await _x3_met(conn, case_id):
                return _ALREADY  # an "accept" press is under way (it meets X3 first)
            changed = await conn.execute(
                "UPDATE petition_handovers SET objection_reason = ?, objected_by = ?,"
                " objected_at = ? WHERE id = ? AND status = 'assigned'"
                " AND objection_reason IS NULL",
                (reason, user.telegram_id, now, view.handover.id),
            )
            if changed.rowcount != 1:
                return _ALREADY
            await self._agencies.cancel(conn, _objection_key(view.handover.id))
            detail = {"agency_id": agency.id, "agency_name": agency.name, "reason": reason}
            await staff_event(conn, case_id, now, user, OBJECTED, detail)
            for person in clerks:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.returned,
                    {
                        "agency": agency.name,
                        "reason": reason,
                        **_basis("XF", "23", "第三款", "(3)"),
                    },
                    f"notice:{RETURNED}:{view.handover.id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts={"agency": agency.name})

    async def decide_objection(self, case_id: int, user: User, *, agree: bool) -> Result:
        """XF 23(3) "经转送、交办机关核实同意后，交还相关材料": the petition office agrees (the
        handover is returned, X3 stops, the office assigns or transfers it again) or not (the
        agency must handle it; X3 runs on)."""
        if (
            user.role not in OFFICE_ROLES
            or await staff_case_view(self._db, case_id, user, self._engine) is None
        ):
            return _NOT_ALLOWED
        handover = await self.live(case_id)
        if handover is None or not handover.objection_pending or handover.agency_id is None:
            return _ALREADY
        agency = self.org.agency(handover.agency_id)
        people = await self._agencies.people(list(AGENCY_ROLES), agency.id)
        now = self._now()
        facts: dict[str, Any] = {"agency": agency.name}
        async with self._db.transaction() as conn:
            pending = (
                " WHERE id = ? AND status = 'assigned' AND objection_reason IS NOT NULL"
                " AND objection_refused_at IS NULL"
            )
            if agree:
                if await _x3_met(conn, case_id):
                    return _ALREADY  # the agency's "accept" is under way (it meets X3 first)
                changed = await conn.execute(
                    "UPDATE petition_handovers SET status = 'returned'" + pending,
                    (handover.id,),
                )
            else:
                changed = await conn.execute(
                    "UPDATE petition_handovers SET objection_refused_at = ?" + pending,
                    (now, handover.id),
                )
            if changed.rowcount != 1:
                return _ALREADY
            detail = {
                "agency_id": agency.id,
                "agency_name": agency.name,
                "reason": handover.objection_reason,
            }
            params: dict[str, Any] = {**_basis("XF", "23", "第三款", "(3)")}
            if agree:
                # The duty to tell the petitioner (X3) goes back with it: on a petition still
                # at the office and assigned, X3 is its only running clock (X1 was met).
                await cancel_case_deadlines(
                    conn, case_id, reason=RETURNED, actor_id=user.telegram_id, clock=self._clock
                )
                await staff_event(conn, case_id, now, user, RETURNED, detail)
            else:
                await staff_event(conn, case_id, now, user, OBJECTION_REFUSED, detail)
                x3 = await row_in(
                    conn,
                    "SELECT due_on FROM case_deadlines WHERE case_id = ? AND rule_id = 'X3'"
                    " AND status = 'open'",
                    (case_id,),
                )
                params |= {"rule_id": "X3", "x3_due": x3[0] if x3 else None}
                facts["x3_due"] = params["x3_due"]
            kind = HandoverNotice.objection_agreed if agree else HandoverNotice.objection_refused
            for person in people:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    kind,
                    params,
                    f"notice:{kind}:{handover.id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts=facts)

    async def request_extension(
        self, case_id: int, user: User, *, days: int, reason: str
    ) -> Result:
        """XF 34: the agency asks; its head approves (:meth:`decide_extension`)."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return _NOT_ALLOWED
        x4 = view.running("X4")
        if view.handover.status != "accepted" or x4 is None or x4.status != "open":
            return _ALREADY
        if view.period_ended:
            return Result(Outcome.refused, PERIOD_ENDED, {"conclude_due": x4.due_on.isoformat()})
        reason = _clean(reason, MAX_REASON)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        left = extension_left(x4, self._engine)
        if (left is not None and (left <= 0 or days > left)) or days < 1:
            return Result(Outcome.refused, NO_EXTENSION_LEFT)
        heads = await self._agencies.people([Role.agency_head], user.unit or "")
        now = self._now()
        async with self._db.transaction() as conn:
            try:
                cursor = await conn.execute(
                    "INSERT INTO petition_extension_requests(case_id, handover_id, days, reason,"
                    " requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (case_id, view.handover.id, days, reason, user.telegram_id, now),
                )
            except sqlite3.IntegrityError:
                return Result(Outcome.refused, EXTENSION_PENDING)
            request_id = cursor.lastrowid
            detail = {
                "days": days,
                "reason": reason,
                "request_id": request_id,
                "base_extension_days": x4.extension_days,
            }
            await staff_event(conn, case_id, now, user, EXTENSION_REQUESTED, detail)
            params = {
                "rule_id": "X4",
                "days": days,
                "reason": reason,
                "conclude_due": x4.due_on.isoformat(),
                "requester": user.display_name or "",
            }
            for person in heads:
                if person.chat_id == user.telegram_id:
                    continue
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.extension_requested,
                    params,
                    f"notice:{EXTENSION_REQUESTED}:{request_id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts={"days": days})

    async def decide_extension(
        self, case_id: int, user: User, *, request_id: int, approve: bool
    ) -> Result:
        """The head of the agency (or an administrator) approves or refuses. Approval extends
        X4 once (the request remembers the extension total it was made at) and tells the
        citizen the reason (XF 34)."""
        view = await self.page_view(case_id, user)
        if view is None:
            return _NOT_ALLOWED
        pending = view.pending_extension
        x4 = view.running("X4")
        if pending is None or pending.id != request_id or x4 is None:
            return _ALREADY
        if not may_approve_extension(x4, user, self._engine):
            return _NOT_ALLOWED
        agency_id = view.handover.agency_id or ""
        base = await self._db.fetch_value(
            "SELECT json_extract(detail, '$.base_extension_days') FROM case_events"
            " WHERE case_id = ? AND kind = ? AND json_extract(detail, '$.request_id') = ?",
            (case_id, EXTENSION_REQUESTED, request_id),
        )
        new_due = x4.due_on
        if approve:
            try:
                new_due = await extend_deadline(
                    self._db,
                    x4.id,
                    user.telegram_id,
                    pending.days,
                    pending.reason,
                    self._clock,
                    engine=self._engine,
                    expected_days=int(base or 0),
                )
            except ExtensionChanged:
                stored = await get_deadline(self._db, x4.id, self._engine)
                new_due = stored.due_on if stored else x4.due_on  # an earlier press extended
            except ClockError:
                # The period ended meanwhile, or the 30 days are used (its English message is
                # for the log, not for the head who pressed).
                return Result(Outcome.refused, EXTENSION_IMPOSSIBLE)
        stored = await get_deadline(self._db, x4.id, self._engine)
        provisional = bool(stored and stored.provisional)
        liaisons = await self._agencies.people([Role.agency_liaison], agency_id)
        now = self._now()
        async with self._db.transaction() as conn:
            if approve:
                # The extension is in the clock now (this press or a double press of it):
                # the request says approved even if a refusal slipped in between.
                changed = await conn.execute(
                    "UPDATE petition_extension_requests SET status = 'approved',"
                    " decided_by = ?, decided_at = ? WHERE id = ? AND status != 'approved'",
                    (user.telegram_id, now, request_id),
                )
            else:
                # A refusal stands only while the extension was not granted meanwhile.
                changed = await conn.execute(
                    "UPDATE petition_extension_requests SET status = 'refused', decided_by = ?,"
                    " decided_at = ? WHERE id = ? AND status = 'pending' AND (SELECT"
                    " extension_days FROM case_deadlines WHERE id = ?) = ?",
                    (user.telegram_id, now, request_id, x4.id, int(base or 0)),
                )
            if changed.rowcount != 1:
                return _ALREADY
            await staff_event(
                conn,
                case_id,
                now,
                user,
                EXTENSION_APPROVED if approve else EXTENSION_REFUSED,
                {"days": pending.days, "request_id": request_id},
            )
            if approve:
                await self._notify(
                    conn,
                    case_id,
                    Notice.extended,
                    {
                        "what_msgid": self.engine.rule("X4").title,
                        "old_due": x4.due_on.isoformat(),
                        "new_due": new_due.isoformat(),
                        "days": pending.days,
                        "reason": pending.reason,
                        "provisional": provisional,
                        **_basis("XF", "34"),
                    },
                    f"notice:extended:{x4.id}:{request_id}",
                )
            for person in liaisons:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.extension_decided,
                    {
                        "rule_id": "X4",
                        "days": pending.days,
                        "decision_msgid": APPROVED if approve else REFUSED,
                        "conclude_due": new_due.isoformat(),
                    },
                    f"notice:{HandoverNotice.extension_decided}:{request_id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts={"new_due": new_due.isoformat(), "approved": approve})

    # -- steps -----------------------------------------------------------------------------

    async def already_or_not(self, case_id: int, user: User) -> Result:
        """A press on a petition this person may see but that has moved on: already; any
        other: not allowed."""
        if user.role in OFFICE_ROLES and await staff_case_view(
            self._db, case_id, user, self._engine
        ):
            return _ALREADY
        return _NOT_ALLOWED

    async def _close_met(
        self, case_id: int, rules: tuple[str, ...], user: User, *, late_ok: bool = False
    ) -> None:
        statuses = ("open", "missed") if late_ok else ("open",)
        rows = await self._db.fetch_all(
            "SELECT id, rule_id FROM case_deadlines WHERE case_id = ?"
            f" AND status IN ({','.join('?' for _ in statuses)})",
            (case_id, *statuses),
        )
        for row in rows:
            if row["rule_id"] in rules:
                with contextlib.suppress(ClockError):
                    await mark_met(
                        self._db,
                        row["id"],
                        user.telegram_id,
                        self.today(),
                        self._clock,
                        late_ok=late_ok,
                    )


PLACE_SUFFIXES = ("省", "市", "县", "区", "镇", "乡", "村")
"""A name that is only a place ("谷城县") is in every body's name there: not a match."""


def _same_body(first: str, second: str) -> bool:
    a, b = ("".join(x.split()).casefold() for x in (first, second))
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    return short == long or (
        len(short) >= 3 and short in long and not short.endswith(PLACE_SUFFIXES)
    )


def _objection_key(handover_id: int | None) -> str:
    """The dedup-key prefix of a handover's last-objection-day reminders (one per person)."""
    return f"notice:{HandoverNotice.objection_last_day}:{handover_id}:"


async def _set_status(
    conn: aiosqlite.Connection, case_id: int, old: CaseStatus, new: CaseStatus, now: str
) -> bool:
    cursor = await conn.execute(
        "UPDATE cases SET status = ?, updated_at = ? WHERE id = ? AND status = ?"
        " AND procedure = 'petition'",
        (new, now, case_id, old),
    )
    return cursor.rowcount == 1


async def _x3_met(conn: aiosqlite.Connection, case_id: int) -> bool:
    """X3 met while the handover is still 'assigned': an acceptance is between its two steps
    (it meets X3, then takes the handover), so an objection or a return yields to it."""
    return bool(
        await row_in(
            conn,
            "SELECT 1 FROM case_deadlines WHERE case_id = ? AND rule_id = 'X3' AND status = 'met'",
            (case_id,),
        )
    )


async def _still(conn: aiosqlite.Connection, case_id: int, status: CaseStatus) -> bool:
    row = await row_in(conn, "SELECT status FROM cases WHERE id = ?", (case_id,))
    return row is not None and row[0] == status


async def _due(conn: aiosqlite.Connection, deadline_id: int) -> tuple[str, bool]:
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


__all__ = [
    "AGENCY_ROLES",
    "NOTICE_TEXTS",
    "AgencyNotices",
    "AgencyPetitionView",
    "HandoverNotice",
    "Outcome",
    "PetitionHandover",
    "Result",
    "office_contact",
]
