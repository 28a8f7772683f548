"""Move this bot's SQLite database to PostgreSQL, once, when going from one machine to replicas.

    python -m scripts.sqlite_to_postgres --sqlite data/bot.sqlite3 \\
        --postgres postgresql://bot@db.example/bot [--schema NAME]

Without ``--sqlite``/``--postgres`` the settings' DATABASE_PATH and DATABASE_URL are used
(environment and .env, as the bot reads them). ``--schema``: the tables go into that schema
(it must exist); by default where the URL's search_path puts them (usually ``public``).

The bot must be stopped. The SQLite file is only read (``mode=ro``), in one read transaction,
so everything copied and compared is one snapshot. The tool refuses, and changes nothing, when
the file is missing or not this bot's, when its migrations are not the latest (the bot
migrates it when started once), when the bot seems to be running on it, when SQLite finds it
damaged or with broken references, or when the PostgreSQL target already holds rows.

Then it creates the schema with the bot's own migrations and, in ONE PostgreSQL transaction
(with the bot's writer lock, so no replica writes meanwhile): triggers off for that transaction
(``session_replication_role = replica``: the copy must not write webhook events or trip the
append-only triggers), every table copied with its ids (binary COPY), every identity sequence
set to its table's max(id), and every table compared with the source row by row, in primary
key order. Only when all are identical does it commit; any difference rolls the whole copy back.
A value PostgreSQL's column cannot hold (text in an INTEGER column of an old row, a NUL
character) stops the move with the table, column and row named: nothing is converted silently.

Exit codes: 0 moved and verified; 1 a difference was found (rolled back, nothing kept);
2 refused (no row kept; a refusal found while copying leaves the bot's empty tables, which a
later run accepts).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from cases.store.migrate import MIGRATIONS_DIR, MigrationError, load_migrations, migrate
from cases.store.postgres import PostgresDatabase, lock_key, redact

EXIT_MOVED = 0
EXIT_DIFFERENT = 1
EXIT_REFUSED = 2

MIGRATIONS_TABLE = "schema_migrations"
"""Written by migrate() on PostgreSQL (its own applied_at), not copied: compared by version."""
SQLITE_MAGIC = b"SQLite format 3\x00"
FETCH = 5_000
"""Rows read from SQLite per fetchmany while copying and comparing (memory stays flat)."""

Check = Callable[[Any], str | None]
"""A value's problem for one PostgreSQL column, or None when the column holds it unchanged."""


class Refusal(Exception):
    """One line for the operator: what is wrong and what to do. Nothing was kept."""


# --- what fits a PostgreSQL column ---------------------------------------------------------------

_INT_RANGE = {"bigint": 63, "integer": 31, "smallint": 15}
_FLOAT = {"double precision", "real"}


def _show(value: Any) -> str:
    """A value in a message: its type and a short repr (it may be a citizen's text)."""
    kind = {str: "text", int: "integer", float: "real", bytes: "blob"}.get(type(value), "value")
    shown = repr(value)
    return f"{kind} {shown[:40] + '…' if len(shown) > 40 else shown}"


def value_check(pg_type: str, nullable: bool) -> Check:
    """SQLite is loosely typed: an INTEGER column may hold text in an old row. PostgreSQL's
    column must hold every value exactly as SQLite returns it, or the move stops."""

    def null(value: Any) -> str | None:
        return None if nullable else "is NULL, and the PostgreSQL column is NOT NULL"

    if pg_type in _INT_RANGE:
        bits = _INT_RANGE[pg_type]
        low, high = -(2**bits), 2**bits - 1

        def integer(value: Any) -> str | None:
            if type(value) is int and low <= value <= high:
                return None
            if value is None:
                return null(value)
            if type(value) is int:
                return f"holds {_show(value)}, out of range for {pg_type}"
            return f"holds {_show(value)}, not an integer ({pg_type})"

        return integer
    if pg_type in ("text", "character varying"):

        def text(value: Any) -> str | None:
            if type(value) is str:
                return (
                    None
                    if "\x00" not in value
                    else "holds a NUL character, which PostgreSQL's text cannot"
                )
            if value is None:
                return null(value)
            return f"holds {_show(value)}, not text"

        return text
    if pg_type in _FLOAT:

        def real(value: Any) -> str | None:
            if type(value) in (int, float):
                return None
            if value is None:
                return null(value)
            return f"holds {_show(value)}, not a number ({pg_type})"

        return real
    raise Refusal(
        f"this tool does not know PostgreSQL's {pg_type} columns; update it with the migrations"
    )


