"""python -m scripts.sqlite_to_postgres (issue #14): the SQLite file a county filled through the
bot's own flows moves to a fresh PostgreSQL schema, every table counted and compared here again
(independently of the tool's own verification); the ids go on from where they were; and what
must be refused is refused without a write to either side.

Needs a PostgreSQL server at TEST_DATABASE_URL. The target is a schema of its own
(``s2p_<random>``, passed with ``--schema``), dropped at the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiogram import Bot

from bot import create_dispatcher
from cases.litigation.court_cases import RegisterLawsuit
from cases.store.db import Database
from cases.store.migrate import load_migrations, migrate
from cases.store.postgres import PostgresDatabase
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock, to_db
from cases.webhooks.inbound import InboundService
from scheduling.planner import Planner
from scheduling.webhooks import WebhookPump
from scripts import sqlite_to_postgres as tool
from settings import Settings
from tests.assignment_support import PSB_ROOM, deliver, file_mediation, make_mediator, tick
from tests.backends import postgres_probe
from tests.case_file_support import file_reconsideration, person
from tests.invitation_support import admin, invite
from tests.queue_support import seed_case
from tests.support import ADMIN_ID, ENGINE, ROOT, PacedClient, file_petition, migrations_where
from tests.webhooks_support import (
    COURT_SECRET,
    SECRET,
    CountySystem,
    hearing_body,
    receivers_file,
    signed_headers,
)

_PROBE = postgres_probe.run()  # the suite's own probe (tests/backends.py)
if _PROBE.url is None:
    pytest.skip(_PROBE.why_not, allow_module_level=True)
PG_URL: str = _PROBE.url
MIGRATIONS = len(load_migrations())


pytestmark = pytest.mark.sqlite_only  # the `db` fixture is the SQLite source only


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    """An empty schema on the test server, dropped with everything in it afterwards."""
    name = f"s2p_{secrets.token_hex(6)}"
    admin_conn = await asyncpg.connect(PG_URL)
    try:
        await admin_conn.execute(f"CREATE SCHEMA {name}")
        yield name
    finally:
        try:
            await admin_conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await admin_conn.close()


@pytest.fixture
async def system() -> AsyncIterator[CountySystem]:
    receiver = await CountySystem(SECRET).start()
    try:
        yield receiver
    finally:
        await receiver.stop()


async def run_tool(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await tool.amain(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def args(path: Path, schema: str) -> list[str]:
    return ["--sqlite", str(path), "--postgres", PG_URL, "--schema", schema]


async def pg_connect(schema: str) -> asyncpg.Connection:
    return await asyncpg.connect(PG_URL, server_settings={"search_path": schema})


async def pg_tables(schema: str) -> dict[str, int]:
    """Every table of the schema and its row count."""
    conn = await pg_connect(schema)
    try:
        names = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        return {r[0]: int(await conn.fetchval(f'SELECT count(*) FROM "{r[0]}"')) for r in names}
    finally:
        await conn.close()


def sqlite_rows(path: Path) -> tuple[dict[str, list[str]], dict[str, list[tuple[Any, ...]]]]:
    """Every table's columns and rows, read as any SQLite client would."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        columns = {n: [r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')] for n in names}
        rows = {}
        for name in names:
            quoted = ", ".join(f'"{c}"' for c in columns[name])
            rows[name] = [tuple(r) for r in conn.execute(f'SELECT {quoted} FROM "{name}"')]
        return columns, rows
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- a county's database, filled through the bot -------------------------------------------------


async def book_via_chat(client: PacedClient) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("邻居长期噪音扰民")
    await client.send("请派出所依法处理")
    await client.send("王小明")
    await client.press("2")
    await client.press("没有")
    await client.press("确认预约")


