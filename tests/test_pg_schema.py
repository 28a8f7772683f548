"""The PostgreSQL dialect of the migrations (cases/store/migrations/postgresql/) against the
SQLite files it translates: applied in order, both give the same tables, columns, keys, indexes
and triggers, the triggers write the same rows or refuse with the same message, and an upgrade
across the SQLite table rebuilds (0008, 0010, 0013) keeps the rows in both.

Needs a PostgreSQL server at TEST_DATABASE_URL; every test works in a schema of its own
(pgmig_<random>), dropped at the end, so tests of other branches can share the server.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cases.store.migrate import MIGRATIONS_DIR, Migration, load_migrations, split_statements
from tests.backends import postgres_probe

_PROBE = postgres_probe.run()  # the suite's own probe (tests/backends.py)
if _PROBE.url is None:
    pytest.skip(_PROBE.why_not, allow_module_level=True)
PG_URL: str = _PROBE.url
PG_DIR = MIGRATIONS_DIR / "postgresql"


# --- the two databases ----------------------------------------------------------------------


@pytest.fixture
async def pg() -> AsyncIterator[asyncpg.Connection]:
    """A connection whose search_path is a fresh schema, dropped with everything in it after."""
    conn = await asyncpg.connect(PG_URL)
    schema = f"pgmig_{secrets.token_hex(6)}"
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path TO {schema}")
        yield conn
    finally:
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A SQLite file opened as the bot opens it (foreign keys on; BEGIN/COMMIT by hand)."""
    conn = sqlite3.connect(tmp_path / "lite.sqlite3", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        yield conn
    finally:
        conn.close()


def sqlite_migrations(keep: Callable[[str], bool] = lambda name: True) -> list[Migration]:
    return [m for m in load_migrations(MIGRATIONS_DIR) if keep(m.name)]


def pg_migrations(keep: Callable[[str], bool] = lambda name: True) -> list[Migration]:
    return [m for m in load_migrations(PG_DIR) if keep(m.name)]


def apply_sqlite(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    """As cases/store/migrate.py does: one transaction per file, statement by statement."""
    for migration in migrations:
        conn.execute("BEGIN")
        try:
            for statement in split_statements(migration.sql):
                conn.execute(statement)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


async def apply_pg(conn: asyncpg.Connection, migrations: Sequence[Migration]) -> None:
    """As the PostgreSQL runner does: the whole file as one script in one transaction."""
    for migration in migrations:
        async with conn.transaction():
            await conn.execute(migration.sql)


def to_pg(sql: str) -> str:
    """`?` placeholders (sqlite3) as `$1, $2, ...` (asyncpg); the statements here quote no `?`."""
    count = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


Outcome = tuple[str, str]


@dataclass
class Both:
    """Runs the same statement on both databases and keeps what each made of it."""

    lite: sqlite3.Connection
    pg: asyncpg.Connection
    outcomes: list[tuple[str, Outcome, Outcome]] = field(default_factory=list)

    async def run(self, sql: str, *params: Any) -> None:
        try:
            self.lite.execute(sql, params)
            mine: Outcome = ("ok", "")
        except sqlite3.IntegrityError as exc:
            mine = ("integrity error", str(exc))
        try:
            await self.pg.execute(to_pg(sql), *params)
            theirs: Outcome = ("ok", "")
        except asyncpg.IntegrityConstraintViolationError as exc:
            theirs = ("integrity error", exc.args[0])
        self.outcomes.append((sql, mine, theirs))

    async def rows(
        self, sql: str, *params: Any
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        mine = [tuple(r) for r in self.lite.execute(sql, params).fetchall()]
        theirs = [tuple(r) for r in await self.pg.fetch(to_pg(sql), *params)]
        return mine, theirs


# --- the shape of a schema ------------------------------------------------------------------

SQLITE_TO_PG_TYPE = {"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision"}
# Defaults that cannot be written the same way; each side's expression is checked as written.
RANDOM_UID = {
    "lite": "lower(hex(randomblob(16)))",
    "pg": "replace((gen_random_uuid())::text, '-'::text, ''::text)",
}
TRIGGER_HEAD = re.compile(
    r"CREATE TRIGGER (\w+)\s+(BEFORE|AFTER)\s+(INSERT|DELETE|UPDATE(?:\s+OF\s+[\w\s,]+?)?)"
    r"\s+ON\s+(?:\w+\.)?(\w+)",
    re.IGNORECASE,
)


@dataclass
class Shape:
    """What both dialects must agree on, per table; compared field by field for clear diffs."""

    columns: dict[str, list[tuple[str, str, bool, str | None]]] = field(default_factory=dict)
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    generated_ids: set[str] = field(default_factory=set)
    foreign_keys: dict[str, set[tuple[str, str, str, str]]] = field(default_factory=dict)
    uniques: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    indexes: dict[str, tuple[str, bool, tuple[str, ...], bool]] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)
    triggers: dict[str, set[tuple[str, str]]] = field(default_factory=dict)


def _trigger_head(sql: str) -> tuple[str, str, str]:
    """(table, trigger, 'BEFORE UPDATE OF a, b') from CREATE TRIGGER text of either dialect."""
    match = TRIGGER_HEAD.search(" ".join(sql.split()))
    assert match, sql
    name, timing, event, table = match.groups()
    return table, name, f"{timing.upper()} {' '.join(event.upper().split())}"


def sqlite_shape(conn: sqlite3.Connection) -> Shape:
    shape = Shape()
    tables = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    for table, sql in tables:
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        shape.columns[table] = [
            # A key column is NOT NULL in PostgreSQL; STRICT tables enforce that in SQLite too.
            (name, SQLITE_TO_PG_TYPE[kind], bool(notnull or pk), default)
            for _, name, kind, notnull, default, pk in info
        ]
        keys = sorted((pk, name) for _, name, _, _, _, pk in info if pk)
        shape.primary_keys[table] = tuple(name for _, name in keys)
        if [(name, kind) for _, name, kind, _, _, pk in info if pk] == [("id", "INTEGER")]:
            shape.generated_ids.add(table)  # the rowid alias the code leaves to the database
        shape.foreign_keys[table] = {
            (row[3], row[2], row[4], row[6])
            for row in conn.execute(f"PRAGMA foreign_key_list({table})").fetchall()
        }
        shape.uniques[table] = set()
        for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
            columns = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})").fetchall())
            if origin == "u":
                shape.uniques[table].add(columns)
            elif origin == "c":
                shape.indexes[name] = (table, bool(unique), columns, bool(partial))
        shape.checks[table] = len(re.findall(r"\bCHECK\s*\(", sql, re.IGNORECASE))
        shape.triggers[table] = set()
    for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'"):
        table, name, event = _trigger_head(sql)
        shape.triggers[table].add((name, event))
    return shape


