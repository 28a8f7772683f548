"""The parts the staff-action executor (:mod:`cases.procedures.actions`) is made of: its inputs
and results, the refusals it explains, and the single steps it composes (the status
compare-and-set, the staff event, due dates, the notice parameters and dedup keys)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from cases.i18n import N_
from cases.intake.form_engine import Procedure
from cases.law.deadline_rules import citation
from cases.org.users import User
from cases.procedures.access import (
    StaffCaseView,
)
from cases.procedures.history import append_event
from cases.procedures.statuses import CaseStatus
from cases.procedures.transitions import (
    PETITION_COMPLAINT,
    PETITION_FORWARDED_TO,
    TRANSITIONS,
    Action,
    Guard,
    Notice,
    Transition,
)
from cases.store.db import UnitConnection, row_in

ORDINARY = N_("ordinary procedure")
SIMPLIFIED = N_("simplified procedure")  # FY 53-54: F9 3 WD, F10 5 WD, decision in 30 days

# Refusals the handler explains (English msgids; ``ActionResult.facts`` fills them).
REVIEW_PERIOD_ENDED = N_(
    "The acceptance review period ended on {review_due}: the application is deemed accepted "
    "as of that day (Administrative Reconsideration Law, Art. 30(3)). A notice to correct or "
    "a refusal is no longer possible; record the acceptance instead."
)
REPLY_TOO_LONG = N_(
    "The reply is too long for the chat: send at most 4,000 characters of text and 20 files, "
    "and the rest on paper."
)
RECEIPT_IN_FUTURE = N_("The date the respondent received the copy cannot be in the future.")
RECEIPT_BEFORE_ACCEPTANCE = N_(
    "The respondent cannot have received the copy before the case was accepted on "
    "{accepted_on}. Please check the date."
)


NoticeSink = Callable[[UnitConnection, int, str, dict[str, Any], str], Awaitable[bool]]
"""``(conn, case_id, kind, params, dedup_key) -> queued``: writes one outbox row inside the
caller's transaction (``scheduling.notices.queue_case_notice`` bound to a clock)."""


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


ALREADY = ActionResult(Outcome.already)
NOT_ALLOWED = ActionResult(Outcome.not_allowed)

DECISION_RULES = ("F12", "F13")


