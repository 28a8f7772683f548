"""Signed requests from county systems: a court hearing date, a status note on a case.

The same contract as outgoing webhooks (README, "Webhooks"), plus ``X-Gucheng-Sender`` naming
the sender of the receivers file whose secret signed it. Checked in this order, each refusal a
JSON error with its own status code: who sends (401), when (401, outside the window: a replay),
the signature (401), may they send this (403), the body (400/422), then the request acts once
per (sender, ``X-Gucheng-Delivery``): a repeat gets the first answer again with
``"duplicate": true``. The body repeats the delivery id and the type (signed, unlike headers),
so a captured request cannot be replayed under a fresh delivery id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from cases.intake.validation import ValidationError as InputError
from cases.litigation.court_cases import LawsuitNotFound, LitigationService
from cases.procedures.history import append_event
from cases.store.db import Database, IntegrityError
from cases.store.time import Clock, to_db
from cases.webhooks.config import InboundType, WebhooksFile
from cases.webhooks.signing import (
    HEADER_DELIVERY,
    HEADER_EVENT,
    HEADER_SENDER,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    signature_matches,
)

WINDOW_SECONDS = 300
"""A request signed more than five minutes before (or after) it arrives is refused."""
MAX_BODY = 64 * 1024
NOTE_KIND = "external_note"
"""The case_events kind of a status note (shown to staff in the case history)."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
DeliveryId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,100}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: DeliveryId
    occurred_at: AwareDatetime | None = None


class HearingBody(_Body):
    type: Literal["hearing.scheduled"]
    court_case_number: Annotated[Text, StringConstraints(max_length=100)]
    starts_at: AwareDatetime


class NoteBody(_Body):
    type: Literal["case.note"]
    case_number: Annotated[Text, StringConstraints(max_length=40)]
    note: Annotated[Text, StringConstraints(max_length=2000)]


Reply = tuple[int, dict[str, Any]]


def refusal(code: int, error: str, message: str, **extra: Any) -> Reply:
    return code, {"ok": False, "error": error, "message": message, **extra}


