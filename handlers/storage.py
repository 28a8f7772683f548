"""aiogram FSM storage in the bot's own SQLite database.

A half-filled form must survive a restart (DESIGN.md "Storage"), which MemoryStorage cannot do.
State is small (the step and a draft id); the answers themselves live in the ``drafts`` table.
Reads are served from a write-through cache: there is one process per database, so the cache is
never stale, and a form step costs no read round trip.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from cases.store.fsm_records import FsmRecords, StateKey


def _row_key(key: StorageKey) -> StateKey:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id or 0,
        key.business_connection_id or "",
        key.destiny,
    )


class SqliteStorage(BaseStorage):
    """The cache holds its own deep copies: a handler that changes a nested value of the data
    it read (``data["triage"][q] = …``) and saves it must not find the cache already changed,
    which would skip the write and lose the answer at the next restart."""

    def __init__(self, records: FsmRecords) -> None:
        self._records = records
        self._cache: dict[StateKey, tuple[str | None, dict[str, Any]]] = {}

    async def _load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        row_key = _row_key(key)
        if row_key not in self._cache:
            self._cache[row_key] = await self._records.load(row_key)
        return self._cache[row_key]

    async def _save(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        row_key = _row_key(key)
        if self._cache.get(row_key) == (state, data):
            return  # unchanged: no write (handlers re-assert their state on every button)
        await self._records.save(row_key, state, data)
        self._cache[row_key] = (state, copy.deepcopy(data))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        _, data = await self._load(key)
        value = state.state if isinstance(state, State) else state
        await self._save(key, value, dict(data))

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._load(key)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        state, _ = await self._load(key)
        await self._save(key, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._load(key)
        return copy.deepcopy(data)

    async def close(self) -> None:
        self._cache.clear()
