"""How long the move to PostgreSQL takes for a county (python -m scripts.sqlite_to_postgres).

The SQLite file of benchmarks/scale.py (N open cases, each with its citizen and an open
deadline, the planner's reminders topped up to 5·N pending, a webhook event per case from the
trigger), plus per case an applicant, an attachment and two case events, is moved into a fresh
schema of the PostgreSQL server at TEST_DATABASE_URL (dropped afterwards); the tool's own table
and timings are printed.

Run: ``TEST_DATABASE_URL=postgresql://... python benchmarks/sqlite_to_postgres.py [N]``
(default 20,000).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from benchmarks.scale import NOW, build  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import to_db  # noqa: E402
from scripts.sqlite_to_postgres import amain  # noqa: E402


async def add_case_files(path: Path, cases: int) -> None:
    stamp = to_db(NOW)
    db = SqliteDatabase(path)
    await db.open()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO parties(case_id, role, name, phone, address, details)"
            " VALUES (?, 'applicant', ?, '13800001234', '城关镇东街1号', '{}')",
            [(i + 1, f"张{i % 997}") for i in range(cases)],
        )
        await conn.executemany(
            "INSERT INTO attachments(user_id, case_id, kind, file_id, file_unique_id, file_name,"
            " mime_type, size, sha256, created_at)"
            " VALUES (?, ?, 'document', ?, ?, 'a.pdf', 'application/pdf', 1000, 'x', ?)",
            [(100_000 + i, i + 1, f"f{i}", f"u{i}", stamp) for i in range(cases)],
        )
        await conn.executemany(
            "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
            " VALUES (?, ?, NULL, 'citizen', ?, '{}')",
            [(i // 2 + 1, stamp, ("submitted", "accepted")[i % 2]) for i in range(2 * cases)],
        )
    await db.close()


async def main(cases: int) -> None:
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"bench_s2p_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "county.sqlite3"
        started = time.perf_counter()
        await build(path, cases, 5 * cases)
        await add_case_files(path, cases)
        size = path.stat().st_size / 1e6
        print(f"built {cases:,} cases in {time.perf_counter() - started:.0f} s ({size:.0f} MB)")
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f"CREATE SCHEMA {schema}")
            code = await amain(["--sqlite", str(path), "--postgres", url, "--schema", schema])
            print(f"exit code {code}")
        finally:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
