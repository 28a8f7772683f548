"""What staff may see of a case, and which actions it offers them now.

Access is a table, not a scatter of checks: who may open which procedure, and which personal
numbers each role sees in full because its work needs them (the reconsideration office must
identify the applicant; a mediator must be able to call the parties). Everyone else sees them
masked. 检举控告 (sensitive) cases stay with the offices: XF 30(3) forbids disclosing them to the
person accused, so agencies and mediators never see them.

:func:`available_actions` reads the transition table (``cases.procedures.transitions``) for the
case page's buttons; ``cases.procedures.actions`` executes the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from cases.intake.form_engine import Procedure
from cases.intake.validation import mask_id_number, mask_phone
from cases.law.deadline_rules import (
    RECONSIDERATION_HEAD,
    ROOM_LEAD,
    DeadlineEngine,
    count_period,
)
from cases.org.users import Role, User
from cases.procedures.deadline_records import CaseDeadline, open_deadlines
from cases.procedures.privacy import mask_id_numbers, mask_numbers
from cases.procedures.statuses import OPEN_STATUSES, CaseStatus
from cases.procedures.transitions import (
    ROLE_SCOPE,
    TRANSITIONS,
    Action,
    Guard,
    Scope,
    Transition,
    offered,
    roles_acting_on,
)
from cases.store.db import Database, Row
from cases.store.time import LEGAL_TZ, from_db

ROLE_MAY_OPEN: dict[Role, frozenset[Procedure]] = {
    Role.admin: frozenset(Procedure),
    Role.office_staff: frozenset(Procedure),
    Role.mediator: frozenset({Procedure.mediation}),
}
ROLE_SEES_IN_FULL: dict[Role, frozenset[str]] = {
    Role.office_staff: frozenset({"id_number", "phone"}),
    Role.mediator: frozenset({"phone"}),
}
SENSITIVE_ROLES = frozenset({Role.admin, Role.office_staff})

EXTENSION_RULES: dict[Action, tuple[str, ...]] = {
    action: tuple(rule for row in TRANSITIONS if row.action is action for rule in row.extend)
    for action in (Action.extend, Action.extend_supply)
}
"""F12 +30 CD (FY 62(1)); X4 +30 CD (XF 34); F13 (simplified) has no extension (FY 62(2)).
F7: "有正当理由不能按期补正的，行政复议机关可以延长合理的补正期限" (FY 31(2)); no cap."""
EXTENDABLE_RULES = EXTENSION_RULES[Action.extend]
HANDOVER_EVENTS = ("petition_assigned", "petition_returned")
"""cases/petitions/handover.py: a petition assigned to an agency, or returned by it (XF 23(3))."""

# -- the staff view -----------------------------------------------------------------------------


class StaffEvent(BaseModel):
    at: datetime
    kind: str
    actor_role: str
    actor_name: str | None = None
    """The acting person's Telegram name (users.display_name), shown beside the role."""
    detail: dict[str, Any]


class StaffCaseView(BaseModel):
    id: int
    number: str
    procedure: Procedure
    status: CaseStatus
    subject: str
    received_on: date
    parties: list[str]
    deadlines: list[CaseDeadline]
    events: list[StaffEvent] = []
    correction_requested_before: bool = False
    copy_sent_before: bool = False
    """F10 was opened once (FY 48): the copy-sent action is offered only before that."""
    reply_received_before: bool = False
    """The respondent's written reply was recorded (FY 48): once only."""
    accepted_on: date | None = None
    """The legal acceptance date (FY 30(3): the F5 last day when acceptance came later)."""
    petition_kind: str | None = None
    """XF 29-31: complaint (申诉求决), suggestion (建议意见) or report (检举控告)."""
    supply_due_on: date | None = None
    """F7's last day counted from the applicant's receipt of the 补正 notice (FY 31(2): "自收到
    补正通知之日起十日内"), see :func:`_supply_due`; None while F7 is not running."""
    supply_notice_waiting: bool = False
    """The 补正 notice still waits in the outbox: not received, F7 cannot have passed."""

    def running(self, rule_id: str) -> CaseDeadline | None:
        """The open or paused deadline of this rule, if any."""
        return next((d for d in self.deadlines if d.rule_id == rule_id), None)

    @property
    def simplified(self) -> bool:
        """Accepted under the simplified procedure (FY 53-54): F13 runs, F9 was opened
        simplified, or the acceptance recorded it."""
        if self.running("F13") is not None:
            return True
        f9 = self.running("F9")
        if f9 is not None:
            return f9.simplified
        accepted = [e for e in self.events if e.kind == "accepted"]
        return bool(accepted and accepted[-1].detail.get("simplified"))


