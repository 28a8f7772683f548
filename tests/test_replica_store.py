"""What replicas sharing one store rely on, on both stores: a daily job's lock is held by one
process at a time, and the outbox's leases split the due rows between processes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from cases.store.db import Connection, Database
from cases.store.time import FakeClock
from scheduling.outbox import LEASE, Outbox
from tests.backends import second_process
from tests.scheduling_helpers import FakeTransport, add_reminder


async def test_a_daily_job_runs_in_one_process_at_a_time(db: Database) -> None:
    async with second_process(db) as other:
        async with db.job_lock("digest") as first:
            async with other.job_lock("digest") as second:
                assert (first, second) == (True, False)
            async with other.job_lock("purge") as another_job:
                assert another_job is True
        async with other.job_lock("digest") as after_release:
            assert after_release is True


async def test_two_processes_lease_different_due_reminders(db: Database, clock: FakeClock) -> None:
    for n in range(10):
        await add_reminder(db, chat_id=5000 + n, due_at=clock.now() - timedelta(minutes=1))
    async with second_process(db) as other:
        mine = Outbox(db, FakeTransport(), clock, admin_ids=[], batch_size=4)
        theirs = Outbox(other, FakeTransport(), clock, admin_ids=[], batch_size=4)
        first = await mine._lease(clock.now(), 4)
        second = await theirs._lease(clock.now(), 4)
        assert len(first) == len(second) == 4
        assert not {r.id for r in first} & {r.id for r in second}
        # A process that died keeps its rows only until the lease runs out.
        clock.advance(LEASE + timedelta(seconds=1))
        taken_over = await theirs._lease(clock.now(), 10)
        assert {r.id for r in first} <= {r.id for r in taken_over}


async def test_a_cancelled_unit_keeps_the_writer_until_it_ends(db: Database) -> None:
    """A handler cancelled while its unit runs (a timeout, a shutdown): the unit finishes in
    the database's thread, and the next unit does not use the connection at the same time."""

    def slow_write(conn: Connection) -> None:
        time.sleep(0.3)
        conn.execute(
            "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (?, 'x', 'x')", (71,)
        )

    unit = asyncio.create_task(db.run(slow_write))
    await asyncio.sleep(0.1)
    unit.cancel()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (?, 'x', 'x')", (72,)
        )
    with pytest.raises(asyncio.CancelledError):
        await unit
    rows = await db.fetch_all("SELECT telegram_id FROM users WHERE telegram_id IN (71, 72)")
    assert sorted(r[0] for r in rows) == [71, 72]