async def pg_shape(conn: asyncpg.Connection) -> Shape:
    shape = Shape()
    here = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
    columns = await conn.fetch(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type,"
        " a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity::text"
        " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        f" WHERE c.relnamespace = {here} AND c.relkind = 'r'"
        " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
    )
    for row in columns:
        table = row["relname"]
        if table not in shape.columns:
            shape.columns[table] = []
            shape.primary_keys[table] = ()
            shape.foreign_keys[table] = set()
            shape.uniques[table] = set()
            shape.checks[table] = 0
            shape.triggers[table] = set()
        shape.columns[table].append(
            (row["attname"], row["type"], row["attnotnull"], _pg_default(row["dflt"]))
        )
        if row["attidentity"]:  # '' when none
            assert row["attidentity"] == "d", row  # BY DEFAULT: explicit ids stay possible
            assert row["attname"] == "id", row
            shape.generated_ids.add(row["relname"])
    constraints = await conn.fetch(
        "SELECT c.relname, k.contype::text, k.confdeltype::text, f.relname AS ftable,"
        " array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)"
        "       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n"
        "       ORDER BY u.i) AS cols,"
        " array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)"
        "       JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n"
        "       ORDER BY u.i) AS fcols"
        " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
        " LEFT JOIN pg_class f ON f.oid = k.confrelid"
        f" WHERE k.connamespace = {here}"
    )
    actions = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL"}
    for row in constraints:
        table, cols = row["relname"], tuple(row["cols"])
        if row["contype"] == "p":
            shape.primary_keys[table] = cols
        elif row["contype"] == "u":
            shape.uniques[table].add(cols)
        elif row["contype"] == "c":
            shape.checks[table] += 1
        elif row["contype"] == "f":
            [column], [target] = cols, row["fcols"]
            shape.foreign_keys[table].add(
                (column, row["ftable"], target, actions[row["confdeltype"]])
            )
    indexes = await conn.fetch(
        "SELECT ic.relname AS name, c.relname AS tbl, i.indisunique,"
        " i.indpred IS NOT NULL AS partial,"
        " array(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(n, k)"
        "       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n"
        "       ORDER BY u.k) AS cols"
        " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        " JOIN pg_class c ON c.oid = i.indrelid"
        f" WHERE c.relnamespace = {here}"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    )
    for row in indexes:
        shape.indexes[row["name"]] = (
            row["tbl"],
            row["indisunique"],
            tuple(row["cols"]),
            row["partial"],
        )
    triggers = await conn.fetch(
        "SELECT pg_get_triggerdef(t.oid) AS sql FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid"
        f" WHERE c.relnamespace = {here} AND NOT t.tgisinternal"
    )
    for row in triggers:
        table, name, event = _trigger_head(row["sql"])
        shape.triggers[table].add((name, event))
    return shape


