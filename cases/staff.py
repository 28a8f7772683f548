"""What staff may see of a case, and what they may do with it.

Access is a table, not a scatter of checks: who may open which procedure, and which personal
numbers each role sees in full because its work needs them (the reconsideration office must
identify the applicant; a mediator must be able to call the parties). Everyone else sees them
masked. 检举控告 (sensitive) cases stay with the offices: XF 30(3) forbids disclosing them to the
person accused, so agencies and mediators never see them.

Staff actions (:class:`CaseActions`) are tables too: which action a procedure offers in which
status (:data:`ACTIONS`), which role may act on which procedure (:data:`ROLE_MAY_ACT`). Every
action is re-authorised against the stored case on every call, and every status change is
guarded by ``WHERE status = <expected>``, so a second press of the same button (or a button
from before the case moved on) changes nothing and reports :attr:`Outcome.already`.

Units of work. The clock operations that take a connection (``open_deadline``,
``cancel_case_deadlines``) run inside the action's own transaction together with the status, the
event and the citizen's notice. Those that open their own transaction (``mark_met``,
``pause_case``, ``resume_case``, ``extend_deadline``, ``cancel_deadline``) run first, as a
separate unit, and a failure because the clock is *already* in the wanted state is tolerated:
an action interrupted between the two units is completed by pressing the button again.

This module never sends anything: notices are outbox rows written through the injected
:data:`NoticeSink` (``scheduling.notices.queue_case_notice``), so ``cases/`` stays free of the
scheduler.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import aiosqlite
from pydantic import BaseModel

from cases.clock import Clock, from_db, legal_today, to_db
from cases.clocks import (
    CaseDeadline,
    ClockError,
    ExtensionChanged,
    cancel_case_deadlines,
    cancel_deadline,
    expire_acceptance_reviews,
    extend_deadline,
    get_deadline,
    mark_met,
    open_deadline,
    open_deadlines,
    pause_case,
    resume_case,
)
from cases.db import Database, row_in
from cases.deadlines import DeadlineEngine, citation, default_engine
from cases.forms import Procedure
from cases.history import append_event
from cases.privacy import mask_numbers
from cases.procedures import OPEN_STATUSES, CaseStatus
from cases.texts import N_
from cases.users import Role, User
from cases.validation import mask_id_number, mask_phone

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

ROLE_MAY_ACT: dict[Role, frozenset[Procedure]] = {
    Role.admin: frozenset(Procedure),
    Role.office_staff: frozenset(Procedure),
    Role.mediator: frozenset({Procedure.mediation}),
}
"""Who may change a case. Mediators record mediation outcomes only."""


class Action(StrEnum):
    accept = "accept"  # 受理 (F5 met, F9 + F12/F13 open) / petition 受理·转送 (X1 met, X4 open)
    refuse = "refuse"  # 不予受理 (FY 30(2))
    correct = "correct"  # 要求补正 (FY 31: pause F5, open F7)
    corrected = "corrected"  # 补正材料已收到 (FY 31(3): a new F5 review)
    extend = "extend"  # 延长 (F12: FY 62(1); X4: XF 34)
    suspend = "suspend"  # 中止 (FY 39, F17)
    resume = "resume"  # 恢复审理 (FY 39(2))
    decide = "decide"  # 作出复议决定 (F12/F13 met; F15 for the citizen)
    conclude = "conclude"  # 出具信访处理意见 (X4 met; X5 for the citizen)
    agreed = "agreed"  # 调解成功 (M1 opens, TJ 33)
    failed = "failed"  # 调解不成 (TJ 26)
    copy_sent = (
        "copy_sent"  # 申请书副本已发送 (F9 met; F10 from the respondent's receipt, FY 48/54)
    )
    extend_supply = "extend_supply"  # 延长补正期限 (FY 31(2) "合理的补正期限": F7 extended)
    deem_withdrawn = "deem_withdrawn"  # 视为放弃 (FY 31(2): F7 passed without the material)


ACTIONS: dict[tuple[Procedure, CaseStatus], tuple[Action, ...]] = {
    (Procedure.reconsideration, CaseStatus.submitted): (
        Action.accept,
        Action.correct,
        Action.refuse,
    ),
    (Procedure.reconsideration, CaseStatus.correction_requested): (
        Action.corrected,
        Action.extend_supply,
        Action.deem_withdrawn,
    ),
    (Procedure.reconsideration, CaseStatus.accepted): (
        Action.copy_sent,
        Action.extend,
        Action.suspend,
        Action.decide,
    ),
    (Procedure.reconsideration, CaseStatus.suspended): (Action.resume,),
    (Procedure.petition, CaseStatus.submitted): (Action.accept,),
    (Procedure.petition, CaseStatus.accepted): (Action.extend, Action.conclude),
    (Procedure.mediation, CaseStatus.submitted): (Action.agreed, Action.failed),
}

ORDINARY = N_("ordinary procedure")
SIMPLIFIED = N_("simplified procedure")  # FY 53-54: F9 3 WD, F10 5 WD, decision in 30 days

EXTENDABLE_RULES = ("F12", "X4")
"""F12 +30 CD (FY 62(1)); X4 +30 CD (XF 34). F13 (simplified) has no extension (FY 62(2))."""
SUPPLY_RULES = ("F7",)
"""F7: "有正当理由不能按期补正的，行政复议机关可以延长合理的补正期限" (FY 31(2)); no cap."""
EXTENSION_RULES: dict[Action, tuple[str, ...]] = {
    Action.extend: EXTENDABLE_RULES,
    Action.extend_supply: SUPPLY_RULES,
}

PETITION_COMPLAINT = "complaint"
"""XF 31: only 申诉求决 matters get the 60-day 处理意见书 clock (X4, XF 34)."""
PETITION_FORWARDED_TO: dict[str, str] = {
    # XF 29: 建议意见 go to the bodies concerned for study; XF 30: 检举控告 go to 纪检监察.
    "suggestion": "competent_body",
    "report": "discipline_body",
}

# Refusals the handler explains (English msgids; ``ActionResult.facts`` fills them).
REVIEW_PERIOD_ENDED = N_(
    "The acceptance review period ended on {review_due}: the application is deemed accepted "
    "as of that day (Administrative Reconsideration Law, Art. 30(3)). A notice to correct or "
    "a refusal is no longer possible; record the acceptance instead."
)
RECEIPT_IN_FUTURE = N_("The date the respondent received the copy cannot be in the future.")
RECEIPT_BEFORE_ACCEPTANCE = N_(
    "The respondent cannot have received the copy before the case was accepted on "
    "{accepted_on}. Please check the date."
)


class Notice(StrEnum):
    """Kinds of citizen notice; their texts are in ``scheduling.notices``."""

    deemed_accepted = "deemed_accepted"
    accepted = "accepted"
    accepted_after_review = "accepted_after_review"
    petition_accepted = "petition_accepted"
    petition_forwarded = "petition_forwarded"
    report_forwarded = "report_forwarded"
    refused = "refused"
    correction_requested = "correction_requested"
    correction_received = "correction_received"
    supply_extended = "supply_extended"
    deemed_withdrawn = "deemed_withdrawn"
    extended = "extended"
    suspended = "suspended"
    resumed = "resumed"
    decided = "decided"
    concluded = "concluded"
    mediation_agreed = "mediation_agreed"
    mediation_failed = "mediation_failed"
    recomputed = "recomputed"


NoticeSink = Callable[[aiosqlite.Connection, int, str, dict[str, Any], str], Awaitable[bool]]
"""``(conn, case_id, kind, params, dedup_key) -> queued``: writes one outbox row inside the
caller's transaction (``scheduling.notices.queue_case_notice`` bound to a clock)."""


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
    accepted_on: date | None = None
    """The legal acceptance date (FY 30(3): the F5 last day when acceptance came later)."""
    petition_kind: str | None = None
    """XF 29-31: complaint (申诉求决), suggestion (建议意见) or report (检举控告)."""

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