async def fill_county(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    """What weeks of use leave behind: cases of every procedure filed in the chat (hostile
    text, files), a form left half-way, mediators with offers, a reception-day booking, an
    invitation, a lawsuit with hearings (one sent by the court, signed), reminders planned and
    sent, webhook events captured and delivered, and edge values (a web chat id at 2^63 - 1,
    a group's negative id) written straight in."""
    court = {"id": "court", "secret": COURT_SECRET, "may": ["hearing.scheduled"]}
    hooks = receivers_file(("c12345", system, False), senders=[court])
    dp = create_dispatcher(settings, db, clock, webhooks=hooks)

    def citizen(user_id: int) -> PacedClient:
        return PacedClient(dp, bot, user_id=user_id, language_code="zh-hans", clock=clock)

    await file_reconsideration(await person(dp, bot, clock, 1001), db)  # hostile text, files
    await file_petition(citizen(1002), db)
    for mediator in (7101, 7102):
        await make_mediator(dp, bot, mediator, PSB_ROOM, name=f"调解员{mediator}")
    await file_mediation(citizen(1003), db)
    await tick(dp, db, bot, clock)  # offered to a mediator
    await book_via_chat(citizen(1004))
    halfway = citizen(1005)
    await halfway.send("/petition")
    await halfway.press("没有")  # the draft and the conversation state stay
    boss = await admin(dp, bot, clock)
    await invite(boss, "调解员", "城关镇行政调解室")
    await dp["litigation"].register_lawsuit(
        RegisterLawsuit(
            agency_id="county_psb",
            court="谷城县人民法院",
            court_case_number="（2026）鄂0625行初12号",
            plaintiff="张三",
            act_challenged="谷公罚决字〔2026〕12号",
            complaint_received_on=date(2026, 11, 24),
            hearing_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
            registered_by=ADMIN_ID,
        )
    )
    inbound = InboundService(db, clock, hooks, dp["litigation"])
    body = hearing_body("court-778")
    stamp = int(clock.now().timestamp())
    status, answer = await inbound.handle(
        signed_headers(COURT_SECRET, "court", "hearing.scheduled", "court-778", body, stamp), body
    )
    assert status == 200, answer
    for number in range(3):  # cases the office entered, one with an overdue deadline
        await seed_case(
            db,
            clock,
            f"FY-2026-9{number:05d}",
            "reconsideration",
            "office:reconsideration_office",
            due=date(2026, 11, 20) + timedelta(days=10 * number),
            copy_sent=number == 1,
        )
    # A petition handed over to an agency (交办).
    await seed_case(db, clock, "XF-2026-900001", "petition", "agency:county_psb", rule="X4")
    now = to_db(clock.now())
    await db.execute(
        "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen) VALUES"
        " (?, 'en', 'citizen', ?, ?), (?, 'zh', 'citizen', ?, ?)",
        (2**63 - 1, now, now, -1001234567890, now, now),
    )
    planner = Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar)
    await planner.plan()
    await deliver(db, bot, clock)
    clock.advance(timedelta(days=2))
    await planner.plan()
    await deliver(db, bot, clock)
    pump = WebhookPump(dp["webhooks"], clock)
    try:
        await pump.capture()
        for receiver in pump.queue.receivers:
            await pump.deliver(receiver)
        await pump.capture()  # captured after the delivery round: some stay pending
    finally:
        await pump.stop()
    await db.close()  # as a stopped bot leaves it: the write-ahead log folded in


FILLED = {
    # Tables the county above must have filled, so the comparison below means something.
    "users", "drafts", "fsm_states", "processed_updates", "case_sequences", "cases", "parties",
    "attachments", "case_events", "case_deadlines", "reminders", "reminder_plans", "lawsuits",
    "hearings", "litigation_defences", "reception_sessions", "bookings", "booking_events",
    "staff_invitations", "mediation_offers", "petition_handovers", "webhook_events",
    "webhook_deliveries", "webhook_inbound", "webhook_overdue",
}  # fmt: skip