async def staff_case_view(
    db: Database, case_id: int, user: User, engine: DeadlineEngine
) -> StaffCaseView | None:
    """None when this role may not open this case."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None or not _may_open(row, user):
        return None
    return await _view(db, row, user, engine)


def is_respondent(row: Row | Mapping[str, Any], user: User) -> bool:
    """The agency's liaison or head, on a reconsideration case whose respondent is their agency
    (never a 检举控告 matter). Whether the copy was sent (F10) is the actions' guard."""
    if ROLE_SCOPE.get(user.role) is not Scope.respondent or user.unit is None:
        return False
    if Procedure(row["procedure"]) is not Procedure.reconsideration or row["sensitive"]:
        return False
    answers = json.loads(row["answers"] or "{}")
    return isinstance(answers, dict) and answers.get("respondent_id") == user.unit


HANDOVER_READABLE = ("assigned", "accepted", "concluded", "transferred")
"""``petition_handovers.status`` of an assignment (交办) its agency may read: live, answered, or
forwarded for study (cases/petitions/handover.py); not one it returned (XF 23(3))."""
PETITION_AGENCY_SQL = (
    "(SELECT CASE WHEN h.kind = 'assign' AND h.status IN ("
    + ", ".join(f"'{status}'" for status in HANDOVER_READABLE)
    + ") THEN h.agency_id END FROM petition_handovers h WHERE h.case_id = c.id"
    " ORDER BY h.id DESC LIMIT 1)"
)
"""The agency a petition (``cases c``) was handed to, from its latest handover: the handover
table is the one record of where a petition went (the case stays routed to the petition
office, which oversees it). NULL when none, transferred outside the county, or returned."""


async def petition_agency(db: Database, case_id: int) -> str | None:
    """:data:`PETITION_AGENCY_SQL` for one case."""
    value = await db.fetch_value(
        f"SELECT {PETITION_AGENCY_SQL} FROM cases c WHERE c.id = ?", (case_id,)
    )
    return str(value) if value else None


def petition_sent_to_agency(
    row: Row | Mapping[str, Any], user: User, agency_id: str | None
) -> bool:
    """The liaison or head of the agency a petition was handed to (``agency_id``, from
    :data:`PETITION_AGENCY_SQL`); never a 检举控告 matter (XF 30(3))."""
    return (
        ROLE_SCOPE.get(user.role) is Scope.respondent
        and user.unit is not None
        and Procedure(row["procedure"]) is Procedure.petition
        and not row["sensitive"]
        and agency_id is not None
        and agency_id == user.unit
    )


