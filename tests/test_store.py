from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cases.store.db import DATABASE_ERRORS, Database, IntegrityError
from cases.store.migrate import MigrationError, migrate
from cases.store.sqlite import SqliteDatabase
from tests.backends import POSTGRES, postgres_database, postgres_probe
from tests.support import migrations_where


@pytest.mark.sqlite_only  # the SQLite file's PRAGMAs
async def test_pragmas_make_commits_durable_and_keys_enforced(db: Database) -> None:
    assert (await db.fetch_value("PRAGMA journal_mode")) == "wal"
    assert (await db.fetch_value("PRAGMA foreign_keys")) == 1
    async with db.transaction() as conn:
        cursor = await conn.execute("PRAGMA synchronous")
        assert (await cursor.fetchone())[0] == 2  # FULL


async def test_foreign_key_violation_is_refused(db: Database) -> None:
    with pytest.raises(IntegrityError):
        await db.execute(
            "INSERT INTO drafts(user_id, procedure, created_at, updated_at)"
            " VALUES (999, 'petition', 'x', 'x')"
        )


async def test_failed_unit_of_work_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1, 'a', 'a')"
            )
            raise RuntimeError("boom")
    assert await db.fetch_value("SELECT count(*) FROM users") == 0


async def test_concurrent_units_of_work_do_not_interleave(db: Database) -> None:
    """A rollback in one coroutine must not erase another's insert (engineering.md E4)."""

    async def good(i: int) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (?, 'a', 'a')", (i,)
            )
            await asyncio.sleep(0)

    async def bad() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (-1, 'a', 'a')"
            )
            await asyncio.sleep(0)
            raise ValueError

    results = await asyncio.gather(*(good(i) for i in range(20)), bad(), return_exceptions=True)
    assert sum(isinstance(r, ValueError) for r in results) == 1
    assert await db.fetch_value("SELECT count(*) FROM users") == 20


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


async def test_migrations_are_recorded_and_not_reapplied(empty_store: Database) -> None:
    first = await migrate(empty_store)
    assert first and first[0].startswith("0001_")
    assert await migrate(empty_store) == []
    versions = await empty_store.fetch_all("SELECT version FROM schema_migrations")
    assert len(versions) == len(first)


async def test_failing_migration_rolls_back_whole(empty_store: Database, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    (migrations / "postgresql").mkdir(parents=True)
    for folder in (migrations, migrations / "postgresql"):  # the same SQL in both dialects
        (folder / "0001_ok.sql").write_text("CREATE TABLE a (x INTEGER);\n")
        (folder / "0002_broken.sql").write_text(
            "CREATE TABLE b (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n"
        )
    with pytest.raises(MigrationError, match="0002_broken"):
        await migrate(empty_store, migrations)
    assert await empty_store.fetch_value("SELECT count(*) FROM a") == 0
    with pytest.raises(DATABASE_ERRORS, match=r"\bb\b"):  # the half of 0002 that ran rolled back
        await empty_store.fetch_value("SELECT count(*) FROM b")
    assert await empty_store.fetch_value("SELECT max(version) FROM schema_migrations") == 1


async def test_case_history_is_append_only(db: Database) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1, 'a', 'a')"
            )
            await conn.execute(
                "INSERT INTO cases(id, number, procedure, status, citizen_id, subject,"
                " received_on, created_at, updated_at)"
                " VALUES (1, 'XF-2026-000001', 'petition', 'submitted', 1, 's', '2026-11-25',"
                " 'a', 'a')"
            )
            await conn.execute(
                "INSERT INTO case_events(case_id, at, actor_role, kind) VALUES (1, 'a', 'x', 'k')"
            )
            await conn.execute("UPDATE case_events SET kind = 'changed'")


async def test_units_run_together_commit_alone_or_fail_alone(db: Database) -> None:
    """Group commit: concurrent units share one COMMIT, but a failing unit is rolled back
    by itself and its error reaches only its own caller."""

    def insert(i: int):
        def work(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (?, 'a', 'a')", (i,)
            )
            if i == 13:
                raise ValueError("unit 13 fails after its insert")
            return i

        return db.run(work)

    results = await asyncio.gather(*(insert(i) for i in range(30)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], ValueError)
    assert results[0] == 0 and results[29] == 29
    ids = {r[0] for r in await db.fetch_all("SELECT telegram_id FROM users")}
    assert ids == set(range(30)) - {13}


