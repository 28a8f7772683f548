"""Numbered SQL migrations, applied at start-up, each in its own transaction.

A file that fails rolls back whole and start-up stops with :class:`MigrationError`; the schema
is never left half-migrated.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cases.store.db import DATABASE_ERRORS, Database, row_in
from cases.store.time import Clock, SystemClock, to_db

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""SQLite's files; PostgreSQL's, with the same numbers and names, are in its ``postgresql``
folder: the same steps in each dialect (types, triggers, ALTER instead of table rebuilds)."""
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"badly named migration file: {path.name}")
        found.append(Migration(int(match.group(1)), path.name, path.read_text("utf-8")))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError("two migration files share a number")
    return found


def split_statements(sql: str) -> list[str]:
    """Split a script into statements; sqlite3.complete_statement knows about triggers."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise MigrationError("migration ends with an incomplete statement")
    return statements


def migrations_dir(db: Database, directory: Path = MIGRATIONS_DIR) -> Path:
    return directory if db.dialect == "sqlite" else directory / db.dialect


async def migrate(
    db: Database, directory: Path = MIGRATIONS_DIR, clock: Clock | None = None
) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    ``directory`` holds the SQLite files; PostgreSQL's are read from its subfolder."""
    clock = clock or SystemClock()
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    done = {row[0] for row in await db.fetch_all("SELECT version FROM schema_migrations")}
    applied: list[str] = []
    for migration in load_migrations(migrations_dir(db, directory)):
        if migration.version in done:
            continue
        try:
            async with db.transaction() as conn:
                # Again under the writer lock: a replica starting at the same time may have
                # applied it since ``done`` was read.
                if await row_in(
                    conn, "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                ):
                    continue
                if db.dialect == "sqlite":
                    for statement in split_statements(migration.sql):
                        await conn.execute(statement)
                else:
                    await conn.execute_script(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_db(clock.now())),
                )
        except DATABASE_ERRORS as exc:
            raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
        applied.append(migration.name)
    return applied
