"""A county system's receiver, written here from the README contract alone, on 127.0.0.1.

It verifies every request's signature and timestamp the way a receiver must, deduplicates on
``X-Gucheng-Delivery``, and can be told to fail (answer 500) for a while.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from cases.webhooks.config import WebhooksFile

SECRET = "s3cret-of-the-12345-platform"
PROVINCE_SECRET = "another-secret-for-the-province"
COURT_SECRET = "the-county-court-shared-secret"


@dataclass
class Received:
    delivery: str
    event: str
    body: dict[str, Any]


@dataclass
class CountySystem:
    secret: str
    failing: bool = False
    delay: float = 0.0
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0
    bad_signatures: int = 0
    seen: set[str] = field(default_factory=set)
    duplicates: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = await request.read()
        stamp = request.headers["X-Gucheng-Timestamp"]
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected, request.headers["X-Gucheng-Signature"]):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        if self.failing:
            self.refused += 1
            return web.json_response({"error": "down"}, status=500)
        delivery = request.headers["X-Gucheng-Delivery"]
        body = json.loads(raw)
        assert body["id"] == delivery and body["type"] == request.headers["X-Gucheng-Event"]
        if delivery in self.seen:
            self.duplicates += 1
        else:
            self.seen.add(delivery)
            self.accepted.append(Received(delivery, request.headers["X-Gucheng-Event"], body))
        return web.json_response({"ok": True})

    async def start(self) -> CountySystem:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def receivers_file(*systems: tuple[str, CountySystem, bool], senders: list[dict] | None = None
                   ) -> WebhooksFile:  # fmt: skip
    """(id, system, may receive personal data) for each receiver; every event type."""
    return WebhooksFile.model_validate(
        {
            "receivers": [
                {
                    "id": rid,
                    "url": system.url,
                    "secret": system.secret,
                    "events": [
                        "case.created",
                        "case.routed",
                        "case.status_changed",
                        "deadline.overdue",
                        "hearing.recorded",
                        "booking.created",
                    ],
                    "may_receive_personal_data": personal,
                }
                for rid, system, personal in systems
            ],
            "senders": senders or [],
        }
    )


def signed_headers(
    secret: str, sender: str, event: str, delivery: str, body: bytes, stamp: int | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    mac = hmac.new(secret.encode(), str(stamp).encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Gucheng-Sender": sender,
        "X-Gucheng-Event": event,
        "X-Gucheng-Delivery": delivery,
        "X-Gucheng-Timestamp": str(stamp),
        "X-Gucheng-Signature": "sha256=" + mac.hexdigest(),
    }


def hearing_body(delivery: str) -> bytes:
    return json.dumps(
        {
            "id": delivery,
            "type": "hearing.scheduled",
            "court_case_number": "（2026）鄂0625行初12号",
            "starts_at": "2026-12-10T09:30:00+08:00",
        },
        ensure_ascii=False,
    ).encode()
