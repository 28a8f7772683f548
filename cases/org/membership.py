"""Taking a member off the staff: their role back to citizen, their open work handed back.

:func:`remove_member` is the one place a staff member is removed (``/staff`` calls it). It runs
:data:`REMOVAL_STEPS` in the same unit of work as the role change, so a removal is never half
done; the assignment engine adds its own step (withdraw pending offers, re-offer the cases) by
appending to that list. No Telegram here: the handler tells the person.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import BaseModel

from cases.i18n import N_
from cases.org.users import Role
from cases.procedures.statuses import OPEN_STATUSES
from cases.store.db import Connection, Database
from cases.store.time import Clock, to_db

RETURNED_TO_QUEUE = "returned_to_queue"
"""The case event of a mediation case whose mediator left the staff (back to the room)."""

MEMBERSHIP_EVENT_TEXTS: dict[str, str] = {
    RETURNED_TO_QUEUE: N_(
        "The mediator was removed from the staff; the case went back to the room's queue."
    ),
}
"""Staff history wording (merged into ``cases.intake.service.STAFF_EVENT_TEXTS``); the citizen's
history does not show it (they are told who mediates when someone accepts)."""


class Removal(BaseModel):
    telegram_id: int
    role: Role
    unit: str | None
    by: int
    at: str
    returned_case_ids: list[int] = []
    """Open mediation cases that were assigned to the removed mediator (now unassigned)."""


RemovalStep = Callable[[Connection, Removal], None]


def _return_mediation_cases(conn: Connection, removal: Removal) -> None:
    """A mediator's open cases go back to their room's queue (cases.mediator_id = NULL), each
    with an event naming why."""
    if removal.role is not Role.mediator:
        return
    marks = ",".join("?" for _ in OPEN_STATUSES)
    rows = conn.execute(
        f"SELECT id FROM cases WHERE mediator_id = ? AND status IN ({marks}) ORDER BY id",
        (removal.telegram_id, *OPEN_STATUSES),
    ).fetchall()
    for (case_id,) in rows:
        changed = conn.execute(
            "UPDATE cases SET mediator_id = NULL, updated_at = ? WHERE id = ? AND mediator_id = ?",
            (removal.at, case_id, removal.telegram_id),
        ).rowcount
        if changed:
            conn.execute(
                "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
                " VALUES (?, ?, ?, 'admin', ?, ?)",
                (
                    case_id,
                    removal.at,
                    removal.by,
                    RETURNED_TO_QUEUE,
                    json.dumps({"mediator_id": removal.telegram_id}),
                ),
            )
            removal.returned_case_ids.append(int(case_id))


def _withdraw_staff_messages(conn: Connection, removal: Removal) -> None:
    """Messages queued for them as staff (a notice deferred to the morning, an agency's day
    list, a reminder) are withdrawn: they are a citizen now and must not read of cases. The
    planner gives deadline reminders to whoever answers for the case at its next pass."""
    conn.execute(
        "UPDATE reminders SET status = 'cancelled', updated_at = ? WHERE chat_id = ?"
        " AND status = 'pending' AND audience <> 'citizen'",
        (removal.at, removal.telegram_id),
    )


REMOVAL_STEPS: list[RemovalStep] = [_return_mediation_cases, _withdraw_staff_messages]
"""Run in order inside the removal's transaction, after the role change was claimed."""

STAFF_ROLE_VALUES = tuple(r.value for r in Role if r is not Role.citizen)


async def remove_member(
    db: Database, clock: Clock, telegram_id: int, *, by: int
) -> Removal | None:
    """Make a staff member a citizen again and hand back their open work; None when they were
    no staff member (already removed: a second press changes nothing)."""
    now = to_db(clock.now())

    def work(conn: Connection) -> Removal | None:
        row = conn.execute(
            "SELECT role, unit FROM users WHERE telegram_id = ?", (telegram_id,)
        ).fetchone()
        if row is None or row[0] not in STAFF_ROLE_VALUES:
            return None
        marks = ",".join("?" for _ in STAFF_ROLE_VALUES)
        claimed = conn.execute(
            "UPDATE users SET role = 'citizen', unit = NULL, heads_reconsideration = 0,"
            f" leads_room = 0 WHERE telegram_id = ? AND role = ? AND role IN ({marks})",
            (telegram_id, row[0], *STAFF_ROLE_VALUES),
        ).rowcount
        if not claimed:
            return None
        removal = Removal(telegram_id=telegram_id, role=Role(row[0]), unit=row[1], by=by, at=now)
        for step in REMOVAL_STEPS:
            step(conn, removal)
        return removal

    return await db.run(work)