def _float_columns(pg_types: Sequence[str]) -> list[int]:
    return [i for i, t in enumerate(pg_types) if t in _FLOAT]


# --- the tables on both sides --------------------------------------------------------------------


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Table:
    name: str
    columns: list[str]
    """In the SQLite table's order; PostgreSQL's have the same names."""
    key: list[str]
    """The primary key (SQLite's), the order in which both sides are read and compared."""
    pg_types: list[str] = field(default_factory=list)
    nullable: list[bool] = field(default_factory=list)
    identity: list[str] = field(default_factory=list)

    def key_of(self, row: Sequence[Any]) -> str:
        """The row, named for a message by its primary key."""
        if not self.key:
            return "a row"
        values = [row[self.columns.index(k)] for k in self.key]
        if len(values) == 1:
            return f"row {self.key[0]}={values[0]!r}"
        return f"row ({', '.join(self.key)})=({', '.join(repr(v) for v in values)})"

    def order_by(self, dialect: str) -> str:
        """Both sides sorted alike: text by code point (SQLite's BINARY on UTF-8, PostgreSQL's
        "C"), whatever the PostgreSQL database's default collation."""
        keys = self.key or self.columns
        parts = []
        for name in keys:
            is_text = self.pg_types[self.columns.index(name)] in ("text", "character varying")
            collate = (' COLLATE "C"' if dialect == "postgresql" else " COLLATE BINARY") * is_text
            parts.append(quote(name) + collate)
        return ", ".join(parts)

    def select(self, dialect: str) -> str:
        cols = ", ".join(quote(c) for c in self.columns)
        return f"SELECT {cols} FROM {quote(self.name)} ORDER BY {self.order_by(dialect)}"


# --- the SQLite source ---------------------------------------------------------------------------


def check_file(path: Path) -> None:
    if not path.is_file():
        raise Refusal(f"no SQLite database at {path}: give its path with --sqlite PATH")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise Refusal(f"{path} is not a SQLite database: give the bot's file with --sqlite")


def open_source(path: Path) -> sqlite3.Connection:
    """The file read-only, in one read transaction for everything that follows."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA query_only=ON")
        conn.execute("BEGIN")  # one snapshot: the first read below fixes it
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise Refusal(f"cannot read {path} as a SQLite database ({exc})") from exc
    return conn


def check_version(conn: sqlite3.Connection, path: Path) -> None:
    """The source must be at this version's latest migration: the schema created on
    PostgreSQL is the latest, and an older file's rows do not have its columns."""
    known = {m.version: m.name for m in load_migrations(MIGRATIONS_DIR)}
    found_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchone()
    if not found_table:
        raise Refusal(f"{path} is not this bot's database (it has no {MIGRATIONS_TABLE} table)")
    applied = dict(conn.execute(f"SELECT version, name FROM {MIGRATIONS_TABLE}").fetchall())
    strange = {v: n for v, n in applied.items() if v in known and known[v] != n}
    if strange or not applied:
        raise Refusal(f"{path} is not this bot's database (its migrations are not the bot's)")
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise Refusal(
            f"{path} was migrated by a newer version of the bot (migration {applied[newer[0]]}"
            " is unknown here): run this tool from that version"
        )
    missing = sorted(v for v in known if v not in applied)
    if missing:
        raise Refusal(
            f"{path} is at migration {applied[max(applied)]}, not at the latest"
            f" ({known[max(known)]}): start the bot (this version) on it once, which migrates"
            " it, stop it, then run this again"
        )


