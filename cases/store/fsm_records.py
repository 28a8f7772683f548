"""Rows behind the conversation state. The aiogram adapter lives in handlers/storage.py."""

from __future__ import annotations

import json
from typing import Any

from cases.store.db import Database
from cases.store.time import Clock, to_db

StateKey = tuple[int, int, int, int, str, str]
"""bot_id, chat_id, user_id, thread_id (0: none), business_connection_id ('': none), destiny."""

_KEY_WHERE = (
    "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ?"
    " AND business_connection_id = ? AND destiny = ?"
)


class FsmRecords:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def load(self, key: StateKey) -> tuple[str | None, dict[str, Any]]:
        row = await self._db.fetch_one(
            f"SELECT state, data FROM fsm_states WHERE {_KEY_WHERE}", key
        )
        if row is None:
            return None, {}
        return row[0], json.loads(row[1])

    async def save(self, key: StateKey, state: str | None, data: dict[str, Any]) -> None:
        if state is None and not data:
            await self._db.execute(f"DELETE FROM fsm_states WHERE {_KEY_WHERE}", key)
            return
        await self._db.execute(
            "INSERT INTO fsm_states(bot_id, chat_id, user_id, thread_id,"
            " business_connection_id, destiny, state, data, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(bot_id, chat_id, user_id, thread_id, business_connection_id, destiny)"
            " DO UPDATE SET state = excluded.state, data = excluded.data,"
            " updated_at = excluded.updated_at",
            (*key, state, json.dumps(data, ensure_ascii=False), to_db(self._clock.now())),
        )
