"""What staff may do to a case, as data: one row per action and procedure (and variant).

Each :class:`Transition` says from which statuses the action may start, the status it leads to, who
may take it, which clocks it records as met, pauses, resumes, cancels or starts (by rule id,
cases/law/deadline_rules.py), the event it writes to the history, the notice the citizen receives
and the article it rests on. ``cases.procedures.actions.CaseActions.run`` executes any row in one
template (authorise → clocks that keep their own unit → one unit with the compare-and-set status
change, the clocks, the event and the notice), and ``cases.procedures.access.available_actions``
reads the same rows to offer the buttons. Rules that are not a plain status change (the FY 30(3)
review period, one 补正 only, extension caps and approvers, copy sent once) are named by
:class:`Guard` and checked in ``cases.procedures.actions``.

The history wording per audience lives in ``cases.intake.citizen_cases`` (EVENT_TEXTS for the
citizen, STAFF_EVENT_TEXTS for staff) under each row's ``event``; clock events are worded by
``cases.procedures.history.describe_clock_event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.i18n import N_
from cases.intake.form_engine import Procedure
from cases.org.users import Role
from cases.procedures.statuses import CaseStatus


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
    agreed = "agreed"  # 调解成功 (M1 opens: 司法确认, 民事诉讼法 Art 205)
    failed = "failed"  # 调解不成 (the other routes are told)
    copy_sent = "copy_sent"  # 申请书副本已发送 (F9 met; F10 from the respondent's receipt)
    extend_supply = "extend_supply"  # 延长补正期限 (FY 31(2): F7 extended)
    deem_withdrawn = "deem_withdrawn"  # 视为放弃 (FY 31(2): F7 passed without the material)
    reply_received = "reply_received"  # 被申请人书面答复和证据已收到 (FY 48, 54: F10 met)


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


class Scope(StrEnum):
    """Which cases a role's unit covers (``users.unit``)."""

    every = "every"  # administrators
    office = "office"  # cases routed to the clerk's office; no office (legacy): every case
    room = "room"  # cases routed to the mediator's room; no room: none
    respondent = "respondent"  # reconsideration cases whose respondent is the agency (FY 48)


ROLE_SCOPE: dict[Role, Scope] = {
    Role.admin: Scope.every,
    Role.office_staff: Scope.office,
    Role.mediator: Scope.room,
    Role.agency_liaison: Scope.respondent,
    Role.agency_head: Scope.respondent,
}
"""The roles that work on cases, and the unit scope of each. Agency liaisons and heads never
get the staff case page: they act only on the rows that name them (the reply, FY 48), on the
cases whose respondent is their agency once the copy was sent."""


class Guard(StrEnum):
    """Special rules of the law, checked by ``cases.procedures.actions`` beside the status."""

    review_period = "review_period"  # FY 30(2)-(3): only while F5 runs
    once_correction = "once_correction"  # FY 31(1): one written 补正 notice ("一次性")
    extension = "extension"  # a running clock to extend, cap left, approver role
    supply_ended = "supply_ended"  # FY 31(2): F7 passed
    copy_once = "copy_once"  # FY 48: F10 runs once from the respondent's receipt
    reply_once = "reply_once"  # FY 48: the copy was sent and no reply is recorded yet
    office_handles = "office_handles"  # a complaint not handed to an agency (XF 22-23)


OFFICE = frozenset({Role.admin, Role.office_staff})
MEDIATION = frozenset({Role.admin, Role.office_staff, Role.mediator})
AGENCY = frozenset({Role.agency_liaison, Role.agency_head})


@dataclass(frozen=True)
class Basis:
    """The article an action rests on: law code and article
    (``cases.law.deadline_rules.citation``),
    with the paragraph as written in Chinese and in English."""

    law: str
    article: str
    paragraph_zh: str = ""
    paragraph_en: str = ""


@dataclass(frozen=True)
class History:
    """An event's line in the case history: the citizen's words speak to them ("you"), the
    staff's speak of the applicant."""

    citizen: str
    staff: str

    @classmethod
    def same(cls, text: str) -> History:
        return cls(text, text)


