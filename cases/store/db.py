"""The SQLite store: one writer connection behind a lock, one reader connection.

aiosqlite interleaves statements of concurrent coroutines on one connection inside the same
transaction (engineering.md §6, E4), so every unit of work holds the writer lock from
``BEGIN IMMEDIATE`` to ``COMMIT``. Reads go through a second connection; WAL lets them run while
a write is in progress and they only ever see committed data.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

Params = Sequence[Any] | dict[str, Any]
Statement = tuple[str, Params]
OnCommit = Callable[[], None]
BeginHook = Callable[[], tuple[list[Statement], OnCommit] | None]
"""Statements to run first in a unit of work (computed in the event loop, in the caller's
context), and what to call once that unit has committed."""
T = TypeVar("T")
_Unit = tuple[
    list[Statement], list[OnCommit], Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"
]
MAX_GROUP = 200  # units committed together at most, so one batch stays short

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
        self._pending: list[_Unit] = []

    def add_begin_hook(self, hook: BeginHook) -> None:
        """Run the statements ``hook()`` returns right after every BEGIN, inside the unit."""
        self._begin_hooks.append(hook)

    def _hook_statements(self) -> tuple[list[Statement], list[OnCommit]]:
        statements: list[Statement] = []
        callbacks: list[OnCommit] = []
        for hook in self._begin_hooks:
            found = hook()
            if found is not None:
                statements.extend(found[0])
                callbacks.append(found[1])
        return statements, callbacks

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

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A unit of work run in the database thread: the hook statements, then
        ``work(connection)``; committed durably before this returns.

        Two costs dominate a write on one SQLite file: a trip to aiosqlite's thread per
        statement (~0.1 ms) and the fsync of each COMMIT. ``transaction()`` pays both per unit;
        here a unit is one trip, and units submitted while another batch holds the writer lock
        are committed together (group commit): each in its own SAVEPOINT, so one that raises is
        rolled back alone and re-raised to its caller, the others commit. This relies on
        aiosqlite's ``Connection._execute``, the queue all its calls go through; the version is
        pinned in requirements.txt and tests/test_store.py checks the behaviour.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        statements, callbacks = self._hook_statements()
        self._pending.append((statements, callbacks, work, future))
        async with self._lock:
            if not future.done():
                batch, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                await self._commit_group(batch)
        return future.result()  # type: ignore[no-any-return]

    async def _commit_group(self, batch: list[_Unit]) -> None:
        conn = self.writer

        def group() -> list[tuple[bool, Any]]:
            raw: sqlite3.Connection = conn._conn  # private aiosqlite API: see run()
            outcomes: list[tuple[bool, Any]] = []
            raw.execute("BEGIN IMMEDIATE")
            try:
                for hooks, _callbacks, work, _future in batch:
                    raw.execute("SAVEPOINT unit")
                    try:
                        for sql, params in hooks:
                            raw.execute(sql, params)
                        outcomes.append((True, work(raw)))
                    except Exception as exc:
                        raw.execute("ROLLBACK TO unit")
                        outcomes.append((False, exc))
                    raw.execute("RELEASE unit")
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
            return outcomes

        try:
            outcomes = await conn._execute(group)  # private aiosqlite API: see run()
        except BaseException as exc:
            for _hooks, _callbacks, _work, future in batch:
                if not future.done():
                    future.set_exception(exc)
            raise
        for (ok, value), (_hooks, callbacks, _work, future) in zip(outcomes, batch, strict=True):
            if ok:
                for callback in callbacks:
                    callback()
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single write in its own transaction; returns the number of rows changed."""
        return await self.run(lambda raw: raw.execute(sql, params).rowcount)

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # execute_fetchall is one trip to the connection's thread; a cursor costs three.
        if self._reader is None:
            raise RuntimeError("database is not open")
        return list(await self._reader.execute_fetchall(sql, params))

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


async def row_in(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> sqlite3.Row | None:
    """One row read inside a unit of work (sees the unit's own writes)."""
    async with conn.execute(sql, params) as cursor:
        return await cursor.fetchone()


async def rows_in(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    """All rows read inside a unit of work (sees the unit's own writes)."""
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())
