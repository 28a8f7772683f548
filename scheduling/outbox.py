"""The durable outbox: due reminders are claimed, sent once, and their fate recorded.

At most once, with a one-request ambiguity window (engineering.md §3): a row is claimed
(``pending → sending``, committed) before Telegram is called, so two dispatchers never both
send it. ``sendMessage`` has no idempotency key, so a row whose request may have reached
Telegram is never resent blindly: it becomes ``unknown`` and staff are told.

This module does not import aiogram; :mod:`scheduling.sender` implements :class:`Transport`
and translates Telegram's errors into the exceptions below.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cases.org.users import Role
from cases.procedures.history import append_event
from cases.store.db import Database, Row
from cases.store.time import LEGAL_TZ, Clock, from_db, to_db
from scheduling.policy import STAFF_ROLES, Kind, Quiet
from scheduling.recipients import RecipientDirectory
from scheduling.timing import after_quiet_hours, in_quiet_hours

log = logging.getLogger(__name__)

MAX_NOT_SENT_ATTEMPTS = 8
"""Connection failures that certainly sent nothing are retried this often, then reported."""


class RetryLater(Exception):
    """Telegram said 429: the message was not sent; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class Undeliverable(Exception):
    """Telegram refused for good (403 blocked, 400 chat not found): someone must call."""


class NotSent(Exception):
    """The request never left (connection refused): safe to retry later."""


class DeliveryUnknown(Exception):
    """The request may have reached Telegram (timeout, dropped connection, 5xx)."""


@dataclass(frozen=True)
class OutboxRow:
    """One outbox row as the sender needs it."""

    id: int
    kind: Kind
    rule_id: str | None
    case_id: int | None
    chat_id: int
    locale: str
    audience: Role
    critical: bool
    step: str
    payload: dict[str, Any]
    due_at: datetime
    expires_at: datetime | None
    attempts: int

    @property
    def wants_acknowledgement(self) -> bool:
        """Staff and agencies confirm receipt (送达); citizens and digests do not."""
        return self.audience in STAFF_ROLES and self.kind in (
            Kind.REMINDER,
            Kind.CHASE,
            Kind.OVERDUE,
            Kind.ESCALATION,
        )

    @classmethod
    def from_row(cls, row: Row) -> OutboxRow:
        return cls(
            id=row["id"],
            kind=Kind(row["kind"]),
            rule_id=row["rule_id"],
            case_id=row["case_id"],
            chat_id=row["chat_id"],
            locale=row["locale"],
            audience=Role(row["audience"]),
            critical=bool(row["critical"]),
            step=row["step"],
            payload=json.loads(row["payload"]),
            due_at=from_db(row["due_at"]),
            expires_at=from_db(row["expires_at"]) if row["expires_at"] else None,
            attempts=row["attempts"],
        )


class Transport(Protocol):
    async def wait_turn(self, chat_id: int) -> None:
        """Block until the rate limits allow one more message to ``chat_id``."""
        ...

    async def deliver(self, row: OutboxRow) -> int:
        """Send the row; return Telegram's message id or raise one of the errors above."""
        ...


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    expired: int = 0
    deferred: int = 0
    not_claimed: int = 0
    sent_ids: list[int] = field(default_factory=list)