def _pg_default(expression: str | None) -> str | None:
    """'{}'::text -> '{}', 0 -> 0: the literal as SQLite's table_info shows it."""
    if expression is None:
        return None
    if expression == RANDOM_UID["pg"]:
        return RANDOM_UID["lite"]
    literal = re.fullmatch(r"('(?:[^']|'')*'|-?\d+)(?:::[a-z ]+)?", expression)
    return literal.group(1) if literal else expression


# --- 1, 2: the same final schema ------------------------------------------------------------


def test_every_sqlite_migration_has_its_postgresql_dialect() -> None:
    assert [m.name for m in pg_migrations()] == [m.name for m in sqlite_migrations()]


async def test_both_dialects_build_the_same_schema(
    lite: sqlite3.Connection, pg: asyncpg.Connection
) -> None:
    apply_sqlite(lite, sqlite_migrations())
    await apply_pg(pg, pg_migrations())
    mine, theirs = sqlite_shape(lite), await pg_shape(pg)
    assert sorted(theirs.columns) == sorted(mine.columns)
    for table in mine.columns:
        assert theirs.columns[table] == mine.columns[table], table
    assert theirs.primary_keys == mine.primary_keys
    assert theirs.generated_ids == mine.generated_ids
    assert theirs.foreign_keys == mine.foreign_keys
    assert theirs.uniques == mine.uniques
    assert theirs.indexes == mine.indexes
    assert theirs.checks == mine.checks
    assert theirs.triggers == mine.triggers
    assert sum(len(t) for t in mine.triggers.values()) == 14


PARTIAL_INDEX = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(\w+)\s+ON\s+[^;]*?\bWHERE\b([^;]*)")


def _predicates(texts: Sequence[str]) -> dict[str, str]:
    """Each partial index's WHERE, as last written, whitespace collapsed."""
    found: dict[str, str] = {}
    for text in texts:
        for name, predicate in PARTIAL_INDEX.findall(text):
            found[name] = " ".join(predicate.split())
    return found


def test_partial_indexes_have_the_same_predicates(lite: sqlite3.Connection) -> None:
    """PostgreSQL deparses predicates into another text, so the files are compared: each
    predicate is written alike in both dialects (none needs `flag = 1` for a bare flag)."""
    apply_sqlite(lite, sqlite_migrations())
    installed = [sql for (sql,) in lite.execute("SELECT sql FROM sqlite_master WHERE sql > ''")]
    mine = _predicates(installed)
    assert len(mine) == 21
    assert _predicates([m.sql for m in pg_migrations()]) == mine


# --- 2: the triggers do the same -------------------------------------------------------------

