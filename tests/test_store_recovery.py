"""The store after something went wrong: a lost or wedged writer connection, a unit that
caught its own statement's error, cancelled callers. Each test is named after the defect it
guards against (review rev1); most run on both stores, the connection ones on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from cases.store.db import MAX_GROUP, Database, IntegrityError
from cases.store.migrate import migrate
from cases.store.postgres import PostgresDatabase
from cases.store.sqlite import SqliteDatabase
from tests.backends import POSTGRES, postgres_database, postgres_probe, second_process

INSERT_USER = "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (?, 'a', 'a')"


async def user_ids(db: Database) -> list[int]:
    return [int(r[0]) for r in await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")]


@pytest.fixture
async def pg(request: pytest.FixtureRequest) -> AsyncIterator[PostgresDatabase]:
    """A PostgreSQL store on a schema of its own with one table (no migrations needed)."""
    url = request.config.stash[postgres_probe.key].url
    if url is None:
        pytest.skip("needs a PostgreSQL server at TEST_DATABASE_URL")
    async with postgres_database(url) as database:
        await database.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        yield database


async def ids_in(db: Database) -> list[int]:
    return [int(r[0]) for r in await db.fetch_all("SELECT id FROM t ORDER BY id")]


async def terminate(db: PostgresDatabase, pid: int, *, wait: bool = True) -> None:
    """What a PostgreSQL restart (or an operator's pg_terminate_backend) does to a session;
    ``wait``: until the server has ended it."""
    admin = await asyncpg.connect(db.url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        for _ in range(100 if wait else 0):
            if not await admin.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
                break
            await asyncio.sleep(0.02)
    finally:
        await admin.close()


# --- a lost writer connection: the replica recovers instead of failing every write ----------


async def test_writes_after_the_writers_backend_was_terminated_reconnect(
    pg: PostgresDatabase,
) -> None:
    """Every write failed with "connection is closed" for good. The next write after the
    loss must succeed, whether or not asyncpg has noticed it yet (the write right after the
    server ended the session finds it dead only at BEGIN)."""
    await pg.execute("INSERT INTO t VALUES (?)", (0,))
    for i in range(1, 7):
        await terminate(pg, pg.writer.get_server_pid(), wait=i % 3 == 0)
        if i % 2:
            await pg.execute("INSERT INTO t VALUES (?)", (i,))
        else:
            async with pg.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (?)", (i,))
    assert await ids_in(pg) == list(range(7))


async def test_a_unit_whose_connection_dies_fails_and_the_next_unit_reconnects(
    pg: PostgresDatabase,
) -> None:
    def dies(conn: object) -> None:
        conn.execute("INSERT INTO t VALUES (?)", (1,))  # type: ignore[attr-defined]
        conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")  # type: ignore[attr-defined]

    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)):
        await pg.run(dies)
    await pg.execute("INSERT INTO t VALUES (?)", (2,))
    assert await ids_in(pg) == [2]


async def test_a_writer_lock_wait_that_timed_out_does_not_wedge_the_writer(
    pg: PostgresDatabase,
) -> None:
    """statement_timeout (often set on the role) ends the wait for the cluster-wide writer
    lock while another replica writes; the failed BEGIN must not leave an aborted
    transaction open, or every later write of this replica fails."""
    await pg.writer.execute("SET statement_timeout = '200ms'")
    other = PostgresDatabase(pg.url, schema=pg.schema, pool_size=1)
    await other.open()
    try:
        holding, release = asyncio.Event(), asyncio.Event()

        async def long_unit() -> None:
            async with other.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (?)", (1,))
                holding.set()
                await release.wait()

        task = asyncio.create_task(long_unit())
        await holding.wait()
        try:
            with pytest.raises(asyncpg.QueryCanceledError):
                await pg.execute("INSERT INTO t VALUES (?)", (2,))
        finally:
            release.set()
            await task
        await pg.execute("INSERT INTO t VALUES (?)", (3,))
        async with pg.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (?)", (4,))
    finally:
        await other.close()
    assert await ids_in(pg) == [1, 3, 4]


async def test_a_transaction_cancelled_twice_mid_statement_does_not_wedge_the_writer(
    pg: PostgresDatabase,
) -> None:
    """The second cancellation (a shutdown) lands while asyncpg waits for the server to
    cancel the first statement, before its ROLLBACK is sent: the writer is left in an aborted
    transaction, which the next unit must end rather than fail on."""

    async def handler() -> None:
        async with pg.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (?)", (1,))
            await conn.execute("SELECT pg_sleep(2)")

    task = asyncio.create_task(handler())
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with pg.transaction() as conn:
        await conn.execute("INSERT INTO t VALUES (?)", (2,))
    await pg.execute("INSERT INTO t VALUES (?)", (3,))
    assert await ids_in(pg) == [2, 3]


# --- a unit that caught its own statement's error -------------------------------------------


async def test_a_transaction_that_caught_a_failed_statement_never_reports_a_lost_commit(
    db: Database, clock
) -> None:
    """SQLite undoes only the failed statement; PostgreSQL aborts the whole transaction and
    answers its COMMIT with ROLLBACK. Either the unit's writes commit and its on-commit
    callbacks run (the update is marked recorded), or the caller gets an error and neither
    happens: never a silent rollback reported as a commit."""
    from cases.store.processed_updates import ProcessedUpdates

    processed = ProcessedUpdates(db, clock)
    await db.execute(INSERT_USER, (1,))
    committed = True
    with processed.handling(77):
        try:
            async with db.transaction() as conn:
                await conn.execute(INSERT_USER, (2,))
                with contextlib.suppress(IntegrityError):
                    await conn.execute(INSERT_USER, (1,))  # a double press
        except Exception:
            committed = False
        await processed.finish(77)
    users = await user_ids(db)
    recorded = await db.fetch_all("SELECT update_id FROM processed_updates")
    assert [r[0] for r in recorded] == [77]  # recorded by its unit, or else by finish()
    assert users == ([1, 2] if committed else [1])


async def test_a_unit_that_caught_a_failed_statement_does_not_fail_its_whole_batch(
    db: Database,
) -> None:
    """Group commit: on PostgreSQL the swallowed error left the savepoint aborted, its
    RELEASE failed and the whole batch (other citizens' units) was rolled back."""
    await db.execute(INSERT_USER, (1,))

    def swallows(conn: sqlite3.Connection) -> str:
        try:
            conn.execute(INSERT_USER, (1,))
        except IntegrityError:
            return "duplicate"
        return "inserted"

    def insert(i: int):
        return db.run(lambda conn: conn.execute(INSERT_USER, (i,)).rowcount)

    results = await asyncio.gather(
        insert(10), db.run(swallows), insert(11), insert(12), return_exceptions=True
    )
    assert results[0] == results[2] == results[3] == 1
    assert results[1] == "duplicate" or isinstance(results[1], Exception)
    assert await user_ids(db) == [1, 10, 11, 12]


# --- callers cancelled while their unit waits for the writer --------------------------------


async def test_a_unit_cancelled_before_it_started_is_not_applied_later(db: Database) -> None:
    """A caller cancelled while waiting for the writer was told it failed: its unit must not
    commit later in someone else's batch."""

    def slow(conn: sqlite3.Connection) -> None:
        time.sleep(0.3)
        conn.execute(INSERT_USER, (1,))

    first = asyncio.create_task(db.run(slow))
    await asyncio.sleep(0.1)
    waiting = asyncio.create_task(db.execute(INSERT_USER, (2,)))
    await asyncio.sleep(0)
    waiting.cancel()
    await first
    await db.execute(INSERT_USER, (3,))
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await user_ids(db) == [1, 3]


async def test_a_unit_behind_a_full_batch_of_cancelled_callers_still_gets_its_result(
    db: Database,
) -> None:
    """The lock holder takes the first MAX_GROUP pending units; with that many orphaned
    units (cancelled callers) ahead of it, its own was not in the batch and its caller got
    InvalidStateError while the unit stayed queued."""

    def slow(conn: sqlite3.Connection) -> None:
        time.sleep(0.3)

    first = asyncio.create_task(db.run(slow))
    await asyncio.sleep(0.1)
    orphans = [asyncio.create_task(db.execute(INSERT_USER, (100 + i,))) for i in range(MAX_GROUP)]
    await asyncio.sleep(0)
    for task in orphans:
        task.cancel()
    last = asyncio.create_task(db.execute(INSERT_USER, (1,)))
    await first
    assert await last == 1
    await asyncio.gather(*orphans, return_exceptions=True)
    assert 1 in await user_ids(db)


async def test_a_batch_that_failed_whole_logs_no_unretrieved_future(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The caller holding the writer got the batch's error directly; its own future kept the
    same error unread, and asyncio logged "Future exception was never retrieved" (with a
    traceback, at ERROR) for every batch that failed as a whole."""

    def refuse(raw: object) -> None:
        raise RuntimeError("the writer is unavailable")

    monkeypatch.setattr(db, "_begin", refuse)
    failed = False
    try:
        await db.execute(INSERT_USER, (1,))
    except RuntimeError:
        failed = True
    gc.collect()
    await asyncio.sleep(0)
    assert failed
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


# --- the cluster-wide writer lock is the same for every spelling of the schema --------------


async def test_the_writer_lock_is_shared_by_a_url_search_path_and_the_schema_argument(
    pg: PostgresDatabase,
) -> None:
    """The bot names its schema in DATABASE_URL (?search_path=); scripts/sqlite_to_postgres.py
    and the tests pass schema=. Both must take the same writer lock, or their writes are not
    serialised (the lock was named after the argument only, "public" for the bot)."""
    assert pg.schema is not None
    other = PostgresDatabase(f"{pg.url}?search_path={pg.schema}", pool_size=1)
    await other.open()
    try:
        holding, release = asyncio.Event(), asyncio.Event()

        async def long_unit() -> None:
            async with pg.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (?)", (1,))
                holding.set()
                await release.wait()

        task = asyncio.create_task(long_unit())
        await holding.wait()
        waiting = asyncio.create_task(other.execute("INSERT INTO t VALUES (?)", (2,)))
        await asyncio.sleep(0.5)
        waited = not waiting.done()  # for the writer lock
        release.set()
        await task
        assert await waiting == 1
        assert waited
    finally:
        release.set()
        await other.close()
    assert await ids_in(pg) == [1, 2]


# --- replicas starting together ---------------------------------------------------------------


@pytest.fixture
async def empty_store(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A store with no migration applied yet, on either backend."""
    if backend == POSTGRES:
        url = request.config.stash[postgres_probe.key].url
        assert url is not None
        async with postgres_database(url) as database:
            yield database
        return
    async with SqliteDatabase(tmp_path / "m.sqlite3") as database:
        yield database


async def test_replicas_starting_together_both_migrate_without_failing(
    empty_store: Database,
) -> None:
    """Each process read the applied versions before taking the writer lock, so the second
    of two starting at once applied the same migration again and stopped with "database
    migration failed" (a rolling deploy, or several replicas started at once)."""
    async with second_process(empty_store) as other:
        results = await asyncio.gather(
            migrate(empty_store), migrate(other), return_exceptions=True
        )
    assert not [r for r in results if isinstance(r, BaseException)], results
    first, second = results
    assert isinstance(first, list) and isinstance(second, list)
    assert sorted(first + second) == sorted({*first, *second})  # each applied once
    versions = await empty_store.fetch_all("SELECT version FROM schema_migrations")
    assert len(versions) == len(first) + len(second)
