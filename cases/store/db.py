"""The store's interface, shared by the SQLite file (the default) and PostgreSQL (at scale).

Both run a unit of work the same way: one writer per process behind a lock, units submitted
while a batch holds the writer committed together (group commit), each in its own SAVEPOINT,
and the begin hooks' statements first in every unit. Across processes, SQLite's single writer
is the file lock (``BEGIN IMMEDIATE``); PostgreSQL's is a transaction-level advisory lock
taken right after ``BEGIN``. Write transactions therefore run one at a time on either backend,
which is what makes every check-then-write rule of the code (a booking's last seat, a case
number, an offer to one mediator) hold with any number of replicas without a per-rule
audit. Reads never take the lock and see committed data only.

Repositories write the SQL once, in the dialect both accept (``?`` placeholders, ``ON
CONFLICT``, ``RETURNING``); :mod:`cases.store.postgres` translates placeholders.
"""

from __future__ import annotations

import asyncio
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import asyncpg

Params = Sequence[Any] | dict[str, Any]
Statement = tuple[str, Params]
OnCommit = Callable[[], None]
BeginHook = Callable[[], tuple[list[Statement], OnCommit] | None]
"""Statements to run first in a unit of work (computed in the event loop, in the caller's
context), and what to call once that unit has committed."""
T = TypeVar("T")
MAX_GROUP = 200  # units committed together at most, so one batch stays short


class Row(Protocol):
    """A result row: by index or by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What a unit of work passed to :meth:`Database.run` may use: sqlite3.Connection's
    subset that both backends provide."""

    @property
    def total_changes(self) -> int: ...
    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, parameters: Params = ..., /) -> Any: ...
    def executemany(self, sql: str, parameters: Any, /) -> Any: ...


class UnitConnection(Protocol):
    """What a ``async with db.transaction() as conn`` block may use: aiosqlite's subset that
    both backends provide (``await conn.execute``, ``async with conn.execute(...) as c``)."""

    def execute(self, sql: str, parameters: Params | None = None) -> Any: ...
    async def executemany(self, sql: str, parameters: Any) -> Any: ...
    async def execute_fetchall(self, sql: str, parameters: Params | None = None) -> Any: ...
    async def execute_script(self, sql: str) -> None: ...


IntegrityError: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    asyncpg.IntegrityConstraintViolationError,
)
"""A constraint refused a write, on either backend: ``except IntegrityError``."""

DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, asyncpg.PostgresError)
"""Any error the database server or file reported, on either backend."""


class _Unit:
    __slots__ = ("callbacks", "future", "hooks", "work")

    def __init__(
        self,
        hooks: list[Statement],
        callbacks: list[OnCommit],
        work: Callable[[Any], Any],
        future: asyncio.Future[Any],
    ) -> None:
        self.hooks = hooks
        self.callbacks = callbacks
        self.work = work
        self.future = future


