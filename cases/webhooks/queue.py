"""The durable webhook queue: captured events → one delivery row per receiver → delivered.

Triggers (migration 0019) write ``webhook_events`` in the transaction of the change itself; the
pump (scheduling/webhooks.py) calls :meth:`WebhookQueue.capture_overdue` and
:meth:`WebhookQueue.fan_out`, which turn new events into ``webhook_deliveries`` with the body
each receiver may see, then :meth:`due` / :meth:`record` as it delivers them. Every step is a
unit of work, so a crash at any point loses nothing and at worst sends a delivery again
(at-least-once; receivers deduplicate on the event id).

Order: of the pending deliveries of one receiver and one subject (a case, a court case, a
booking), only the oldest is ever due; a later event waits while an earlier one is retried.
A dead letter (attempts exhausted) no longer holds the others back; the body's ``sequence``
tells a receiver which of two events is newer when a dead letter is retried later.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cases.intake.validation import mask_id_number, mask_phone
from cases.law.deadline_rules import RULES
from cases.procedures.privacy import mask_numbers
from cases.store.db import Connection, Database, Row
from cases.store.time import LEGAL_TZ, Clock, legal_today, to_db
from cases.webhooks.config import EventType, Receiver, WebhooksFile

FAN_OUT_BATCH = 50
"""Events turned into deliveries per unit of work: keeps each unit short for the chat."""
OVERDUE_BATCH = 500
KEEP_DELIVERED = timedelta(days=30)
SENDING_LEASE = timedelta(minutes=5)
"""A delivery handed to a sender is not due again for this long (longer than a batch takes,
every request timing out): with several replicas (README, "Running at scale") each pump
takes different deliveries; one that crashed mid-send leaves them due again afterwards."""
"""Delivered deliveries and their events are kept this long (for /webhooks), then pruned."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter: attempt n waits base·2^(n-1), at most ``cap``; half of
    it fixed, half random, so receivers coming back are not hit by every sender at once."""

    max_attempts: int = 20
    base_seconds: float = 2.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        full = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=full / 2 + rng.uniform(0, full / 2))


@dataclass(frozen=True)
class Due:
    id: int
    receiver: str
    event_uid: str
    event_type: str
    subject: str
    body: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    receiver: str
    subject: str
    attempts: int
    """Attempts made before this one."""
    ok: bool
    code: int | None
    error: str | None


@dataclass(frozen=True)
class DeadLetter:
    id: int
    event_type: str
    number: str | None
    attempts: int
    error: str | None
    at: str | None


@dataclass(frozen=True)
class ReceiverState:
    id: str
    url_host: str
    events: tuple[str, ...]
    personal_data: bool
    last_delivered_at: str | None
    last_event: str | None
    pending: int
    failing: int
    last_error: str | None
    dead: int
    dead_letters: tuple[DeadLetter, ...]


class WebhookQueue:
    """The database side of webhooks; nothing here speaks HTTP."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: WebhooksFile,
        *,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random()

    @property
    def receivers(self) -> tuple[Receiver, ...]:
        return self.config.receivers

    # --- capture ------------------------------------------------------------------------------

    async def capture_overdue(self) -> int:
        """deadline.overdue: an open deadline whose last day has passed (legal calendar date).
        Announced once per last day: an extended deadline that runs out again is announced
        again."""
        today = legal_today(self.clock).isoformat()
        candidate = await self.db.fetch_one(
            "SELECT 1 FROM case_deadlines d WHERE d.status = 'open' AND d.due_on < ?"
            " AND NOT EXISTS (SELECT 1 FROM webhook_overdue w"
            "   WHERE w.deadline_id = d.id AND w.due_on = d.due_on)",
            (today,),
        )
        if candidate is None:
            return 0

        def work(conn: Connection) -> int:
            rows = conn.execute(
                "SELECT d.id, d.case_id, d.due_on, c.status, c.routed_to, c.routed_to_name"
                " FROM case_deadlines d JOIN cases c ON c.id = d.case_id"
                " WHERE d.status = 'open' AND d.due_on < ? AND NOT EXISTS ("
                "   SELECT 1 FROM webhook_overdue w"
                "   WHERE w.deadline_id = d.id AND w.due_on = d.due_on)"
                " ORDER BY d.due_on, d.id LIMIT ?",
                (today, OVERDUE_BATCH),
            ).fetchall()
            for row in rows:
                due_on = date.fromisoformat(row["due_on"])
                # It became overdue when the day after its last day began, where the law counts.
                began = datetime.combine(due_on + timedelta(days=1), time(0), LEGAL_TZ)
                conn.execute(
                    "INSERT INTO webhook_overdue(deadline_id, due_on) VALUES (?, ?)",
                    (row["id"], row["due_on"]),
                )
                conn.execute(
                    "INSERT INTO webhook_events(type, subject, case_id, deadline_id, detail,"
                    " occurred_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        EventType.deadline_overdue.value,
                        f"case:{row['case_id']}",
                        row["case_id"],
                        row["id"],
                        json.dumps(
                            {
                                "status": row["status"],
                                "unit": row["routed_to"],
                                "unit_name": row["routed_to_name"],
                                "due_on": row["due_on"],
                            },
                            ensure_ascii=False,
                        ),
                        to_db(began),
                    ),
                )
            return len(rows)

        return await self.db.run(work)

    async def fan_out(self) -> int:
        """New events → deliveries for every receiver that wants them (one unit per batch).
        Returns how many events were handled; 0 when there were none left."""
        receivers = self.receivers
        now = to_db(self.clock.now())
        # Asked on the reader first: an idle bot takes no writer turn every second.
        if await self.db.fetch_one("SELECT 1 FROM webhook_events WHERE fanned_out = 0") is None:
            return 0

        def work(conn: Connection) -> int:
            events = conn.execute(
                "SELECT * FROM webhook_events WHERE fanned_out = 0 ORDER BY id LIMIT ?",
                (FAN_OUT_BATCH,),
            ).fetchall()
            for event in events:
                wanting = [r for r in receivers if r.wants(event["type"])]
                bodies: dict[bool, str] = {}
                for receiver in wanting:
                    personal = receiver.may_receive_personal_data
                    if personal not in bodies:
                        bodies[personal] = _encode(build_payload(conn, event, personal=personal))
                    conn.execute(
                        "INSERT OR IGNORE INTO webhook_deliveries(event_id, receiver, subject,"
                        " body, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (event["id"], receiver.id, event["subject"], bodies[personal], now, now),
                    )
                conn.execute(
                    "UPDATE webhook_events SET fanned_out = 1 WHERE id = ?", (event["id"],)
                )
            return len(events)

        return await self.db.run(work)

    async def prune(self) -> int:
        """Forget deliveries delivered long ago and events nobody still waits for. Dead letters
        stay until someone retries them."""
        before = to_db(self.clock.now() - KEEP_DELIVERED)

        def work(conn: Connection) -> int:
            gone = conn.execute(
                "DELETE FROM webhook_deliveries WHERE status = 'delivered' AND delivered_at < ?",
                (before,),
            ).rowcount
            conn.execute(
                "DELETE FROM webhook_events WHERE fanned_out = 1 AND occurred_at < ?"
                " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id ="
                " webhook_events.id)",
                (before,),
            )
            return gone

        return await self.db.run(work)

    # --- delivery -----------------------------------------------------------------------------

    async def due(self, receiver: str, limit: int) -> list[Due]:
        """Deliveries to send now: the oldest pending one of each subject, if its time has
        come, each taken by a compare-and-set on its ``next_at`` (pushed :data:`SENDING_LEASE`
        ahead), so two pumps (replicas) never send the same one. Found on the reader
        connection; nothing is held while they are sent."""
        now = self.clock.now()
        rows = await self.db.fetch_all(
            "SELECT d.id, d.receiver, d.subject, d.body, d.attempts, d.next_at, e.uid, e.type"
            " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
            " WHERE d.receiver = ? AND d.status = 'pending' AND d.next_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p"
            "   INDEXED BY webhook_deliveries_order"
            "   WHERE p.receiver = d.receiver AND p.subject = d.subject"
            "   AND p.status = 'pending' AND p.id < d.id)"
            " ORDER BY d.next_at LIMIT ?",
            (receiver, to_db(now), limit),
        )
        if not rows:
            return []
        lease = to_db(now + SENDING_LEASE)

        def take(conn: Connection) -> set[int]:
            taken = set()
            for row in rows:
                changed = conn.execute(
                    "UPDATE webhook_deliveries SET next_at = ?"
                    " WHERE id = ? AND status = 'pending' AND next_at = ?",
                    (lease, row["id"], row["next_at"]),
                ).rowcount
                if changed:
                    taken.add(int(row["id"]))
            return taken

        taken = await self.db.run(take)
        return [
            Due(
                id=row["id"],
                receiver=row["receiver"],
                event_uid=row["uid"],
                event_type=row["type"],
                subject=row["subject"],
                body=row["body"],
                attempts=row["attempts"],
            )
            for row in rows
            if row["id"] in taken
        ]

    async def next_due_at(self, receiver: str) -> datetime | None:
        value = await self.db.fetch_value(
            "SELECT min(next_at) FROM webhook_deliveries"
            " WHERE receiver = ? AND status = 'pending'",
            (receiver,),
        )
        return datetime.fromisoformat(value).astimezone(UTC) if value else None

    async def record(self, outcomes: list[Outcome]) -> list[int]:
        """What the attempts gave, in one unit; returns the ids that became dead letters."""
        if not outcomes:
            return []
        now = self.clock.now()
        stamp = to_db(now)
        policy = self.policy
        plans = [
            (o, o.attempts + 1, to_db(now + policy.delay(o.attempts + 1, self._rng)))
            for o in outcomes
        ]

        def work(conn: Connection) -> list[int]:
            dead: list[int] = []
            for outcome, attempts, next_at in plans:
                if outcome.ok:
                    conn.execute(
                        "UPDATE webhook_deliveries SET status = 'delivered', attempts = ?,"
                        " delivered_at = ?, last_try_at = ?, last_code = ?, last_error = NULL"
                        " WHERE id = ? AND status = 'pending'",
                        (attempts, stamp, stamp, outcome.code, outcome.delivery_id),
                    )
                    continue
                status = "dead" if attempts >= policy.max_attempts else "pending"
                changed = conn.execute(
                    "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_at = ?,"
                    " last_try_at = ?, last_code = ?, last_error = ?"
                    " WHERE id = ? AND status = 'pending'",
                    (
                        status,
                        attempts,
                        next_at,
                        stamp,
                        outcome.code,
                        (outcome.error or "")[:300],
                        outcome.delivery_id,
                    ),
                ).rowcount
                if changed and status == "dead":
                    dead.append(outcome.delivery_id)
                elif changed:
                    # The later events of this subject wait behind it: not due before it
                    # (else every due query would step over them first).
                    conn.execute(
                        "UPDATE webhook_deliveries INDEXED BY webhook_deliveries_order"
                        " SET next_at = ? WHERE receiver = ? AND subject = ?"
                        " AND status = 'pending' AND id > ? AND next_at < ?",
                        (next_at, outcome.receiver, outcome.subject, outcome.delivery_id,
                         next_at),
                    )  # fmt: skip
            return dead

        return await self.db.run(work)

    async def retry(self, delivery_id: int) -> bool:
        """A dead letter goes back into the queue, due now, with a fresh count of attempts.
        Compare-and-set: a second press (or a stale button) changes nothing."""
        stamp = to_db(self.clock.now())
        changed = await self.db.execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = ?"
            " WHERE id = ? AND status = 'dead'",
            (stamp, delivery_id),
        )
        return changed == 1

    # --- for /webhooks ------------------------------------------------------------------------

    async def states(self, dead_shown: int = 10) -> list[ReceiverState]:
        out: list[ReceiverState] = []
        for receiver in self.receivers:
            counts = await self.db.fetch_one(
                "SELECT"
                " count(*) FILTER (WHERE status = 'pending'),"
                " count(*) FILTER (WHERE status = 'pending' AND attempts > 0),"
                " count(*) FILTER (WHERE status = 'dead')"
                " FROM webhook_deliveries WHERE receiver = ?",
                (receiver.id,),
            )
            assert counts is not None
            last = await self.db.fetch_one(
                "SELECT d.delivered_at, e.type FROM webhook_deliveries d"
                " JOIN webhook_events e ON e.id = d.event_id"
                " WHERE d.receiver = ? AND d.status = 'delivered'"
                " ORDER BY d.delivered_at DESC, d.id DESC LIMIT 1",
                (receiver.id,),
            )
            error = await self.db.fetch_value(
                "SELECT last_error FROM webhook_deliveries WHERE receiver = ?"
                " AND status IN ('pending', 'dead') AND last_error IS NOT NULL"
                " ORDER BY last_try_at DESC LIMIT 1",
                (receiver.id,),
            )
            dead_rows = await self.db.fetch_all(
                "SELECT d.id, e.type, json_extract(d.body, '$.case.number') AS number,"
                " d.attempts, d.last_error, d.last_try_at FROM webhook_deliveries d"
                " JOIN webhook_events e ON e.id = d.event_id"
                " WHERE d.receiver = ? AND d.status = 'dead' ORDER BY d.id DESC LIMIT ?",
                (receiver.id, dead_shown),
            )
            host = receiver.url.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
            out.append(
                ReceiverState(
                    id=receiver.id,
                    url_host=host,
                    events=tuple(e.value for e in receiver.events),
                    personal_data=receiver.may_receive_personal_data,
                    last_delivered_at=last["delivered_at"] if last else None,
                    last_event=last["type"] if last else None,
                    pending=counts[0],
                    failing=counts[1],
                    last_error=error,
                    dead=counts[2],
                    dead_letters=tuple(
                        DeadLetter(
                            id=r["id"],
                            event_type=r["type"],
                            number=r["number"],
                            attempts=r["attempts"],
                            error=r["last_error"],
                            at=r["last_try_at"],
                        )
                        for r in dead_rows
                    ),
                )
            )
        return out


