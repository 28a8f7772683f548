"""Turns open deadlines, hearings, defence periods and mediation agreements into outbox rows.

Idempotent: each row has a ``dedup_key`` (rule, source, due date, step, chat) and is inserted
with ``ON CONFLICT DO NOTHING``, so running the planner twice changes nothing and the same
reminder is never planned twice. A moved due date gives new keys; the old pending rows are
cancelled. A source whose facts, recipients and policy are unchanged since its last planning is
skipped after one signature comparison (``reminder_plans``), so a pass over 20,000 open cases is
cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from cases.law.calendar import LegalCalendar
from cases.org.organisation import Organisation
from cases.store.db import Database, rows_in
from cases.store.time import LEGAL_TZ, Clock, to_db
from scheduling.escalation import escalate
from scheduling.policy import (
    CLOSED_CASE_STATUSES,
    ESCALATION_NEXT,
    POLICIES,
    POLICY_VERSION,
    Kind,
    Quiet,
    ReminderPolicy,
    Role,
    Unit,
    quiet_for,
)
from scheduling.recipients import UNIT_SCOPED, Recipient, RecipientDirectory
from scheduling.sources import (
    PlannedRow,
    PlanReport,
    Source,
    lawsuit_sources,
    load_sources,
    rule_texts,
)
from scheduling.timing import (
    after_quiet_hours,
    end_of_day,
    shift,
    shift_working_days,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
PLANNED_KINDS = (Kind.REMINDER.value, Kind.CHASE.value, Kind.OVERDUE.value)
_CHUNK = 400  # sources per write transaction: keeps the writer lock short for the handlers


class Planner:
    """One pass: cancel what no longer applies, plan what is missing, escalate the silent."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        admin_ids: list[int],
        escalation_hours: float = 24,
        tz: ZoneInfo = LEGAL_TZ,
        calendar: LegalCalendar,
        org: Organisation | None = None,
    ) -> None:
        self.org = org
        """The organisation file: the office contact named in agency reminders."""
        self.db = db
        self.clock = clock
        self.admin_ids = admin_ids
        self.escalation_hours = escalation_hours
        self.tz = tz
        self.calendar = calendar
        """The deadline engine's calendar, so reminders count working days exactly as deadlines
        do (C4/C5, with the administrators' override file)."""

    def directory(self) -> RecipientDirectory:
        """Who stands for each role: one cache per pass, so a fresh one per call."""
        return RecipientDirectory(self.db, admin_ids=self.admin_ids)

    async def unstaffed_roles(self, rule_ids: Iterable[str], *, unit: str | None) -> list[Role]:
        """The unit-scoped roles these rules remind that nobody holds for ``unit``: the
        administrators receive their reminders (RecipientDirectory.resolve)."""
        roles = dict.fromkeys(
            role
            for rule_id in rule_ids
            for step in POLICIES[rule_id].steps
            for role in step.audiences
            if role in UNIT_SCOPED
        )
        return await self.directory().unstaffed(roles, unit=unit)

    # --- loading ---

    async def load_sources(self) -> list[Source]:
        return await load_sources(self.db, self.tz, self.org)

    async def lawsuit_sources(self, lawsuit_id: int) -> list[Source]:
        """One court case's open defence period and scheduled hearings, as a pass loads them."""
        return await lawsuit_sources(self.db, lawsuit_id, self.tz)

    # --- pure planning ---

    def rows_for(
        self,
        source: Source,
        policy: ReminderPolicy,
        recipients: dict[Role, list[Recipient]],
        now: datetime,
    ) -> list[PlannedRow]:
        """Every reminder the policy wants for this source, minus the pointless ones.

        Steps whose moment has already passed when the source is first planned (a deadline
        entered late) are superseded by the latest past step for the same audience, so a
        person gets one catch-up reminder, not five; expired steps are not planned at all.
        """
        texts = rule_texts(source.rule_id)
        calendar = self.calendar
        candidates: list[PlannedRow] = []
        for step in policy.steps:
            if source.starts_at is not None and step.offset.unit is Unit.HOURS:
                due_at = source.starts_at + timedelta(hours=step.offset.amount)
            else:
                day = shift(calendar, source.due_on, step.offset)
                due_at = datetime.combine(day, step.offset.at, self.tz).astimezone(UTC)
            expires_at = self._expiry(source, policy, step.kind)
            for role in step.audiences:
                quiet = quiet_for(role)
                moment = due_at
                if source.starts_at is None:
                    moment = self._on_a_working_day(due_at, role, source)
                if quiet is Quiet.DEFER or (
                    quiet is Quiet.DEFER_UNLESS_DUE_TODAY
                    and moment.astimezone(self.tz).date() != source.due_on
                ):
                    moment = after_quiet_hours(moment, self.tz)
                if expires_at is not None and moment >= expires_at:
                    continue
                for recipient in recipients.get(role, []):
                    payload: dict[str, Any] = {}
                    if texts is not None:
                        payload.update(
                            title=texts.title,
                            effect=texts.effect_when_missed,
                            basis_zh=texts.basis_zh,
                            basis_en=texts.basis_en,
                        )
                    payload.update(
                        due_on=source.due_on.isoformat(),
                        provisional=source.provisional,
                        **{k: v for k, v in source.details.items() if v is not None},
                    )
                    if source.starts_at is not None:
                        payload["starts_at"] = to_db(source.starts_at)
                    if step.critical and role in ESCALATION_NEXT:
                        payload["escalate_hours"] = (
                            step.escalate_after_hours or self.escalation_hours
                        )
                    candidates.append(
                        PlannedRow(
                            dedup_key=f"{source.key}:{step.offset.label}:{recipient.chat_id}",
                            kind=step.kind,
                            rule_id=source.rule_id,
                            source=source,
                            step=step.offset.label,
                            audience=role,
                            recipient=recipient,
                            critical=step.critical,
                            quiet=quiet,
                            due_at=moment,
                            expires_at=expires_at,
                            payload=payload,
                        )
                    )
        candidates = [r for r in candidates if r.expires_at is None or r.expires_at > now]
        # Two steps moved off a weekend onto the same Friday morning: one reminder, the one
        # nearer the deadline.
        same_moment: set[tuple[Role, int, datetime]] = set()
        kept: list[PlannedRow] = []
        for row in reversed(candidates):
            k = (row.audience, row.recipient.chat_id, row.due_at)
            if row.kind is Kind.REMINDER and k in same_moment:
                continue
            same_moment.add(k)
            kept.append(row)
        candidates = kept[::-1]
        latest_past: dict[tuple[Role, int], datetime] = {}
        for row in candidates:
            if row.kind is Kind.REMINDER and row.due_at <= now:
                k = (row.audience, row.recipient.chat_id)
                latest_past[k] = max(latest_past.get(k, row.due_at), row.due_at)
        return [
            row
            for row in candidates
            if not (
                row.kind is Kind.REMINDER
                and row.due_at < latest_past.get((row.audience, row.recipient.chat_id), row.due_at)
            )
        ]

    def _on_a_working_day(self, due_at: datetime, role: Role, source: Source) -> datetime:
        """Staff work on working days, as the law counts them: a staff reminder that falls on
        a rest day (a calendar-day step) goes out on the working day before, at the same time.
        A reminder on the last day itself stays on that day, and citizens keep theirs."""
        if role is Role.citizen:
            return due_at
        local = due_at.astimezone(self.tz)
        day = local.date()
        if day == source.due_on or self.calendar.is_workday(day):
            return due_at
        earlier = shift_working_days(self.calendar, day, -1)
        return datetime.combine(earlier, local.time(), self.tz).astimezone(UTC)

    def _expiry(self, source: Source, policy: ReminderPolicy, kind: Kind) -> datetime | None:
        if source.starts_at is not None:
            return source.starts_at  # once the hearing has started, a reminder is pointless
        if kind is Kind.REMINDER:
            return end_of_day(source.due_on, self.tz)
        if policy.expire_after_due is None:
            return None
        return end_of_day(shift(self.calendar, source.due_on, policy.expire_after_due), self.tz)

    # --- the pass ---

    async def plan(self) -> PlanReport:
        now = self.clock.now()
        report = PlanReport()
        report.cancelled += await self.cancel_obsolete(now)
        sources = await self.load_sources()
        report.sources_seen = len(sources)
        directory = self.directory()
        signatures = {
            (r["source_kind"], r["source_id"]): r["signature"]
            for r in await self.db.fetch_all(
                "SELECT source_kind, source_id, signature FROM reminder_plans"
            )
        }
        changed: list[tuple[Source, str, list[PlannedRow]]] = []
        for source in sources:
            policy = POLICIES[source.rule_id]
            recipients = await self._recipients(directory, source, policy)
            signature = self._signature(source, recipients)
            if signatures.get((source.kind, source.id)) == signature:
                continue
            changed.append((source, signature, self.rows_for(source, policy, recipients, now)))
        for chunk in _chunks(changed, _CHUNK):
            inserted, cancelled = await self._write(chunk, now)
            report.inserted += inserted
            report.cancelled += cancelled
        report.sources_planned = len(changed)
        report.escalated = await self.escalate(directory)
        if report.inserted or report.cancelled or report.escalated:
            log.info(
                "planner: %d sources, %d replanned, %d reminders added, %d cancelled, "
                "%d escalated",
                report.sources_seen,
                report.sources_planned,
                report.inserted,
                report.cancelled,
                report.escalated,
            )
        return report

    async def preview(self, sources: Sequence[Source]) -> list[PlannedRow]:
        """What a pass would put in the outbox for these sources now (same recipients, timing,
        quiet hours, catch-up and expiry), written nowhere: what a handler tells the person
        who just entered the facts ("Reminders: …"). Rows sharing a ``dedup_key`` (one person
        standing in for two roles) are stored once."""
        now = self.clock.now()
        directory = self.directory()
        rows: list[PlannedRow] = []
        for source in sources:
            policy = POLICIES[source.rule_id]
            recipients = await self._recipients(directory, source, policy)
            rows += self.rows_for(source, policy, recipients, now)
        return rows

    @staticmethod
    async def _recipients(
        directory: RecipientDirectory, source: Source, policy: ReminderPolicy
    ) -> dict[Role, list[Recipient]]:
        roles = {role for step in policy.steps for role in step.audiences}
        return {
            role: await directory.resolve(role, source.case_id, unit=source.unit) for role in roles
        }

    def _signature(self, source: Source, recipients: dict[Role, list[Recipient]]) -> str:
        data = [
            POLICY_VERSION,
            source.key,
            source.status,
            source.provisional,
            sorted(source.details.items(), key=lambda kv: kv[0]),
            sorted(
                (role.value, [(r.chat_id, r.locale) for r in people])
                for role, people in recipients.items()
            ),
            self.escalation_hours,
        ]
        raw = json.dumps(data, default=str, ensure_ascii=False, sort_keys=True)
        return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()

    async def _write(
        self, chunk: Sequence[tuple[Source, str, list[PlannedRow]]], now: datetime
    ) -> tuple[int, int]:
        """One transaction per chunk, one statement per table: a cold pass over 20,000 cases
        is bound by SQLite, not by round trips to aiosqlite's thread."""
        stamp = to_db(now)
        params = [
            (
                row.dedup_key,
                row.kind.value,
                row.rule_id,
                source.kind,
                source.id,
                source.case_id,
                row.step,
                row.audience.value,
                row.recipient.chat_id,
                row.recipient.locale,
                int(row.critical),
                row.quiet.value,
                source.due_on.isoformat(),
                json.dumps(row.payload, ensure_ascii=False),
                to_db(row.due_at),
                to_db(row.expires_at) if row.expires_at else None,
                stamp,
                stamp,
            )
            for source, _, rows in chunk
            for row in rows
        ]
        by_kind: dict[str, tuple[list[int], list[str]]] = {}
        for source, _, rows in chunk:
            ids, keys = by_kind.setdefault(source.kind, ([], []))
            ids.append(source.id)
            keys.extend(row.dedup_key for row in rows)
        inserted = cancelled = 0
        async with self.db.transaction() as conn:
            if params:
                cursor = await conn.executemany(
                    "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id,"
                    " case_id, step, audience, chat_id, locale, critical, quiet, deadline_on,"
                    " payload, due_at, expires_at, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    # Same reminder, new language or facts (the citizen chose English, the
                    # date stopped being provisional): a pending row is refreshed, a sent
                    # one is history.
                    " ON CONFLICT(dedup_key) DO UPDATE SET locale = excluded.locale,"
                    " payload = excluded.payload, updated_at = excluded.updated_at"
                    " WHERE reminders.status = 'pending' AND (reminders.locale <> excluded.locale"
                    " OR reminders.payload <> excluded.payload)",
                    params,
                )
                inserted = max(cursor.rowcount, 0)
            # A moved date or a changed recipient: what was pending and is no longer wanted
            # is cancelled, never sent. The chunk's pending rows are read and compared with
            # the wanted keys here (a placeholder per source, at most _CHUNK; the keys may be
            # many more), then cancelled by id: portable, where SQLite's json_each is not.
            for kind, (ids, keys) in by_kind.items():
                wanted = set(keys)
                pending = await rows_in(
                    conn,
                    "SELECT id, dedup_key FROM reminders"
                    " WHERE source_kind = ? AND status = 'pending' AND kind IN (?, ?, ?)"
                    " AND source_id IN ({})".format(",".join("?" for _ in ids)),
                    (kind, *PLANNED_KINDS, *ids),
                )
                stale = sorted(r["id"] for r in pending if r["dedup_key"] not in wanted)
                for batch in _chunks(stale, _CHUNK):
                    cursor = await conn.execute(
                        "UPDATE reminders SET status = 'cancelled', updated_at = ?"
                        " WHERE id IN ({})".format(",".join("?" for _ in batch)),
                        (stamp, *batch),
                    )
                    cancelled += cursor.rowcount
            await conn.executemany(
                "INSERT INTO reminder_plans(source_kind, source_id, signature, planned_at)"
                " VALUES (?,?,?,?) ON CONFLICT(source_kind, source_id)"
                " DO UPDATE SET signature = excluded.signature,"
                " planned_at = excluded.planned_at",
                [(source.kind, source.id, signature, stamp) for source, signature, _ in chunk],
            )
        return inserted, cancelled

    async def cancel_obsolete(self, now: datetime) -> int:
        """A deadline met, paused or cancelled, a hearing off the list, a case closed: their
        pending reminders (and escalations) are cancelled, and the source forgets its plan so
        that reopening it plans afresh."""
        stamp = to_db(now)
        closed = sorted(CLOSED_CASE_STATUSES)
        marks = ",".join("?" for _ in closed)
        open_sql = {
            "hearing": "SELECT id FROM hearings WHERE status = 'scheduled'",
            "defence": "SELECT id FROM litigation_defences WHERE status = 'open'",
            "deadline": "SELECT id FROM case_deadlines WHERE status IN ('open', 'missed')",
        }
        cancelled = 0
        async with self.db.transaction() as conn:
            for kind, sql in open_sql.items():
                cursor = await conn.execute(
                    "UPDATE reminders SET status = 'cancelled', updated_at = ?"
                    " WHERE status = 'pending' AND source_kind = ?"
                    f" AND source_id NOT IN ({sql})",
                    (stamp, kind),
                )
                cancelled += cursor.rowcount
                await conn.execute(
                    "DELETE FROM reminder_plans WHERE source_kind = ?"
                    f" AND source_id NOT IN ({sql})",
                    (kind,),
                )
            cursor = await conn.execute(
                "UPDATE reminders SET status = 'cancelled', updated_at = ?"
                " WHERE status = 'pending' AND kind NOT IN ('notice', 'digest')"
                f" AND case_id IN (SELECT id FROM cases WHERE status IN ({marks}))",
                (stamp, *closed),
            )
            cancelled += cursor.rowcount
        return cancelled

    async def escalate(self, directory: RecipientDirectory | None = None) -> int:
        """An unacknowledged critical reminder goes to the next person up (escalation.py)."""
        return await escalate(
            self.db,
            self.clock,
            directory or self.directory(),
            escalation_hours=self.escalation_hours,
            tz=self.tz,
        )


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
