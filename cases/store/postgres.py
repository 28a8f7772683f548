"""The PostgreSQL store (DATABASE_URL): asyncpg, a pool for reads, one writer per process.

It keeps the SQLite store's model (cases/store/db.py) so the repositories run unchanged:

- Units of work (:meth:`Database.run`) are plain functions over a connection, as on SQLite.
  They run in one worker thread; each statement hops to the event loop, where asyncpg sends
  it on this process's writer connection, and the thread waits for the answer. The loop stays
  free meanwhile.
- Every write transaction takes one advisory lock right after ``BEGIN``
  (``pg_advisory_xact_lock``), released by its COMMIT: write transactions of all replicas run
  one at a time, as on one SQLite file. Reads use the pool and never wait for it.
- The SQL is the repositories' own, translated here where the two dialects differ only in
  spelling: placeholders (``?`` and ``:name`` to ``$n``), ``x IS ?`` (IS NOT DISTINCT FROM),
  ``INSERT OR IGNORE`` (ON CONFLICT DO NOTHING), two-argument max/min (greatest/least),
  ``json_extract`` (``#>>``, text), ``group_concat`` (string_agg) and ``INDEXED BY`` (dropped).
  Anything else is written portably where it is used.
- Values bound as SQLite would store them: booleans as 0/1, dates as ISO text; NUMERIC
  results (``sum`` of a BIGINT) come back as int or float, as from SQLite.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg

from cases.store.db import Database, Params

T = TypeVar("T")
log = logging.getLogger(__name__)

POOL_SIZE = 10
"""Read connections per process; a replica rarely has more reads in flight at once."""
CONNECT_TIMEOUT = 10.0
WRITER_SETTINGS = {"idle_in_transaction_session_timeout": "60s"}
"""A replica that stalls inside a write transaction (frozen, cut off) holds every replica's
writer lock; the server ends its session after a minute idle, which releases the lock, and the
replica reconnects at its next unit. Units never wait on the client that long."""
"""Seconds to connect and log in (asyncpg's default is 60): a wrong host or port, or a server
that is not PostgreSQL, ends the start with one line soon instead of a silent minute."""

_ROWS_FIRST = ("SELECT", "WITH", "VALUES", "SHOW", "TABLE", "EXPLAIN")
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
# SQLite's `x IS ?` compares NULL-safely; PostgreSQL spells it IS [NOT] DISTINCT FROM.
_IS_PARAM_NOT = re.compile(r"\bIS\s+NOT\s+(\$\d+)", re.IGNORECASE)
_IS_PARAM = re.compile(r"\bIS\s+(\$\d+)", re.IGNORECASE)
_EXTREME = re.compile(r"\b(max|min)\(", re.IGNORECASE)
# json_extract(column, '$.a.b'): SQLite's JSON path on a TEXT column; the value as text.
_JSON_EXTRACT = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.([\w.]+)'\s*\)", re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"group_concat\(\s*([^(),]+?)\s*(?:,\s*('[^']*')\s*)?\)", re.IGNORECASE)
_COMMA = "','"
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
_CONNECTION_LOST = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    OSError,
)
"""The writer's connection is gone or in an unknown state (asyncpg's own errors, a server
shutting down): out of a batch's BEGIN, SAVEPOINT, COMMIT or ROLLBACK (a unit's own errors
stop at its savepoint), the writer is replaced."""


def _functions(sql: str) -> str:
    """SQLite's functions and hints that PostgreSQL spells otherwise."""
    sql = _JSON_EXTRACT.sub(
        lambda m: f"({m.group(1)}::json #>> '{{{m.group(2).replace('.', ',')}}}')", sql
    )
    sql = _GROUP_CONCAT.sub(
        lambda m: f"string_agg(CAST({m.group(1)} AS TEXT), {m.group(2) or _COMMA})", sql
    )
    return _INDEXED_BY.sub("", sql)


