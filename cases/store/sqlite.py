"""The SQLite store: one writer connection behind a lock, one reader connection.

aiosqlite interleaves statements of concurrent coroutines on one connection inside the same
transaction (engineering.md §6, E4), so every unit of work holds the writer lock from
``BEGIN IMMEDIATE`` to ``COMMIT``. Reads go through a second connection; WAL lets them run while
a write is in progress and they only ever see committed data.
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import aiosqlite

from cases.store.db import Database, Params

T = TypeVar("T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
)


class SqliteDatabase(Database):
    dialect: ClassVar[str] = "sqlite"

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    async def open(self) -> None:
        if self.path.parent and str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        self._reader = await self._connect()
        await self._reader.execute("PRAGMA query_only=ON")

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=5.0)
        try:
            conn.row_factory = sqlite3.Row
            for pragma in _PRAGMAS:
                await conn.execute(pragma)
        except BaseException:
            # Not a database, or locked: close the connection, else its (non-daemon) worker
            # thread keeps the process alive after the error.
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        async with self._lock:
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.close()
            self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            conn = self.writer
            statements, callbacks = self._hook_statements()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    await conn.execute(sql, params)
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")
                for callback in callbacks:
                    callback()

    def _begin(self, raw: sqlite3.Connection) -> None:
        raw.execute("BEGIN IMMEDIATE")

    async def _run_group(self, group: Callable[[Any], T]) -> T:
        # One trip to aiosqlite's thread for the whole batch, through the queue all its calls
        # go through (a private API; the version is pinned in requirements.txt and
        # tests/test_store.py checks the behaviour).
        conn = self.writer
        return await conn._execute(lambda: group(conn._conn))  # type: ignore[no-any-return]

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # execute_fetchall is one trip to the connection's thread; a cursor costs three.
        if self._reader is None:
            raise RuntimeError("database is not open")
        return list(await self._reader.execute_fetchall(sql, params))

    @asynccontextmanager
    async def job_lock(self, name: str) -> AsyncIterator[bool]:
        """A file lock beside the database: processes sharing the file take turns."""
        if str(self.path) == ":memory:":
            yield True
            return
        lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
        with lock_path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def has_online_backup(self) -> bool:
        return True

    async def backup_to(self, target: Path) -> None:
        """An online, consistent copy (the SQLite backup API), taken under the writer lock."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with self._lock:
            dest = await aiosqlite.connect(target)
            try:
                await self.writer.backup(dest)
            finally:
                await dest.close()
