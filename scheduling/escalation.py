"""Escalation: a critical reminder nobody acknowledged goes to the next person up
(``ESCALATION_NEXT``), at a time the quiet hours allow."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from cases.store.db import Database, Row
from cases.store.time import Clock, from_db, to_db
from scheduling.policy import (
    ESCALATION_NEXT,
    Kind,
    Quiet,
    Role,
    quiet_for,
)
from scheduling.recipients import RecipientDirectory
from scheduling.sources import source_open
from scheduling.timing import after_quiet_hours


async def escalate(
    db: Database,
    clock: Clock,
    directory: RecipientDirectory,
    *,
    escalation_hours: float,
    tz: ZoneInfo,
) -> int:
    """An unacknowledged critical reminder goes to the next person up (ESCALATION_NEXT).

    The original row keeps its proof of service; the escalation is a new row pointing to
    it (``escalated_from``), itself escalated further if it is ignored too.
    """
    now = clock.now()
    stamp = to_db(now)
    rows = await db.fetch_all(
        "SELECT * FROM reminders WHERE status = 'sent' AND acknowledged_at IS NULL"
        " AND escalated_at IS NULL AND escalate_after IS NOT NULL AND escalate_after <= ?"
        " AND (expires_at IS NULL OR expires_at > ?)",
        (stamp, stamp),
    )
    added = 0
    for row in rows:
        if not await source_open(db, row["source_kind"], row["source_id"]):
            continue
        audience = Role(row["audience"])
        next_role = ESCALATION_NEXT.get(audience)
        people = await directory.resolve(next_role, row["case_id"]) if next_role else []
        people = [p for p in people if p.chat_id != row["chat_id"]]
        payload = json.loads(row["payload"])
        payload["escalated_from_chat"] = row["chat_id"]
        payload["escalated_from_role"] = audience.value
        payload["original_sent_at"] = row["sent_at"]
        if next_role is not None and next_role in ESCALATION_NEXT:
            payload["escalate_hours"] = payload.get("escalate_hours", escalation_hours)
        else:
            payload.pop("escalate_hours", None)
        quiet, due_at = escalation_timing(next_role, row, now, tz)
        async with db.transaction() as conn:
            claimed = await conn.execute(
                "UPDATE reminders SET escalated_at = ?, updated_at = ?"
                " WHERE id = ? AND escalated_at IS NULL AND acknowledged_at IS NULL",
                (stamp, stamp, row["id"]),
            )
            if claimed.rowcount != 1 or next_role is None:
                continue
            for person in people:
                cursor = await conn.execute(
                    "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id,"
                    " case_id, step, audience, chat_id, locale, critical, quiet,"
                    " deadline_on, payload, due_at, expires_at, escalated_from,"
                    " created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,1,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(dedup_key) DO NOTHING",
                    (
                        f"esc:{row['id']}:{person.chat_id}",
                        Kind.ESCALATION.value,
                        row["rule_id"],
                        row["source_kind"],
                        row["source_id"],
                        row["case_id"],
                        row["step"],
                        next_role.value,
                        person.chat_id,
                        person.locale,
                        quiet.value,
                        row["deadline_on"],
                        json.dumps(payload, ensure_ascii=False),
                        to_db(due_at),
                        row["expires_at"],
                        row["id"],
                        stamp,
                        stamp,
                    ),
                )
                added += cursor.rowcount
    return added


def escalation_timing(
    role: Role | None, row: Row, now: datetime, tz: ZoneInfo
) -> tuple[Quiet, datetime]:
    """Quiet hours for an escalation, as for any reminder to its new audience: staff are
    written to at night only about a deadline that ends today (DEFER_UNLESS_DUE_TODAY);
    anything else waits for 08:00. Still sent at once when waiting would outlive the
    reminder (a hearing that starts before 08:00)."""
    quiet = quiet_for(role) if role is not None else Quiet.NONE
    due_today = row["deadline_on"] == now.astimezone(tz).date().isoformat()
    if quiet is Quiet.NONE or (quiet is Quiet.DEFER_UNLESS_DUE_TODAY and due_today):
        return quiet, now
    morning = after_quiet_hours(now, tz)
    expires_at = from_db(row["expires_at"]) if row["expires_at"] else None
    if expires_at is not None and morning >= expires_at:
        return Quiet.NONE, now  # the outbox would defer it past its use: urgent
    return quiet, morning