async def staff_case_view(db: Database, case_id: int, user: User) -> StaffCaseView | None:
    """None when this role may not open this case."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None or not _may_open(row, user):
        return None
    full = ROLE_SEES_IN_FULL.get(user.role, frozenset())
    parties = []
    for party in await db.fetch_all(
        "SELECT role, name, id_number, phone, details FROM parties WHERE case_id = ? ORDER BY id",
        (case_id,),
    ):
        # Free text ("李四 13912345678" for an agent) hides numbers the same way.
        name = party["name"] if "phone" in full else mask_numbers(party["name"])
        bits = [f"{party['role']}: {name}"]
        if party["id_number"]:
            number = party["id_number"]
            bits.append(number if "id_number" in full else mask_id_number(number))
        if party["phone"]:
            phone = party["phone"]
            bits.append(phone if "phone" in full else mask_phone(phone))
        contact = json.loads(party["details"]).get("contact")
        if contact:
            bits.append(str(contact) if "phone" in full else mask_numbers(str(contact)))
        parties.append(" · ".join(bits))
    events = [
        StaffEvent(
            at=from_db(e["at"]),
            kind=e["kind"],
            actor_role=e["actor_role"],
            actor_name=e["display_name"],
            detail=json.loads(e["detail"]),
        )
        for e in await db.fetch_all(
            "SELECT e.at, e.kind, e.actor_role, e.detail, u.display_name FROM case_events e"
            " LEFT JOIN users u ON u.telegram_id = e.actor_id AND e.actor_role != 'citizen'"
            " WHERE e.case_id = ? ORDER BY e.id",
            (case_id,),
        )
    ]
    deadlines = await open_deadlines(db, case_id)
    accepted = [e for e in events if e.kind == "accepted" and e.detail.get("accepted_on")]
    accepted_on = (
        date.fromisoformat(str(accepted[-1].detail["accepted_on"]))
        if accepted
        else next((d.trigger_on for d in deadlines if d.rule_id == "F9"), None)
    )
    answers = json.loads(row["answers"] or "{}")
    return StaffCaseView(
        id=row["id"],
        number=row["number"],
        procedure=Procedure(row["procedure"]),
        status=row["status"],
        subject=row["subject"],
        received_on=date.fromisoformat(row["received_on"]),
        parties=parties,
        deadlines=deadlines,
        events=events,
        correction_requested_before=any(e.kind == "correction_requested" for e in events),
        copy_sent_before=any(e.kind == "copy_sent" for e in events)
        or any(d.rule_id == "F10" for d in deadlines),
        accepted_on=accepted_on,
        petition_kind=answers.get("petition_kind") if isinstance(answers, dict) else None,
    )


def _may_open(row: sqlite3.Row | Mapping[str, Any], user: User) -> bool:
    procedure = Procedure(row["procedure"])
    if procedure not in ROLE_MAY_OPEN.get(user.role, frozenset()):
        return False
    if row["sensitive"] and user.role not in SENSITIVE_ROLES:
        return False
    if user.role is Role.mediator:
        # A mediator belongs to one room (DESIGN.md): the cases routed to it, nothing else.
        # One without a room (not yet assigned with /grant) sees none.
        return user.unit is not None and row["routed_to"] == f"room:{user.unit}"
    if user.role is Role.office_staff and user.unit is not None:
        # An office clerk belongs to the reconsideration office or the petition office and
        # works on the cases routed to it: that procedure only, never a mediation room's case.
        # A clerk without an office (granted before offices were units) works as before, on
        # every procedure, until an administrator gives one with /grant.
        return row["routed_to"] == f"office:{user.unit}"
    return True


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
    """The F7 last day when it has passed without the material (FY 31(2))."""
    f7 = view.running("F7")
    if f7 is not None and f7.status == "open" and f7.due_on < today:
        return f7.due_on
    return None


def extension_left(deadline: CaseDeadline, engine: DeadlineEngine | None = None) -> int | None:
    """Days still grantable (None: no cap in law)."""
    rule = (engine or default_engine()).rule(deadline.rule_id)
    if rule.extension is None:
        return 0
    if rule.extension.max_count is None:
        return None
    return max(0, rule.extension.max_count - deadline.extension_days)


def may_approve_extension(
    deadline: CaseDeadline, user: User, engine: DeadlineEngine | None = None
) -> bool:
    """X4 needs the head of the body (XF 34): an agency head or an administrator."""
    rule = (engine or default_engine()).rule(deadline.rule_id)
    return rule.extension is not None and user.role.value in rule.extension.approver_roles


def available_actions(
    view: StaffCaseView,
    user: User,
    engine: DeadlineEngine | None = None,
    *,
    today: date | None = None,
) -> tuple[Action, ...]:
    """The buttons this person gets on this case now.

    ``today`` (the legal date) enables the date-bound choices: 补正 and 不予受理 end with the
    F5 review (FY 30(3)); "deemed withdrawn" only after F7 has passed, and an F7 extension only
    while it runs (FY 31(2)). Without it, "deemed withdrawn" is not offered."""
    if view.procedure not in ROLE_MAY_ACT.get(user.role, frozenset()):
        return ()
    out: list[Action] = []
    for action in ACTIONS.get((view.procedure, view.status), ()):
        if action is Action.correct and view.correction_requested_before:
            continue  # FY 31(1): one written notice listing everything ("一次性")
        if (
            action in (Action.correct, Action.refuse)
            and today is not None
            and review_period_ended(view, today)
        ):
            continue  # FY 30(2)-(3): only "within the review period"; now deemed accepted
        if action in EXTENSION_RULES:
            deadline = extendable_deadline(view, EXTENSION_RULES[action])
            if (
                deadline is None
                or not may_approve_extension(deadline, user, engine)
                or extension_left(deadline, engine) == 0
                or (today is not None and deadline.due_on < today)
            ):
                continue
        if action is Action.deem_withdrawn and (
            today is None or supply_period_ended(view, today) is None
        ):
            continue
        if action is Action.copy_sent and view.copy_sent_before:
            continue  # F10 runs once from the respondent's receipt (FY 48)
        out.append(action)
    return tuple(out)


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
        " d.rule_id, d.due_on, d.provisional FROM cases c"
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


# -- actions ------------------------------------------------------------------------------------


class Outcome(StrEnum):
    done = "done"
    already = "already"  # a double press, or the case moved on
    not_allowed = "not_allowed"  # this person may not act on this case
    refused = "refused"  # the law or the clock does not allow it (see ``error``)


@dataclass(frozen=True)
class ActionResult:
    outcome: Outcome
    status: CaseStatus | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    """Dates and figures the handler shows staff (ISO dates)."""
    error: str | None = None


_ALREADY = ActionResult(Outcome.already)
_NOT_ALLOWED = ActionResult(Outcome.not_allowed)

DECISION_RULES = ("F12", "F13")


async def _transition(
    conn: aiosqlite.Connection,
    case_id: int,
    from_status: CaseStatus,
    to_status: CaseStatus,
    now: str,
) -> bool:
    """The guard that makes every action happen once."""
    cursor = await conn.execute(
        "UPDATE cases SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
        (to_status, now, case_id, from_status),
    )
    return cursor.rowcount == 1


async def staff_event(
    conn: aiosqlite.Connection,
    case_id: int,
    now: str,
    actor: User | None,
    kind: str,
    detail: dict[str, Any],
) -> None:
    """An audit row with the actor's id and role (``system`` when the scheduler acts)."""
    await append_event(
        conn,
        case_id,
        at=now,
        actor_id=actor.telegram_id if actor else None,
        actor_role=actor.role.value if actor else "system",
        kind=kind,
        detail=detail,
    )