WEBHOOK_EVENTS = (
    "SELECT type, subject, case_id, lawsuit_id, hearing_id, booking_id, deadline_id, detail,"
    " occurred_at, fanned_out FROM webhook_events ORDER BY subject, id"
)


def _events(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """detail parsed into its (key, value) pairs: same keys, order and JSON types, any spacing."""
    return [(*row[:7], json.loads(row[7], object_pairs_hook=list), *row[8:]) for row in rows]


async def test_triggers_write_the_same_rows_and_refuse_with_the_same_messages(
    lite: sqlite3.Connection, pg: asyncpg.Connection
) -> None:
    apply_sqlite(lite, sqlite_migrations())
    await apply_pg(pg, pg_migrations())
    both = Both(lite, pg)
    for user, role in ((1001, "citizen"), (1002, "citizen"), (2001, "community_worker")):
        await both.run(
            "INSERT INTO users(telegram_id, role, first_seen, last_seen) VALUES (?, ?, 'x', 'x')",
            user,
            role,
        )
    add_case = (
        "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
        " created_at, updated_at, routed_to, routed_to_name)"
        " VALUES (?, ?, 'submitted', ?, 's', '2026-11-25', ?, 'u0', ?, ?)"
    )
    # webhook_case_created: one event, or two when intake routed the case.
    await both.run(add_case, "XF-1", "petition", 1001, "c1", None, None)
    await both.run(add_case, "XF-2", "petition", 1002, "c2", "office:xf", "县信访局")
    await both.run(add_case, "TJ-3", "mediation", 1001, "c3", "room:1", '调解室 "一"\n')
    # webhook_case_status / webhook_case_routed: only a real change, routed before status.
    await both.run("UPDATE cases SET status = 'accepted', updated_at = 'u1' WHERE id = 1")
    await both.run("UPDATE cases SET status = 'accepted', updated_at = 'u2' WHERE id = 1")
    await both.run(
        "UPDATE cases SET status = 'decided', routed_to = 'agency:psb', routed_to_name = '公安局',"
        " updated_at = 'u3' WHERE id = 2"
    )
    await both.run("UPDATE cases SET routed_to = routed_to, updated_at = 'u4' WHERE id = 2")
    await both.run("UPDATE cases SET routed_to = NULL, updated_at = 'u5' WHERE id = 3")
    await both.run("UPDATE cases SET subject = 'other', updated_at = 'u6'")
    await both.run(
        "UPDATE cases SET status = 'closed', routed_to = 'office:xf', updated_at = 'u7'"
        " WHERE id IN (1, 2)"
    )
    await both.run("UPDATE cases SET status = 'nonsense' WHERE id = 1")  # CHECK: refused
    # webhook_petition_handover: the three kinds, and details with a key missing or a number.
    add_event = (
        "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
        " VALUES (?, ?, 3001, 'office_staff', ?, ?)"
    )
    await both.run(add_event, 1, "e1", "note", '{"agency_id": "ignored"}')
    await both.run(
        add_event,
        1,
        "e2",
        "petition_assigned",
        json.dumps({"agency_id": "county_psb", "agency_name": "谷城县公安局"}, ensure_ascii=False),
    )
    await both.run(add_event, 1, "e3", "petition_returned", '{"agency_id": "county_psb"}')
    await both.run(add_event, 2, "e4", "petition_transferred", '{"body_name": "襄阳市信访局"}')
    await both.run(add_event, 2, "e5", "petition_assigned", '{"agency_id": 7}')
    await both.run(add_event, 2, "e6", "petition_assigned", '{"agency_name": {"zh": "局"}}')
    # case_events_no_update / case_events_no_delete.
    await both.run("UPDATE case_events SET kind = 'changed' WHERE id = 1")
    await both.run("DELETE FROM case_events WHERE id = 2")
    # Hearings: subject from lawsuit, case or hearing; changes of date or status only.
    await both.run(
        "INSERT INTO lawsuits(agency_id, agency, court, court_case_number, plaintiff,"
        " act_challenged, complaint_received_on, registered_by, created_at, updated_at)"
        " VALUES ('psb', '公安局', '法院', '(2026)鄂0625行初1号', '张三', '处罚', '2026-11-20',"
        " 3001, 'x', 'x')"
    )
    add_hearing = (
        "INSERT INTO hearings(case_id, lawsuit_id, agency, court, starts_at, created_at,"
        " updated_at) VALUES (?, ?, 'psb', '法院', ?, ?, 'h0')"
    )
    await both.run(add_hearing, 1, 1, "2026-12-01T01:00:00.000000+00:00", "h1")
    await both.run(add_hearing, 2, None, "2026-12-02T01:00:00.000000+00:00", "h2")
    await both.run(add_hearing, None, None, "2026-12-03T01:00:00.000000+00:00", "h3")
    await both.run("UPDATE hearings SET court = 'x', updated_at = 'h4' WHERE id = 1")
    await both.run("UPDATE hearings SET starts_at = starts_at, updated_at = 'h5' WHERE id = 1")
    await both.run(
        "UPDATE hearings SET starts_at = '2026-12-08T01:00:00.000000+00:00', updated_at = 'h6'"
        " WHERE id = 1"
    )
    await both.run("UPDATE hearings SET status = 'held', updated_at = 'h7' WHERE id IN (2, 3)")
    await both.run(
        "INSERT INTO hearing_appearances(hearing_id, attendance, recorded_by, recorded_at)"
        " VALUES (2, 'staff', 3001, 'h8')"
    )
    # Bookings: the seat limit on insert and on update, and webhook_booking_created.
    add_session = (
        "INSERT INTO reception_sessions(agency, source, day, starts, ends, place, place_en,"
        " slot_minutes, seats, created_at, updated_at)"
        " VALUES ('psb', 'admin', ?, '09:00', '11:00', 'p', 'p', 30, ?, 'x', 'x')"
    )
    await both.run(add_session, "2026-11-30", 2)
    await both.run(add_session, "2026-12-07", 1)
    add_booking = (
        "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, booked_by,"
        " person_phone, status, subject, request, people, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 's', 'r', 1, ?, 'x')"
    )
    # A refused insert spends an identity number in PostgreSQL, not a rowid in SQLite: the
    # refused inserts come after the accepted ones, so the ids stay the same in both.
    await both.run(add_booking, "JD-1", 1, 0, "a1", 1001, None, None, "booked", "b1")
    await both.run(add_booking, "JD-2", 1, 0, "a2", 1002, None, None, "offered", "b2")
    await both.run(add_booking, "JD-3", 1, 0, "a3", None, 2001, "139", "waiting", "b3")
    await both.run(add_booking, "JD-4", 1, 0, "a1", None, 2001, "138", "booked", "b4")  # full
    await both.run(add_booking, "JD-5", 9, 0, "a4", 1001, None, None, "booked", "b5")  # no FK
    await both.run("UPDATE bookings SET status = 'offered' WHERE id = 3")  # full
    await both.run("UPDATE bookings SET status = 'booked' WHERE id = 2")  # keeps its seat
    await both.run("UPDATE bookings SET status = 'cancelled' WHERE id = 1")
    await both.run("UPDATE bookings SET status = 'offered' WHERE id = 3")
    await both.run("UPDATE bookings SET slot = 1 WHERE id = 2")
    await both.run("UPDATE bookings SET session_id = 2, slot = 0 WHERE id = 2")
    await both.run("UPDATE bookings SET session_id = 2, slot = 0 WHERE id = 3")  # full
    await both.run("UPDATE bookings SET people = 2 WHERE id = 3")
    await both.run("UPDATE bookings SET status = 'confirmed', slot = 1 WHERE id = 1")
    # booking_events_no_update / booking_events_no_delete.
    await both.run("INSERT INTO booking_events(booking_id, at, kind) VALUES (1, 'x', 'booked')")
    await both.run("UPDATE booking_events SET kind = 'x'")
    await both.run("DELETE FROM booking_events")

    messages = [mine[1] for _, mine, _ in both.outcomes if mine[0] != "ok"]
    assert [m for m in messages if "full" in m or "append-only" in m] == [
        "case_events is append-only",
        "case_events is append-only",
        "reception slot is full",
        "reception slot is full",
        "reception slot is full",
        "booking_events is append-only",
        "booking_events is append-only",
    ]
    # Constraint errors other than the triggers' word their messages differently: their class
    # must agree, and the trigger messages must be the same text.
    for sql, mine, theirs in both.outcomes:
        assert mine[0] == theirs[0], (sql, mine, theirs)
        if "full" in mine[1] or "append-only" in mine[1]:
            assert mine == theirs, sql

    mine, theirs = await both.rows(WEBHOOK_EVENTS)
    assert _events(theirs) == _events(mine)
    assert len(mine) == 28
    pairs = [json.loads(r[7], object_pairs_hook=list) for r in mine]
    assert ["unit", "agency:7"] in [list(p) for e in pairs for p in e]  # a number joined as text
    for table in ("cases", "bookings", "case_events", "booking_events", "hearings"):
        mine, theirs = await both.rows(f"SELECT * FROM {table} ORDER BY id")
        assert theirs == mine, table
    uids = [r[0] for r in await pg.fetch("SELECT uid FROM webhook_events")]
    assert all(re.fullmatch(r"[0-9a-f]{32}", uid) for uid in uids) and len(set(uids)) == len(uids)


async def test_the_date_checks_accept_and_refuse_the_same_text(
    lite: sqlite3.Connection, pg: asyncpg.Connection
) -> None:
    """SQLite's `date(x) IS x` is a regular expression in PostgreSQL (0003, 0005)."""
    apply_sqlite(lite, sqlite_migrations())
    await apply_pg(pg, pg_migrations())
    both = Both(lite, pg)
    # Not here: 'now', refused by both, by SQLite as "non-deterministic use of date()".
    samples = [
        "2026-11-25", "2024-02-29", "2023-02-29", "2024-02-31", "2024-02-32", "2024-13-01",
        "2024-00-10", "2024-01-00", "0000-01-01", "9999-12-31", "2024-1-05", "2024-01-05 ",
        " 2024-01-05", "2024-01-05T00:00", "2024-01-05\n", "2460000.5", "",
        "２０２４-01-01",
    ]  # fmt: skip
    for n, sample in enumerate(samples):
        await both.run(
            "INSERT INTO lawsuits(agency_id, agency, court, court_case_number, plaintiff,"
            " act_challenged, complaint_received_on, registered_by, created_at, updated_at)"
            " VALUES ('a', 'a', 'c', ?, 'p', 'x', ?, 1, 'x', 'x')",
            str(n),
            sample,
        )
    for sql, mine, theirs in both.outcomes:
        assert mine[0] == theirs[0], (sql, mine, theirs)
    mine, theirs = await both.rows("SELECT complaint_received_on FROM lawsuits ORDER BY id")
    assert theirs == mine
    assert len(mine) == 6  # the first four, and years 0000 and 9999


async def test_two_transactions_cannot_both_take_the_last_seat(pg: asyncpg.Connection) -> None:
    """SQLite has one writer, so its seat count is never stale; PostgreSQL's trigger locks the
    session row, so the second of two concurrent bookings counts the first one's seat."""
    await apply_pg(pg, pg_migrations())
    await pg.execute(
        "INSERT INTO users(telegram_id, first_seen, last_seen)"
        " VALUES (1, 'f', 'l'), (2, 'f', 'l');"
        "INSERT INTO reception_sessions(agency, source, day, starts, ends, place, place_en,"
        " slot_minutes, seats, created_at, updated_at)"
        " VALUES ('psb', 'admin', '2026-11-30', '09:00', '11:00', 'p', 'p', 30, 1, 'x', 'x')"
    )
    book = (
        "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, status, subject,"
        " request, people, created_at, updated_at)"
        " VALUES ($1, 1, 0, 'psb', $2, 'booked', 's', 'r', 1, 'x', 'x')"
    )
    other = await asyncpg.connect(PG_URL)
    try:
        await other.execute(f"SET search_path TO {await pg.fetchval('SELECT current_schema()')}")
        first = other.transaction()
        await first.start()
        await other.execute(book, "JD-1", 1)
        second = asyncio.create_task(pg.execute(book, "JD-2", 2))
        await asyncio.sleep(0.3)
        assert not second.done()  # waiting for the session row
        await first.commit()
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="slot is full"):
            await asyncio.wait_for(second, 5)
    finally:
        await other.close()
    assert await pg.fetchval("SELECT count(*) FROM bookings") == 1