async def transition_status(
    conn: UnitConnection,
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
    conn: UnitConnection,
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


async def due_of(conn: UnitConnection, deadline_id: int) -> tuple[str, bool]:
    """(last day, provisional) of a stored deadline: a notice shows the date with the
    provisional note when the holiday calendar does not cover it yet (domain §1.2)."""
    row = await row_in(
        conn, "SELECT due_on, provisional FROM case_deadlines WHERE id = ?", (deadline_id,)
    )
    assert row is not None
    return str(row[0]), bool(row[1])


async def running_due(
    conn: UnitConnection, case_id: int, rules: tuple[str, ...]
) -> tuple[str, bool]:
    row = await row_in(
        conn,
        "SELECT due_on, provisional FROM case_deadlines WHERE case_id = ?"
        " AND status IN ('open', 'paused')"
        f" AND rule_id IN ({','.join('?' for _ in rules)}) ORDER BY due_on LIMIT 1",
        (case_id, *rules),
    )
    return (str(row[0]), bool(row[1])) if row else ("", False)


def basis_params(
    law: str, article: str, suffix_zh: str = "", suffix_en: str = ""
) -> dict[str, str]:
    zh, en = citation(law, article)
    return {"basis_zh": zh + suffix_zh, "basis_en": en + suffix_en}


class ReplyFile(BaseModel):
    """One file of the respondent's evidence, kept as citizen evidence is (cases.intake.evidence
    ``AttachmentIn``): the Telegram file and the SHA-256 of what was received."""

    kind: str
    file_id: str
    file_unique_id: str
    size: int
    sha256: str | None
    file_name: str | None = None
    mime_type: str | None = None


MAX_REPLY_FILES = 20
MAX_REPLY_TEXT = 4000


@dataclass(frozen=True)
class ActionInput:
    """What staff chose or typed for an action (each action reads the fields it needs)."""

    simplified: bool = False  # accept: the simplified procedure (FY 53-54)
    reason: str = ""  # refuse, extend, suspend: shown to the citizen
    missing: str = ""  # correct: what the applicant must supply
    received_on: date | None = None  # copy sent: the respondent's receipt day
    terminating_ground: bool = False  # suspend: FY 39(1) items 1, 2, 4 (F17 starts)
    days: int = 0  # extend: days added
    expected_total: int = 0  # extend: the extension total the button was shown with
    reply_text: str = ""  # reply received: the respondent's written reply (in the chat)
    reply_files: tuple[ReplyFile, ...] = ()  # reply received: its evidence, as sent
    paper: bool = False  # reply received: the office records a reply that came on paper


def guards_of(action: Action) -> frozenset[Guard]:
    return frozenset(g for row in TRANSITIONS if row.action is action for g in row.guards)


def variant_of(action: Action, view: StaffCaseView, given: ActionInput) -> str | None:
    """Which row of the action applies: the track, the petition kind, the suspension
    ground."""
    if action is Action.accept and view.procedure is Procedure.reconsideration:
        return "simplified" if given.simplified else "ordinary"
    if action is Action.accept and view.procedure is Procedure.petition:
        kind = view.petition_kind or PETITION_COMPLAINT
        return kind if kind in PETITION_FORWARDED_TO else PETITION_COMPLAINT
    if action is Action.suspend:
        return "terminating" if given.terminating_ground else "other"
    return None


def typed_params(action: Action, given: ActionInput) -> dict[str, Any]:
    """What staff chose or typed, as the event and the notice record it."""
    if action is Action.correct:
        return {"missing": given.missing}
    if action is Action.suspend:
        return {"reason": given.reason, "terminating_ground": given.terminating_ground}
    if action is Action.refuse:
        return {"reason": given.reason}
    if action is Action.reply_received:
        return {
            "text": given.reply_text,
            "files": [f.model_dump() for f in given.reply_files],
            "paper": given.paper,
        }
    return {}


def receipt_refused(
    view: StaffCaseView, received_on: date | None, today: date
) -> ActionResult | None:
    """The respondent's receipt day: not in the future, not before the acceptance."""
    if received_on is None or received_on > today:
        return ActionResult(Outcome.refused, view.status, error=RECEIPT_IN_FUTURE)
    if view.accepted_on is not None and received_on < view.accepted_on:
        return ActionResult(
            Outcome.refused,
            view.status,
            {"accepted_on": view.accepted_on.isoformat()},
            error=RECEIPT_BEFORE_ACCEPTANCE,
        )
    return None


async def reply_recorded(conn: UnitConnection, case_id: int) -> bool:
    return bool(
        await row_in(
            conn,
            "SELECT 1 FROM case_events WHERE case_id = ? AND kind = 'reply_received'",
            (case_id,),
        )
    )


async def copy_recorded(conn: UnitConnection, case_id: int) -> bool:
    """F10 runs once (FY 48): a copy-sent event or an F10 row means it was recorded."""
    return bool(
        await row_in(
            conn, "SELECT 1 FROM case_events WHERE case_id = ? AND kind = 'copy_sent'", (case_id,)
        )
        or await row_in(
            conn,
            "SELECT 1 FROM case_deadlines WHERE case_id = ? AND rule_id = 'F10'",
            (case_id,),
        )
    )


def basis_of(row: Transition) -> dict[str, str]:
    assert row.basis is not None
    basis = row.basis
    return basis_params(basis.law, basis.article, basis.paragraph_zh, basis.paragraph_en)


def notice_params(
    row: Transition, detail: dict[str, Any], facts: dict[str, Any]
) -> dict[str, Any]:
    """The notice's facts. XF 30(3): a forwarded report's notice names nobody and nothing of
    the matter, only the day and the article."""
    if row.notice is Notice.report_forwarded:
        return {"accepted_on": facts["accepted_on"], **basis_of(row)}
    params = {**detail, **(basis_of(row) if row.basis else {})}
    params.pop("forwarded_to", None)
    if row.action is Action.accept and row.procedure is Procedure.reconsideration:
        params["track_msgid"] = SIMPLIFIED if row.variant == "simplified" else ORDINARY
    return params


def notice_dedup_key(row: Transition, case_id: int, today: date) -> str:
    """One notice per case and event; suspension and resumption may happen more than once
    (one a day)."""
    key = f"notice:{row.event}:{case_id}"
    return f"{key}:{today.isoformat()}" if row.action in (Action.suspend, Action.resume) else key
