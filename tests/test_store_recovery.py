"""The store after something went wrong: a lost or wedged writer connection, a unit that
caught its own statement's error, cancelled callers. Each test is named after the defect it
guards against (review rev1); most run on both stores, the connection ones on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from cases.store.db import Database
from cases.store.postgres import PostgresDatabase
from tests.backends import postgres_database, postgres_probe

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
