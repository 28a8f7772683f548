"""The SQLite store: one writer connection behind a lock, one reader connection.

aiosqlite interleaves statements of concurrent coroutines on one connection inside the same
transaction (engineering.md §6, E4), so every unit of work holds the writer lock from
``BEGIN IMMEDIATE`` to ``COMMIT``. Reads go through a second connection; WAL lets them run while
a write is in progress and they only ever see committed data.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

Params = Sequence[Any] | dict[str, Any]
Statement = tuple[str, Params]
BeginHook = Callable[[], list[Statement]]
"""Statements to run first in every unit of work (computed in the event loop)."""
T = TypeVar("T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
)


class Database:
    """Owns the connections; repositories borrow them for one unit of work."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._begin_hooks: list[BeginHook] = []

    def add_begin_hook(self, hook: BeginHook) -> None:
        """Run the statements ``hook()`` returns right after every BEGIN, inside the unit."""
        self._begin_hooks.append(hook)

    def _hook_statements(self) -> list[Statement]:
        return [statement for hook in self._begin_hooks for statement in hook()]

    async def open(self) -> None:
        if self.path.parent and str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        self._reader = await self._connect()
        await self._reader.execute("PRAGMA query_only=ON")

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=5.0)
        conn.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def close(self) -> None:
        async with self._lock:
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.close()
            self._reader = self._writer = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One unit of work: everything inside commits together or not at all."""
        async with self._lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in self._hook_statements():
                    await conn.execute(sql, params)
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A unit of work as ONE call into the database thread: BEGIN IMMEDIATE, the hook
        statements, ``work(connection)``, COMMIT (ROLLBACK if it raises).

        ``transaction()`` pays a thread round trip per statement (~0.1 ms each); the hot paths
        (a form answer, an update record) use this instead. It relies on aiosqlite's
        ``Connection._execute``, the queue every aiosqlite call goes through; the version is
        pinned in requirements.txt and tests/test_store.py checks the behaviour.
        """
        async with self._lock:
            hooks = self._hook_statements()
            conn = self.writer

            def unit() -> T:
                raw: sqlite3.Connection = conn._conn  # private aiosqlite API: see docstring
                raw.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in hooks:
                        raw.execute(sql, params)
                    result = work(raw)
                except BaseException:
                    raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
                return result

            return await conn._execute(unit)  # private aiosqlite API: see docstring

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single write in its own transaction; returns the number of rows changed."""
        return await self.run(lambda raw: raw.execute(sql, params).rowcount)

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        if self._reader is None:
            raise RuntimeError("database is not open")
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        if self._reader is None:
            raise RuntimeError("database is not open")
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def backup_to(self, target: Path) -> None:
        """An online, consistent copy (the SQLite backup API), taken under the writer lock."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with self._lock:
            dest = await aiosqlite.connect(target)
            try:
                await self.writer.backup(dest)
            finally:
                await dest.close()


def placeholders(values: Iterable[object]) -> str:
    return ",".join("?" for _ in values)