async def test_a_county_database_moves_whole_and_the_ids_go_on(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    bot: Bot,
    system: CountySystem,
    schema: str,
) -> None:
    await fill_county(settings, db, clock, bot, system)
    path = settings.database_path
    columns, before = sqlite_rows(path)
    empty = sorted(name for name in FILLED if not before[name])
    assert empty == [], f"the county left these tables empty: {empty}"
    source_digest = digest(path)

    code, out, err = await run_tool(*args(path, schema))

    assert (code, err) == (0, ""), out + err
    assert "committed" in out and "took " in out
    for name in before:  # the tool's own table: one line per table, all identical
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert line.endswith(("identical", "same versions")), line
    assert digest(path) == source_digest  # only read

    # Counted and compared here again, without the tool's code: every table, every row.
    conn = await pg_connect(schema)
    try:
        assert set(await pg_tables(schema)) == set(before)
        for name, rows in before.items():
            quoted = ", ".join(f'"{c}"' for c in columns[name])
            theirs = [tuple(r) for r in await conn.fetch(f'SELECT {quoted} FROM "{name}"')]
            if name == "schema_migrations":  # written by migrate(): its own applied_at
                assert sorted(r[:2] for r in theirs) == sorted(r[:2] for r in rows)
                continue
            assert len(theirs) == len(rows), name
            assert Counter(theirs) == Counter(rows), name
        # Every identity sequence stands at its table's max(id).
        identities = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND is_identity = 'YES'",
            schema,
        )
        assert len(identities) > 20
        for table, column in identities:
            top = await conn.fetchval(f'SELECT max("{column}") FROM "{table}"')
            if top is None:
                continue
            last = await conn.fetchval(
                "SELECT last_value FROM pg_sequences WHERE schemaname = $1"
                " AND sequencename = split_part(pg_get_serial_sequence($2, $3), '.', 2)",
                schema,
                f'"{table}"',
                column,
            )
            assert last == top, table
        top_case = await conn.fetchval("SELECT max(id) FROM cases")
        top_event = await conn.fetchval("SELECT max(id) FROM webhook_events")
    finally:
        await conn.close()

    # A citizen files a case on PostgreSQL after the move: the next id, and the webhook
    # trigger (on again) writes its events after the copied ones.
    pg = PostgresDatabase(PG_URL, schema=schema, pool_size=2)
    await pg.open()
    try:
        dp = create_dispatcher(settings, pg, clock)
        citizen = PacedClient(dp, bot, user_id=1006, language_code="zh-hans", clock=clock)
        case_id = await file_petition(citizen, pg)
        assert case_id == top_case + 1
        events = await pg.fetch_all(
            "SELECT id, type FROM webhook_events WHERE case_id = ? ORDER BY id", (case_id,)
        )
        assert [r["type"] for r in events][:1] == ["case.created"]
        assert min(r["id"] for r in events) == top_event + 1
    finally:
        await pg.close()

    # A second run finds the target holding data and changes nothing.
    counts = await pg_tables(schema)
    code, out, err = await run_tool(*args(path, schema))
    assert code == tool.EXIT_REFUSED
    assert err.startswith("error: ") and "already holds data" in err and err.count("\n") == 1
    assert await pg_tables(schema) == counts


async def test_a_database_at_an_older_migration_is_refused_and_left_alone(
    clock: FakeClock, schema: str, tmp_path: Path
) -> None:
    old = migrations_where(tmp_path / "old", lambda name: name < "0019")
    path = tmp_path / "old.sqlite3"
    source = SqliteDatabase(path)
    await source.open()
    await migrate(source, old, clock=clock)
    await seed_case(source, clock, "FY-2026-000001", "reconsideration", "office:x")
    await source.close()
    source_digest = digest(path)

    code, out, err = await run_tool(*args(path, schema))

    assert code == tool.EXIT_REFUSED, out + err
    assert "0017_petition_handovers.sql, not at the latest" in err
    assert "start the bot (this version) on it once" in err
    assert digest(path) == source_digest
    assert await pg_tables(schema) == {}  # nothing created on the PostgreSQL side either


async def test_a_missing_or_foreign_file_is_refused(schema: str, tmp_path: Path) -> None:
    code, _, err = await run_tool(*args(tmp_path / "nowhere.sqlite3", schema))
    assert code == tool.EXIT_REFUSED and "no SQLite database at" in err
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    code, _, err = await run_tool(*args(text, schema))
    assert code == tool.EXIT_REFUSED and "is not a SQLite database" in err
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)")
    conn.close()
    code, _, err = await run_tool(*args(other, schema))
    assert code == tool.EXIT_REFUSED and "is not this bot's database" in err
    assert await pg_tables(schema) == {}


async def small_database(path: Path, clock: FakeClock) -> None:
    """A few cases, migrated to the latest version, the bot stopped."""
    source = SqliteDatabase(path)
    await source.open()
    await migrate(source, clock=clock)
    for n in range(3):
        await seed_case(source, clock, f"FY-2026-{n:06d}", "reconsideration", "office:x")
    now = to_db(clock.now())
    await source.execute(
        "INSERT INTO users(telegram_id, role, unit, first_seen, last_seen)"
        " VALUES (7101, 'mediator', 'room_psb', ?, ?)",
        (now, now),
    )
    await source.execute(
        "INSERT INTO mediator_profiles(user_id, shown_name, max_load, updated_at)"
        " VALUES (7101, '王老师', 5, ?)",
        (now,),
    )
    await source.execute(
        "INSERT INTO mediation_offers(case_id, mediator_id, status, offered_at, expires_at,"
        " answered_at, reason) VALUES (1, 7101, 'declined', ?, ?, ?, '回避')",
        (now, now, now),
    )
    await source.close()


