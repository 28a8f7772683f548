from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cases.store.db import Database
from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock
from tests.backends import POSTGRES, SQLITE, postgres_database, postgres_probe


@pytest.fixture
def clock() -> FakeClock:
    # A Wednesday morning in Gucheng (09:00 Asia/Shanghai).
    return FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))


# --- both stores: every test that uses `db` runs on SQLite, and on PostgreSQL when a server
# answers at TEST_DATABASE_URL (.ci/run sets it; README, "Running at scale") ----------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about the SQLite file itself (its upgrade path, its backup)"
    )
    config.stash[postgres_probe.key] = postgres_probe.run()


def pytest_report_header(config: pytest.Config) -> str:
    return postgres_probe.header(config.stash[postgres_probe.key])


def pytest_sessionstart(session: pytest.Session) -> None:
    """``pytest -q`` (./test.sh, .ci/run) prints no header: say which stores run anyway, in
    the same one line, so a machine without PostgreSQL is told why its variants are missing."""
    config = session.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and config.option.verbose < 0:
        reporter.write_line(postgres_probe.header(config.stash[postgres_probe.key]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    backends = [SQLITE]
    probe = metafunc.config.stash[postgres_probe.key]
    if probe.url and metafunc.definition.get_closest_marker("sqlite_only") is None:
        backends.append(POSTGRES)
    metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", SQLITE))


@pytest.fixture
async def db(
    tmp_path: Path, clock: FakeClock, backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A real SQLite file, or a fresh schema on the PostgreSQL server, with every migration
    applied."""
    if backend == POSTGRES:
        url = request.config.stash[postgres_probe.key].url
        assert url is not None
        async with postgres_database(url) as database:
            await migrate(database, clock=clock)
            yield database
        return
    database = SqliteDatabase(tmp_path / "test.sqlite3")
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