async def respondent_case_view(
    db: Database, case_id: int, user: User, engine: DeadlineEngine
) -> StaffCaseView | None:
    """The case as the respondent agency's action guards need it (masked as for any role
    that sees no number in full); None unless this person answers for the respondent."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None or not is_respondent(row, user):
        return None
    return await _view(db, row, user, engine)


async def _view(db: Database, row: Any, user: User, engine: DeadlineEngine) -> StaffCaseView:
    case_id = int(row["id"])
    full = ROLE_SEES_IN_FULL.get(user.role, frozenset())
    free = free_text_masker(user)
    parties = []
    for party in await db.fetch_all(
        "SELECT role, name, id_number, phone, details FROM parties WHERE case_id = ? ORDER BY id",
        (case_id,),
    ):
        # Free text ("李四 13912345678" for an agent) hides numbers the same way.
        name = free(party["name"])
        bits = [f"{party['role']}: {name}"]
        if party["id_number"]:
            number = party["id_number"]
            bits.append(number if "id_number" in full else mask_id_number(number))
        if party["phone"]:
            phone = party["phone"]
            bits.append(phone if "phone" in full else mask_phone(phone))
        contact = json.loads(party["details"]).get("contact")
        if contact:
            bits.append(free(str(contact)))
        parties.append(" · ".join(bits))
    events = [
        StaffEvent(
            at=from_db(e["at"]),
            kind=e["kind"],
            actor_role=e["actor_role"],
            actor_name=e["display_name"],
            detail=_masked_detail(json.loads(e["detail"]), free),
        )
        for e in await db.fetch_all(
            "SELECT e.at, e.kind, e.actor_role, e.detail, u.display_name FROM case_events e"
            " LEFT JOIN users u ON u.telegram_id = e.actor_id AND e.actor_role != 'citizen'"
            " WHERE e.case_id = ? ORDER BY e.id",
            (case_id,),
        )
    ]
    deadlines = await open_deadlines(db, case_id, engine)
    accepted = [e for e in events if e.kind == "accepted" and e.detail.get("accepted_on")]
    accepted_on = (
        date.fromisoformat(str(accepted[-1].detail["accepted_on"]))
        if accepted
        else next((d.trigger_on for d in deadlines if d.rule_id == "F9"), None)
    )
    answers = json.loads(row["answers"] or "{}")
    supply_due_on, supply_waiting = await _supply_due(
        db, case_id, next((d for d in deadlines if d.rule_id == "F7"), None), engine
    )
    return StaffCaseView(
        id=row["id"],
        number=row["number"],
        procedure=Procedure(row["procedure"]),
        status=row["status"],
        # Masked when the case was filed; masked again for a subject that came another way.
        subject=free(row["subject"]),
        received_on=date.fromisoformat(row["received_on"]),
        parties=parties,
        deadlines=deadlines,
        events=events,
        correction_requested_before=any(e.kind == "correction_requested" for e in events),
        copy_sent_before=any(e.kind == "copy_sent" for e in events)
        or any(d.rule_id == "F10" for d in deadlines),
        reply_received_before=any(e.kind == "reply_received" for e in events),
        accepted_on=accepted_on,
        petition_kind=answers.get("petition_kind") if isinstance(answers, dict) else None,
        supply_due_on=supply_due_on,
        supply_notice_waiting=supply_waiting,
    )


FREE_TEXT_DETAIL = ("note", "reason", "text")
"""Event details written as free text (a county system's status note, a reason typed by
staff, material the applicant added): the history shows them with numbers masked as for the
reader's role, like every other free text."""


def _masked_detail(detail: Any, free: Callable[[str], str]) -> dict[str, Any]:
    if not isinstance(detail, dict):
        return {}
    for key in FREE_TEXT_DETAIL:
        if isinstance(detail.get(key), str):
            detail[key] = free(detail[key])
    return detail


def free_text_masker(user: User) -> Callable[[str], str]:
    """Numbers typed into free text, masked as the dedicated fields are for this role: a
    mediator calls the parties (phones shown) but sees no ID number, even one typed into
    the other side's contact."""
    full = ROLE_SEES_IN_FULL.get(user.role, frozenset())
    if {"id_number", "phone"} <= full:
        return str
    return mask_id_numbers if "phone" in full else mask_numbers


def may_open_case(row: Row | Mapping[str, Any], user: User) -> bool:
    """Whether this person may open this case (a ``cases`` row): the table above."""
    return _may_open(row, user)


def _may_open(row: Row | Mapping[str, Any], user: User) -> bool:
    procedure = Procedure(row["procedure"])
    if procedure not in ROLE_MAY_OPEN.get(user.role, frozenset()):
        return False
    if row["sensitive"] and not _may_see_sensitive(row, user):
        return False
    scope = ROLE_SCOPE.get(user.role)
    if scope is Scope.respondent:
        return False  # the extract of cases.intake.case_file, never the staff page
    if scope is Scope.room:
        return mediator_may_open(row, user)
    if scope is Scope.office and user.unit is not None:
        # An office clerk belongs to the reconsideration office or the petition office and
        # works on the cases routed to it: that procedure only, never a mediation room's case.
        # A clerk without an office (granted before offices were units) works as before, on
        # every procedure, until an administrator gives one with /grant.
        return row["routed_to"] == f"office:{user.unit}"
    return scope is not None


def handed_over(view: StaffCaseView) -> bool:
    """An agency holds this petition (assigned and not returned): the office steps back."""
    handed = [e.kind for e in view.events if e.kind in HANDOVER_EVENTS]
    return bool(handed) and handed[-1] == "petition_assigned"


