"""Conversation state in Redis expires (README, "Privacy"): an abandoned booking form's name
and phone number do not stay there for good."""

from __future__ import annotations

import os
import uuid

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from bot import FSM_TTL, shared_state
from settings import Settings
from tests.fakes.telegram import TOKEN

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def test_an_abandoned_forms_state_in_redis_expires() -> None:
    probe = Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        await probe.aclose()
        pytest.skip(f"no Redis server at {REDIS_URL} ({type(exc).__name__}): set TEST_REDIS_URL")
    settings = Settings(bot_token=TOKEN, redis_url=REDIS_URL, _env_file=None)
    bot_id = int(uuid.uuid4().int % 10**9)
    shared = shared_state(settings, bot_id)
    assert shared is not None
    key = StorageKey(bot_id=bot_id, chat_id=7001, user_id=7001)
    try:
        await shared.storage.set_state(key, "Booking:phone")
        await shared.storage.set_data(key, {"person_name": "王芳", "person_phone": "13900001111"})
        keys = [k async for k in probe.scan_iter(match=f"gucheng:fsm:{bot_id}:*")]
        assert len(keys) == 2  # the state and the data
        for name in keys:
            ttl = await probe.ttl(name)
            assert 0 < ttl <= FSM_TTL.total_seconds()
    finally:
        await probe.delete(*[k async for k in probe.scan_iter(match=f"gucheng:fsm:{bot_id}:*")])
        await shared.storage.close()
        await probe.aclose()
