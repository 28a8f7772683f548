from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cases.clock import FakeClock
from cases.db import Database
from cases.migrate import migrate


@pytest.fixture
def clock() -> FakeClock:
    # A Wednesday morning in Gucheng (09:00 Asia/Shanghai).
    return FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))


@pytest.fixture
async def db(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    """A real SQLite file with every migration applied."""
    database = Database(tmp_path / "test.sqlite3")
    await database.open()
    await migrate(database, clock=clock)
    try:
        yield database
    finally:
        await database.close()