def _file_id(token: str) -> tuple[int, int, int] | None:
    """``fe:00:2154992`` (major:minor in hex, inode) from a /proc/locks line."""
    parts = token.split(":")
    if len(parts) != 3:
        return None
    try:
        return int(parts[0], 16), int(parts[1], 16), int(parts[2])
    except ValueError:
        return None


def _open_elsewhere(*paths: Path) -> bool:
    """Whether a process holds a lock on the file or its -shm: SQLite keeps one there as long
    as a connection is open in WAL mode. Read from /proc/locks (Linux), so that this check opens
    no file: closing a file descriptor drops every POSIX lock this process holds on it."""
    try:
        table = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    wanted = set()
    for path in paths:
        try:
            found = path.stat()
        except OSError:
            continue
        wanted.add((os.major(found.st_dev), os.minor(found.st_dev), found.st_ino))
    return any(
        _file_id(token) in wanted for line in table.splitlines() for token in line.split()[4:7]
    )


def check_not_running(path: Path) -> None:
    """Rows the bot writes after the snapshot would be lost: it must be stopped. A bot that
    stopped cleanly leaves no write-ahead log (or an empty one) and no lock on the -shm file."""
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    if _open_elsewhere(path, shm):
        raise Refusal(f"the bot seems to be running on {path} (the file is open): stop it first")
    if wal.exists() and wal.stat().st_size > 0:
        raise Refusal(
            f"the bot seems to be running on {path} ({wal.name} holds unsaved pages): stop it"
            " first; if it is stopped, start and stop it once so it folds the log in"
        )


def check_sound(conn: sqlite3.Connection, path: Path) -> None:
    """PostgreSQL would hold whatever is copied: a damaged file or a row whose reference
    points nowhere (possible in rows older than the bot's foreign keys) stops the move."""
    problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise Refusal(
            f"SQLite finds {path} damaged ({problems[0]}): restore it from a backup first"
        )
    broken = conn.execute("PRAGMA foreign_key_check").fetchone()
    if broken is not None:
        table, rowid, parent, _ = broken
        raise Refusal(
            f"{path}: table {table}, rowid {rowid} refers to a row of {parent} that does not"
            " exist; correct or delete that row (in a copy), then run this again"
        )


def source_tables(conn: sqlite3.Connection) -> dict[str, Table]:
    """The bot's tables in creation order (SQLite's own sqlite_* tables are not data)."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY rowid"
        )
    ]
    tables: dict[str, Table] = {}
    for name in names:
        info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
        columns = [row[1] for row in info]
        key = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        tables[name] = Table(name, columns, key)
    return tables


def sqlite_sequences(conn: sqlite3.Connection) -> dict[str, int]:
    """AUTOINCREMENT's high-water marks, if any table has one: ids SQLite would never reuse."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        return {}
    return {str(n): int(s) for n, s in conn.execute("SELECT name, seq FROM sqlite_sequence")}


# --- the PostgreSQL target -----------------------------------------------------------------------


async def target_columns(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES' AS nullable,"
        "       c.is_identity = 'YES' AS identity"
        "  FROM information_schema.columns c"
        "  JOIN information_schema.tables t"
        "    ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position"
    )
    found: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        found.setdefault(row["table_name"], []).append(row)
    return found


async def tables_with_rows(conn: asyncpg.Connection, names: Sequence[str]) -> list[str]:
    found = []
    for name in sorted(names):
        if name != MIGRATIONS_TABLE and await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {quote(name)})"
        ):
            found.append(name)
    return found


