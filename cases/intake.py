"""Intake: drafts saved after every answer, and their submission as a case."""

from __future__ import annotations

from cases.clock import Clock, to_db
from cases.db import Database


class IntakeService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def discard_draft(self, draft_id: int, *, user_id: int) -> bool:
        changed = await self._db.execute(
            "UPDATE drafts SET status = 'discarded', updated_at = ?"
            " WHERE id = ? AND user_id = ? AND status = 'open'",
            (to_db(self._clock.now()), draft_id, user_id),
        )
        return changed == 1