class AckOutcome(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"
    NOT_YOURS = "not_yours"
    NOT_FOUND = "not_found"


_DUE = (
    "status = 'pending' AND due_at <= ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
    " AND chat_id BETWEEN ? AND ? AND (lease_until IS NULL OR lease_until <= ? OR leased_by = ?)"
)
_ORDER = "ORDER BY critical DESC, due_at, id"
LEASE = timedelta(minutes=2)
"""How long due rows stay with the process that leased them; longer than a batch takes to
send within the shared budget (200 rows at 30/s: 7 s), short enough that a replica's death
delays its rows by little."""


def lease_sql(dialect: str) -> str:
    """Lease the next due rows to this process (``FOR UPDATE SKIP LOCKED`` on PostgreSQL:
    replicas leasing at the same moment take different rows and never wait for each other)."""
    if dialect == "postgresql":
        return (
            "UPDATE reminders SET leased_by = ?, lease_until = ? FROM (SELECT id FROM reminders"
            f" WHERE {_DUE} {_ORDER} LIMIT ? FOR UPDATE SKIP LOCKED) AS picked"
            " WHERE reminders.id = picked.id RETURNING reminders.*"
        )
    return (
        "UPDATE reminders SET leased_by = ?, lease_until = ? WHERE id IN (SELECT id FROM"
        f" reminders WHERE {_DUE} {_ORDER} LIMIT ?) RETURNING *"
    )


class Outbox:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        clock: Clock,
        *,
        admin_ids: list[int],
        tz: ZoneInfo = LEGAL_TZ,
        batch_size: int = 200,
        concurrency: int = 8,
        chat_ids: tuple[int, int] = (-(2**63), 2**63 - 1),
    ) -> None:
        self.db = db
        self.chat_ids = chat_ids
        """Only these chats' rows are claimed: another process serves the other channel."""
        self.transport = transport
        self.clock = clock
        self.admin_ids = admin_ids
        self.tz = tz
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.stopping = False
        """Set at shutdown: rows not yet claimed stay pending for the next start."""
        self._dispatching = asyncio.Lock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        """This process, in the leases it takes (replicas share the outbox)."""
        self._lease_sql = lease_sql(db.dialect)

    # --- start-up ---

    async def recover_interrupted(self, *, claimed_before: datetime | None = None) -> int:
        """Rows left in ``sending`` by a crash may or may not have arrived: ``unknown``.

        ``claimed_before``: only rows claimed before then. Replicas share the outbox, so a
        row in ``sending`` may be another live process's send in flight; only a claim older
        than any send can take is a crashed one (``None``: every row, a lone process).

        Each row's new status and its staff follow-up commit together, so a second crash here
        can neither lose the follow-up nor send it twice.
        """
        sql = "SELECT * FROM reminders WHERE status = 'sending' AND chat_id BETWEEN ? AND ?"
        params: tuple[Any, ...] = self.chat_ids
        if claimed_before is not None:
            sql += " AND (claimed_at IS NULL OR claimed_at < ?)"
            params = (*self.chat_ids, to_db(claimed_before))
        rows = [OutboxRow.from_row(r) for r in await self.db.fetch_all(sql, params)]
        for row in rows:
            await self._give_up(row, "unknown", "interrupted while sending (restart)", "unknown")
        if rows:
            log.warning("%d reminders were being sent at the crash; marked unknown", len(rows))
        return len(rows)

    # --- the tick ---

    async def dispatch_due(self, now: datetime | None = None) -> DispatchReport:
        """Send every due reminder once; expire the late, defer the night-time ones.

        One dispatch at a time per process: a tick that finds one running (a long catch-up)
        returns at once instead of queueing for the same rows and wasting send slots. Other
        processes are kept out by the claim.
        """
        if self._dispatching.locked():
            return DispatchReport()
        async with self._dispatching:
            return await self._dispatch_due(now)

    async def _dispatch_due(self, now: datetime | None) -> DispatchReport:
        now = now or self.clock.now()
        report = DispatchReport()
        report.expired += await self._expire(now)
        report.deferred += await self._defer_quiet_hours(now)
        attempted: set[int] = set()
        try:
            while not self.stopping:
                # A batch's worth of new rows each time (LEASE is sized for one batch). Of
                # the rows already attempted only those released for a retry are pending and
                # may be due again (a ``now`` later than the clock); they are leased on top.
                limit = self.batch_size + report.retried
                batch = [row for row in await self._lease(now, limit) if row.id not in attempted]
                if not batch:
                    break
                await self._send_batch(batch, attempted, report)
        finally:
            await self._end_leases()
        return report

    async def _lease(self, now: datetime, limit: int) -> list[OutboxRow]:
        """The next due rows, leased to this process, most urgent first."""
        stamp = to_db(self.clock.now())
        rows = await self.db.take_rows(
            self._lease_sql,
            (
                self.owner,
                to_db(self.clock.now() + LEASE),
                to_db(now),
                to_db(now),
                *self.chat_ids,
                stamp,
                self.owner,
                limit,
            ),
        )
        found = [OutboxRow.from_row(r) for r in rows]
        found.sort(key=lambda row: (not row.critical, row.due_at, row.id))
        return found

    async def _end_leases(self) -> None:
        """Rows leased but not sent (stopping, retried later) go back to every replica; a sent
        row keeps the name of the process that sent it."""
        await self.db.execute(
            "UPDATE reminders SET leased_by = NULL, lease_until = NULL"
            " WHERE leased_by = ? AND status = 'pending'",
            (self.owner,),
        )

    async def _send_batch(
        self, batch: list[OutboxRow], attempted: set[int], report: DispatchReport
    ) -> None:
        attempted.update(row.id for row in batch)
        queue: asyncio.Queue[OutboxRow] = asyncio.Queue()
        for row in batch:
            queue.put_nowait(row)
        workers = [
            asyncio.create_task(self._worker(queue, report))
            for _ in range(min(self.concurrency, len(batch)))
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    async def _worker(self, queue: asyncio.Queue[OutboxRow], report: DispatchReport) -> None:
        while not queue.empty() and not self.stopping:
            row = queue.get_nowait()
            await self._send_one(row, report)

    async def _expire(self, now: datetime) -> int:
        """A reminder whose moment has passed (the hearing started) is not sent late."""
        return await self.db.execute(
            "UPDATE reminders SET status = 'expired', updated_at = ?"
            " WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?",
            (to_db(self.clock.now()), to_db(now)),
        )

    async def _defer_quiet_hours(self, now: datetime) -> int:
        """Quiet hours (``QUIET_HOURS``): citizens wait for the morning; staff only when
        nothing is due today."""
        if not in_quiet_hours(now, self.tz):
            return 0
        morning = after_quiet_hours(now, self.tz)
        today = now.astimezone(self.tz).date().isoformat()
        return await self.db.execute(
            "UPDATE reminders SET next_attempt_at = ?, updated_at = ?"
            " WHERE status = 'pending' AND due_at <= ?"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            " AND (quiet = ? OR (quiet = ? AND (deadline_on IS NULL OR deadline_on <> ?)))",
            (
                to_db(morning),
                to_db(self.clock.now()),
                to_db(now),
                to_db(now),
                Quiet.DEFER.value,
                Quiet.DEFER_UNLESS_DUE_TODAY.value,
                today,
            ),
        )

    async def _claim(self, row: OutboxRow) -> str:
        """``pending → sending`` before Telegram is called; only one claimant wins."""
        stamp = to_db(self.clock.now())
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE reminders SET status = 'sending', claimed_at = ?, updated_at = ?,"
                " attempts = attempts + 1 WHERE id = ? AND status = 'pending'"
                " AND (expires_at IS NULL OR expires_at > ?)",
                (stamp, stamp, row.id, stamp),
            )
            if cursor.rowcount == 1:
                return "claimed"
            # Expired while waiting for its turn (the limiter), or taken by someone else.
            cursor = await conn.execute(
                "UPDATE reminders SET status = 'expired', updated_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (stamp, row.id),
            )
            return "expired" if cursor.rowcount == 1 else "taken"

    async def _send_one(self, row: OutboxRow, report: DispatchReport) -> None:
        await self.transport.wait_turn(row.chat_id)
        if self.stopping:
            return
        outcome = await self._claim(row)
        if outcome == "expired":
            report.expired += 1
            return
        if outcome == "taken":
            report.not_claimed += 1
            return
        try:
            message_id = await self.transport.deliver(row)
        except RetryLater as exc:
            await self._release(row, max(exc.retry_after, 1.0), f"429: {exc}")
            report.retried += 1
        except NotSent as exc:
            if row.attempts + 1 >= MAX_NOT_SENT_ATTEMPTS:
                await self._give_up(row, "failed", str(exc), "failed")
                report.failed += 1
            else:
                await self._release(row, min(30.0 * 2**row.attempts, 900.0), str(exc))
                report.retried += 1
        except Undeliverable as exc:
            await self._give_up(row, "failed", str(exc), "blocked")
            report.failed += 1
        except DeliveryUnknown as exc:
            await self._give_up(row, "unknown", str(exc), "unknown")
            report.unknown += 1
        except Exception as exc:
            # A bug in rendering or an unexpected library error after the claim: the request
            # may have gone out, so the honest status is unknown.
            log.exception("reminder %s: unexpected error while sending", row.id)
            await self._give_up(row, "unknown", f"{type(exc).__name__}: {exc}", "unknown")
            report.unknown += 1
        else:
            await self._mark_sent(row, message_id)
            report.sent += 1
            report.sent_ids.append(row.id)

    async def _release(self, row: OutboxRow, delay_s: float, error: str) -> None:
        now = self.clock.now()
        await self.db.execute(
            "UPDATE reminders SET status = 'pending', next_attempt_at = ?, last_error = ?,"
            " updated_at = ? WHERE id = ? AND status = 'sending'",
            (to_db(now + timedelta(seconds=delay_s)), error[:500], to_db(now), row.id),
        )

    async def _give_up(self, row: OutboxRow, status: str, error: str, problem: str) -> None:
        """The row ends ``failed`` or ``unknown`` and the people responsible are told, in one
        unit of work: a crash in between must not leave a failed reminder nobody follows up."""
        notices = await self._staff_notices(row, problem)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE reminders SET status = ?, last_error = ?, updated_at = ?"
                " WHERE id = ? AND status = 'sending'",
                (status, error[:500], to_db(self.clock.now()), row.id),
            )
            if cursor.rowcount == 1 and notices:
                await conn.executemany(
                    "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id,"
                    " case_id, step, audience, chat_id, locale, critical, quiet, deadline_on,"
                    " payload, due_at, created_at, updated_at)"
                    " VALUES (?, 'notice', ?, 'notice', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(dedup_key) DO NOTHING",
                    notices,
                )

    async def _mark_sent(self, row: OutboxRow, message_id: int) -> None:
        now = self.clock.now()
        hours = row.payload.get("escalate_hours") if row.critical else None
        escalate_after = to_db(now + timedelta(hours=float(hours))) if hours else None
        await self.db.execute(
            "UPDATE reminders SET status = 'sent', sent_at = ?, delivered_at = ?,"
            " tg_message_id = ?, escalate_after = ?, last_error = NULL, updated_at = ?"
            " WHERE id = ? AND status = 'sending'",
            (to_db(now), to_db(now), message_id, escalate_after, to_db(now), row.id),
        )

    async def _staff_notices(self, row: OutboxRow, problem: str) -> list[tuple[Any, ...]]:
        """403 / unknown: the person must be reached another way (phone, post, in person).

        The notice is itself an outbox row, so it is rate-limited and survives a crash. A
        notice to a citizen that cannot be delivered (a refusal, a 补正 request) is reported;
        problems with staff notices and digests are not reported again (no loops).
        """
        if row.kind is Kind.DIGEST or (
            row.kind is Kind.NOTICE and row.audience is not Role.citizen
        ):
            return []
        role = _responsible_role(row)
        directory = RecipientDirectory(self.db, admin_ids=self.admin_ids)
        people = [
            p for p in await directory.resolve(role, row.case_id) if p.chat_id != row.chat_id
        ]
        if not people and role is not Role.admin:
            people = [
                p
                for p in await directory.resolve(Role.admin, row.case_id)
                if p.chat_id != row.chat_id
            ]
        stamp = to_db(self.clock.now())
        payload = json.dumps(
            {
                "problem": problem,
                "reminder_id": row.id,
                "recipient_role": row.audience.value,
                "case_number": row.payload.get("case_number"),
                "court_case_number": row.payload.get("court_case_number"),
                "title": row.payload.get("title"),
                "due_on": row.payload.get("due_on"),
            },
            ensure_ascii=False,
        )
        return [
            (
                f"notice:{problem}:{row.id}:{person.chat_id}",
                row.rule_id,
                row.id,
                row.case_id,
                problem,
                role.value,
                person.chat_id,
                person.locale,
                Quiet.DEFER_UNLESS_DUE_TODAY.value,
                row.payload.get("due_on"),
                payload,
                stamp,
                stamp,
                stamp,
            )
            for person in people
        ]


