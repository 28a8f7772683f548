"""The stores the suite runs on: SQLite always, PostgreSQL when a server answers.

Each PostgreSQL test gets its own schema (dropped afterwards), so tests never see each other's
rows and may run while another checkout's suite uses the same server.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from cases.store.db import Database
from cases.store.postgres import PostgresDatabase, redact
from cases.store.sqlite import SqliteDatabase

SQLITE = "sqlite"
POSTGRES = "postgresql"
URL_VARIABLE = "TEST_DATABASE_URL"


@dataclass(frozen=True)
class Probe:
    url: str | None
    why_not: str = ""


class _PostgresProbe:
    key = pytest.StashKey[Probe]()

    def run(self) -> Probe:
        url = os.environ.get(URL_VARIABLE, "").strip()
        if not url:
            return Probe(None, f"{URL_VARIABLE} is not set")
        try:
            asyncio.run(self._answer(url))
        except Exception as exc:  # any failure to connect means: not on this machine
            return Probe(None, f"no PostgreSQL server answers at {redact(url)} ({exc})")
        return Probe(url)

    @staticmethod
    async def _answer(url: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=3)
        await conn.close()

    @staticmethod
    def header(probe: Probe) -> str:
        if probe.url:
            return f"stores: SQLite and PostgreSQL at {redact(probe.url)}"
        return f"stores: SQLite only; the PostgreSQL variants are not run: {probe.why_not}"


postgres_probe = _PostgresProbe()


@asynccontextmanager
async def postgres_database(url: str) -> AsyncIterator[PostgresDatabase]:
    """An open store on a new, empty schema of the test server; the schema goes afterwards."""
    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        database = PostgresDatabase(url, schema=schema, pool_size=4)
        await database.open()
        try:
            yield database
        finally:
            await database.close()
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await admin.close()


def same_store(db: Database) -> Database:
    """A second, unopened store on the same data as ``db``: another process, or the bot after a
    restart, on either backend."""
    if isinstance(db, PostgresDatabase):
        return PostgresDatabase(db.url, schema=db.schema, pool_size=4)
    if isinstance(db, SqliteDatabase):
        return SqliteDatabase(db.path)
    raise TypeError(f"no second store for {type(db).__name__}")


async def table_columns(db: Database, table: str) -> set[str]:
    """The names of ``table``'s columns, on either backend (each has its own catalogue)."""
    if db.dialect == POSTGRES:
        rows = await db.fetch_all(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    else:
        rows = await db.fetch_all("SELECT name FROM pragma_table_info(?)", (table,))
    return {str(r[0]) for r in rows}


@asynccontextmanager
async def second_process(db: Database) -> AsyncIterator[Database]:
    """Another process's store on the same data, open: its own connections and locks."""
    other = same_store(db)
    await other.open()
    try:
        yield other
    finally:
        await other.close()