@dataclass(frozen=True)
class Transition:
    action: Action
    procedure: Procedure
    sources: tuple[CaseStatus, ...]
    target: CaseStatus | None
    """None: the status stays (copy sent, extensions); the compare-and-set still guards."""
    event: str | None
    notice: Notice | None
    basis: Basis | None
    roles: frozenset[Role] = OFFICE
    variant: str | None = None
    """Rows of one action differ by it: the track (ordinary / simplified), the petition kind,
    the suspension ground."""
    guards: tuple[Guard, ...] = ()
    met: tuple[str, ...] = ()
    """Clocks recorded as met (their own unit, before the status changes)."""
    pause: str | None = None
    """A pause reason (``deadline_pauses.reason``): the clocks the rule table lets it pause."""
    resume: bool = False
    cancel: tuple[str, ...] = ()
    """Single clocks stopped before the status changes (F17 when handling resumes)."""
    start: tuple[str, ...] = ()
    """Clocks opened in the unit (a running one is taken as it is: deemed acceptance)."""
    stop_all: str | None = None
    """The case ends: every running clock is cancelled in the unit, with this reason."""
    report_due: tuple[str, ...] = ()
    """A running clock whose last day the event and the notice carry (after a resume)."""
    next_rule: str | None = None
    """The citizen's next period (F15: sue; X5: 复查), computed for the notice only."""
    on_key: str = ""
    """The facts key of the day the action takes effect (``accepted_on`` …)."""
    extend: tuple[str, ...] = ()
    """Extensions: the clocks this action may extend."""
    history: History | None = None
    """How the event reads in the case history, for the citizen and for staff."""


RECONSIDERATION = Procedure.reconsideration
PETITION = Procedure.petition
MEDIATION_PROCEDURE = Procedure.mediation
S = CaseStatus

# The history lines of the actions (the clocks' own events are worded in
# cases/procedures/history.py).
H_ACCEPTED = History(
    N_("The application was accepted."),
    N_("The application was accepted under the ordinary procedure."),
)
H_ACCEPTED_SIMPLIFIED = History(
    N_("The application was accepted."),
    N_("The application was accepted under the simplified procedure."),
)
H_PETITION_ACCEPTED = History(
    N_("The application was accepted."), N_("The petition was accepted for handling.")
)
H_SUGGESTION_FORWARDED = History(
    N_("Your suggestion was forwarded to the body concerned."),
    N_("The suggestion was forwarded to the body concerned."),
)
H_REPORT_FORWARDED = History.same(
    N_("The report was forwarded to the discipline inspection and supervision body.")
)
H_CORRECTION = History(
    N_("You were asked to supply more material."),
    N_("The applicant was asked to supply more material."),
)
H_CORRECTED = History(
    N_("The material you supplied was received; the acceptance review starts again."),
    N_("The material the applicant supplied was received; the acceptance review starts again."),
)
H_REFUSED = History.same(N_("The application was not accepted."))
H_ABANDONED = History.same(
    N_("The material was not supplied in time: the application is deemed abandoned.")
)
H_COPY_SENT = History.same(
    N_("The application copy reached the respondent; the reply period started.")
)
H_REPLY = History(
    N_("The respondent's written reply and evidence were received."),
    N_("The respondent's written reply and evidence were received."),
)
H_SUSPENDED = History.same(N_("Handling was suspended."))
H_RESUMED = History.same(N_("Handling resumed."))
H_DECIDED = History.same(N_("A reconsideration decision was made."))
H_CONCLUDED = History.same(N_("A written handling opinion was issued."))
H_AGREED = History.same(N_("The mediation ended with an agreement."))
H_FAILED = History.same(N_("The mediation ended without an agreement."))