@pytest.mark.parametrize(
    ("table", "column", "where", "value", "fixed", "problem"),
    [
        # mediator_profiles and mediation_offers are not STRICT in SQLite: loosely typed.
        ("mediator_profiles", "max_load", "user_id = 7101", "2.5", "3",
         "row user_id=7101 holds real 2.5, not an integer (bigint)"),
        ("mediation_offers", "reason", "id = 1", "x'00ff'", "NULL",
         "row id=1 holds blob b'\\x00\\xff', not text"),
        # A STRICT table's text may hold a NUL character; PostgreSQL's may not.
        ("parties", "name", "id = 2", "'张' || char(0) || '三'", "'张三'",
         "row id=2 holds a NUL character, which PostgreSQL's text cannot"),
    ],
)  # fmt: skip
async def test_a_value_postgresql_cannot_hold_stops_the_move_naming_its_row(
    clock: FakeClock,
    schema: str,
    tmp_path: Path,
    table: str,
    column: str,
    where: str,
    value: str,
    fixed: str,
    problem: str,
) -> None:
    path = tmp_path / "bot.sqlite3"
    await small_database(path, clock)
    with sqlite3.connect(path) as conn:  # an old row, written before the column's rules
        conn.execute(f"UPDATE {table} SET {column} = {value} WHERE {where}")
    conn.close()
    source_digest = digest(path)

    code, out, err = await run_tool(*args(path, schema))

    assert code == tool.EXIT_REFUSED, out + err
    assert f"error: table {table}, column {column}, {problem}: correct it" in err
    assert err.count("\n") == 1 and digest(path) == source_digest
    # Rolled back whole: the schema exists (migrate), every table is empty, and a run after
    # the row is corrected moves everything.
    assert set((await pg_tables(schema)).values()) == {
        0,
        MIGRATIONS,
    }  # schema_migrations: one row each
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {table} SET {column} = {fixed} WHERE {where}")
    conn.close()
    code, out, err = await run_tool(*args(path, schema))
    assert code == tool.EXIT_MOVED, out + err


async def test_a_reference_to_nothing_stops_the_move(
    clock: FakeClock, schema: str, tmp_path: Path
) -> None:
    """SQLite checks references only while foreign_keys is on; PostgreSQL copies with its
    checks off (replica mode), so an orphan must be found before."""
    path = tmp_path / "bot.sqlite3"
    await small_database(path, clock)
    with sqlite3.connect(path) as conn:  # foreign_keys is off in a plain sqlite3 connection
        conn.execute("UPDATE mediation_offers SET mediator_id = 'abc' WHERE id = 1")
    conn.close()
    code, out, err = await run_tool(*args(path, schema))
    assert code == tool.EXIT_REFUSED, out + err
    assert "table mediation_offers, rowid 1 refers to a row of users that does not exist" in err
    assert await pg_tables(schema) == {}


async def test_text_that_is_not_utf8_is_named_too(
    clock: FakeClock, schema: str, tmp_path: Path
) -> None:
    path = tmp_path / "bot.sqlite3"
    await small_database(path, clock)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE parties SET address = CAST(x'e4b8' AS TEXT) WHERE id = 3")
    conn.close()
    code, out, err = await run_tool(*args(path, schema))
    assert code == tool.EXIT_REFUSED, out + err
    assert "table parties, column address, row id=3 holds text that is not UTF-8" in err


