"""The append-only case history (``case_events``): who did what, when.

Every module that changes a case writes its event here, inside its own unit of work, so the
history and the change commit together. The table refuses UPDATE and DELETE (migration 0001).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cases.i18n import N_
from cases.store.db import UnitConnection


async def append_event(
    conn: UnitConnection,
    case_id: int,
    *,
    at: str,
    actor_id: int | None,
    actor_role: str,
    kind: str,
    detail: Mapping[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (case_id, at, actor_id, actor_role, kind, json.dumps(detail, ensure_ascii=False)),
    )


# -- how an event reads, per audience -----------------------------------------------------------

CITIZEN = "citizen"
STAFF = "staff"

DEADLINE_EVENT_TEXTS: dict[str, str] = {
    "deadline_opened": N_("Time limit started: {what}, by {due}."),
    "deadline_extended": N_("Time limit extended: {what}, now by {due}."),
    "deadline_met": N_("Done within the time limit: {what}."),
    "deadline_missed": N_("Time limit passed: {what} (last day {due})."),
    "deadline_cancelled": N_("Time limit stopped: {what}."),
    "deadline_recomputed": N_(
        "Time limit recalculated with the newly published holiday calendar: {what}, now by {due}."
    ),
}
"""Clock events name their deadline (its title) and, where it moves, the new last day."""

LATE_MET = N_("Done after the time limit: {what}.")

PAUSE_TEXTS: dict[tuple[str, str], str] = {
    # FY 31: a 补正 request stops only the acceptance review; it is not 中止 (FY 39).
    ("correction", CITIZEN): N_(
        "The acceptance review stands still until you supply the material: {what}."
    ),
    ("correction", STAFF): N_(
        "The acceptance review stands still while the applicant supplies the material: {what}."
    ),
    ("suspension", CITIZEN): N_("Handling was suspended; these time limits stand still: {what}."),
    ("suspension", STAFF): N_("Handling was suspended; these time limits stand still: {what}."),
}
OTHER_PAUSE = N_("These time limits stand still: {what}.")
RESUMED = N_("Time limits run again: {what}.")


@dataclass(frozen=True)
class EventLine:
    """An event as words: a msgid, its placeholders, and deadline titles (msgids) that the
    renderer translates and joins into ``{what}``."""

    msgid: str
    params: dict[str, Any]
    titles: tuple[str, ...] = ()


def describe_clock_event(
    kind: str, detail: Mapping[str, Any], audience: str, title_of: Callable[[str], str]
) -> EventLine | None:
    """The words for a clock event (None: not a clock event). ``title_of`` maps a rule id
    to its title msgid (``cases.law.deadline_rules``, passed in to keep this module free of
    the law)."""
    if kind in DEADLINE_EVENT_TEXTS:
        rule = str(detail.get("rule_id", ""))
        due = detail.get("new_due") or detail.get("due_on") or ""
        msgid = LATE_MET if kind == "deadline_met" and detail.get("late") else None
        return EventLine(
            msgid or DEADLINE_EVENT_TEXTS[kind], {"due": _date(due)}, (title_of(rule),)
        )
    if kind in ("case_paused", "case_resumed"):
        titles = tuple(
            title_of(str(d.get("rule_id", ""))) for d in detail.get("deadlines", ()) or ()
        )
        if kind == "case_resumed":
            return EventLine(RESUMED, {}, titles)
        reason = str(detail.get("reason", ""))
        return EventLine(PAUSE_TEXTS.get((reason, audience), OTHER_PAUSE), {}, titles)
    return None


def _date(value: object) -> object:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return value


# -- mediation assignment (cases.mediation.assignment) --------------------------------------

ASSIGNMENT_EVENT_TEXTS: dict[str, dict[str, str]] = {
    # The citizen learns that a mediator took the case (the notice names them) and that one
    # stepped aside; offers, declines and time-outs are the room's internal business.
    CITIZEN: {
        "mediation_accepted": N_("A mediator took on your case and will contact you."),
        "mediation_assigned": N_("A mediator was assigned to your case and will contact you."),
        "mediation_handed_over": N_(
            "The mediator stepped aside (回避); the case passes to another mediator."
        ),
        "mediation_moved": N_(
            "The dispute is with the body the mediation room belongs to, so the county's "
            "mediation room takes the case (回避)."
        ),
        "mediation_moved_recused": N_(
            "Every mediator of the room must step aside (回避), so the county's mediation room "
            "takes the case."
        ),
        "mediation_released": N_(
            "Your mediator can no longer take the case; another mediator will be assigned and "
            "will contact you."
        ),
    },
    # Staff: the mediator concerned is named in the line's actor (the offered mediator for
    # an offer and its time-out, the lead for an assignment by hand).
    STAFF: {
        "mediation_offered": N_("Offered to this mediator; waiting for their answer."),
        "mediation_accepted": N_("The mediator accepted the case."),
        "mediation_declined": N_("The mediator declined the case."),
        "mediation_offer_expired": N_(
            "The offer to this mediator ran out unanswered; passed to the next."
        ),
        "mediation_handed_over": N_(
            "The mediator declared a conflict of interest (回避) and handed the case on."
        ),
        "mediation_offer_withdrawn": N_(
            "The offer to this mediator was withdrawn: the case closed, or they left the room "
            "or are away."
        ),
        "mediation_assigned": N_("The room lead assigned the case by hand."),
        "mediation_moved": N_(
            "The dispute is with the body this room belongs to: passed to the county's default "
            "mediation room (回避)."
        ),
        "mediation_moved_recused": N_(
            "Every mediator of this room has a conflict of interest (回避): passed to the "
            "county's default mediation room."
        ),
        "mediation_released": N_(
            "The mediator is no longer a mediator of this room; the case went back to the "
            "room's queue."
        ),
        "mediation_unassigned": N_(
            "No mediator of the room can take the case now; the room lead assigns it."
        ),
    },
}
"""The history line of each assignment event, per audience."""