async def check_target_before(conn: asyncpg.Connection, expected: set[str], where: str) -> None:
    """Checked before migrate() writes anything: tables that are not the bot's, or rows in
    any table, mean this is not an empty target (never overwrite)."""
    schema = await conn.fetchval("SELECT current_schema()")
    if schema is None:
        raise Refusal(
            f"{where}: the schema does not exist (no schema on the search_path); create it"
            " first (CREATE SCHEMA ...) or leave out --schema"
        )
    existing = set(await target_columns(conn))
    if MIGRATIONS_TABLE in existing:
        known = {m.version for m in load_migrations(MIGRATIONS_DIR)}
        versions = {r[0] for r in await conn.fetch(f"SELECT version FROM {MIGRATIONS_TABLE}")}
        if versions - known:
            raise Refusal(
                f"{where} (schema {schema}) was migrated by a newer version of the bot; run"
                " this tool from that version, or give an empty database or schema"
            )
    foreign = sorted(existing - expected)
    if foreign:
        raise Refusal(
            f"{where} (schema {schema}) has tables that are not the bot's ({', '.join(foreign)});"
            " give an empty database or schema"
        )
    full = await tables_with_rows(conn, sorted(existing))
    if full:
        raise Refusal(
            f"{where} (schema {schema}) already holds data ({', '.join(full[:5])}"
            f"{', …' if len(full) > 5 else ''}); this tool never overwrites: give an empty"
            " database or schema"
        )


def match_tables(tables: dict[str, Table], target: dict[str, list[asyncpg.Record]]) -> None:
    """Both schemas must have the same tables and columns; a table on one side only, or a
    column missing, is an error (the copy would drop it or leave it empty)."""
    only_sqlite = sorted(set(tables) - set(target))
    only_pg = sorted(set(target) - set(tables))
    if only_sqlite or only_pg:
        sides = []
        if only_sqlite:
            sides.append(f"only in SQLite: {', '.join(only_sqlite)}")
        if only_pg:
            sides.append(f"only in PostgreSQL: {', '.join(only_pg)}")
        raise Refusal(f"the two schemas differ ({'; '.join(sides)}); report this as a bug")
    for name, table in tables.items():
        pg = {row["column_name"]: row for row in target[name]}
        if set(pg) != set(table.columns):
            differ = sorted(set(pg) ^ set(table.columns))
            raise Refusal(f"table {name}: the columns differ ({', '.join(differ)}); a bug")
        table.pg_types = [pg[c]["data_type"] for c in table.columns]
        table.nullable = [bool(pg[c]["nullable"]) for c in table.columns]
        table.identity = [c for c in table.columns if pg[c]["identity"]]
        for pg_type in table.pg_types:
            value_check(pg_type, True)  # a column type this tool does not know: refuse now


# --- copy, sequences, verification ---------------------------------------------------------------


