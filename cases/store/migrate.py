"""Numbered SQL migrations, applied at start-up, each in its own transaction.

A file that fails rolls back whole and start-up stops with :class:`MigrationError`; the schema
is never left half-migrated.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cases.store.db import Database
from cases.store.time import Clock, SystemClock, to_db

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
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


async def migrate(
    db: Database, directory: Path = MIGRATIONS_DIR, clock: Clock | None = None
) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now."""
    clock = clock or SystemClock()
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    done = {row[0] for row in await db.fetch_all("SELECT version FROM schema_migrations")}
    applied: list[str] = []
    for migration in load_migrations(directory):
        if migration.version in done:
            continue
        try:
            async with db.transaction() as conn:
                for statement in split_statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_db(clock.now())),
                )
        except sqlite3.Error as exc:
            raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
        applied.append(migration.name)
    return applied