async def _uncancelled(work: Coroutine[Any, Any, None]) -> None:
    """Run a batch to its end even if the caller is cancelled (a handler's timeout, a
    shutdown): it goes on in the database's thread anyway, and the writer must stay locked
    until it ends, or the next unit would use the connection at the same time."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    task.result()


class Database(ABC):
    """Owns the connections; repositories borrow them for one unit of work."""

    dialect: ClassVar[str]

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._begin_hooks: list[BeginHook] = []
        self._pending: list[_Unit] = []

    # --- what each backend provides ---

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """One unit of work: everything inside commits together or not at all."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Any]: ...

    @abstractmethod
    async def _run_group(self, group: Callable[[Any], T]) -> T:
        """Run ``group(connection)`` where the writer connection lives (a thread)."""

    @abstractmethod
    def _begin(self, raw: Any) -> None:
        """Start a write transaction on the raw writer connection, holding the writer lock."""

    @abstractmethod
    def job_lock(self, name: str) -> AbstractAsyncContextManager[bool]:
        """Held by one process at a time: yields False where another process holds it."""

    @property
    def location(self) -> str:
        """Where the data lives, for log lines (never with a password)."""
        return self.dialect

    # --- shared ---

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

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

    async def run(self, work: Callable[[Any], T]) -> T:
        """A unit of work run in the database thread: the hook statements, then
        ``work(connection)``; committed durably before this returns.

        A unit is one trip to the writer's thread, and units submitted while another batch
        holds the writer lock are committed together (group commit): each in its own
        SAVEPOINT, so one that raises is rolled back alone and re-raised to its caller, the
        others commit. ``work`` may run again only if its batch failed as a whole, so it must
        not act outside the database. A caller cancelled while its unit waits for the writer
        gets CancelledError and the unit never runs; once its batch has begun, the batch
        finishes first (:func:`_uncancelled`).
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        statements, callbacks = self._hook_statements()
        unit = _Unit(statements, callbacks, work, future)
        self._pending.append(unit)
        try:
            async with self._lock:
                # Until this unit has run: units of cancelled callers may fill a batch.
                while not future.done() and self._pending:
                    batch, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                    try:
                        await _uncancelled(self._commit_group(batch))
                    except BaseException:
                        if future.done() and not future.cancelled():
                            future.exception()  # raised here; not "never retrieved" later
                        raise
        except asyncio.CancelledError:
            if unit in self._pending:
                # Cancelled before its batch began: the caller sees a failure, so the unit
                # must not commit later in another caller's batch.
                self._pending.remove(unit)
            raise
        return future.result()  # type: ignore[no-any-return]

    async def _commit_group(self, batch: list[_Unit]) -> None:
        def group(raw: Any) -> list[tuple[bool, Any]]:
            outcomes: list[tuple[bool, Any]] = []
            try:
                # Inside the try: a BEGIN or writer-lock wait that fails (a statement_timeout
                # on PostgreSQL) must not leave an aborted transaction open on the writer.
                self._begin(raw)
                for unit in batch:
                    raw.execute("SAVEPOINT unit")
                    try:
                        for sql, params in unit.hooks:
                            raw.execute(sql, params)
                        value = unit.work(raw)
                        # PostgreSQL refuses the RELEASE when a statement of the unit failed
                        # and the unit caught the error: that unit fails, not its batch.
                        raw.execute("RELEASE SAVEPOINT unit")
                    except Exception as exc:
                        raw.execute("ROLLBACK TO SAVEPOINT unit")
                        raw.execute("RELEASE SAVEPOINT unit")
                        outcomes.append((False, exc))
                    else:
                        outcomes.append((True, value))
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
            return outcomes

        try:
            outcomes = await self._run_group(group)
        except BaseException as exc:
            for unit in batch:
                if not unit.future.done():
                    unit.future.set_exception(exc)
            raise
        for (ok, value), unit in zip(outcomes, batch, strict=True):
            if ok:
                for callback in unit.callbacks:
                    callback()
            if unit.future.done():
                continue
            if ok:
                unit.future.set_result(value)
            else:
                unit.future.set_exception(value)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single write in its own transaction; returns the number of rows changed."""
        return await self.run(lambda raw: raw.execute(sql, params).rowcount)

    async def take_rows(self, sql: str, params: Params = ()) -> list[Any]:
        """One statement that takes rows for this process and returns them (``UPDATE …
        RETURNING``). PostgreSQL runs it outside the writer lock, on the row locks its
        ``FOR UPDATE SKIP LOCKED`` takes; on SQLite it is a unit of work like any other."""
        return await self.run(lambda raw: list(raw.execute(sql, params).fetchall()))

    async def fetch_one(self, sql: str, params: Params = ()) -> Any:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def backup_to(self, target: Path) -> None:
        """An online, consistent copy; only the SQLite file has one (PostgreSQL: pg_dump)."""
        raise NotImplementedError(f"no online backup for {self.dialect}; see the README")

    @property
    def has_online_backup(self) -> bool:
        return False


async def row_in(conn: UnitConnection, sql: str, params: Params = ()) -> Any:
    """One row read inside a unit of work (sees the unit's own writes)."""
    async with conn.execute(sql, params) as cursor:
        return await cursor.fetchone()


async def rows_in(conn: UnitConnection, sql: str, params: Params = ()) -> list[Any]:
    """All rows read inside a unit of work (sees the unit's own writes)."""
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


def open_database(url: str | None, path: Path | str) -> Database:
    """PostgreSQL when ``url`` (DATABASE_URL) is set, else the SQLite file at ``path``."""
    if url:
        from cases.store.postgres import PostgresDatabase

        return PostgresDatabase(url)
    from cases.store.sqlite import SqliteDatabase

    return SqliteDatabase(path)


__all__ = [
    "DATABASE_ERRORS",
    "Connection",
    "Cursor",
    "Database",
    "IntegrityError",
    "OnCommit",
    "Params",
    "Row",
    "Statement",
    "UnitConnection",
    "open_database",
    "row_in",
    "rows_in",
]