async def test_a_difference_found_by_the_verification_rolls_the_copy_back(
    clock: FakeClock, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.sqlite3"
    await small_database(path, clock)
    copy_rows = tool.checked_rows

    def changed(conn: sqlite3.Connection, table: tool.Table) -> Any:
        for row in copy_rows(conn, table):
            if table.name == "parties" and row[0] == 2:
                row = (*row[:3], "李四", *row[4:])  # what a faulty copy would write
            yield row

    monkeypatch.setattr(tool, "checked_rows", changed)
    code, out, err = await run_tool(*args(path, schema))

    assert code == tool.EXIT_DIFFERENT, out + err
    assert "row id=2, column name: SQLite text '张三', PostgreSQL text '李四'" in out
    assert "rolled back" in err
    assert set((await pg_tables(schema)).values()) == {
        0,
        MIGRATIONS,
    }  # schema_migrations: one row each


async def test_a_user_who_may_not_turn_triggers_off_is_told_the_grant(
    clock: FakeClock, schema: str, tmp_path: Path
) -> None:
    """Turning triggers off takes a superuser, or (PostgreSQL 15) the right to set
    session_replication_role; the bot's own user usually has neither."""
    role = f"s2p_{secrets.token_hex(4)}"
    parts = urlsplit(PG_URL)
    host = parts.netloc.rpartition("@")[2]
    as_role = urlunsplit(parts._replace(netloc=f"{role}@{host}"))
    path = tmp_path / "bot.sqlite3"
    await small_database(path, clock)
    admin_conn = await asyncpg.connect(PG_URL)
    try:
        await admin_conn.execute(f"CREATE ROLE {role} LOGIN")
        await admin_conn.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}")
        try:
            await (await asyncpg.connect(as_role, timeout=3)).close()
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.skip(f"a new role cannot log in to the test server without a password: {exc}")
        code, out, err = await run_tool(*args(path, schema)[:2], "--postgres", as_role,
                                        "--schema", schema)  # fmt: skip
        assert code == tool.EXIT_REFUSED, out + err
        assert f"GRANT SET ON PARAMETER session_replication_role TO {role}" in err
        assert set((await pg_tables(schema)).values()) == {0, MIGRATIONS}
        await admin_conn.execute(f"GRANT SET ON PARAMETER session_replication_role TO {role}")
        code, out, err = await run_tool(*args(path, schema)[:2], "--postgres", as_role,
                                        "--schema", schema)  # fmt: skip
        assert code == tool.EXIT_MOVED, out + err
    finally:
        await admin_conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin_conn.execute(f"REVOKE SET ON PARAMETER session_replication_role FROM {role}")
        await admin_conn.execute(f"DROP OWNED BY {role}")
        await admin_conn.execute(f"DROP ROLE {role}")
        await admin_conn.close()


def hold_open(path: Path, *, write: bool) -> subprocess.Popen[str]:
    """Another process with the file open (the bot between two writes); ``write``: it has
    written since its last checkpoint."""
    change = "c.execute('UPDATE cases SET subject = 1 WHERE id = 1'); c.commit()" if write else ""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, time\n"
            f"c = sqlite3.connect({str(path)!r}); c.execute('SELECT count(*) FROM cases')\n"
            f"{change}\nprint('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    return holder


def stop(holder: subprocess.Popen[str]) -> None:
    """``kill -9``: nothing folded in, nothing cleaned up."""
    holder.kill()
    holder.wait()
    if holder.stdout is not None:
        holder.stdout.close()


async def test_a_running_or_crashed_bot_is_noticed(
    clock: FakeClock, schema: str, tmp_path: Path
) -> None:
    path = tmp_path / "bot.sqlite3"
    await small_database(path, clock)
    holder = hold_open(path, write=False)
    try:
        code, _, err = await run_tool(*args(path, schema))
    finally:
        stop(holder)
    assert code == tool.EXIT_REFUSED and "the bot seems to be running" in err
    assert "(the file is open): stop it first" in err
    # Killed after a write: its log was never folded in.
    stop(hold_open(path, write=True))
    code, _, err = await run_tool(*args(path, schema))
    assert code == tool.EXIT_REFUSED and "holds unsaved pages" in err
    assert await pg_tables(schema) == {}
    # Started and stopped once, as the message says: it moves, the killed write included.
    source = SqliteDatabase(path)
    await source.open()
    await source.close()
    code, out, err = await run_tool(*args(path, schema))
    assert code == tool.EXIT_MOVED, out + err
    conn = await pg_connect(schema)
    try:
        assert await conn.fetchval("SELECT subject FROM cases WHERE id = 1") == "1"
    finally:
        await conn.close()


async def command(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    """``python -m scripts.sqlite_to_postgres ...`` from the checkout, as an operator runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scripts.sqlite_to_postgres",
        *argv,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_the_command_moves_a_database_and_prints_its_table(
    clock: FakeClock, schema: str, tmp_path: Path
) -> None:
    path = tmp_path / "bot.sqlite3"
    await small_database(path, clock)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_PATH")}
    env["BOT_ENV_FILE"] = str(tmp_path / "empty.env")
    (tmp_path / "empty.env").touch()
    url = PG_URL.replace("postgres@", "postgres:not-a-secret@", 1)  # trust auth ignores it
    code, out, err = await command(
        env, "--sqlite", str(path), "--postgres", url, "--schema", schema
    )
    assert code == 0, out + err
    assert "not-a-secret" not in out + err and "postgres:***@" in out
    lines = out.splitlines()
    assert any(line.split()[:3] == ["cases", "3", "3"] and "identical" in line for line in lines)
    assert any(line.startswith("took ") for line in lines)
    assert (await pg_tables(schema))["cases"] == 3
    # Without flags and without settings: told what to give.
    code, out, err = await command(env)
    assert code == tool.EXIT_REFUSED
    assert err.startswith("error: give --sqlite and --postgres"), err
