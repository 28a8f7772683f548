"""Start-up checks before the bot runs: settings, data files, the database file, catalogues.

Each failure is a :class:`StartupError` whose message says what to do, with its exit code
(README, "Exit codes"); bot.py logs it as one line and exits with that code.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from cases.i18n import LOCALES_DIR
from cases.law.calendar import LegalCalendar
from cases.law.deadline_rules import DeadlineEngine
from cases.litigation.court_cases import LitigationService
from cases.org.organisation import Organisation, OrganisationError, load_organisation
from cases.org.users import Role, UserRepository
from cases.procedures.deadline_recount import recent_recomputations, recompute_provisional
from cases.store.db import DATABASE_ERRORS, Database
from cases.store.migrate import MigrationError, migrate
from cases.store.postgres import CONNECT_TIMEOUT, redact
from cases.store.time import Clock, legal_today
from cases.webhooks.config import WebhookError, WebhooksFile, load_webhooks
from scheduling.notices import alert_calendar_gap, notify_recomputed
from settings import ENV_FILE_VARIABLE, Settings, env_file

log = logging.getLogger("bot")

EXIT_STOPPED = 0
EXIT_CRASHED = 1
EXIT_SETTINGS = 2
EXIT_MIGRATION = 3
EXIT_DATA = 4


def load_settings() -> Settings:
    """Settings, or one clear line and exit code 2 (no traceback for a missing token)."""
    path = env_file()
    if os.environ.get(ENV_FILE_VARIABLE, "").strip() and not path.is_file():
        print(f"error: {ENV_FILE_VARIABLE} names {path}, which is not a file.", file=sys.stderr)
        raise SystemExit(EXIT_SETTINGS)
    try:
        return Settings(_env_file=path)  # type: ignore[call-arg]
    except ValidationError as exc:
        errors = exc.errors()
        fields = sorted({str(err["loc"][0]).upper() for err in errors if err["loc"]})
        if any(err["type"] == "placeholder_token" for err in errors):
            print(
                "error: BOT_TOKEN is still the example value copied from .env.example. Put the "
                "token from @BotFather in .env (format 123456789:ABC...).",
                file=sys.stderr,
            )
        elif "BOT_TOKEN" in fields:
            print(
                "error: BOT_TOKEN is missing or malformed. Copy .env.example to .env and put "
                "the token from @BotFather there (format 123456789:ABC...).",
                file=sys.stderr,
            )
        else:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc'])).upper()}: {err['msg']}" for err in errors
            )
            print(
                f"error: invalid setting(s) {', '.join(fields)} ({problems}); see .env.example.",
                file=sys.stderr,
            )
        raise SystemExit(EXIT_SETTINGS) from None


class StartupError(Exception):
    """A start-up step that cannot succeed until the operator changes something.

    The message is the whole story (what failed, what to do), logged as one line, no traceback.
    """

    def __init__(self, message: str, exit_code: int = EXIT_DATA) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class DataFiles:
    engine: DeadlineEngine
    """The deadline engine on the calendar file and the local periods of the settings."""
    org: Organisation
    webhooks: WebhooksFile

    @property
    def calendar(self) -> LegalCalendar:
        return self.engine.calendar


def deadline_engine(settings: Settings) -> DeadlineEngine:
    """The engine of the settings' calendar file and local periods (tests and benchmarks; the
    bot builds it in :func:`load_data_files`, where a bad file stops the start)."""
    return DeadlineEngine(LegalCalendar(settings.calendar_overrides_path), settings.local_periods)


def reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'file'}: {err['msg']}" for err in exc.errors()
        )
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def ensure_catalogues(locales_dir: Path = LOCALES_DIR) -> bool:
    """Compile the translation catalogues when one is missing or older than its sources.

    ``python bot.py`` run by a service manager or a container skips the install step that
    compiles them (scripts/bootstrap.sh); without them every citizen would be answered in
    English and nothing would say why. True if they were (re)compiled; a failure is a
    StartupError naming the command to run.
    """
    sources = list((locales_dir / "src").glob("*/*.po"))
    newest = max((path.stat().st_mtime for path in sources), default=0.0)
    targets = [locales_dir / locale / "LC_MESSAGES" / "messages.mo" for locale in ("zh", "en")]
    if all(path.is_file() and path.stat().st_mtime >= newest for path in targets):
        return False
    try:
        from scripts.compile_locales import compile_all

        compile_all(locales_dir)
    except (ImportError, OSError, SystemExit) as exc:
        raise StartupError(
            f"the translation catalogues under {locales_dir} could not be compiled "
            f"({reason(exc)}); run `.venv/bin/python scripts/compile_locales.py` (or ./run.sh) "
            "and start again"
        ) from None
    return True


def load_data_files(settings: Settings) -> DataFiles:
    """Both data files, checked before anything is opened (nothing to clean up if one is bad)."""
    try:
        calendar = LegalCalendar(settings.calendar_overrides_path)
    except (OSError, ValueError) as exc:  # JSON and pydantic errors are ValueErrors
        raise StartupError(
            f"calendar overrides file {settings.calendar_overrides_path} cannot be used "
            f"({reason(exc)}); fix it, or leave CALENDAR_OVERRIDES_PATH empty for the bundled "
            "cases/data/calendar_overrides.json"
        ) from None
    try:
        org = load_organisation(settings.organisation_path)
    except OrganisationError as exc:
        # The error lists every problem of the file, one per line.
        raise StartupError(
            f"{exc}\nFix the file, or leave ORGANISATION_PATH empty for the bundled "
            "cases/data/gucheng.json."
        ) from None
    except OSError as exc:
        raise StartupError(
            f"organisation file {settings.organisation_path} cannot be read ({reason(exc)}); "
            "fix ORGANISATION_PATH, or leave it empty for the bundled cases/data/gucheng.json"
        ) from None
    try:
        webhooks = load_webhooks(settings.webhooks_path)
    except WebhookError as exc:
        raise StartupError(
            f'{exc}. Fix the file (README, "Webhooks"), or leave WEBHOOKS_PATH empty for no '
            "webhooks"
        ) from None
    return DataFiles(
        engine=DeadlineEngine(calendar, settings.local_periods), org=org, webhooks=webhooks
    )


def database_unusable(path: Path | str, exc: BaseException) -> StartupError:
    """``path``: the SQLite file, or the PostgreSQL address without its password."""
    if not isinstance(path, Path):
        why = (
            f"no answer within {CONNECT_TIMEOUT:.0f} s"
            if isinstance(exc, TimeoutError)
            else reason(exc)
        )
        return StartupError(
            f"database {path} cannot be used ({why}); is the PostgreSQL server running "
            "and does DATABASE_URL name a database this user may create tables in?"
        )
    if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StartupError(
            f"database {path} is locked by another process (is another copy of the bot "
            "running?); stop it and start again"
        )
    return StartupError(
        f"database {path} cannot be used ({reason(exc)}); DATABASE_PATH must name this bot's "
        "SQLite file or a new one: restore the file from BACKUP_DIR or move it away"
    )


def database_named(settings: Settings, db: Database) -> Path | str:
    """How start-up messages name the store: the file, or the address without a password."""
    return settings.database_path if db.dialect == "sqlite" else db.location


def check_database_file(path: Path) -> None:
    """Open an existing file with plain sqlite3 first, before anything is opened or written:
    a file that is not this bot's database is refused untouched (no -wal/-shm beside it)."""
    if path.is_dir():
        raise StartupError(f"DATABASE_PATH {path} is a directory; point it at a file")
    if not path.exists():
        return  # created (with its folder) by Database.open
    try:
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise database_unusable(path, exc) from None