# --- the body ---------------------------------------------------------------------------------


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _free(text: str | None, personal: bool) -> str | None:
    if text is None:
        return None
    return text if personal else mask_numbers(text)


def _person(name: Any, id_number: Any, phone: Any, personal: bool) -> dict[str, Any]:
    return {
        "name": _free(name, personal),
        "id_number": (id_number if personal else mask_id_number(id_number)) if id_number else None,
        "phone": (phone if personal else mask_phone(phone)) if phone else None,
    }


def build_payload(conn: Connection, event: Row, *, personal: bool) -> dict[str, Any]:
    """The JSON body of one event for a receiver that may (or may not) see personal data.

    ``case`` is what the event is about: a case; for ``hearing.recorded`` the court case
    (procedure ``litigation``); for ``booking.created`` the booking (procedure ``reception``).
    Its status and unit are those at the time of the event (captured with it).
    """
    detail = json.loads(event["detail"])
    payload: dict[str, Any] = {
        "id": event["uid"],
        "type": event["type"],
        "occurred_at": event["occurred_at"],
        "sequence": event["id"],
    }
    kind = event["type"]
    if kind == EventType.hearing_recorded:
        payload["case"] = _lawsuit(conn, event, detail, personal)
        payload["hearing"] = {
            "id": event["hearing_id"],
            "what": detail.get("what"),
            "starts_at": detail.get("starts_at"),
            "status": detail.get("status"),
            "attendance": detail.get("attendance"),
        }
    elif kind == EventType.booking_created:
        payload["case"], payload["booking"] = _booking(conn, event, detail, personal)
    else:
        payload["case"] = _case(conn, event["case_id"], detail, personal)
    if kind == EventType.case_status_changed:
        payload["change"] = {"from": detail.get("from_status"), "to": detail.get("status")}
    elif kind == EventType.case_routed:
        payload["routing"] = {
            "unit": detail.get("unit"),
            "unit_name": detail.get("unit_name"),
            "from_unit": detail.get("from_unit"),
            "transferred": detail.get("from_unit") is not None,
        }
    elif kind == EventType.deadline_overdue:
        payload["deadline"] = _deadline(conn, event["deadline_id"], detail)
    related = event["case_id"]
    if kind in (EventType.hearing_recorded, EventType.booking_created) and related is not None:
        number = conn.execute("SELECT number FROM cases WHERE id = ?", (related,)).fetchone()
        payload["related_case"] = number[0] if number else None
    return payload