async def test_a_unit_sees_its_own_writes_and_commits_before_returning(db: Database) -> None:
    def work(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (5, 'a', 'a')")
        return conn.execute("SELECT count(*) FROM users").fetchone()[0]

    assert await db.run(work) == 1
    # Committed: the separate reader connection sees it at once.
    assert await db.fetch_value("SELECT count(*) FROM users") == 1


async def test_update_is_recorded_with_its_first_write(db: Database, clock) -> None:
    """The update id commits in the same unit as the handler's effect, or not at all."""
    from cases.store.processed_updates import ProcessedUpdates

    processed = ProcessedUpdates(db, clock)
    with processed.handling(41), pytest.raises(ValueError):

        def failing(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1, 'a', 'a')"
            )
            raise ValueError

        await db.run(failing)
    assert await db.fetch_value("SELECT count(*) FROM processed_updates") == 0
    with processed.handling(42):
        await db.execute(
            "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (2, 'a', 'a')"
        )
        await processed.finish(42)
    rows = await db.fetch_all("SELECT update_id FROM processed_updates")
    assert [r[0] for r in rows] == [42]
    assert await processed.seen(42)
    assert not await processed.seen(43)


async def test_update_is_still_recorded_when_its_first_unit_failed(db: Database, clock) -> None:
    from cases.store.processed_updates import ProcessedUpdates

    processed = ProcessedUpdates(db, clock)

    def failing(conn: sqlite3.Connection) -> None:
        raise ValueError

    with processed.handling(44):
        with pytest.raises(ValueError):
            await db.run(failing)
        await db.execute(
            "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (3, 'a', 'a')"
        )
        await processed.finish(44)
    rows = await db.fetch_all("SELECT update_id FROM processed_updates")
    assert [r[0] for r in rows] == [44]


@pytest.mark.sqlite_only  # an old SQLite file (tests/test_pg_schema.py upgrades PostgreSQL)
async def test_applications_deemed_abandoned_before_0007_get_their_own_status(
    tmp_path: Path,
) -> None:
    """Regression: an application deemed abandoned (FY 31(2)) showed "已撤回" to the citizen, as
    if they had withdrawn it themselves. Migration 0007 moves the existing ones."""
    from tests.scheduling_helpers import add_case, add_user

    before = migrations_where(tmp_path / "before", lambda name: name < "0007")
    async with SqliteDatabase(tmp_path / "m.sqlite3") as database:
        await migrate(database, before)
        for citizen in (1001, 1002):
            await add_user(database, citizen)
        deemed = await add_case(database, 1001, status="withdrawn")
        withdrawn = await add_case(database, 1002, status="withdrawn")
        await database.execute(
            "INSERT INTO case_events(case_id, at, actor_role, kind) VALUES (?, ?, 'admin', ?)",
            (deemed, "2026-12-10T01:00:00+00:00", "deemed_withdrawn"),
        )
        # 0007 first; later migrations (0009, issue 11) follow it.
        assert next(name[:4] for name in await migrate(database)) == "0007"
        status = "SELECT status FROM cases WHERE id = ?"
        assert await database.fetch_value(status, (deemed,)) == "abandoned"
        assert await database.fetch_value(status, (withdrawn,)) == "withdrawn"


@pytest.mark.sqlite_only  # the SQLite file
async def test_a_file_that_is_not_a_database_leaves_no_thread_behind(tmp_path: Path) -> None:
    """Regression: the failed connection was never closed; its worker thread (not a daemon)
    kept the bot's process alive after the start-up error."""
    import threading

    def workers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if not t.daemon and t.is_alive()}

    # Threads that were there before (an earlier test's, ending in its own time) do not
    # count; only a thread this connection started and left running does.
    before = workers()
    path = tmp_path / "notes.sqlite3"
    path.write_text("这不是数据库 " * 200, encoding="utf-8")
    database = SqliteDatabase(path)
    with pytest.raises(sqlite3.DatabaseError):
        await database.open()
    await database.close()
    for _ in range(50):
        if not workers() - before:
            break
        await asyncio.sleep(0.02)
    assert workers() - before == set()
