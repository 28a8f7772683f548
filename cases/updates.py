"""Processed Telegram update ids: a re-delivered update is handled once.

The id is recorded **in the same transaction as the update's first write** (a begin hook on
the store), so an update's effects and the record that it was handled commit together: a crash
can neither lose an update that was marked handled, nor apply one twice. An update that writes
nothing is recorded on its own when its handler returns.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from cases.clock import Clock, to_db
from cases.db import Database, Statement

_pending: ContextVar[int | None] = ContextVar("pending_update_id", default=None)

_INSERT = (
    "INSERT INTO processed_updates(update_id, processed_at) VALUES (?, ?)"
    " ON CONFLICT(update_id) DO NOTHING"
)


class ProcessedUpdates:
    RECENT = 10_000  # ids kept in memory; older ones are looked up in the table

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._highest: int | None = None
        db.add_begin_hook(self._record_pending)

    async def seen(self, update_id: int) -> bool:
        if update_id in self._recent:
            return True
        if self._highest is None:
            self._highest = int(
                await self._db.fetch_value(
                    "SELECT coalesce(max(update_id), -1) FROM processed_updates"
                )
            )
        if update_id > self._highest:
            # Telegram numbers updates in increasing order, so an id above every recorded one
            # is new; only a lower id (a re-delivery, or Telegram's random restart of the
            # sequence after a week of silence) needs the table.
            return False
        found = await self._db.fetch_one(
            "SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        return found is not None

    @contextmanager
    def handling(self, update_id: int) -> Iterator[None]:
        """Within this block, the first unit of work also records the update."""
        token = _pending.set(update_id)
        try:
            yield
        finally:
            _pending.reset(token)

    async def finish(self, update_id: int) -> None:
        """After the handler: record the update if no unit of work did."""
        if _pending.get() == update_id:
            await self._db.execute(_INSERT, (update_id, to_db(self._clock.now())))
            _pending.set(None)
        self._recent[update_id] = None
        if self._highest is not None and update_id > self._highest:
            self._highest = update_id
        while len(self._recent) > self.RECENT:
            self._recent.popitem(last=False)

    def _record_pending(self) -> list[Statement]:
        update_id = _pending.get()
        if update_id is None:
            return []
        _pending.set(None)
        return [(_INSERT, (update_id, to_db(self._clock.now())))]

    async def purge(self, older_than: timedelta) -> int:
        cutoff = to_db(self._clock.now() - older_than)
        return await self._db.execute(
            "DELETE FROM processed_updates WHERE processed_at < ?", (cutoff,)
        )