TRANSITIONS: tuple[Transition, ...] = (
    # ---- 行政复议: acceptance review (FY 30-31)
    Transition(
        Action.accept, RECONSIDERATION, (S.submitted,), S.accepted, "accepted", Notice.accepted,
        Basis("FY", "62", "第一款", "(1)"), variant="ordinary",
        met=("F5",), start=("F9", "F12"), on_key="accepted_on", history=H_ACCEPTED,
    ),
    Transition(
        Action.accept, RECONSIDERATION, (S.submitted,), S.accepted, "accepted", Notice.accepted,
        Basis("FY", "62", "第二款", "(2)"), variant="simplified",
        met=("F5",), start=("F9", "F13"), on_key="accepted_on",
        history=H_ACCEPTED_SIMPLIFIED,
    ),
    Transition(
        Action.correct, RECONSIDERATION, (S.submitted,), S.correction_requested,
        "correction_requested", Notice.correction_requested, Basis("FY", "31"),
        guards=(Guard.review_period, Guard.once_correction),
        pause="correction", start=("F7",), on_key="requested_on", history=H_CORRECTION,
    ),
    Transition(
        Action.refuse, RECONSIDERATION, (S.submitted,), S.refused, "refused", Notice.refused,
        Basis("FY", "30", "第二款", "(2)"), guards=(Guard.review_period,),
        stop_all="refused", on_key="refused_on", history=H_REFUSED,
    ),
    Transition(
        Action.corrected, RECONSIDERATION, (S.correction_requested,), S.submitted,
        "correction_received", Notice.correction_received, Basis("FY", "31"),
        resume=True, met=("F7",), report_due=("F5",), on_key="received_on",
        history=H_CORRECTED,
    ),
    Transition(
        Action.extend_supply, RECONSIDERATION, (S.correction_requested,), None,
        None, Notice.supply_extended, Basis("FY", "31", "第二款", "(2)"),
        guards=(Guard.extension,), extend=("F7",),
    ),
    Transition(
        Action.deem_withdrawn, RECONSIDERATION, (S.correction_requested,), S.abandoned,
        "deemed_withdrawn", Notice.deemed_withdrawn, Basis("FY", "31", "第二款", "(2)"),
        guards=(Guard.supply_ended,), stop_all="deemed_withdrawn", history=H_ABANDONED,
    ),
    # ---- 行政复议: hearing the case (FY 39, 48, 54, 61-62)
    Transition(
        Action.copy_sent, RECONSIDERATION, (S.accepted,), None, "copy_sent", None,
        Basis("FY", "48"), guards=(Guard.copy_once,), met=("F9",), start=("F10",),
        on_key="received_on", history=H_COPY_SENT,
    ),
    Transition(
        Action.reply_received, RECONSIDERATION, (S.accepted, S.suspended), None,
        "reply_received", None, Basis("FY", "48"), roles=OFFICE | AGENCY,
        guards=(Guard.reply_once,), met=("F10",), history=H_REPLY,
    ),
    Transition(
        Action.extend, RECONSIDERATION, (S.accepted,), None, None, Notice.extended,
        Basis("FY", "62", "第一款", "(1)"), guards=(Guard.extension,), extend=("F12",),
    ),
    Transition(
        Action.suspend, RECONSIDERATION, (S.accepted,), S.suspended, "suspended",
        Notice.suspended, Basis("FY", "39"), variant="terminating",
        pause="suspension", start=("F17",), on_key="suspended_on", history=H_SUSPENDED,
    ),
    Transition(
        Action.suspend, RECONSIDERATION, (S.accepted,), S.suspended, "suspended",
        Notice.suspended, Basis("FY", "39"), variant="other",
        pause="suspension", on_key="suspended_on", history=H_SUSPENDED,
    ),
    Transition(
        Action.decide, RECONSIDERATION, (S.accepted,), S.decided, "decided", Notice.decided,
        Basis("XS", "45"), met=("F12", "F13"), stop_all="decided", next_rule="F15",
        on_key="decided_on", history=H_DECIDED,
    ),
    Transition(
        Action.resume, RECONSIDERATION, (S.suspended,), S.accepted, "resumed", Notice.resumed,
        Basis("FY", "39"), resume=True, cancel=("F17",), report_due=("F12", "F13"),
        on_key="resumed_on", history=H_RESUMED,
    ),
    # ---- 信访 (XF 29-35). Accepting or forwarding answers the petitioner in writing: it meets
    # X1 (the petition office's forwarding) or, for a petition the agency took up on its
    # reception day, X2 (XF 23: tell the petitioner whether it is accepted).
    Transition(
        Action.accept, PETITION, (S.submitted,), S.accepted, "accepted",
        Notice.petition_accepted, Basis("XF", "34"), variant="complaint",
        guards=(Guard.office_handles,),
        met=("X1", "X2"), start=("X4",), on_key="accepted_on", history=H_PETITION_ACCEPTED,
    ),
    # A suggestion or a report is forwarded only with the body named and a reason
    # (cases/petitions/handover.py, XF 22); these rows remain for the history of cases
    # forwarded before, and nobody may take them.
    Transition(
        Action.accept, PETITION, (S.submitted,), S.closed, "accepted",
        Notice.petition_forwarded, Basis("XF", "29"), roles=frozenset(), variant="suggestion",
        met=("X1", "X2"), stop_all="forwarded", on_key="accepted_on",
        history=H_SUGGESTION_FORWARDED,
    ),
    Transition(
        Action.accept, PETITION, (S.submitted,), S.closed, "accepted",
        Notice.report_forwarded, Basis("XF", "30"), roles=frozenset(), variant="report",
        met=("X1", "X2"), stop_all="forwarded", on_key="accepted_on", history=H_REPORT_FORWARDED,
    ),
    Transition(
        Action.extend, PETITION, (S.accepted,), None, None, Notice.extended,
        Basis("XF", "34"), guards=(Guard.office_handles, Guard.extension), extend=("X4",),
    ),
    Transition(
        Action.conclude, PETITION, (S.accepted,), S.decided, "concluded", Notice.concluded,
        Basis("XF", "35"), guards=(Guard.office_handles,), met=("X4",), stop_all="decided",
        next_rule="X5", on_key="decided_on", history=H_CONCLUDED,
    ),
    # ---- 行政调解: court confirmation rests on 民事诉讼法 Art 205 (domain §5); the failure
    # notice names the other routes and cites no 人民调解法 article.
    Transition(
        Action.agreed, MEDIATION_PROCEDURE, (S.submitted, S.accepted), S.settled,
        "mediation_agreed", Notice.mediation_agreed, Basis("MS", "205"), roles=MEDIATION,
        stop_all="settled", start=("M1",), on_key="ended_on", history=H_AGREED,
    ),
    Transition(
        Action.failed, MEDIATION_PROCEDURE, (S.submitted, S.accepted), S.closed,
        "mediation_failed", Notice.mediation_failed, None, roles=MEDIATION,
        stop_all="closed", on_key="ended_on", history=H_FAILED,
    ),
)  # fmt: skip
"""In the order the buttons are shown."""

