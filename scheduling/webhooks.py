"""The webhook pump: captured events out to county systems over HTTP (httpx).

Its own asyncio tasks beside polling: one that turns new events into deliveries (and finds
overdue deadlines), and one per receiver that sends that receiver's due deliveries, at most
``concurrency`` at a time, then records what happened in one unit of work. Nothing is held on
the database while a request is in flight (the due rows are read on the reader connection), and
every request has a timeout, so a slow or failing receiver delays only its own deliveries; the
chat's handlers never wait for it (benchmarks/webhooks.py measures that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import timedelta

import httpx

from cases.store.time import Clock
from cases.webhooks.config import Receiver
from cases.webhooks.queue import Due, Outcome, WebhookQueue
from cases.webhooks.signing import (
    HEADER_DELIVERY,
    HEADER_EVENT,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    signature,
)

log = logging.getLogger(__name__)
# httpx logs every request with its URL at INFO; a receiver's URL may carry an access token,
# and a receiver down for an hour would fill the log. The pump logs state changes itself.
logging.getLogger("httpx").setLevel(logging.WARNING)

USER_AGENT = "gucheng-bot-webhooks/1"
OVERDUE_EVERY = 60.0
"""Seconds between scans for deadlines that have run out (they change once a day)."""
PRUNE_EVERY = 3600.0
BATCH = 64
"""Deliveries read, sent and recorded together: one fsync per batch, not per request."""
PROBE_PAUSE = 1.0
PROBE_PAUSE_CAP = 15.0
"""While a receiver fails, it is probed with one delivery at a time, at intervals growing from
1 s to 15 s (with jitter), instead of every due delivery being tried: a receiver that is down
costs the bot (and the chat on the same event loop) almost nothing, and once it answers again
everything due flows at full speed within ``PROBE_PAUSE_CAP``."""


class WebhookPump:
    def __init__(
        self,
        queue: WebhookQueue,
        clock: Clock,
        *,
        concurrency: int = 8,
        timeout: float = 10.0,
        interval: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.queue = queue
        self.clock = clock
        self.concurrency = concurrency
        self.timeout = timeout
        self.interval = interval
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake: dict[str, asyncio.Event] = {}
        self._failing: set[str] = set()
        self._pause: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                transport=self._transport,
                follow_redirects=False,  # a redirect could carry the body somewhere else
                limits=httpx.Limits(max_connections=max(4, self.concurrency * 2)),
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    # --- one step each (tests and the loops call these) ----------------------------------------

    async def capture(self) -> int:
        """Overdue deadlines, then every new event fanned out; how many events were handled."""
        await self.queue.capture_overdue()
        total = 0
        while n := await self.queue.fan_out():
            total += n
        if total:
            for event in self._wake.values():
                event.set()
        return total

    async def deliver(self, receiver: Receiver) -> int:
        """Send one batch of this receiver's due deliveries; how many were tried."""
        probing = receiver.id in self._failing
        due = await self.queue.due(receiver.id, 1 if probing else BATCH)
        if not due:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def send(item: Due) -> Outcome:
            async with gate:
                return await self._send(receiver, item)

        # At most ``concurrency`` requests in flight; one unit of work records the batch.
        outcomes = await asyncio.gather(*(send(item) for item in due))
        dead = await self.queue.record(list(outcomes))
        self._report(receiver, outcomes, dead)
        if any(o.ok for o in outcomes):
            self._pause.pop(receiver.id, None)
            self._paused_until.pop(receiver.id, None)
        else:
            pause = min(PROBE_PAUSE_CAP, 2 * self._pause.get(receiver.id, PROBE_PAUSE / 2))
            self._pause[receiver.id] = pause
            self._paused_until[receiver.id] = time.monotonic() + random.uniform(pause / 2, pause)
        return len(due)

    async def _send(self, receiver: Receiver, item: Due) -> Outcome:
        stamp = str(int(self.clock.now().timestamp()))
        body = item.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            HEADER_EVENT: item.event_type,
            HEADER_DELIVERY: item.event_uid,
            HEADER_TIMESTAMP: stamp,
            HEADER_SIGNATURE: signature(receiver.secret.get_secret_value(), stamp, body),
        }
        try:
            response = await self.client.post(receiver.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return Outcome(
                item.id, item.receiver, item.subject, item.attempts, False, None, "timeout"
            )
        except httpx.HTTPError as exc:
            return Outcome(
                item.id,
                item.receiver,
                item.subject,
                item.attempts,
                False,
                None,
                type(exc).__name__,
            )
        code = response.status_code
        ok = 200 <= code < 300
        error = None if ok else f"HTTP {code}"
        return Outcome(item.id, item.receiver, item.subject, item.attempts, ok, code, error)

    def _report(self, receiver: Receiver, outcomes: list[Outcome], dead: list[int]) -> None:
        """State changes only (failing / recovered), not a line per request: a receiver down
        for an hour must not fill the log. Never the URL (it may carry a token) or a body."""
        failed = [o for o in outcomes if not o.ok]
        if len(failed) == len(outcomes) and receiver.id not in self._failing:
            self._failing.add(receiver.id)
            log.warning("webhook receiver %s is failing (%s)", receiver.id, failed[0].error)
        elif len(failed) < len(outcomes) and receiver.id in self._failing:
            self._failing.discard(receiver.id)
            log.info("webhook receiver %s accepts deliveries again", receiver.id)
        if dead:
            log.warning(
                "webhook receiver %s: %d deliver%s moved to the dead-letter list (/webhooks)",
                receiver.id,
                len(dead),
                "y" if len(dead) == 1 else "ies",
            )

    # --- the loops -----------------------------------------------------------------------------

    async def start(self) -> None:
        for receiver in self.queue.receivers:
            self._wake[receiver.id] = asyncio.Event()
        self._tasks = [asyncio.create_task(self._capture_loop(), name="webhooks-capture")]
        self._tasks += [
            asyncio.create_task(self._deliver_loop(r), name=f"webhooks-{r.id}")
            for r in self.queue.receivers
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _capture_loop(self) -> None:
        last_prune = 0.0
        last_overdue = 0.0
        while True:
            try:
                now = time.monotonic()
                if now - last_overdue >= OVERDUE_EVERY:
                    await self.queue.capture_overdue()
                    last_overdue = now
                total = 0
                while n := await self.queue.fan_out():
                    total += n
                    await asyncio.sleep(0)  # let the chat's units in between batches
                if total:
                    for event in self._wake.values():
                        event.set()
                if now - last_prune >= PRUNE_EVERY:
                    await self.queue.prune()
                    last_prune = now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook capture failed; trying again")
            await asyncio.sleep(self.interval)

    async def _deliver_loop(self, receiver: Receiver) -> None:
        wake = self._wake[receiver.id]
        while True:
            paused = self._paused_until.get(receiver.id, 0.0) - time.monotonic()
            if paused > 0:
                await asyncio.sleep(paused)
            try:
                if await self.deliver(receiver):
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery to %s failed; trying again", receiver.id)
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), await self._idle(receiver))

    async def _idle(self, receiver: Receiver) -> float:
        """Sleep until the next delivery falls due, at most ``interval``. A pending delivery
        already due but not sent waits behind an earlier one of its subject: no hurry then."""
        nxt = await self.queue.next_due_at(receiver.id)
        wait = (nxt - self.clock.now()) / timedelta(seconds=1) if nxt else 0.0
        return self.interval if wait <= 0 else min(self.interval, max(0.01, wait))