def _case(
    conn: Connection, case_id: int | None, detail: dict[str, Any], personal: bool
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, number, procedure, status, subject, received_on, sensitive, routed_to,"
        " routed_to_name FROM cases WHERE id = ?",
        (case_id,),
    ).fetchone()
    if row is None:
        return None
    out: dict[str, Any] = {
        "number": row["number"],
        "procedure": row["procedure"],
        "status": detail.get("status", row["status"]),
        "unit": detail.get("unit", row["routed_to"]),
        "unit_name": detail.get("unit_name", row["routed_to_name"]),
        "received_on": row["received_on"],
        "sensitive": bool(row["sensitive"]),
    }
    if row["sensitive"]:
        # A report (检举控告) protects who made it: no name, no subject, to any receiver.
        return out
    out["subject"] = _free(row["subject"], personal)
    applicant = conn.execute(
        "SELECT name, id_number, phone FROM parties WHERE case_id = ? AND role = 'applicant'"
        " ORDER BY id LIMIT 1",
        (case_id,),
    ).fetchone()
    if applicant is not None:
        out["applicant"] = _person(
            applicant["name"], applicant["id_number"], applicant["phone"], personal
        )
    return out


def _lawsuit(
    conn: Connection, event: Row, detail: dict[str, Any], personal: bool
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT l.court_case_number, l.court, l.agency_id, l.agency, l.status, l.plaintiff"
        " FROM lawsuits l WHERE l.id = ?",
        (event["lawsuit_id"],),
    ).fetchone()
    if row is None:
        hearing = conn.execute(
            "SELECT court_case_number, court, agency FROM hearings WHERE id = ?",
            (event["hearing_id"],),
        ).fetchone()
        if hearing is None:
            return None
        return {
            "number": hearing["court_case_number"],
            "procedure": "litigation",
            "status": None,
            "unit": None,
            "unit_name": hearing["agency"],
            "court": hearing["court"],
        }
    return {
        "number": row["court_case_number"],
        "procedure": "litigation",
        "status": row["status"],
        "unit": row["agency_id"],
        "unit_name": row["agency"],
        "court": row["court"],
        "plaintiff": _free(row["plaintiff"], personal),
    }