async def check_redis(url: str) -> None:
    """REDIS_URL must answer before anything is opened: the bot would otherwise start, and
    every update would then fail on its chat lock (and, polling, be confirmed and lost)."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    where = redact(url)
    try:
        client = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
    except ValueError as exc:
        raise StartupError(
            f"REDIS_URL {where} is not a Redis address ({reason(exc)}); write it as "
            "redis://host:6379/0 (see .env.example)",
            EXIT_SETTINGS,
        ) from None
    try:
        await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT)
    except (RedisError, OSError, ValueError) as exc:  # TimeoutError is an OSError
        why = (
            f"no answer within {CONNECT_TIMEOUT:.0f} s"
            if isinstance(exc, TimeoutError)
            else reason(exc)
        )
        raise StartupError(
            f"Redis at {where} cannot be used ({why}); is it running, and does REDIS_URL name "
            "it (with its password, if it has one)?"
        ) from None
    finally:
        await client.aclose()


async def prepare_store(settings: Settings, db: Database, clock: Clock, files: DataFiles) -> None:
    """Open and migrate the store, then bring it in line with the calendar and the settings."""
    try:
        await db.open()
    except (*DATABASE_ERRORS, OSError) as exc:
        raise database_unusable(database_named(settings, db), exc) from None
    except ValueError as exc:
        if db.dialect == "sqlite":
            raise
        # asyncpg refused the address itself (a port that is not a number, an unknown sslmode):
        # a setting to correct, not a server to wait for.
        raise StartupError(
            f"DATABASE_URL {db.location} is not a usable PostgreSQL address ({reason(exc)}); "
            "write it as postgresql://user:password@host:5432/database (see .env.example)",
            EXIT_SETTINGS,
        ) from None
    try:
        applied = await migrate(db, clock=clock)
    except MigrationError as exc:
        raise StartupError(
            f"database migration failed: {exc}; that migration was rolled back "
            "(the database is as before it), fix it and start again",
            EXIT_MIGRATION,
        ) from None
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))

    calendar = files.calendar
    missing = calendar.missing_years(legal_today(clock))
    if missing:
        # Domain §1.2: never guess silently. Deadlines in these years are marked provisional
        # (Monday-Friday only) and staff see them as such until the data is extended.
        log.warning(
            "holiday calendar does not cover %s: deadlines there are provisional; add the "
            "State Council schedule to the calendar overrides file",
            ", ".join(map(str, missing)),
        )
        await alert_calendar_gap(db, missing, clock, admin_ids=settings.admin_ids)
    changed = await recompute_provisional(db, files.engine, clock)
    # The citizen and whoever must act are told each new date, once (deduplicated). Re-reading
    # the last week's moves also covers a crash between the move and the telling.
    moved = await recent_recomputations(db, clock.now() - timedelta(days=7))
    if moved:
        await notify_recomputed(db, moved, clock, admin_ids=settings.admin_ids)
    defences = await LitigationService(
        db, clock, files.org, engine=files.engine
    ).recompute_provisional()
    if changed or defences:
        log.info(
            "recomputed %d provisional deadlines and %d defence dates after a calendar update",
            len(changed),
            defences,
        )
    users = UserRepository(db, clock)
    for admin_id in settings.admin_ids:
        await users.set_role(admin_id, Role.admin)