def _scalar_extremes(sql: str) -> str:
    """SQLite's two-argument max(a, b)/min(a, b) are PostgreSQL's greatest/least; the
    one-argument aggregates stay."""
    out: list[str] = []
    pos = 0
    for match in _EXTREME.finditer(sql):
        if match.start() < pos:
            continue
        depth, i, top_comma = 1, match.end(), False
        while i < len(sql) and depth:
            ch = sql[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1:
                top_comma = True
            elif ch == "'":
                i = sql.index("'", i + 1)
            i += 1
        if top_comma:
            name = "greatest" if match.group(1).lower() == "max" else "least"
            out.append(sql[pos : match.start()] + name + "(")
            pos = match.end()
    out.append(sql[pos:])
    return "".join(out)


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> tuple[str, tuple[str, ...] | int]:
    """SQLite placeholders to PostgreSQL's: ``?`` become ``$1, $2, …`` (returned: their
    count) and ``:name`` become ``$n`` in order of first use (returned: the names).
    Quoted strings, quoted identifiers and ``::`` casts are left alone."""
    out: list[str] = []
    names: list[str] = []
    positional = 0
    quote: str | None = None
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
            i += 1
            continue
        if ch in ("'", '"'):
            quote = ch
            out.append(ch)
            i += 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            positional += 1
            out.append(f"${positional}")
            i += 1
        elif ch == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            name = sql[i + 1 : j]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = j
        else:
            out.append(ch)
            i += 1
    text = _IS_PARAM_NOT.sub(r"IS DISTINCT FROM \1", "".join(out))
    text = _IS_PARAM.sub(r"IS NOT DISTINCT FROM \1", text)
    text = _functions(_scalar_extremes(text))
    if _OR_IGNORE.match(text):
        text = _OR_IGNORE.sub("INSERT INTO", text, count=1)
        returning = _RETURNING.search(text)
        if returning:
            cut = returning.start()
            text = f"{text[:cut].rstrip()} ON CONFLICT DO NOTHING {text[cut:]}"
        else:
            text = f"{text.rstrip().rstrip(';')} ON CONFLICT DO NOTHING"
    if names and positional:
        raise ValueError("a statement mixes ? and :name placeholders")
    return text, (tuple(names) if names else positional)


def _value(value: Any) -> Any:
    """A Python value as SQLite's adapters would have stored it (asyncpg takes a bool for a
    BIGINT column, and needs one where PostgreSQL expects a boolean)."""
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def bind(sql: str, params: Params | None) -> tuple[str, list[Any]]:
    text, shape = translate(sql)
    if isinstance(shape, tuple):
        if not isinstance(params, dict):
            raise TypeError("named placeholders need a dict of parameters")
        return text, [_value(params[name]) for name in shape]
    values = [] if params is None else list(params)  # type: ignore[arg-type]
    if len(values) != shape:
        raise ValueError(f"{shape} placeholders, {len(values)} parameters: {sql[:80]!r}")
    return text, [_value(v) for v in values]


def _returns_rows(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in _ROWS_FIRST or _RETURNING.search(sql) is not None


def _changed(status: str) -> int:
    """Rows changed from a command tag: ``INSERT 0 3``, ``UPDATE 2``, ``DELETE 0``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class Result:
    """A statement's rows and count, like a sqlite3 cursor after execute."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[asyncpg.Record], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    @property
    def lastrowid(self) -> int:
        raise AttributeError("PostgreSQL has no lastrowid: write INSERT … RETURNING id")

    def fetchone(self) -> asyncpg.Record | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[asyncpg.Record]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[asyncpg.Record]:
        return iter(self.fetchall())


async def run_statement(conn: asyncpg.Connection, sql: str, params: Params | None) -> Result:
    text, args = bind(sql, params)
    if _returns_rows(text):
        rows = await conn.fetch(text, *args)
        return Result(list(rows), len(rows))
    return Result([], _changed(await conn.execute(text, *args)))


async def run_many(conn: asyncpg.Connection, sql: str, rows: Any) -> Result:
    changed = 0
    for params in rows:
        changed += max(0, (await run_statement(conn, sql, params)).rowcount)
    return Result([], changed)


class ThreadConnection:
    """The writer connection as a unit of work sees it, from the worker thread: each call
    runs on the event loop and the thread waits for it (sqlite3.Connection's subset)."""

    def __init__(self, conn: asyncpg.Connection, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = conn
        self._loop = loop
        self.total_changes = 0
        self.began = False
        """BEGIN went through: from here on, the batch may have done something."""

    def _wait(self, coro: Any) -> Result:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()  # type: ignore[no-any-return]

    def execute(self, sql: str, parameters: Params = ()) -> Result:
        result = self._wait(run_statement(self._conn, sql, parameters))
        self.total_changes += max(0, result.rowcount)
        return result

    def executemany(self, sql: str, parameters: Any) -> Result:
        result = self._wait(run_many(self._conn, sql, list(parameters)))
        self.total_changes += result.rowcount
        return result

    @property
    def in_transaction(self) -> bool:
        return bool(self._conn.is_in_transaction())


class _Pending:
    """``await conn.execute(...)`` or ``async with conn.execute(...) as cursor``."""

    def __init__(self, conn: asyncpg.Connection, sql: str, params: Params | None) -> None:
        self._call = run_statement(conn, sql, params)

    def __await__(self) -> Any:
        return self._wrap().__await__()

    async def _wrap(self) -> AsyncResult:
        return AsyncResult(await self._call)

    async def __aenter__(self) -> AsyncResult:
        return await self._wrap()

    async def __aexit__(self, *exc: object) -> None:
        return None


class AsyncResult:
    """aiosqlite's cursor subset over a :class:`Result`."""

    def __init__(self, result: Result) -> None:
        self._result = result
        self.rowcount = result.rowcount

    @property
    def lastrowid(self) -> int:
        return self._result.lastrowid

    async def fetchone(self) -> asyncpg.Record | None:
        return self._result.fetchone()

    async def fetchall(self) -> list[asyncpg.Record]:
        return self._result.fetchall()

    def __aiter__(self) -> AsyncIterator[asyncpg.Record]:
        async def rows() -> AsyncIterator[asyncpg.Record]:
            for row in self._result.fetchall():
                yield row

        return rows()


class LoopConnection:
    """The writer connection inside ``async with db.transaction()`` (aiosqlite's subset)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Params | None = None) -> _Pending:
        return _Pending(self._conn, sql, parameters)

    async def executemany(self, sql: str, parameters: Any) -> AsyncResult:
        return AsyncResult(await run_many(self._conn, sql, list(parameters)))

    async def execute_fetchall(
        self, sql: str, parameters: Params | None = None
    ) -> list[asyncpg.Record]:
        return (await run_statement(self._conn, sql, parameters)).fetchall()

    async def execute_script(self, sql: str) -> None:
        """A whole file, untranslated (migrations: plpgsql bodies, several statements)."""
        await self._conn.execute(sql)


def _numeric(text: str) -> int | float:
    """NUMERIC (``sum`` of BIGINT, ``avg``) as SQLite returns it: int when whole."""
    return int(text) if text.lstrip("-").isdigit() else float(text)


async def _prepare_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
    )


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name."""
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _search_path(url: str) -> str | None:
    """``?search_path=name`` in DATABASE_URL (asyncpg passes it to the server as a setting):
    the schema, which also names this store's advisory locks."""
    found = parse_qs(urlsplit(url).query).get("search_path")
    return found[0].split(",")[0].strip() if found else None


_QUERY_SECRET = re.compile(r"(?i)(^|&)((?:ssl)?password)=[^&]*")


def redact(url: str) -> str:
    """The URL without its passwords (user's, and ``?password=``/``?sslpassword=``, which
    asyncpg also reads), for log lines."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    query = _QUERY_SECRET.sub(r"\1\2=***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class PostgresDatabase(Database):
    dialect: ClassVar[str] = "postgresql"

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = POOL_SIZE) -> None:
        """``schema``: the search_path, so several databases can share one server (tests)."""
        super().__init__()
        self.url = url
        self.schema = schema or _search_path(url)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._writer: asyncpg.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        # self.schema, not the argument: DATABASE_URL's ?search_path= names the same lock as
        # schema= does (scripts/sqlite_to_postgres.py takes it by db.schema), as job_lock does.
        self._writer_key = lock_key(self.schema or "public", "writer")

    @property
    def location(self) -> str:
        where = redact(self.url)
        return f"{where} (schema {self.schema})" if self.schema else where

    def _server_settings(self) -> dict[str, str]:
        found = {"application_name": "gucheng-bot"}
        if self.schema:
            found["search_path"] = self.schema
        return found

    async def _connect_writer(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(
            self.url,
            timeout=CONNECT_TIMEOUT,
            server_settings={**self._server_settings(), **WRITER_SETTINGS},
        )
        try:
            await _prepare_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _ready_writer(self) -> asyncpg.Connection:
        """The writer, fit for a new transaction (called under the writer lock).

        A replica must not fail every later write because one went wrong: a connection the
        server ended (a restart, pg_terminate_backend) is replaced, and a transaction left
        open (a ROLLBACK that a second cancellation kept from being sent) is rolled back."""
        conn = self.writer
        if not conn.is_closed() and conn.is_in_transaction():
            try:
                await conn.execute("ROLLBACK")
            except Exception:  # the connection is in no state to go on: a new one
                conn.terminate()
        if conn.is_closed():
            log.warning("the writer's connection to %s was lost; reconnecting", self.location)
            self._writer = conn = await self._connect_writer()
        return conn

    async def open(self) -> None:
        self._writer = await self._connect_writer()
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self._pool_size,
                init=_prepare_connection,
                timeout=CONNECT_TIMEOUT,
                server_settings=self._server_settings(),
            )
        except BaseException:
            await self._writer.close()
            self._writer = None
            raise
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-writer")

    async def close(self) -> None:
        async with self._lock:
            if self._pool is not None:
                await self._pool.close()
            if self._writer is not None:
                await self._writer.close()
            if self._thread is not None:
                self._thread.shutdown(wait=False)
            self._pool = self._writer = self._thread = None

    @property
    def writer(self) -> asyncpg.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LoopConnection]:
        async with self._lock:
            conn = await self._ready_writer()
            try:
                await conn.execute("BEGIN")
            except _CONNECTION_LOST:
                conn.terminate()  # lost while idle (see _run_group): once more, afresh
                conn = await self._ready_writer()
                await conn.execute("BEGIN")
            statements, callbacks = self._hook_statements()
            try:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", self._writer_key)
                for sql, params in statements:
                    await run_statement(conn, sql, params)
                yield LoopConnection(conn)
            except BaseException:
                if not conn.is_closed():
                    try:
                        await conn.execute("ROLLBACK")
                    except Exception:
                        conn.terminate()  # the next unit connects afresh
                raise
            # COMMIT's answer is checked: PostgreSQL answers ROLLBACK (no error) when a
            # statement failed inside and the block caught the error (SQLite would have undone
            # only that statement); the callbacks must not report that as committed.
            status = await conn.execute("COMMIT")
            if status != "COMMIT":
                raise asyncpg.InFailedSQLTransactionError(
                    "the unit of work was rolled back, not committed: one of its statements"
                    " failed and the error was caught inside the transaction"
                )
            for callback in callbacks:
                callback()

    def _begin(self, raw: ThreadConnection) -> None:
        raw.execute("BEGIN")
        raw.began = True
        raw.execute("SELECT pg_advisory_xact_lock(?)", (self._writer_key,))

    async def _run_group(self, group: Callable[[Any], T]) -> T:
        if self._thread is None:
            raise RuntimeError("database is not open")
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            writer = await self._ready_writer()
            raw = ThreadConnection(writer, loop)
            try:
                return await loop.run_in_executor(self._thread, group, raw)
            except _CONNECTION_LOST:
                writer.terminate()  # the next unit connects afresh
                if raw.began or attempt == 2:
                    raise
                # Lost before BEGIN went through (the server restarted while the writer was
                # idle and asyncpg had not noticed yet): nothing ran, so the batch runs once
                # more on a new connection rather than failing its callers.
                log.warning("the writer's connection was lost before BEGIN; once more")
        raise AssertionError("unreachable")

    async def fetch_all(self, sql: str, params: Params = ()) -> list[asyncpg.Record]:
        text, args = bind(sql, params)
        return list(await self.pool.fetch(text, *args))

    async def take_rows(self, sql: str, params: Params = ()) -> list[asyncpg.Record]:
        text, args = bind(sql, params)
        return list(await self.pool.fetch(text, *args))

    @asynccontextmanager
    async def job_lock(self, name: str) -> AsyncIterator[bool]:
        """A session advisory lock on a pooled connection, held while the job runs."""
        key = lock_key(self.schema or "public", "job", name)
        async with self.pool.acquire() as conn:
            got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
            try:
                yield got
            finally:
                if got:
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)