class InboundService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: WebhooksFile,
        litigation: LitigationService,
        *,
        window: int = WINDOW_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.litigation = litigation
        self.window = window
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def handle(self, headers: Mapping[str, str], body: bytes) -> Reply:
        """The status code and JSON answer for one request (``headers`` case-insensitive)."""
        sender = self.config.sender(headers.get(HEADER_SENDER, "").strip())
        if sender is None:
            return refusal(401, "unknown_sender", f"{HEADER_SENDER} names no configured sender")
        stamp = headers.get(HEADER_TIMESTAMP, "").strip()
        if not (stamp.isascii() and stamp.isdigit()):
            return refusal(401, "bad_timestamp", f"{HEADER_TIMESTAMP} must be Unix seconds")
        skew = abs(self.clock.now().timestamp() - int(stamp))
        if skew > self.window:
            return refusal(
                401,
                "stale_timestamp",
                f"the timestamp is {int(skew)} s away from the server's clock "
                f"(at most {self.window} s): a replayed or delayed request",
            )
        given = headers.get(HEADER_SIGNATURE, "")
        if not signature_matches(sender.secret.get_secret_value(), stamp, body, given):
            return refusal(401, "bad_signature", f"{HEADER_SIGNATURE} does not match the body")
        event = headers.get(HEADER_EVENT, "").strip()
        if event not in {t.value for t in InboundType}:
            return refusal(400, "unknown_event", f"{HEADER_EVENT} must be one of "
                           + ", ".join(t.value for t in InboundType))  # fmt: skip
        if InboundType(event) not in sender.may:
            return refusal(403, "not_allowed", f"sender {sender.id} may not send {event}")
        delivery = headers.get(HEADER_DELIVERY, "").strip()
        try:
            raw = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return refusal(400, "bad_json", "the body is not JSON")
        model: type[_Body] = HearingBody if event == InboundType.hearing_scheduled else NoteBody
        try:
            data = model.model_validate(raw)
        except pydantic.ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in exc.errors()
            ]
            return refusal(422, "invalid_body", "; ".join(problems))
        if data.id != delivery:
            return refusal(400, "delivery_mismatch", f"the body's id must equal {HEADER_DELIVERY}")
        key = (sender.id, delivery)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                done = await self.db.fetch_one(
                    "SELECT code, response FROM webhook_inbound WHERE sender = ? AND delivery = ?",
                    key,
                )
                if done is not None:
                    return int(done["code"]), {**json.loads(done["response"]), "duplicate": True}
                if isinstance(data, HearingBody):
                    return await self._hearing(sender.id, data)
                assert isinstance(data, NoteBody)
                return await self._note(sender.id, data)
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    async def _remember(self, sender: str, data: _Body, reply: Reply) -> Reply:
        await self.db.execute(
            "INSERT OR IGNORE INTO webhook_inbound(sender, delivery, type, code, response,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (sender, data.id, getattr(data, "type", ""), reply[0], _dump(reply[1]),
             to_db(self.clock.now())),
        )  # fmt: skip
        return reply[0], {**reply[1], "duplicate": False}

    async def _hearing(self, sender: str, data: HearingBody) -> Reply:
        """Through the litigation service, so the L7 reminders are planned as for staff entry.
        The same court case and time already scheduled is the same hearing (a repeat whose
        record was lost to a crash between the two units)."""
        number = data.court_case_number
        starts_at = data.starts_at
        existing = await self.db.fetch_one(
            "SELECT h.id FROM hearings h JOIN lawsuits l ON l.id = h.lawsuit_id"
            " WHERE l.court_case_number = ? AND l.status = 'open' AND h.starts_at = ?"
            " AND h.status = 'scheduled' ORDER BY h.id LIMIT 1",
            (number, to_db(starts_at)),
        )
        if existing is not None:
            hearing_id = int(existing["id"])
        else:
            try:
                hearing = await self.litigation.add_hearing(number, starts_at, by=0)
            except LawsuitNotFound:
                return refusal(
                    404,
                    "court_case_not_found",
                    "no open court case with this number is registered",
                )
            except InputError as exc:
                return refusal(422, "invalid_hearing_time", f"hearing time refused ({exc.code})")
            hearing_id = hearing.id
        reply = (
            200,
            {
                "ok": True,
                "result": {
                    "hearing_id": hearing_id,
                    "court_case_number": number,
                    "starts_at": _iso(starts_at),
                },
            },
        )
        return await self._remember(sender, data, reply)

    async def _note(self, sender: str, data: NoteBody) -> Reply:
        """The note and the record of the request in one unit: acts once, whatever happens."""
        stamp = to_db(self.clock.now())
        reply_ok = {"ok": True, "result": {"case_number": data.case_number}}

        async def unit() -> bool:
            async with self.db.transaction() as conn:
                async with conn.execute(
                    "SELECT id FROM cases WHERE number = ?", (data.case_number,)
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    return False
                await append_event(
                    conn,
                    int(row[0]),
                    at=stamp,
                    actor_id=None,
                    actor_role="system",
                    kind=NOTE_KIND,
                    detail={"source": sender, "note": data.note, "delivery": data.id},
                )
                await conn.execute(
                    "INSERT INTO webhook_inbound(sender, delivery, type, code, response,"
                    " received_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (sender, data.id, data.type, 200, _dump(reply_ok), stamp),
                )
                return True

        try:
            found = await unit()
        except IntegrityError:  # the same delivery recorded meanwhile (another process)
            return 200, {**reply_ok, "duplicate": True}
        if not found:
            return refusal(404, "case_not_found", "no case with this number")
        return 200, {**reply_ok, "duplicate": False}


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _iso(moment: datetime) -> str:
    return moment.isoformat()
