"""Case statuses are one enumeration per procedure, enforced by the schema (migration 0008)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from cases.intake.form_engine import Procedure
from cases.procedures.statuses import PROCEDURE_STATUSES, CaseStatus, status_check_sql
from cases.store.db import Database, IntegrityError
from cases.store.migrate import MIGRATIONS_DIR, migrate
from cases.store.sqlite import SqliteDatabase

STAMP = "2026-11-25T01:00:00+00:00"


def _up_to(tmp_path: Path, version: int) -> Path:
    folder = tmp_path / f"migrations_{version}"
    folder.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.name[:4]) <= version:
            shutil.copy(path, folder / path.name)
    return folder


async def _database_at_0007_with_every_status(path: Path, tmp_path: Path) -> list[tuple]:
    async with SqliteDatabase(path) as database:
        await migrate(database, _up_to(tmp_path, 7))
        async with database.transaction() as conn:
            await conn.execute(
                "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1, ?, ?)",
                (STAMP, STAMP),
            )
            number = 0
            for procedure, statuses in PROCEDURE_STATUSES.items():
                for status in sorted(statuses):
                    number += 1
                    await conn.execute(
                        "INSERT INTO cases(id, number, procedure, status, citizen_id, subject,"
                        " received_on, created_at, updated_at, routed_to, linked_case_id)"
                        " VALUES (?, ?, ?, ?, 1, 's', '2026-11-20', ?, ?, 'office:x', ?)",
                        (
                            number,
                            f"N-{number}",
                            procedure.value,
                            status.value,
                            STAMP,
                            STAMP,
                            1 if number > 1 else None,
                        ),
                    )
                    await conn.execute(
                        "INSERT INTO case_events(case_id, at, actor_role, kind)"
                        " VALUES (?, ?, 'system', 'submitted')",
                        (number, STAMP),
                    )
                    await conn.execute(
                        "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, unit,"
                        " count, basis, created_at, updated_at)"
                        " VALUES (?, 'F5', '2026-11-20', '2026-11-27', 'working_days', 5, 'b',"
                        " ?, ?)",
                        (number, STAMP, STAMP),
                    )
        return await database.fetch_all("SELECT * FROM cases ORDER BY id")


async def test_database_from_0007_upgrades_and_keeps_every_case(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    before = [tuple(r) for r in await _database_at_0007_with_every_status(path, tmp_path)]
    assert len(before) == sum(len(s) for s in PROCEDURE_STATUSES.values())
    async with SqliteDatabase(path) as database:
        applied = await migrate(database)
        assert applied and applied[0][:4] == "0008"  # then the later ones
        after = await database.fetch_all(
            "SELECT id, number, procedure, status, citizen_id, draft_id, sensitive, respondent,"
            " subject, answers, linked_case_id, received_on, created_at, updated_at, routed_to,"
            " routed_to_name, link_reason FROM cases ORDER BY id"
        )
        assert [tuple(r) for r in after] == before
        indexes = {
            r[0]
            for r in await database.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'"
            )
        }
        assert {"cases_citizen", "cases_status", "cases_linked"} <= indexes
        assert await database.fetch_value("SELECT count(*) FROM case_events") == len(before)
        assert await database.fetch_all("PRAGMA foreign_key_check") == []
        # Foreign keys into the rebuilt table still hold.
        with pytest.raises(sqlite3.IntegrityError):
            await database.execute(
                "INSERT INTO case_events(case_id, at, actor_role, kind)"
                " VALUES (999, 'a', 'system', 'k')"
            )
        # The history stays append-only (its triggers were not touched).
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            await database.execute("DELETE FROM case_events")
        assert await database.fetch_value("SELECT count(*) FROM users WHERE display_name IS NULL")


@pytest.mark.parametrize(
    ("procedure", "status"),
    [
        ("reconsideration", "bogus"),
        ("mediation", "suspended"),  # mediation has no 中止 (FY 39 is reconsideration law)
        ("petition", "correction_requested"),
    ],
)
async def test_invalid_status_is_refused(db: Database, procedure: str, status: str) -> None:
    await db.execute("INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1, 'a', 'a')")
    with pytest.raises(IntegrityError, match=r"(?i)check constraint"):
        await db.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
            " created_at, updated_at) VALUES ('N-1', ?, ?, 1, 's', '2026-11-20', 'a', 'a')",
            (procedure, status),
        )
    await db.execute(
        "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
        " created_at, updated_at) VALUES ('N-1', ?, 'submitted', 1, 's', '2026-11-20', 'a', 'a')",
        (procedure,),
    )
    with pytest.raises(IntegrityError, match=r"(?i)check constraint"):
        await db.execute("UPDATE cases SET status = ?", (status,))


def test_migration_lists_the_statuses_of_the_enumeration() -> None:
    sql = (MIGRATIONS_DIR / "0008_case_status_check.sql").read_text("utf-8")
    flat = " ".join(sql.split())
    for procedure, statuses in PROCEDURE_STATUSES.items():
        clause = f"(procedure = '{procedure.value}' AND status IN ("
        start = flat.index(clause) + len(clause)
        listed = flat[start : flat.index(")", start)].replace("'", "").split(", ")
        assert set(listed) == {s.value for s in statuses}, procedure
    assert set(Procedure) == set(PROCEDURE_STATUSES)
    assert all(isinstance(s, CaseStatus) for v in PROCEDURE_STATUSES.values() for s in v)
    assert status_check_sql()


def test_transition_table_moves_only_between_the_procedures_statuses() -> None:
    from cases.procedures.transitions import TRANSITIONS, Action
    from scheduling.notices import NOTICE_TEXTS

    for row in TRANSITIONS:
        known = PROCEDURE_STATUSES[row.procedure]
        assert set(row.sources) <= known, row
        assert row.target is None or row.target in known, row
        assert (row.event is None) == (row.history is None), row
        assert row.notice is None or row.notice in NOTICE_TEXTS, row
        # A failed 行政调解 cites nothing (domain §5: not 人民调解法 Art 26); every other row
        # rests on an article.
        assert row.basis is not None or row.action is Action.failed, row
    assert {row.action for row in TRANSITIONS} == set(Action)


def test_accepted_events_read_by_procedure_also_from_older_rows() -> None:
    from cases.procedures.transitions import history_text

    staff = "staff"
    assert history_text("accepted", {"accepted_on": "x", "simplified": False}, staff) == (
        "The petition was accepted for handling."
    )
    older_reconsideration = {"accepted_on": "x", "simplified": False, "after_review_period": False}
    assert "ordinary" in str(history_text("accepted", older_reconsideration, staff))
    assert "ordinary" in str(history_text("accepted", {"accepted_on": "x", "deemed": True}, staff))
    assert "simplified" in str(history_text("accepted", {"simplified": True}, staff))
    forwarded = {"accepted_on": "x", "forwarded_to": "discipline_body"}
    assert "discipline" in str(history_text("accepted", forwarded, staff))