def _may_see_sensitive(row: Row | Mapping[str, Any], user: User) -> bool:
    """检举控告 stays with the petition office (XF 30(3)): its clerks (and the administrators,
    who stand in for every unstaffed role); a clerk of another office, or one whose office was
    never set, does not see it."""
    if user.role is Role.admin:
        return True
    return (
        user.role in SENSITIVE_ROLES
        and user.unit is not None
        and row["routed_to"] == f"office:{user.unit}"
    )


def mediator_may_open(row: Row | Mapping[str, Any], user: User) -> bool:
    """A mediator sees the cases assigned to them (``cases.mediator_id``); the lead of a room
    (``users.leads_room``) also every case routed to the room, assigned or not, so they can
    assign by hand. Any other mediator of the room sees neither its unassigned cases nor a
    colleague's. One without a room (not yet given one) sees only what is assigned to them."""
    if row["mediator_id"] is not None and row["mediator_id"] == user.telegram_id:
        return True
    return user.leads_room and user.unit is not None and row["routed_to"] == f"room:{user.unit}"


def extendable_deadline(
    view: StaffCaseView, rules: tuple[str, ...] = EXTENDABLE_RULES
) -> CaseDeadline | None:
    """The running deadline an extension would move (F12 or X4; F7 for the 补正 period), if
    it is open."""
    for deadline in view.deadlines:
        if deadline.rule_id in rules and deadline.status == "open":
            return deadline
    return None


def review_period_ended(view: StaffCaseView, today: date) -> date | None:
    """The F5 last day when it has passed with F5 still open (FY 30(3)): the application is
    already deemed accepted, even if the scheduler has not recorded it yet."""
    f5 = view.running("F5")
    if f5 is not None and f5.status == "open" and f5.due_on < today:
        return f5.due_on
    return None


def supply_period_ended(view: StaffCaseView, today: date) -> date | None:
    """The F7 last day when it has passed without the material (FY 31(2)), counted from the
    applicant's receipt of the notice (:attr:`StaffCaseView.supply_due_on`)."""
    f7 = view.running("F7")
    if f7 is None or f7.status != "open" or view.supply_notice_waiting:
        return None
    due = view.supply_due_on or f7.due_on
    return due if due < today else None


async def _supply_due(
    db: Database, case_id: int, f7: CaseDeadline | None, engine: DeadlineEngine
) -> tuple[date | None, bool]:
    """F7 (FY 31(2)) runs from receipt of the 补正 notice. The stored clock starts on the
    request day; in the chat the notice is received when the outbox delivers it (quiet hours,
    retries), so a later delivery day moves the last day on by the same count of working days
    (with any extension). A notice still waiting has not been received: (due, True). With no
    chat delivery (no account, a blocked bot: served on paper) the stored date stands."""
    if f7 is None or f7.status != "open":
        return None, False
    rows = await db.fetch_all(
        "SELECT status, delivered_at, sent_at FROM reminders WHERE case_id = ?"
        " AND kind = 'notice' AND step = 'correction_requested' AND audience = 'citizen'"
        " ORDER BY id DESC",
        (case_id,),
    )
    for r in rows:
        stamp = r["delivered_at"] or r["sent_at"]
        if r["status"] == "sent" and stamp:
            received = from_db(str(stamp)).astimezone(LEGAL_TZ).date()
            if received <= f7.trigger_on:
                return f7.due_on, False
            moved = count_period(
                engine.calendar, f7.unit, received, f7.count + f7.extension_days, f7.direction
            )
            return max(f7.due_on, moved.day), False
    waiting = any(r["status"] in ("pending", "sending") for r in rows)
    return f7.due_on, waiting


def extension_left(deadline: CaseDeadline, engine: DeadlineEngine) -> int | None:
    """Days still grantable (None: no cap in law)."""
    rule = engine.rule(deadline.rule_id)
    if rule.extension is None:
        return 0
    if rule.extension.max_count is None:
        return None
    return max(0, rule.extension.max_count - deadline.extension_days)


def may_approve_extension(deadline: CaseDeadline, user: User, engine: DeadlineEngine) -> bool:
    """X4 needs the head of the body (XF 34): an agency head or an administrator; F12 the head
    of the reconsideration body (FY 62(1)): flagged office staff or an administrator."""
    rule = engine.rule(deadline.rule_id)
    if rule.extension is None:
        return False
    roles = {user.role.value}
    if user.role is Role.office_staff and user.heads_reconsideration:
        roles.add(RECONSIDERATION_HEAD)
    if user.role is Role.mediator and user.leads_room:
        roles.add(ROOM_LEAD)
    return bool(roles & rule.extension.approver_roles)