def _sqlite_rows(conn: sqlite3.Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    cursor = conn.execute(table.select("sqlite"))
    while batch := cursor.fetchmany(FETCH):
        yield from batch


class _Undecodable(bytes):
    """Text SQLite holds that is not UTF-8 (PostgreSQL refuses it; Python cannot read it)."""


def _text_or_raw(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _Undecodable(raw)


def find_undecodable(conn: sqlite3.Connection, table: Table) -> str:
    """Where a table's text is not UTF-8: read again, slowly, only once that happened."""
    conn.text_factory = _text_or_raw
    try:
        for row in _sqlite_rows(conn, table):
            for column, value in zip(table.columns, row, strict=True):
                if isinstance(value, _Undecodable):
                    return f"table {table.name}, column {column}, {table.key_of(row)}"
    finally:
        conn.text_factory = str
    return f"table {table.name}"


def checked_rows(conn: sqlite3.Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    """The source rows, each value checked against its PostgreSQL column first."""
    checks = [
        (i, value_check(t, n))
        for i, (t, n) in enumerate(zip(table.pg_types, table.nullable, strict=True))
    ]
    floats = _float_columns(table.pg_types)
    try:
        for row in _sqlite_rows(conn, table):
            for i, check in checks:
                problem = check(row[i])
                if problem is not None:
                    raise Refusal(
                        f"table {table.name}, column {table.columns[i]}, {table.key_of(row)}"
                        f" {problem}: correct it in the SQLite file (a copy), then run this"
                        " again; nothing was changed"
                    )
            if floats:  # REAL to double precision: an integer SQLite stored is the same number
                values = list(row)
                for i in floats:
                    if type(values[i]) is int:
                        values[i] = float(values[i])
                row = tuple(values)
            yield row
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc).lower():
            raise
        where = find_undecodable(conn, table)
        raise Refusal(
            f"{where} holds text that is not UTF-8, which PostgreSQL cannot store: correct it"
            " in the SQLite file (a copy), then run this again; nothing was changed"
        ) from exc


async def copy_table(pg: asyncpg.Connection, source: sqlite3.Connection, table: Table) -> None:
    try:
        await pg.copy_records_to_table(
            table.name, records=checked_rows(source, table), columns=table.columns
        )
    except asyncpg.PostgresError as exc:
        detail = f" ({exc.detail})" if getattr(exc, "detail", None) else ""
        raise Refusal(
            f"table {table.name}: PostgreSQL refused a row: {exc}{detail}; correct it in the"
            " SQLite file (a copy), then run this again; nothing was changed"
        ) from exc


async def move_sequences(
    pg: asyncpg.Connection, tables: dict[str, Table], autoincrement: dict[str, int]
) -> dict[str, int]:
    """Each identity sequence to its table's max(id), so the next row the bot inserts gets
    max(id) + 1 (GENERATED BY DEFAULT took the copied ids without moving it)."""
    moved: dict[str, int] = {}
    for table in tables.values():
        for column in table.identity:
            top = await pg.fetchval(f"SELECT max({quote(column)}) FROM {quote(table.name)}")
            top = max(top or 0, autoincrement.get(table.name, 0))
            if top:
                await pg.fetchval(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3)",
                    quote(table.name),
                    column,
                    top,
                )
                moved[table.name] = top
    return moved


@dataclass
class Outcome:
    table: str
    sqlite_rows: int
    pg_rows: int
    check: str

    @property
    def ok(self) -> bool:
        return self.sqlite_rows == self.pg_rows and self.check in ("identical", "same versions")


def _difference(table: Table, left: tuple[Any, ...], right: tuple[Any, ...]) -> str:
    for column, a, b in zip(table.columns, left, right, strict=True):
        if a != b or type(a) is not type(b):
            return (
                f"{table.key_of(left)}, column {column}: SQLite {_show(a)}, PostgreSQL {_show(b)}"
            )
    return f"{table.key_of(left)} differs"


async def verify_table(
    pg: asyncpg.Connection, source: sqlite3.Connection, table: Table
) -> Outcome:
    """Counted on both sides, then every row compared in key order; the first difference."""
    name = quote(table.name)
    lite_count = int(source.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
    pg_count = int(await pg.fetchval(f"SELECT count(*) FROM {name}"))
    if table.name == MIGRATIONS_TABLE:
        lite = source.execute(f"SELECT version, name FROM {name} ORDER BY version").fetchall()
        mine = [tuple(r) for r in await pg.fetch(f"SELECT version, name FROM {name} ORDER BY 1")]
        check = "same versions" if lite == mine else "versions differ"
        return Outcome(table.name, lite_count, pg_count, check)
    floats = _float_columns(table.pg_types)
    lite_rows = _sqlite_rows(source, table)
    number = 0
    async for record in pg.cursor(table.select("postgresql"), prefetch=FETCH):
        number += 1
        theirs = tuple(record)
        mine_row = next(lite_rows, None)
        if mine_row is None:
            return Outcome(table.name, lite_count, pg_count, f"extra {table.key_of(theirs)}")
        if floats:
            mine_row = tuple(
                float(v) if i in floats and type(v) is int else v for i, v in enumerate(mine_row)
            )
        if mine_row != theirs or any(
            type(a) is not type(b) for a, b in zip(mine_row, theirs, strict=True)
        ):
            return Outcome(table.name, lite_count, pg_count, _difference(table, mine_row, theirs))
    leftover = next(lite_rows, None)
    if leftover is not None:
        return Outcome(table.name, lite_count, pg_count, f"missing {table.key_of(leftover)}")
    if number != lite_count:
        return Outcome(table.name, lite_count, pg_count, "row counts differ")
    return Outcome(table.name, lite_count, pg_count, "identical")


# --- the move ------------------------------------------------------------------------------------


@dataclass
class Report:
    outcomes: list[Outcome]
    sequences: dict[str, int]
    seconds: dict[str, float]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def print_report(report: Report, out: TextIO) -> None:
    width = max([len(o.table) for o in report.outcomes] + [5])
    print(f"{'table':<{width}}  {'sqlite':>9}  {'postgresql':>10}  check", file=out)
    for o in report.outcomes:
        print(f"{o.table:<{width}}  {o.sqlite_rows:>9,}  {o.pg_rows:>10,}  {o.check}", file=out)
    rows = sum(o.sqlite_rows for o in report.outcomes if o.table != MIGRATIONS_TABLE)
    print(
        f"{len(report.outcomes)} tables, {rows:,} rows copied; identity sequences moved on in"
        f" {len(report.sequences)} tables",
        file=out,
    )
    s = report.seconds
    print(
        f"took {s['total']:.1f} s (checks and schema {s['prepare']:.1f} s, copy {s['copy']:.1f}"
        f" s, verification {s['verify']:.1f} s)",
        file=out,
    )


class _Different(Exception):
    """Raised inside the transaction so that it rolls back; carries the report."""

    def __init__(self, report: Report) -> None:
        super().__init__("verification failed")
        self.report = report


async def move(
    sqlite_path: Path, url: str, schema: str | None, out: TextIO = sys.stdout
) -> Report:
    """The whole move; raises Refusal (nothing kept) or returns the report (committed only
    when ``report.ok``)."""
    started = time.perf_counter()
    where = redact(url)
    check_file(sqlite_path)
    check_not_running(sqlite_path)
    source = open_source(sqlite_path)
    try:
        check_version(source, sqlite_path)
        check_sound(source, sqlite_path)
        tables = source_tables(source)
        autoincrement = sqlite_sequences(source)
        db = PostgresDatabase(url, schema=schema, pool_size=1)
        try:
            await db.open()
        except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise Refusal(f"cannot connect to PostgreSQL at {where}: {exc}") from exc
        try:
            return await _move_into(db, source, tables, autoincrement, where, started, out)
        finally:
            await db.close()
    finally:
        source.close()


async def _move_into(
    db: PostgresDatabase,
    source: sqlite3.Connection,
    tables: dict[str, Table],
    autoincrement: dict[str, int],
    where: str,
    started: float,
    out: TextIO,
) -> Report:
    pg = db.writer
    await check_target_before(pg, set(tables), where)
    try:
        await migrate(db)
    except MigrationError as exc:
        raise Refusal(f"creating the schema at {where} failed: {exc}") from exc
    match_tables(tables, await target_columns(pg))
    seconds = {"prepare": time.perf_counter() - started}
    try:
        async with pg.transaction():
            # The bot's writer lock: no replica writes while the copy runs (db.py).
            await pg.execute(
                "SELECT pg_advisory_xact_lock($1)", lock_key(db.schema or "public", "writer")
            )
            full = await tables_with_rows(pg, list(tables))
            if full:
                raise Refusal(
                    f"{where} received rows meanwhile ({', '.join(full)}): is a bot running?"
                )
            user = await pg.fetchval("SELECT current_user")
            try:
                await pg.execute("SET LOCAL session_replication_role = replica")
            except asyncpg.InsufficientPrivilegeError as exc:
                raise Refusal(
                    f"PostgreSQL user {user} may not turn triggers off for the copy; as a"
                    f" superuser run: GRANT SET ON PARAMETER session_replication_role TO {user}"
                    f" (PostgreSQL 15), then run this again as {user} (the bot's user)"
                ) from exc
            mark = time.perf_counter()
            print(f"copying {len(tables) - 1} tables, then comparing them", file=out, flush=True)
            for table in tables.values():
                if table.name != MIGRATIONS_TABLE:
                    await copy_table(pg, source, table)
            sequences = await move_sequences(pg, tables, autoincrement)
            seconds["copy"] = time.perf_counter() - mark
            mark = time.perf_counter()
            outcomes = [await verify_table(pg, source, table) for table in tables.values()]
            seconds["verify"] = time.perf_counter() - mark
            seconds["total"] = time.perf_counter() - started
            report = Report(outcomes, sequences, seconds)
            if not report.ok:
                raise _Different(report)  # rolls the whole copy back
    except _Different as failed:
        return failed.report
    return report


# --- the command ---------------------------------------------------------------------------------


def _from_settings() -> tuple[Path | None, str | None, str]:
    """DATABASE_PATH and DATABASE_URL as the bot reads them; why not, when it cannot."""
    from pydantic import ValidationError

    from settings import Settings, env_file

    try:
        settings = Settings(_env_file=env_file())  # type: ignore[call-arg]
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]).upper() for e in exc.errors() if e["loc"]})
        return None, None, f"the settings could not be read ({', '.join(fields)})"
    return settings.database_path, settings.database_dsn, ""


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.sqlite_to_postgres",
        description="Move this bot's SQLite database to an empty PostgreSQL database (the bot"
        " stopped), verified table by table. Default: DATABASE_PATH and DATABASE_URL.",
    )
    parser.add_argument("--sqlite", type=Path, help="the bot's SQLite file (DATABASE_PATH)")
    parser.add_argument("--postgres", help="postgresql://user[:password]@host[:port]/database")
    parser.add_argument("--schema", help="put the tables into this (existing) schema")
    return parser.parse_args(argv)