async def _due(conn: aiosqlite.Connection, deadline_id: int) -> tuple[str, bool]:
    """(last day, provisional) of a stored deadline: a notice shows the date with the
    provisional note when the holiday calendar does not cover it yet (domain §1.2)."""
    row = await row_in(
        conn, "SELECT due_on, provisional FROM case_deadlines WHERE id = ?", (deadline_id,)
    )
    assert row is not None
    return str(row[0]), bool(row[1])


async def _running_due(
    conn: aiosqlite.Connection, case_id: int, rules: tuple[str, ...]
) -> tuple[str, bool]:
    row = await row_in(
        conn,
        "SELECT due_on, provisional FROM case_deadlines WHERE case_id = ?"
        " AND status IN ('open', 'paused')"
        f" AND rule_id IN ({','.join('?' for _ in rules)}) ORDER BY due_on LIMIT 1",
        (case_id, *rules),
    )
    return (str(row[0]), bool(row[1])) if row else ("", False)


def _basis(law: str, article: str, suffix_zh: str = "", suffix_en: str = "") -> dict[str, str]:
    zh, en = citation(law, article)
    return {"basis_zh": zh + suffix_zh, "basis_en": en + suffix_en}


class CaseActions:
    """What office staff, administrators and mediators do to a case (DESIGN.md roles)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notify: NoticeSink,
        *,
        engine: DeadlineEngine | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notify = notify
        self._engine = engine

    @property
    def engine(self) -> DeadlineEngine:
        return self._engine or default_engine()

    def _now(self) -> str:
        return to_db(self._clock.now())

    def _today(self) -> date:
        return legal_today(self._clock)

    async def _authorise(
        self, case_id: int, user: User, action: Action
    ) -> tuple[StaffCaseView | None, ActionResult | None]:
        """Re-read the case and the person's rights; (view, None) when the action may run."""
        view = await staff_case_view(self._db, case_id, user)
        if view is None or view.procedure not in ROLE_MAY_ACT.get(user.role, frozenset()):
            return None, _NOT_ALLOWED
        if action not in available_actions(view, user, self._engine, today=self._today()):
            return view, _ALREADY
        return view, None

    async def _close_met(
        self, case_id: int, rules: tuple[str, ...], user: User, on: date | None = None
    ) -> None:
        """Record a clock as met (today unless ``on``); already closed (an earlier press) is
        fine."""
        for deadline in await open_deadlines(self._db, case_id):
            if deadline.rule_id in rules:
                with contextlib.suppress(ClockError):
                    await mark_met(
                        self._db, deadline.id, user.telegram_id, on or self._today(), self._clock
                    )

    async def _open_or_running(
        self,
        conn: aiosqlite.Connection,
        case_id: int,
        rule_id: str,
        trigger: date,
        user: User,
        *,
        simplified: bool = False,
    ) -> tuple[str, bool]:
        """Open a clock, or take the one already running: the scheduler's deemed acceptance
        (FY 30(3)) may have opened F9 and F12 a moment before staff pressed "accept"."""
        running = await row_in(
            conn,
            "SELECT id FROM case_deadlines WHERE case_id = ? AND rule_id = ?"
            " AND status IN ('open', 'paused')",
            (case_id, rule_id),
        )
        if running is not None:
            return await _due(conn, int(running[0]))
        deadline_id = await open_deadline(
            conn,
            case_id,
            rule_id,
            trigger,
            simplified=simplified,
            clock=self._clock,
            actor_id=user.telegram_id,
            engine=self._engine,
        )
        return await _due(conn, deadline_id)

    async def _deemed_on(self, case_id: int) -> date | None:
        """The F5 last day when the scheduler already marked F5 missed (FY 30(3)) but has not
        yet recorded the acceptance: staff pressing "accept" in that moment keep its date."""
        row = await self._db.fetch_one(
            "SELECT due_on, status FROM case_deadlines WHERE case_id = ? AND rule_id = 'F5'"
            " ORDER BY id DESC LIMIT 1",
            (case_id,),
        )
        if row is None or row["status"] != "missed":
            return None
        return date.fromisoformat(row["due_on"])

    async def _review_ended(self, case_id: int, user: User) -> ActionResult | None:
        """FY 30(2)-(3): 补正 and 不予受理 belong to the review period; once F5 has passed the
        application is deemed accepted (even before the scheduler records it)."""
        view = await staff_case_view(self._db, case_id, user)
        if view is None or view.status != CaseStatus.submitted:
            return None
        ended = review_period_ended(view, self._today())
        if ended is None:
            return None
        return ActionResult(
            Outcome.refused,
            view.status,
            {"review_due": ended.isoformat()},
            error=REVIEW_PERIOD_ENDED,
        )

    # reconsideration and petition ----------------------------------------------------------

    async def accept(self, case_id: int, user: User, *, simplified: bool = False) -> ActionResult:
        """受理. Reconsideration: F5 met; F9 and F12 (F13 simplified, FY 53-54) run from the
        acceptance date: today, or the F5 last day when the review period has already ended
        (FY 30(3): "审查期限届满之日起视为受理"). Petition (XF 29-31): a 申诉求决 matter is
        accepted and X4 (60 days, XF 34) runs from today; a suggestion (XF 29) or a report
        (XF 30, to 纪检监察) is forwarded, which closes this office's case (X1 met, no X4)."""
        view, stop = await self._authorise(case_id, user, Action.accept)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        if view.procedure is Procedure.petition:
            return await self._accept_petition(view, user)
        today = self._today()
        ended = review_period_ended(view, today) or await self._deemed_on(case_id)
        accepted_on = ended or today
        await self._close_met(case_id, ("F5",), user)  # "late" is recorded when it ended
        now = self._now()
        async with self._db.transaction() as conn:
            if not await _transition(
                conn, case_id, CaseStatus.submitted, CaseStatus.accepted, now
            ):
                return _ALREADY
            await self._open_or_running(
                conn, case_id, "F9", accepted_on, user, simplified=simplified
            )
            decision_due, provisional = await self._open_or_running(
                conn,
                case_id,
                "F13" if simplified else "F12",
                accepted_on,
                user,
                simplified=simplified,
            )
            await staff_event(
                conn,
                case_id,
                now,
                user,
                "accepted",
                {
                    "accepted_on": accepted_on.isoformat(),
                    "simplified": simplified,
                    "after_review_period": ended is not None,
                },
            )
            facts: dict[str, Any] = {
                "accepted_on": accepted_on.isoformat(),
                "decision_due": decision_due,
                "provisional": provisional,
            }
            await self._notify(
                conn,
                case_id,
                Notice.accepted_after_review if ended else Notice.accepted,
                {
                    **facts,
                    "track_msgid": SIMPLIFIED if simplified else ORDINARY,
                    **(
                        _basis("FY", "62", "第二款", "(2)")
                        if simplified
                        else _basis("FY", "62", "第一款", "(1)")
                    ),
                },
                f"notice:accepted:{case_id}",
            )
        return ActionResult(Outcome.done, CaseStatus.accepted, facts)

    async def _accept_petition(self, view: StaffCaseView, user: User) -> ActionResult:
        case_id = view.id
        kind = view.petition_kind or PETITION_COMPLAINT
        forwarded_to = PETITION_FORWARDED_TO.get(kind)
        await self._close_met(case_id, ("X1",), user)
        today, now = self._today(), self._now()
        facts: dict[str, Any] = {"accepted_on": today.isoformat()}
        async with self._db.transaction() as conn:
            if forwarded_to is not None:
                # XF 29/30: no 处理意见书 clock here; this office's part ends with forwarding.
                if not await _transition(
                    conn, case_id, CaseStatus.submitted, CaseStatus.closed, now
                ):
                    return _ALREADY
                await cancel_case_deadlines(
                    conn, case_id, reason="forwarded", actor_id=user.telegram_id, clock=self._clock
                )
                facts["forwarded_to"] = forwarded_to
                await staff_event(
                    conn,
                    case_id,
                    now,
                    user,
                    "accepted",
                    {"accepted_on": today.isoformat(), "forwarded_to": forwarded_to},
                )
                report = kind == "report"
                # XF 30(3): the report's notice names nobody and nothing of the matter.
                await self._notify(
                    conn,
                    case_id,
                    Notice.report_forwarded if report else Notice.petition_forwarded,
                    {"accepted_on": today.isoformat(), **_basis("XF", "30" if report else "29")},
                    f"notice:accepted:{case_id}",
                )
                return ActionResult(Outcome.done, CaseStatus.closed, facts)
            if not await _transition(
                conn, case_id, CaseStatus.submitted, CaseStatus.accepted, now
            ):
                return _ALREADY
            due, provisional = await self._open_or_running(conn, case_id, "X4", today, user)
            await staff_event(
                conn,
                case_id,
                now,
                user,
                "accepted",
                {"accepted_on": today.isoformat(), "simplified": False},
            )
            facts.update(conclude_due=due, provisional=provisional)
            await self._notify(
                conn,
                case_id,
                Notice.petition_accepted,
                {**facts, **_basis("XF", "34")},
                f"notice:accepted:{case_id}",
            )
        return ActionResult(Outcome.done, CaseStatus.accepted, facts)

    async def refuse(self, case_id: int, user: User, reason: str) -> ActionResult:
        """不予受理 with reasons (FY 30(2)), within the review period only: every clock stops."""
        ended = await self._review_ended(case_id, user)
        if ended is not None:
            return ended
        view, stop = await self._authorise(case_id, user, Action.refuse)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        today, now = self._today(), self._now()
        async with self._db.transaction() as conn:
            if not await _transition(conn, case_id, CaseStatus.submitted, CaseStatus.refused, now):
                return _ALREADY
            await cancel_case_deadlines(
                conn, case_id, reason="refused", actor_id=user.telegram_id, clock=self._clock
            )
            await staff_event(conn, case_id, now, user, "refused", {"reason": reason})
            await self._notify(
                conn,
                case_id,
                Notice.refused,
                {
                    "refused_on": today.isoformat(),
                    "reason": reason,
                    **_basis("FY", "30", "第二款", "(2)"),
                },
                f"notice:refused:{case_id}",
            )
        return ActionResult(Outcome.done, CaseStatus.refused, {"refused_on": today.isoformat()})

    async def request_correction(self, case_id: int, user: User, missing: str) -> ActionResult:
        """要求补正 (FY 31(1)): F5 stands still; the applicant's F7 (10 WD) runs from today.
        Refused once F5 has passed: the application is deemed accepted (FY 30(3))."""
        ended = await self._review_ended(case_id, user)
        if ended is not None:
            return ended
        view, stop = await self._authorise(case_id, user, Action.correct)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        today = self._today()
        with contextlib.suppress(ClockError):  # already paused by an earlier press
            await pause_case(self._db, case_id, "correction", today, user.telegram_id, self._clock)
        now = self._now()
        async with self._db.transaction() as conn:
            if not await _transition(
                conn, case_id, CaseStatus.submitted, CaseStatus.correction_requested, now
            ):
                return _ALREADY
            deadline_id = await open_deadline(
                conn,
                case_id,
                "F7",
                today,
                clock=self._clock,
                actor_id=user.telegram_id,
                engine=self._engine,
            )
            due, provisional = await _due(conn, deadline_id)
            await staff_event(
                conn, case_id, now, user, "correction_requested", {"missing": missing, "due": due}
            )
            await self._notify(
                conn,
                case_id,
                Notice.correction_requested,
                {
                    "missing": missing,
                    "supply_due": due,
                    "provisional": provisional,
                    **_basis("FY", "31"),
                },
                f"notice:correction_requested:{case_id}",
            )
        return ActionResult(
            Outcome.done,
            CaseStatus.correction_requested,
            {"supply_due": due, "provisional": provisional},
        )

    async def correction_received(self, case_id: int, user: User) -> ActionResult:
        """补正材料已收到: F7 met; F5 restarts in full from today (FY 31(3), restart_on_resume).
        Also after F7 passed, when the applicant had a good reason for the delay (FY 31(2)
        deems the application abandoned only "无正当理由")."""
        view, stop = await self._authorise(case_id, user, Action.corrected)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        today = self._today()
        with contextlib.suppress(ClockError):  # resumed by an earlier press
            await resume_case(self._db, case_id, today, user.telegram_id, self._clock)
        await self._close_met(case_id, ("F7",), user)
        now = self._now()
        async with self._db.transaction() as conn:
            if not await _transition(
                conn, case_id, CaseStatus.correction_requested, CaseStatus.submitted, now
            ):
                return _ALREADY
            due, provisional = await _running_due(conn, case_id, ("F5",))
            await staff_event(conn, case_id, now, user, "correction_received", {"review_due": due})
            await self._notify(
                conn,
                case_id,
                Notice.correction_received,
                {
                    "received_on": today.isoformat(),
                    "review_due": due,
                    "provisional": provisional,
                    **_basis("FY", "31"),
                },
                f"notice:correction_received:{case_id}",
            )
        return ActionResult(
            Outcome.done, CaseStatus.submitted, {"review_due": due, "provisional": provisional}
        )

    async def deem_withdrawn(self, case_id: int, user: User) -> ActionResult:
        """视为放弃 (FY 31(2)): F7 passed without the material and without a good reason, so
        the application is deemed abandoned and recorded; every clock stops."""
        view, stop = await self._authorise(case_id, user, Action.deem_withdrawn)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        supply_due = supply_period_ended(view, self._today())
        assert supply_due is not None  # available_actions offers it only then
        now = self._now()
        facts = {"supply_due": supply_due.isoformat()}
        async with self._db.transaction() as conn:
            if not await _transition(
                conn, case_id, CaseStatus.correction_requested, CaseStatus.abandoned, now
            ):
                return _ALREADY
            await cancel_case_deadlines(
                conn,
                case_id,
                reason="deemed_withdrawn",
                actor_id=user.telegram_id,
                clock=self._clock,
            )
            await staff_event(conn, case_id, now, user, "deemed_withdrawn", facts)
            await self._notify(
                conn,
                case_id,
                Notice.deemed_withdrawn,
                {**facts, **_basis("FY", "31", "第二款", "(2)")},
                f"notice:deemed_withdrawn:{case_id}",
            )
        return ActionResult(Outcome.done, CaseStatus.abandoned, facts)

    async def copy_sent(self, case_id: int, user: User, *, received_on: date) -> ActionResult:
        """申请书副本已发送 (FY 48, 54): F9 is met and the respondent's F10 (10 WD; 5 WD in the
        simplified procedure) runs from the day the respondent received the copy. Once only.

        F9 is recorded as met on the receipt day, the latest the copy can have been sent (the
        bot does not ask the posting date separately; see the event for a late flag)."""
        view, stop = await self._authorise(case_id, user, Action.copy_sent)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        today = self._today()
        if received_on > today:
            return ActionResult(Outcome.refused, view.status, error=RECEIPT_IN_FUTURE)
        if view.accepted_on is not None and received_on < view.accepted_on:
            return ActionResult(
                Outcome.refused,
                view.status,
                {"accepted_on": view.accepted_on.isoformat()},
                error=RECEIPT_BEFORE_ACCEPTANCE,
            )
        simplified = view.simplified
        await self._close_met(case_id, ("F9",), user, on=received_on)
        now = self._now()
        async with self._db.transaction() as conn:
            # The guards: still accepted, and no copy recorded before (F10 runs once).
            if not await _transition(conn, case_id, CaseStatus.accepted, CaseStatus.accepted, now):
                return _ALREADY
            if await row_in(
                conn,
                "SELECT 1 FROM case_events WHERE case_id = ? AND kind = 'copy_sent'",
                (case_id,),
            ) or await row_in(
                conn,
                "SELECT 1 FROM case_deadlines WHERE case_id = ? AND rule_id = 'F10'",
                (case_id,),
            ):
                return _ALREADY
            deadline_id = await open_deadline(
                conn,
                case_id,
                "F10",
                received_on,
                simplified=simplified,
                clock=self._clock,
                actor_id=user.telegram_id,
                engine=self._engine,
            )
            due, provisional = await _due(conn, deadline_id)
            facts: dict[str, Any] = {
                "received_on": received_on.isoformat(),
                "reply_due": due,
                "provisional": provisional,
            }
            await staff_event(
                conn, case_id, now, user, "copy_sent", {**facts, "simplified": simplified}
            )
        return ActionResult(Outcome.done, view.status, facts)

    async def extend(
        self,
        case_id: int,
        user: User,
        *,
        days: int,
        reason: str,
        expected_total: int,
        action: Action = Action.extend,
    ) -> ActionResult:
        """延长 F12 (FY 62(1)) or X4 (XF 34); with ``Action.extend_supply`` the applicant's 补正
        period F7 ("合理的补正期限", FY 31(2), in working days). The acting person is the
        approver; the citizen is told the new date and the reason. ``expected_total`` is the
        extension the button was shown with: a second press finds a different total and does
        nothing."""
        view, stop = await self._authorise(case_id, user, action)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        deadline = extendable_deadline(view, EXTENSION_RULES[action])
        if deadline is None or deadline.extension_days != expected_total:
            return _ALREADY
        try:
            new_due = await extend_deadline(
                self._db,
                deadline.id,
                user.telegram_id,
                days,
                reason,
                self._clock,
                engine=self._engine,
                expected_days=expected_total,
            )
        except ExtensionChanged:
            return _ALREADY  # a second approver's simultaneous press: one extension only
        except ClockError as error:
            return ActionResult(Outcome.refused, error=str(error))
        stored = await get_deadline(self._db, deadline.id)
        provisional = bool(stored and stored.provisional)
        total = deadline.extension_days + days
        rule = self.engine.rule(deadline.rule_id)
        params: dict[str, Any] = {
            "old_due": deadline.due_on.isoformat(),
            "new_due": new_due.isoformat(),
            "days": days,
            "reason": reason,
            "provisional": provisional,
        }
        if action is Action.extend_supply:
            kind = Notice.supply_extended
            params.update(_basis("FY", "31", "第二款", "(2)"))
        else:
            kind = Notice.extended
            law = ("FY", "62", "第一款", "(1)") if deadline.rule_id == "F12" else ("XF", "34")
            params.update(what_msgid=rule.title, **_basis(*law))
        async with self._db.transaction() as conn:
            await self._notify(
                conn, case_id, kind, params, f"notice:extended:{deadline.id}:{total}"
            )
        return ActionResult(
            Outcome.done, view.status, {"new_due": new_due.isoformat(), "provisional": provisional}
        )

    async def suspend(
        self, case_id: int, user: User, *, reason: str, terminating_ground: bool
    ) -> ActionResult:
        """中止 (FY 39): the case clocks stand still. On the grounds of FY 39(1) items 1, 2 and
        4 (death, incapacity, end of an organisation) F17 starts: 60 days, then 终止 (FY 41)."""
        view, stop = await self._authorise(case_id, user, Action.suspend)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        today = self._today()
        try:
            await pause_case(self._db, case_id, "suspension", today, user.telegram_id, self._clock)
        except ClockError:
            if not any(d.status == "paused" for d in view.deadlines):
                return ActionResult(Outcome.refused, error="no running clock to suspend")
        now = self._now()
        async with self._db.transaction() as conn:
            if not await _transition(
                conn, case_id, CaseStatus.accepted, CaseStatus.suspended, now
            ):
                return _ALREADY
            if terminating_ground:
                await open_deadline(
                    conn,
                    case_id,
                    "F17",
                    today,
                    clock=self._clock,
                    actor_id=user.telegram_id,
                    engine=self._engine,
                )
            await staff_event(
                conn,
                case_id,
                now,
                user,
                "suspended",
                {"reason": reason, "terminating_ground": terminating_ground},
            )
            await self._notify(
                conn,
                case_id,
                Notice.suspended,
                {"suspended_on": today.isoformat(), "reason": reason, **_basis("FY", "39")},
                f"notice:suspended:{case_id}:{today.isoformat()}",
            )
        return ActionResult(
            Outcome.done, CaseStatus.suspended, {"suspended_on": today.isoformat()}
        )

    async def resume(self, case_id: int, user: User) -> ActionResult:
        """恢复审理 (FY 39(2)): the paused clocks run on from today; F17 stops."""
        view, stop = await self._authorise(case_id, user, Action.resume)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        today = self._today()
        with contextlib.suppress(ClockError):
            await resume_case(self._db, case_id, today, user.telegram_id, self._clock)
        for deadline in await open_deadlines(self._db, case_id):
            if deadline.rule_id == "F17":
                with contextlib.suppress(ClockError):
                    await cancel_deadline(
                        self._db, deadline.id, user.telegram_id, "resumed", self._clock
                    )
        now = self._now()
        async with self._db.transaction() as conn:
            if not await _transition(
                conn, case_id, CaseStatus.suspended, CaseStatus.accepted, now
            ):
                return _ALREADY
            due, provisional = await _running_due(conn, case_id, DECISION_RULES)
            await staff_event(conn, case_id, now, user, "resumed", {"decision_due": due})
            await self._notify(
                conn,
                case_id,
                Notice.resumed,
                {
                    "resumed_on": today.isoformat(),
                    "decision_due": due,
                    "provisional": provisional,
                    **_basis("FY", "39"),
                },
                f"notice:resumed:{case_id}:{today.isoformat()}",
            )
        return ActionResult(
            Outcome.done, CaseStatus.accepted, {"decision_due": due, "provisional": provisional}
        )

    async def decide(self, case_id: int, user: User) -> ActionResult:
        """作出复议决定 (F12/F13 met) or 出具处理意见 (X4 met); the citizen learns the next
        step: suing within 15 days (F15, XS 45) or asking for 复查 within 30 days (X5, XF 35)."""
        view = await staff_case_view(self._db, case_id, user)
        action = (
            Action.conclude if view and view.procedure is Procedure.petition else Action.decide
        )
        view, stop = await self._authorise(case_id, user, action)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        petition = view.procedure is Procedure.petition
        await self._close_met(case_id, ("X4",) if petition else DECISION_RULES, user)
        today, now = self._today(), self._now()
        next_rule = "X5" if petition else "F15"
        next_deadline = self.engine.compute(next_rule, today)
        next_due = next_deadline.due.isoformat()
        async with self._db.transaction() as conn:
            if not await _transition(conn, case_id, CaseStatus.accepted, CaseStatus.decided, now):
                return _ALREADY
            await cancel_case_deadlines(
                conn, case_id, reason="decided", actor_id=user.telegram_id, clock=self._clock
            )
            kind = "concluded" if petition else "decided"
            await staff_event(conn, case_id, now, user, kind, {"on": today.isoformat()})
            facts = {
                "decided_on": today.isoformat(),
                "next_due": next_due,
                "provisional": next_deadline.provisional,
            }
            await self._notify(
                conn,
                case_id,
                Notice.concluded if petition else Notice.decided,
                {**facts, **(_basis("XF", "35") if petition else _basis("XS", "45"))},
                f"notice:{kind}:{case_id}",
            )
        return ActionResult(Outcome.done, CaseStatus.decided, facts)

    # mediation ----------------------------------------------------------------------------

    async def mediation_outcome(self, case_id: int, user: User, *, agreed: bool) -> ActionResult:
        """调解成功: the case is settled and M1 (司法确认 within 30 days, TJ 33) starts, so the
        citizen is reminded. 调解不成: the case closes and the citizen is told the other routes
        (arbitration, administrative, judicial; TJ 26)."""
        action = Action.agreed if agreed else Action.failed
        view, stop = await self._authorise(case_id, user, action)
        if stop or view is None:
            return stop or _NOT_ALLOWED
        today, now = self._today(), self._now()
        status = CaseStatus.settled if agreed else CaseStatus.closed
        facts: dict[str, Any] = {"ended_on": today.isoformat()}
        async with self._db.transaction() as conn:
            if not await _transition(conn, case_id, view.status, status, now):
                return _ALREADY
            await cancel_case_deadlines(
                conn, case_id, reason=status, actor_id=user.telegram_id, clock=self._clock
            )
            if agreed:
                deadline_id = await open_deadline(
                    conn,
                    case_id,
                    "M1",
                    today,
                    clock=self._clock,
                    actor_id=user.telegram_id,
                    engine=self._engine,
                )
                facts["confirm_due"], facts["provisional"] = await _due(conn, deadline_id)
            kind = "mediation_agreed" if agreed else "mediation_failed"
            await staff_event(conn, case_id, now, user, kind, facts)
            await self._notify(
                conn,
                case_id,
                Notice.mediation_agreed if agreed else Notice.mediation_failed,
                {**facts, **(_basis("TJ", "33") if agreed else _basis("TJ", "26"))},
                f"notice:{kind}:{case_id}",
            )
        return ActionResult(Outcome.done, status, facts)


