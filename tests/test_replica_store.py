"""What replicas sharing one store rely on, on both stores: a daily job's lock is held by one
process at a time, the outbox's leases split the due rows between processes, and an update one
replica applied is not applied again by another, nor is a form lost whose opening committed
just before its process died."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cases.intake.service import IntakeService
from cases.store.db import Connection, Database
from cases.store.migrate import load_migrations, migrate
from cases.store.postgres import PostgresDatabase
from cases.store.processed_updates import ProcessedUpdates
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock
from scheduling.outbox import LEASE, Outbox, OutboxRow
from tests.backends import POSTGRES, postgres_database, postgres_probe, second_process
from tests.fakes.telegram import BotClient
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


async def handle(processed: ProcessedUpdates, update_id: int) -> None:
    """What the dedup middleware does around a handler that writes nothing."""
    with processed.handling(update_id):
        await processed.finish(update_id)


async def test_an_update_another_replica_applied_is_seen_whatever_ids_this_one_had(
    db: Database, clock: FakeClock
) -> None:
    """Telegram sends an update again (its replica died before answering) to another replica
    whose own highest update id is lower: that is no proof the update is new."""
    async with second_process(db) as other:
        first = ProcessedUpdates(db, clock, alone=False)
        second = ProcessedUpdates(other, clock, alone=False)
        assert not await second.seen(100)
        await handle(second, 100)
        assert not await first.seen(107)
        await handle(first, 107)  # committed; its replica is then killed before the 200
        assert await second.seen(107)
        assert not await second.seen(108)


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


def test_the_writer_lock_is_one_per_schema_however_the_schema_is_named() -> None:
    """Two deployments (or two test runs) in two schemas of one server do not wait for each
    other's writes; every process of one schema takes the same lock, whether the schema came
    as ``schema=`` or as DATABASE_URL's ``?search_path=``."""
    server = "postgresql://postgres@127.0.0.1:5432/test"
    by_url = PostgresDatabase(f"{server}?search_path=county_a")
    by_argument = PostgresDatabase(server, schema="county_a")
    other = PostgresDatabase(f"{server}?search_path=county_b")
    assert by_url._writer_key == by_argument._writer_key
    assert by_url._writer_key != other._writer_key


class LeaseWatcher(FakeTransport):
    """Counts, at every send, the due rows this process holds leased and has not sent."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.owner = ""
        self.held: list[int] = []

    async def deliver(self, row: OutboxRow) -> int:
        self.held.append(
            int(
                await self.db.fetch_value(
                    "SELECT count(*) FROM reminders WHERE leased_by = ? AND status = 'pending'",
                    (self.owner,),
                )
            )
        )
        return await super().deliver(row)


async def test_a_long_dispatch_leases_one_batch_at_a_time(db: Database, clock: FakeClock) -> None:
    """A backlog is leased a batch at a time, so no lease outlives its batch's sending (LEASE)
    and the other replicas find the rest free: the lease grew with every batch, to 1,600 rows
    per replica in the 10,000-reminder run (tests/test_replicas_pg.py), whose leases ran out
    while 250 rows each were still waiting to be sent."""
    for n in range(30):
        await add_reminder(db, chat_id=6000 + n, due_at=clock.now() - timedelta(minutes=1))
    transport = LeaseWatcher(db)
    outbox = Outbox(db, transport, clock, admin_ids=[], batch_size=4, concurrency=1)
    transport.owner = outbox.owner
    report = await outbox.dispatch_due()
    assert report.sent == 30
    assert max(transport.held) <= 4, transport.held


async def test_a_form_opened_by_a_process_that_died_after_the_commit_goes_on(
    client: BotClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The draft commits with the update's processed record; the conversation state (Redis,
    with replicas) is written apart. A process killed between the two must not leave the
    citizen outside the form: Telegram's second delivery of /petition is (rightly) dropped,
    and the next answer must still reach the draft."""
    opened = IntakeService.open_draft

    async def open_then_die(self: IntakeService, *args: Any) -> Any:
        await opened(self, *args)
        raise RuntimeError("killed -9 right after the commit")

    monkeypatch.setattr(IntakeService, "open_draft", open_then_die)
    await client.send("/petition", update_id=555)
    monkeypatch.setattr(IntakeService, "open_draft", opened)
    assert await db.fetch_value("SELECT step FROM drafts") == "elsewhere"
    seen = len(client.texts())
    await client.send("/petition", update_id=555)  # Telegram's second delivery
    assert client.texts()[seen:] == []
    await client.send("没有，其他地方都没有受理")
    assert "您要反映的是哪一类事项？" in client.last_text()
    assert await db.fetch_value("SELECT step FROM drafts") == "petition_kind"


async def test_replicas_started_together_on_a_new_database_migrate_it_once(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """``docker compose up --scale bot=3`` on an empty database: every replica reads the same
    pending migrations; one applies each, the others find it applied (none exits with 3)."""

    @asynccontextmanager
    async def fresh() -> AsyncIterator[Database]:
        if backend == POSTGRES:
            url = request.config.stash[postgres_probe.key].url
            async with postgres_database(url) as database:
                yield database
        else:
            async with SqliteDatabase(tmp_path / "new.sqlite3") as database:
                yield database

    async with fresh() as first, second_process(first) as second:
        results = await asyncio.gather(migrate(first), migrate(second), migrate(first))
        names = [name for applied in results for name in applied]
        assert sorted(names) == sorted({*names})  # each applied by one of them
        versions = await first.fetch_all("SELECT version FROM schema_migrations")
        assert len(versions) == len(load_migrations()) == len(names)
