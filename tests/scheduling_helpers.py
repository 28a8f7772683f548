"""Test helpers for scheduling/: facts in the database, a transport that records, fake time."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo

from cases import i18n
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, to_db
from scheduling.outbox import OutboxRow

ROOT = Path(__file__).resolve().parent.parent
ADMIN = 9001
ADMIN_2 = 9002
STAMP = "2026-11-25T01:00:00.000000+00:00"


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A wall-clock moment in Gucheng, as an aware UTC datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=LEGAL_TZ).astimezone(UTC)


async def add_user(
    db: Database, telegram_id: int, *, role: str = "citizen", locale: str | None = "zh"
) -> int:
    await db.execute(
        "INSERT INTO users(telegram_id, locale, role, first_seen, last_seen) VALUES (?,?,?,?,?)"
        " ON CONFLICT(telegram_id) DO UPDATE SET role = excluded.role, locale = excluded.locale",
        (telegram_id, locale, role, STAMP, STAMP),
    )
    return telegram_id


_numbers = itertools.count(1)


async def add_case(
    db: Database,
    citizen_id: int,
    *,
    procedure: str = "reconsideration",
    status: str = "accepted",
    number: str | None = None,
) -> int:
    number = number or f"谷复〔2026〕{next(_numbers)}号"
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
            " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (number, procedure, status, citizen_id, "subject", "2026-11-20", STAMP, STAMP),
        )
        return int((await cursor.fetchone())[0])


async def add_deadline(
    db: Database,
    case_id: int,
    rule_id: str,
    due_on: date,
    *,
    status: str = "open",
    provisional: bool = False,
    basis: str = "《行政复议法》第四十八条",
) -> int:
    closed_on = due_on.isoformat() if status in ("met", "missed", "cancelled") else None
    paused_since = due_on.isoformat() if status == "paused" else None
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, provisional, status,"
            " unit, count, basis, closed_on, paused_since, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,'working_days',10,?,?,?,?,?) RETURNING id",
            (
                case_id,
                rule_id,
                (due_on - timedelta(days=14)).isoformat(),
                due_on.isoformat(),
                int(provisional),
                status,
                basis,
                closed_on,
                paused_since,
                STAMP,
                STAMP,
            ),
        )
        return int((await cursor.fetchone())[0])


async def set_deadline(db: Database, deadline_id: int, **values: Any) -> None:
    if values.get("status") in ("met", "missed", "cancelled"):
        values.setdefault("closed_on", "2026-11-26")
    sets = ", ".join(f"{k} = ?" for k in values)
    await db.execute(
        f"UPDATE case_deadlines SET {sets} WHERE id = ?", (*values.values(), deadline_id)
    )


async def add_hearing(
    db: Database,
    starts_at: datetime,
    *,
    case_id: int | None = None,
    major: bool = False,
    court: str = "谷城县人民法院",
    court_case_number: str = "(2026)鄂0625行初12号",
) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO hearings(case_id, agency, court, court_case_number, starts_at, major,"
            " head_required, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                case_id,
                "县自然资源局",
                court,
                court_case_number,
                to_db(starts_at),
                int(major),
                int(major),
                STAMP,
                STAMP,
            ),
        )
        return int((await cursor.fetchone())[0])


async def add_reminder(
    db: Database,
    *,
    chat_id: int,
    due_at: datetime,
    expires_at: datetime | None = None,
    kind: str = "reminder",
    audience: str = "agency_liaison",
    case_id: int | None = None,
    rule_id: str = "F10",
    quiet: str = "none",
    deadline_on: date | None = None,
    critical: bool = False,
    payload: dict[str, Any] | None = None,
    status: str = "pending",
    key: str | None = None,
) -> int:
    """An outbox row written directly, for tests of the dispatcher alone."""
    payload = payload or {"case_number": "谷复〔2026〕7号", "due_on": "2026-12-09"}
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id, case_id,"
            " step, audience, chat_id, locale, critical, quiet, deadline_on, payload, due_at,"
            " expires_at, status, created_at, updated_at)"
            " VALUES (?,?,?,'deadline',1,?,'0wd',?,?,'zh',?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                key or f"test:{chat_id}:{to_db(due_at)}:{kind}",
                kind,
                rule_id,
                case_id,
                audience,
                chat_id,
                int(critical),
                quiet,
                deadline_on.isoformat() if deadline_on else None,
                json.dumps(payload, ensure_ascii=False),
                to_db(due_at),
                to_db(expires_at) if expires_at else None,
                status,
                STAMP,
                STAMP,
            ),
        )
        return int((await cursor.fetchone())[0])


async def reminder(db: Database, reminder_id: int) -> dict[str, Any]:
    row = await db.fetch_one("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
    assert row is not None
    return dict(row)


async def reminders(
    db: Database, where: str = "1 = 1", params: tuple[Any, ...] = ()
) -> list[dict]:
    rows = await db.fetch_all(f"SELECT * FROM reminders WHERE {where} ORDER BY id", params)
    return [dict(r) for r in rows]


@dataclass
class FakeTransport:
    """Records what would have been sent; fails on demand; can hold a send mid-flight."""

    delivered: list[OutboxRow] = field(default_factory=list)
    failures: dict[int, list[BaseException]] = field(default_factory=dict)
    turns: list[int] = field(default_factory=list)
    yield_during_send: bool = False
    _ids: itertools.count = field(default_factory=lambda: itertools.count(500))

    def fail(self, chat_id: int, *errors: BaseException) -> None:
        self.failures.setdefault(chat_id, []).extend(errors)

    async def wait_turn(self, chat_id: int) -> None:
        self.turns.append(chat_id)
        await asyncio.sleep(0)

    async def deliver(self, row: OutboxRow) -> int:
        if self.yield_during_send:
            for _ in range(3):
                await asyncio.sleep(0)  # let a concurrent dispatcher run in between
        queued = self.failures.get(row.chat_id)
        if queued:
            raise queued.pop(0)
        self.delivered.append(row)
        return next(self._ids)

    def chats(self) -> list[int]:
        return [row.chat_id for row in self.delivered]


class FakeMonotonic:
    """A monotonic clock and a sleep that advances it instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def use_compiled_catalogues(tmp_path: Path, monkeypatch: Any) -> None:
    """Compile every Chinese fragment into ``tmp_path`` and point cases.i18n at it."""
    from scripts.compile_locales import merge_fragments

    catalog = merge_fragments(ROOT / "locales" / "src" / "zh", "zh")
    target = tmp_path / "locales" / "zh" / "LC_MESSAGES" / "messages.mo"
    target.parent.mkdir(parents=True)
    with target.open("wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path / "locales")
    i18n.translations.cache_clear()