DUE_KEYS: dict[str, str] = {
    "F5": "review_due",
    "F7": "supply_due",
    "F10": "reply_due",
    "F12": "decision_due",
    "F13": "decision_due",
    "X4": "conclude_due",
    "M1": "confirm_due",
}
"""The facts key under which an action reports a clock's last day (notice placeholders)."""

PETITION_COMPLAINT = "complaint"
"""XF 31: only 申诉求决 matters get the 60-day 处理意见书 clock (X4, XF 34)."""
PETITION_FORWARDED_TO: dict[str, str] = {
    # XF 29: 建议意见 go to the bodies concerned for study; XF 30: 检举控告 go to 纪检监察.
    "suggestion": "competent_body",
    "report": "discipline_body",
}


def rows_for(action: Action, procedure: Procedure) -> tuple[Transition, ...]:
    return tuple(r for r in TRANSITIONS if r.action is action and r.procedure is procedure)


def transition_for(
    action: Action, procedure: Procedure, variant: str | None = None
) -> Transition | None:
    """The row of this action for this procedure (and variant, when its rows differ)."""
    rows = rows_for(action, procedure)
    if variant is not None:
        return next((r for r in rows if r.variant == variant), None)
    return rows[0] if rows else None


def offered(procedure: Procedure, status: CaseStatus) -> tuple[Transition, ...]:
    """One row per action that may start from this status, in button order."""
    seen: set[Action] = set()
    out = []
    for row in TRANSITIONS:
        if row.procedure is procedure and status in row.sources and row.action not in seen:
            seen.add(row.action)
            out.append(row)
    return tuple(out)


def roles_acting_on(procedure: Procedure) -> frozenset[Role]:
    """Who takes any action on this procedure (the case page's role check)."""
    return frozenset(role for r in TRANSITIONS if r.procedure is procedure for role in r.roles)


RECONSIDERATION_ACCEPTED = frozenset({"decision_due", "after_review_period", "deemed"})
"""Facts only a reconsideration acceptance records (rows written before this table included
``after_review_period`` always; a deemed acceptance records ``deemed``)."""


def history_text(kind: str, detail: dict[str, object], audience: str) -> str | None:
    """The history msgid of an action's event for ``audience`` ("citizen" or "staff"): the
    row that wrote it, told apart by what the event recorded (the track, the forwarding)."""
    rows = [r for r in TRANSITIONS if r.event == kind and r.history is not None]
    if not rows:
        return None
    if kind == "accepted":
        forwarded = detail.get("forwarded_to")
        variant = (
            next((k for k, v in PETITION_FORWARDED_TO.items() if v == forwarded), None)
            if forwarded
            else "simplified"
            if detail.get("simplified")
            else "ordinary"
            if RECONSIDERATION_ACCEPTED & detail.keys()
            else "complaint"
        )
        rows = [r for r in rows if r.variant == variant] or rows
    history = rows[0].history
    assert history is not None
    return history.citizen if audience == "citizen" else history.staff


def history_texts(audience: str) -> dict[str, str]:
    """Event kind → the default history msgid for ``audience`` (first row per event)."""
    out: dict[str, str] = {}
    for row in TRANSITIONS:
        if row.event and row.history and row.event not in out:
            out[row.event] = row.history.citizen if audience == "citizen" else row.history.staff
    return out