async def amain(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = parse(argv)
    sqlite_path, url = args.sqlite, args.postgres
    if sqlite_path is None or not url:
        found_path, found_url, why = _from_settings()
        sqlite_path = sqlite_path or found_path
        url = url or found_url
        if sqlite_path is None or not url:
            missing = [
                flag
                for flag, value in (("--sqlite", sqlite_path), ("--postgres", url))
                if not value
            ]
            reason = f" ({why})" if why else ""
            print(f"error: give {' and '.join(missing)}{reason}", file=err)
            return EXIT_REFUSED
    if not url.startswith(("postgresql://", "postgres://")):
        print("error: --postgres must be a postgresql://user@host/database address", file=err)
        return EXIT_REFUSED
    into = f" (schema {args.schema})" if args.schema else ""
    print(f"moving {sqlite_path} to {redact(url)}{into}", file=out)
    try:
        report = await move(Path(sqlite_path), url, args.schema, out)
    except Refusal as refusal:
        print(f"error: {refusal}", file=err)
        return EXIT_REFUSED
    print_report(report, out)
    if not report.ok:
        print(
            "error: PostgreSQL's copy differs from the SQLite file (above); it was rolled back"
            " and nothing was kept. Please report this as a bug.",
            file=err,
        )
        return EXIT_DIFFERENT
    print(
        "committed: set DATABASE_URL and start the bot; keep the SQLite file as a backup", file=out
    )
    return EXIT_MOVED


def main() -> None:
    raise SystemExit(asyncio.run(amain(sys.argv[1:])))


if __name__ == "__main__":
    main()
