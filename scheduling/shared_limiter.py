"""One send-rate budget for every replica of the bot, kept in Redis.

Telegram's limits are per bot, not per process (~30 messages/s overall, ~1/s per chat;
engineering.md §4): three replicas each pacing themselves at 25/s would send 75/s and be
answered with 429s. With ``REDIS_URL`` set the replicas draw their send slots from one budget:
a Lua script reserves, atomically, the next global slot (``1/per_second`` apart) and the chat's
next slot, and a 429 seen by one replica pauses all of them. Without Redis the in-process
:class:`scheduling.sender.RateLimiter` does the same for one process.

A message whose chat is not due yet takes no global slot (it waits and asks again), so one busy
chat never holds up messages to others. Group budgets are not kept here: the bot writes to
private chats only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

PREFIX = "gucheng:send"
KEY_TTL_MS = 60_000

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
local chat_next = tonumber(redis.call('GET', KEYS[2]) or '0')
local ready = math.max(pause, chat_next)
if ready > now then
    return {0, ready - now}
end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', ARGV[3])
redis.call('SET', KEYS[2], slot + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]) + tonumber(ARGV[3]))
return {1, slot - now}
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
    redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000)
end
return until_ms
"""


class SharedRateLimiter:
    """The :class:`scheduling.sender.RateLimiter` interface (``acquire``, ``pause``) over
    Redis. ``namespace`` separates bots sharing one Redis (the bot's id)."""

    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str = "bot",
        per_second: float = 25.0,
        per_chat_interval: float = 1.0,
    ) -> None:
        self._redis = redis
        self._spacing_ms = max(1, round(1000 / per_second))
        self._chat_ms = max(1, round(per_chat_interval * 1000))
        self._global = f"{PREFIX}:{namespace}:next"
        self._paused = f"{PREFIX}:{namespace}:paused"
        self._chat = f"{PREFIX}:{namespace}:chat:"
        self._reserve: Any = redis.register_script(_RESERVE)
        self._pause: Any = redis.register_script(_PAUSE)
        self._pending: set[asyncio.Task[Any]] = set()

    async def acquire(self, chat_id: int) -> None:
        """Returns at this message's slot: after every earlier reservation of any replica, at
        least ``per_chat_interval`` after this chat's previous message, and after a pause."""
        while True:
            reserved, delay_ms = await self._reserve(
                keys=[self._global, self._chat + str(chat_id), self._paused],
                args=[self._spacing_ms, self._chat_ms, KEY_TTL_MS],
            )
            if delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000)
            if reserved:
                return

    def pause(self, seconds: float) -> None:
        """After a 429 every replica waits ``retry_after`` (written in the background: the
        sender calls this from its error path)."""
        task = asyncio.get_running_loop().create_task(
            self._pause(keys=[self._paused], args=[max(1, round(seconds * 1000))])
        )
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not share a rate-limit pause: %s", task.exception())
