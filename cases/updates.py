"""Processed Telegram update ids: a re-delivered update is handled once."""

from __future__ import annotations

from datetime import timedelta

from cases.clock import Clock, to_db
from cases.db import Database


class ProcessedUpdates:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, update_id: int) -> bool:
        """Record the update; False when it was recorded before (a re-delivery)."""
        changed = await self._db.execute(
            "INSERT INTO processed_updates(update_id, processed_at) VALUES (?, ?)"
            " ON CONFLICT(update_id) DO NOTHING",
            (update_id, to_db(self._clock.now())),
        )
        return changed == 1

    async def release(self, update_id: int) -> None:
        """Forget an update whose handling failed before anything was saved, so a retry runs."""
        await self._db.execute("DELETE FROM processed_updates WHERE update_id = ?", (update_id,))

    async def purge(self, older_than: timedelta) -> int:
        cutoff = to_db(self._clock.now() - older_than)
        return await self._db.execute(
            "DELETE FROM processed_updates WHERE processed_at < ?", (cutoff,)
        )