# --- 3: upgrades across the SQLite table rebuilds keep the rows -----------------------------


async def _seed(both: Both, cut: str) -> None:
    """Rows in the tables the rebuild at `cut` copies (cases, users) and in tables naming them."""
    for user in (1001, 2001, 4001):
        await both.run(
            "INSERT INTO users(telegram_id, locale, first_seen, last_seen, unit)"
            " VALUES (?, 'zh', 'f', 'l', NULL)",
            user,
        )
    await both.run(
        "INSERT INTO drafts(user_id, procedure, status, answers, created_at, updated_at)"
        " VALUES (1001, 'petition', 'submitted', '{}', 'x', 'x')"
    )
    add_case = (
        "INSERT INTO cases(number, procedure, status, citizen_id, draft_id, sensitive, subject,"
        " answers, linked_case_id, received_on, created_at, updated_at, routed_to,"
        " routed_to_name, link_reason) VALUES (?, ?, ?, ?, ?, ?, '事由', ?, ?, '2026-11-25',"
        " 'c', 'u', ?, ?, ?)"
    )
    answers = json.dumps(
        {"petition_kind": "request", "channel": "reception_day", "facts": ["一", {"b": 2}]},
        ensure_ascii=False,
    )
    await both.run(add_case, "XF-1", "petition", "accepted", 1001, 1, 1, answers, None,
                   "office:xf", "信访局", None)  # fmt: skip
    await both.run(add_case, "FY-2", "reconsideration", "withdrawn", 1001, None, 0, "{}", 1,
                   None, None, "same facts")  # fmt: skip
    await both.run(add_case, "XF-3", "petition", "submitted", 2001, None, 0, answers, None,
                   None, None, None)  # fmt: skip
    await both.run("INSERT INTO parties(case_id, role, name) VALUES (3, 'applicant', '李大爷')")
    await both.run(
        "INSERT INTO case_events(case_id, at, actor_role, kind) VALUES (2, 'a', 'citizen',"
        " 'deemed_withdrawn')"
    )
    if cut < "0013":
        return
    await both.run("UPDATE cases SET mediator_id = 4001 WHERE id = 2")
    await both.run(
        "INSERT INTO reception_sessions(agency, source, day, starts, ends, place, place_en,"
        " slot_minutes, seats, created_at, updated_at)"
        " VALUES ('psb', 'admin', '2026-11-30', '09:00', '11:00', 'p', 'p', 30, 3, 'x', 'x')"
    )
    await both.run(
        "INSERT INTO bookings(number, session_id, slot, agency, citizen_id, booked_by,"
        " person_name, person_phone, status, subject, request, people, case_id, created_at,"
        " updated_at) VALUES ('JD-1', 1, 0, 'psb', NULL, 2001, '李大爷', '139', 'attended',"
        " 's', 'r', 1, 3, 'x', 'x')"
    )
    for key, case_id, audience in (("a", 3, "citizen"), ("b", 1, "citizen"), ("c", 3, "staff")):
        await both.run(
            "INSERT INTO reminders(dedup_key, kind, source_kind, case_id, step, audience,"
            " chat_id, due_at, created_at, updated_at) VALUES (?, 'notice', 'notice', ?,"
            " 'notice:accepted', ?, 2001, 'd', 'x', 'x')",
            key,
            case_id,
            audience,
        )


