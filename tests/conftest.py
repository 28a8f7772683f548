from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cases.store.db import Database
from cases.store.migrate import migrate
from cases.store.time import FakeClock


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


# --- the bot, fed with Updates through the real Dispatcher ---------------------------------

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402

from bot import create_dispatcher  # noqa: E402
from scripts.compile_locales import compile_all  # noqa: E402
from settings import Settings  # noqa: E402
from tests.fakes.telegram import TOKEN, BotClient, RecordingSession  # noqa: E402
from tests.support import ADMIN_ID  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def compiled_locales() -> None:
    """Flow tests read the same compiled catalogues as the bot; build them from source."""
    compile_all()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        bot_token=TOKEN,
        database_path=tmp_path / "test.sqlite3",
        admin_ids=[ADMIN_ID],
        backup_dir=tmp_path / "backups",
        flood_limit=10_000,  # tests answer whole forms in milliseconds
        _env_file=None,
    )


@pytest.fixture
def dispatcher(settings: Settings, db: Database, clock: FakeClock) -> Dispatcher:
    return create_dispatcher(settings, db, clock)


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    instance = Bot(
        TOKEN, session=RecordingSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    try:
        yield instance
    finally:
        await instance.session.close()


@pytest.fixture
def client(dispatcher: Dispatcher, bot: Bot) -> BotClient:
    """A citizen whose Telegram is set to Chinese."""
    return BotClient(dispatcher, bot, user_id=1001, language_code="zh-hans")


@pytest.fixture
def english_client(dispatcher: Dispatcher, bot: Bot) -> BotClient:
    return BotClient(dispatcher, bot, user_id=1002, language_code="en", first_name="Alice")
