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
from dataclasses import dataclass
from datetime import timedelta

from cases.store.db import Database, OnCommit, Statement
from cases.store.time import Clock, to_db


@dataclass
class _Handling:
    update_id: int
    recorded: bool = False

    def mark_recorded(self) -> None:
        self.recorded = True


_handling: ContextVar[_Handling | None] = ContextVar("handling_update", default=None)

_INSERT = (
    "INSERT INTO processed_updates(update_id, processed_at) VALUES (?, ?)"
    " ON CONFLICT(update_id) DO NOTHING"
)


class ProcessedUpdates:
    RECENT = 10_000  # ids kept in memory; older ones are looked up in the table

    def __init__(self, db: Database, clock: Clock, *, alone: bool = True) -> None:
        """``alone``: this process receives every update of the bot (polling). Replicas behind
        a load balancer each see some of them, so an id above the highest one a replica has
        handled may well be another replica's, already applied: they always ask the table."""
        self._db = db
        self._clock = clock
        self._alone = alone
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._highest: int | None = None
        db.add_begin_hook(self._record_pending)

    async def seen(self, update_id: int) -> bool:
        if update_id in self._recent:
            return True
        if not self._alone:
            return await self._recorded(update_id)
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
        return await self._recorded(update_id)

    async def _recorded(self, update_id: int) -> bool:
        found = await self._db.fetch_one(
            "SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        return found is not None

    @contextmanager
    def handling(self, update_id: int) -> Iterator[None]:
        """Within this block, units of work also record the update until one has committed."""
        token = _handling.set(_Handling(update_id))
        try:
            yield
        finally:
            _handling.reset(token)

    async def finish(self, update_id: int) -> None:
        """After the handler: record the update if no committed unit of work did."""
        current = _handling.get()
        if current is not None and current.update_id == update_id and not current.recorded:
            await self._db.execute(_INSERT, (update_id, to_db(self._clock.now())))
        self._recent[update_id] = None
        if self._highest is not None and update_id > self._highest:
            self._highest = update_id
        while len(self._recent) > self.RECENT:
            self._recent.popitem(last=False)

    def _record_pending(self) -> tuple[list[Statement], OnCommit] | None:
        current = _handling.get()
        if current is None or current.recorded:
            return None
        return [(_INSERT, (current.update_id, to_db(self._clock.now())))], current.mark_recorded


async def purge_processed_updates(db: Database, clock: Clock, older_than: timedelta) -> int:
    """The daily clean-up. A function, not a method: a ProcessedUpdates instance hooks itself
    into every unit of work, so creating one per purge would add a hook a day for good."""
    cutoff = to_db(clock.now() - older_than)
    return await db.execute("DELETE FROM processed_updates WHERE processed_at < ?", (cutoff,))