@pytest.mark.parametrize("cut", ["0007", "0008", "0010", "0013"])
async def test_an_upgrade_across_a_rebuild_keeps_the_rows(
    lite: sqlite3.Connection, pg: asyncpg.Connection, cut: str
) -> None:
    """Rows written before `cut` and everything after it applied: the same rows in both."""

    def before(name: str) -> bool:
        return name < cut

    apply_sqlite(lite, sqlite_migrations(before))
    await apply_pg(pg, pg_migrations(before))
    both = Both(lite, pg)
    await _seed(both, cut)
    assert all(a == b == ("ok", "") for _, a, b in both.outcomes), both.outcomes
    apply_sqlite(lite, sqlite_migrations(lambda name: not before(name)))
    await apply_pg(pg, pg_migrations(lambda name: not before(name)))

    mine, theirs = await both.rows("SELECT * FROM cases ORDER BY id")
    at = 9  # answers, compared parsed: json_set and the PostgreSQL rebuild space it differently
    assert [(*r[:at], json.loads(r[at]), *r[at + 1 :]) for r in theirs] == [
        (*r[:at], json.loads(r[at]), *r[at + 1 :]) for r in mine
    ]
    assert [(r[0], r[3], r[4]) for r in theirs] == [
        (1, "accepted", 1001),
        (2, "abandoned" if cut == "0007" else "withdrawn", 1001),
        (3, "submitted", None if cut == "0013" else 2001),
    ]
    kinds = [json.loads(r[at]).get("petition_kind") for r in theirs]
    assert kinds == ["complaint", None, "complaint"]
    assert list(json.loads(theirs[0][at])) == ["petition_kind", "channel", "facts"]
    for table in ("users", "drafts", "parties", "case_events", "bookings"):
        mine, theirs = await both.rows(f"SELECT * FROM {table} ORDER BY 1")
        assert theirs == mine, table
    mine, theirs = await both.rows(
        "SELECT dedup_key, status, updated_at FROM reminders ORDER BY 1"
    )
    assert [r[:2] for r in theirs] == [r[:2] for r in mine]
    if cut == "0013":
        assert [r[:2] for r in mine] == [("a", "cancelled"), ("b", "pending"), ("c", "pending")]
        for stamp in (mine[0][2], theirs[0][2]):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000\+00:00", stamp)
    # The constraints the rebuilds added hold after the upgrade, and new ids follow the rows.
    both.outcomes.clear()
    await both.run(
        "INSERT INTO cases(number, procedure, status, subject, received_on, created_at,"
        " updated_at) VALUES ('x', 'mediation', 'submitted', 's', 'd', 'x', 'x')"
    )
    await both.run(
        "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
        " created_at, updated_at) VALUES ('y', 'petition', 'nonsense', 1001, 's', 'd', 'x', 'x')"
    )
    await both.run("UPDATE users SET role = 'community_worker' WHERE telegram_id = 2001")
    await both.run("UPDATE users SET role = 'nobody' WHERE telegram_id = 2001")
    await both.run(
        "INSERT INTO cases(number, procedure, status, subject, received_on, created_at,"
        " updated_at) VALUES ('z', 'petition', 'submitted', 's', 'd', 'x', 'x')"
    )
    refused, accepted = ("integrity error", "integrity error"), ("ok", "ok")
    assert [(a[0], b[0]) for _, a, b in both.outcomes] == [
        refused,
        refused,
        accepted,
        refused,
        accepted,
    ]
    mine, theirs = await both.rows("SELECT id FROM cases WHERE number = 'z'")
    # SQLite takes max(rowid) + 1; the identity also spent a number on each refused insert.
    assert mine == [(4,)] and theirs[0][0] > 3


async def test_a_case_status_0008_does_not_know_fails_the_upgrade_and_changes_nothing(
    pg: asyncpg.Connection,
) -> None:
    """As in SQLite, the CHECK 0008 adds refuses an existing row; the file rolls back whole."""
    await apply_pg(pg, pg_migrations(lambda name: name < "0008"))
    await pg.execute(
        "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1, 'f', 'l');"
        "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
        " created_at, updated_at) VALUES ('x', 'petition', 'settled', 1, 's', 'd', 'c', 'u')"
    )
    [step] = pg_migrations(lambda name: name.startswith("0008"))
    with pytest.raises(asyncpg.CheckViolationError):
        await apply_pg(pg, [step])
    assert await pg.fetchval("SELECT status FROM cases") == "settled"
    assert (
        await pg.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'users' AND column_name = 'display_name'"
        )
        == 0
    )