def _responsible_role(row: OutboxRow) -> Role:
    """Who follows up when a reminder did not arrive: the case's staff, else the admins."""
    if row.audience is Role.citizen:
        return Role.mediator if row.payload.get("procedure") == "mediation" else Role.office_staff
    return Role.admin


async def acknowledge(
    db: Database, reminder_id: int, *, user_id: int, chat_id: int, now: datetime
) -> AckOutcome:
    """The "received / 已收到" button: proof of service (送达), recorded once, by its recipient.

    The acknowledgement is also written to the case's append-only history.
    """
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "SELECT chat_id, audience, kind, rule_id, step, case_id, acknowledged_at"
            " FROM reminders WHERE id = ?",
            (reminder_id,),
        )
        row = await cursor.fetchone()
        if row is None or Role(row["audience"]) not in STAFF_ROLES:
            return AckOutcome.NOT_FOUND
        # Pressed in the chat it was sent to; in a private chat only by its owner.
        if chat_id != row["chat_id"] or (chat_id > 0 and user_id != chat_id):
            return AckOutcome.NOT_YOURS
        if row["acknowledged_at"] is not None:
            return AckOutcome.ALREADY
        stamp = to_db(now)
        await conn.execute(
            "UPDATE reminders SET acknowledged_at = ?, acknowledged_by = ?, updated_at = ?"
            " WHERE id = ?",
            (stamp, user_id, stamp, reminder_id),
        )
        if row["case_id"] is not None:
            await append_event(
                conn,
                row["case_id"],
                at=stamp,
                actor_id=user_id,
                actor_role=row["audience"],
                kind="reminder_acknowledged",
                detail={
                    "reminder_id": reminder_id,
                    "rule_id": row["rule_id"],
                    "step": row["step"],
                },
            )
    return AckOutcome.RECORDED
