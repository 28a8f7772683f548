"""The states a case can be in, per procedure, and what each is called for whom.

One definition: the CHECK constraint of migration 0008 lists the same values per procedure
(``tests/test_procedures.py`` compares them), the lists and the planner read
:data:`OPEN_STATUSES`, and the staff actions (``cases.procedures.actions``) move a case only
between these.
"""

from __future__ import annotations

from enum import StrEnum

from cases.i18n import N_
from cases.intake.form_engine import Procedure


class CaseStatus(StrEnum):
    submitted = "submitted"  # received; acceptance review (FY 30) / forward or assign (XF 22)
    correction_requested = "correction_requested"  # 补正 asked (FY 31): F5 stands still
    accepted = "accepted"  # 受理: the decision / handling-opinion clock runs
    suspended = "suspended"  # 中止 (FY 39)
    refused = "refused"  # 不予受理 (FY 30(2))
    decided = "decided"  # 复议决定 (FY 61-) / 信访处理意见 (XF 32)
    settled = "settled"  # 调解成功 (司法确认 window M1, 民事诉讼法 Art 205)
    closed = "closed"  # ended otherwise: forwarded petition (XF 29/30), 调解不成
    withdrawn = "withdrawn"  # withdrawn by the citizen (FY 74)
    abandoned = "abandoned"  # 视为放弃 (FY 31(2))


PROCEDURE_STATUSES: dict[Procedure, frozenset[CaseStatus]] = {
    Procedure.reconsideration: frozenset(
        {
            CaseStatus.submitted,
            CaseStatus.correction_requested,
            CaseStatus.accepted,
            CaseStatus.suspended,
            CaseStatus.refused,
            CaseStatus.decided,
            CaseStatus.closed,  # 终止 (FY 41) is recorded as closed
            CaseStatus.withdrawn,
            CaseStatus.abandoned,
        }
    ),
    Procedure.petition: frozenset(
        {
            CaseStatus.submitted,
            CaseStatus.accepted,
            CaseStatus.decided,
            CaseStatus.closed,
            CaseStatus.withdrawn,
        }
    ),
    Procedure.mediation: frozenset(
        {
            CaseStatus.submitted,
            CaseStatus.accepted,  # a room that takes the case on before the outcome
            CaseStatus.settled,
            CaseStatus.closed,
            CaseStatus.withdrawn,
        }
    ),
}
"""Which statuses each procedure knows (migration 0008 enforces it in the schema)."""

OPEN_STATUSES: tuple[CaseStatus, ...] = (
    CaseStatus.submitted,
    CaseStatus.accepted,
    CaseStatus.correction_requested,
    CaseStatus.suspended,
)
"""Still being handled: the citizen may add material or withdraw; staff see it in /cases."""

CITIZEN_STATUS_TEXTS: dict[CaseStatus, str] = {
    CaseStatus.submitted: N_("Received, awaiting review"),
    CaseStatus.accepted: N_("Accepted, being handled"),
    CaseStatus.correction_requested: N_("More material requested from you"),
    CaseStatus.refused: N_("Not accepted"),
    CaseStatus.decided: N_("Decided"),
    CaseStatus.closed: N_("Closed"),
    CaseStatus.withdrawn: N_("Withdrawn"),
    CaseStatus.abandoned: N_("Deemed abandoned: the requested material did not arrive in time"),
    CaseStatus.suspended: N_("Handling suspended"),
    CaseStatus.settled: N_("Mediation agreement reached"),
}
"""The status as the citizen reads it (/mycases): it speaks to them."""

_STAFF_COMMON: dict[CaseStatus, str] = {
    CaseStatus.withdrawn: N_("Withdrawn by the applicant"),
    CaseStatus.closed: N_("Closed"),
}
STAFF_STATUS_TEXTS: dict[Procedure, dict[CaseStatus, str]] = {
    Procedure.reconsideration: {
        **_STAFF_COMMON,
        CaseStatus.submitted: N_("Received, acceptance under review"),
        CaseStatus.correction_requested: N_(
            "Material requested from the applicant; acceptance review paused"
        ),
        CaseStatus.accepted: N_("Accepted, under review"),
        CaseStatus.suspended: N_("Suspended"),
        CaseStatus.refused: N_("Not accepted"),
        CaseStatus.decided: N_("Decision made"),
        CaseStatus.abandoned: N_("Deemed abandoned (material not supplied in time)"),
    },
    Procedure.petition: {
        **_STAFF_COMMON,
        CaseStatus.submitted: N_("Received, to be accepted or forwarded"),
        CaseStatus.accepted: N_("Accepted, being handled"),
        CaseStatus.decided: N_("Handling opinion issued"),
        CaseStatus.closed: N_("Closed (forwarded)"),
    },
    Procedure.mediation: {
        **_STAFF_COMMON,
        CaseStatus.submitted: N_("Received, awaiting mediation"),
        CaseStatus.accepted: N_("Mediation under way"),
        CaseStatus.settled: N_("Agreement reached"),
        CaseStatus.closed: N_("Closed without an agreement"),
    },
}
"""The status as staff read it: it speaks of the applicant and uses the procedure's words (a
mediation case is not "awaiting review")."""


def staff_status_text(procedure: Procedure, status: str) -> str:
    """The staff wording of a status (msgid); an unknown value is shown as stored."""
    try:
        return STAFF_STATUS_TEXTS[procedure].get(CaseStatus(status), status)
    except ValueError:
        return status


def status_check_sql() -> str:
    """The CHECK expression of migration 0008 (kept here to compare with the migration)."""
    parts = []
    for procedure, statuses in PROCEDURE_STATUSES.items():
        values = ", ".join(f"'{s.value}'" for s in sorted(statuses))
        parts.append(f"(procedure = '{procedure.value}' AND status IN ({values}))")
    return " OR ".join(parts)


ENDED_STATUSES: frozenset[CaseStatus] = frozenset(
    {
        CaseStatus.refused,
        CaseStatus.decided,
        CaseStatus.closed,
        CaseStatus.withdrawn,
        CaseStatus.abandoned,
    }
)
"""Nothing more happens: no reminders (pending ones are cancelled). Not ``settled``: the
司法确认 window (M1, 民事诉讼法 Art 205) still runs after a mediation agreement."""