def available_actions(
    view: StaffCaseView,
    user: User,
    engine: DeadlineEngine,
    *,
    today: date | None = None,
) -> tuple[Action, ...]:
    """The buttons this person gets on this case now: the rows of the transition table that
    start from its status, for this role, whose guards pass.

    ``today`` (the legal date) enables the date-bound choices: 补正 and 不予受理 end with the
    F5 review (FY 30(3)); "deemed withdrawn" only after F7 has passed, and an F7 extension only
    while it runs (FY 31(2)). Without it, "deemed withdrawn" is not offered."""
    if user.role not in roles_acting_on(view.procedure):
        return ()
    return tuple(
        row.action
        for row in offered(view.procedure, view.status)
        if user.role in row.roles
        and all(_guard_passes(guard, row, view, user, engine, today) for guard in row.guards)
    )


def _guard_passes(
    guard: Guard,
    row: Transition,
    view: StaffCaseView,
    user: User,
    engine: DeadlineEngine,
    today: date | None,
) -> bool:
    if guard is Guard.once_correction:
        return not view.correction_requested_before  # FY 31(1): one notice ("一次性")
    if guard is Guard.review_period:
        # FY 30(2)-(3): only "within the review period"; afterwards deemed accepted.
        return today is None or review_period_ended(view, today) is None
    if guard is Guard.extension:
        deadline = extendable_deadline(view, row.extend)
        return not (
            deadline is None
            or not may_approve_extension(deadline, user, engine)
            or extension_left(deadline, engine) == 0
            or (today is not None and deadline.due_on < today)
        )
    if guard is Guard.supply_ended:
        return today is not None and supply_period_ended(view, today) is not None
    if guard is Guard.copy_once:
        return not view.copy_sent_before  # F10 runs once from the respondent's receipt
    if guard is Guard.reply_once:
        # FY 48: after the copy was sent (also after F10 passed: a late reply is still the
        # reply), once.
        return view.copy_sent_before and not view.reply_received_before
    if guard is Guard.office_handles:
        # XF 22-23: a suggestion or a report is forwarded (with the body and a reason,
        # cases/petitions/handover.py), and a petition assigned to an agency is accepted,
        # extended and concluded by that agency, not by the office.
        kind = view.petition_kind or "complaint"
        return kind == "complaint" and not handed_over(view)
    raise AssertionError(guard)


# -- the /cases list ----------------------------------------------------------------------------


class StaffCaseLine(BaseModel):
    id: int
    number: str
    procedure: Procedure
    status: CaseStatus
    subject: str
    next_rule_id: str | None
    next_due_on: date | None
    provisional: bool


async def open_cases_for(db: Database, user: User, *, limit: int = 30) -> list[StaffCaseLine]:
    """Open cases this role may open, soonest next deadline first (cases without one last)."""
    procedures = sorted(p.value for p in ROLE_MAY_OPEN.get(user.role, frozenset()))
    if not procedures:
        return []
    statuses = OPEN_STATUSES
    rows = await db.fetch_all(
        "SELECT c.id, c.number, c.procedure, c.status, c.subject, c.sensitive, c.routed_to,"
        " c.mediator_id, d.rule_id, d.due_on, d.provisional FROM cases c"
        " LEFT JOIN case_deadlines d ON d.id = ("
        "   SELECT id FROM case_deadlines WHERE case_id = c.id AND status = 'open'"
        "   ORDER BY due_on, id LIMIT 1)"
        f" WHERE c.procedure IN ({','.join('?' for _ in procedures)})"
        f" AND c.status IN ({','.join('?' for _ in statuses)})"
        " ORDER BY d.due_on IS NULL, d.due_on, c.received_on, c.id",
        (*procedures, *statuses),
    )
    lines = [
        StaffCaseLine(
            id=r["id"],
            number=r["number"],
            procedure=Procedure(r["procedure"]),
            status=r["status"],
            subject=r["subject"],
            next_rule_id=r["rule_id"],
            next_due_on=date.fromisoformat(r["due_on"]) if r["due_on"] else None,
            provisional=bool(r["provisional"]),
        )
        for r in rows
        if _may_open(r, user)
    ]
    return lines[:limit]
