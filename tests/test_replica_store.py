"""What replicas sharing one store rely on, on both stores: a daily job's lock is held by one
process at a time, and the outbox's leases split the due rows between processes."""

from __future__ import annotations

from datetime import timedelta

from cases.store.db import Database
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