def _booking(
    conn: Connection, event: Row, detail: dict[str, Any], personal: bool
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    row = conn.execute(
        "SELECT b.number, b.agency, b.status, b.slot, b.people, b.subject, b.person_name,"
        " b.person_phone, b.citizen_id, s.day, s.starts, s.slot_minutes, s.place"
        " FROM bookings b JOIN reception_sessions s ON s.id = b.session_id WHERE b.id = ?",
        (event["booking_id"],),
    ).fetchone()
    if row is None:
        return None, None
    start = datetime.combine(date.fromisoformat(row["day"]), time.fromisoformat(row["starts"]))
    slot_at = start + timedelta(minutes=row["slot_minutes"] * row["slot"])
    case = {
        "number": row["number"],
        "procedure": "reception",
        "status": detail.get("status", row["status"]),
        "unit": row["agency"],
    }
    booking = {
        "day": row["day"],
        "time": slot_at.strftime("%H:%M"),
        "place": row["place"],
        "people": row["people"],
        "subject": _free(row["subject"], personal),
        "booked_by_proxy": row["citizen_id"] is None,
        "person": _person(row["person_name"], None, row["person_phone"], personal),
    }
    return case, booking


def _deadline(
    conn: Connection, deadline_id: int | None, detail: dict[str, Any]
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT rule_id, due_on, basis, provisional, status FROM case_deadlines WHERE id = ?",
        (deadline_id,),
    ).fetchone()
    if row is None:
        return None
    rule = RULES.get(row["rule_id"])
    return {
        "rule": row["rule_id"],
        "title": rule.title if rule else None,
        "due_on": detail.get("due_on", row["due_on"]),
        "basis": row["basis"],
        "provisional": bool(row["provisional"]),
    }