# -- deemed acceptance (FY 30(3)) ---------------------------------------------------------------


async def settle_deemed_acceptances(
    db: Database, clock: Clock, notify: NoticeSink, *, engine: DeadlineEngine | None = None
) -> list[int]:
    """F5 ended without a decision: the case is accepted as of the F5 last day (FY 30(3)).

    ``expire_acceptance_reviews`` closes F5 and opens F9 + F12/F13 (one unit); then, per case,
    one unit sets the status, writes the event and queues the citizen's notice. The second
    step finds its cases from the stored facts (F5 missed, status still 'submitted'), not from
    the first step's return value, so a crash between the two is repaired on the next tick.
    """
    await expire_acceptance_reviews(db, legal_today(clock), clock, engine=engine)
    rows = await db.fetch_all(
        "SELECT c.id, d.due_on FROM cases c JOIN case_deadlines d"
        " ON d.case_id = c.id AND d.rule_id = 'F5' AND d.status = 'missed'"
        " WHERE c.status = ? AND c.procedure = ?"
        " AND NOT EXISTS (SELECT 1 FROM case_deadlines r WHERE r.case_id = c.id"
        "   AND r.rule_id = 'F5' AND r.status IN ('open', 'paused'))"
        " ORDER BY c.id",
        (CaseStatus.submitted.value, Procedure.reconsideration.value),
    )
    accepted: list[int] = []
    for row in rows:
        case_id, accepted_on = int(row["id"]), str(row["due_on"])
        now = to_db(clock.now())
        async with db.transaction() as conn:
            if not await _transition(
                conn, case_id, CaseStatus.submitted, CaseStatus.accepted, now
            ):
                continue
            await staff_event(
                conn, case_id, now, None, "accepted", {"accepted_on": accepted_on, "deemed": True}
            )
            decision_due, provisional = await _running_due(conn, case_id, DECISION_RULES)
            await notify(
                conn,
                case_id,
                Notice.deemed_accepted,
                {
                    "accepted_on": accepted_on,
                    "decision_due": decision_due,
                    "provisional": provisional,
                    **_basis("FY", "30", "第三款", "(3)"),
                },
                f"notice:deemed_accepted:{case_id}",
            )
        accepted.append(case_id)
    return accepted
