"""Start-up only: settings, the store, migrations, Bot + Dispatcher, the scheduler, polling.

Run ``python bot.py`` (see README, Quick start). Tests import :func:`create_dispatcher`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMyCommands,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    GetUpdates,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.methods.base import Response
from aiogram.utils.i18n import I18n
from pydantic import ValidationError

from cases.calendar import LegalCalendar
from cases.clock import Clock, SystemClock, legal_today
from cases.clocks import recent_recomputations, recompute_provisional
from cases.db import Database
from cases.deadlines import configure as configure_deadlines
from cases.fsm import FsmRecords
from cases.intake import IntakeService
from cases.litigation import LitigationService
from cases.migrate import MigrationError, migrate
from cases.organisation import Organisation, load_organisation
from cases.privacy import redact
from cases.texts import LOCALES_DIR
from cases.updates import ProcessedUpdates
from cases.users import Role, UserRepository
from handlers import get_routers, setup_middlewares
from handlers.commands import MENU_ROLES, set_commands
from handlers.storage import SqliteStorage
from scheduling.notices import alert_calendar_gap, notify_recomputed
from scheduling.runner import Scheduling
from settings import Settings

log = logging.getLogger("bot")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; every message passes through the personal-data filter."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            payload["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def load_settings() -> Settings:
    """Settings, or one clear line and exit code 2 (no traceback for a missing token)."""
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]).upper() for err in exc.errors() if err["loc"]})
        if "BOT_TOKEN" in fields:
            print(
                "error: BOT_TOKEN is missing or malformed. Copy .env.example to .env and put "
                "the token from @BotFather there (format 123456789:ABC...).",
                file=sys.stderr,
            )
        else:
            print(
                f"error: invalid setting(s) {', '.join(fields)}; see .env.example.",
                file=sys.stderr,
            )
        raise SystemExit(2) from None


def build_i18n(settings: Settings) -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=settings.default_locale, domain="messages")


def create_dispatcher(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    i18n: I18n | None = None,
    org: Organisation | None = None,
) -> Dispatcher:
    """Everything a handler needs arrives as workflow data, by parameter name."""
    i18n = i18n or build_i18n(settings)
    org = org or load_organisation(settings.organisation_path)
    users = UserRepository(db, clock)
    processed = ProcessedUpdates(db, clock)
    dp = Dispatcher(
        storage=SqliteStorage(FsmRecords(db, clock)),
        events_isolation=SimpleEventIsolation(),
        settings=settings,
        db=db,
        clock=clock,
        users=users,
        org=org,
        intake=IntakeService(db, clock, org),
        litigation=LitigationService(db, clock, org),
    )
    setup_middlewares(
        dp, processed=processed, users=users, i18n=i18n, flood_limit=settings.flood_limit
    )
    dp.include_routers(*get_routers())
    return dp


# Every Bot API method the bot calls. aiogram parses each reply as ``Response[ReturnType]``;
# pydantic caches that generic class only weakly, so after a garbage collection the next call
# builds it again (several milliseconds on the event loop, measured by benchmarks/dispatch.py).
CALLED_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    GetUpdates,
    GetMe,
    DeleteWebhook,
    SetMyCommands,
    DeleteMyCommands,
    SendMessage,
    EditMessageText,
    EditMessageReplyMarkup,
    AnswerCallbackQuery,
    GetFile,
)
_response_types: list[type[Any]] = []

# Young-generation threshold of the cyclic garbage collector (CPython's default is 700).
GC_YOUNG_THRESHOLD = 10_000


def tune_runtime() -> None:
    """Run once the process is set up, before the first update.

    Each update allocates thousands of short-lived objects (aiogram and pydantic models); with
    CPython's defaults the collector then runs every few updates and, in full collections,
    walks every module, model class and schema loaded at start-up. Freezing what exists now
    moves it out of the collector's way, and a larger young generation makes collections rarer.
    With the ``Response[...]`` classes kept alive, this is most of what took the form step of
    benchmarks/dispatch.py from 0.31 to over 0.40 of the echo router (README, Benchmarks).
    """
    _response_types[:] = [Response[method.__returning__] for method in CALLED_METHODS]
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def build_bot(settings: Settings) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else AiohttpSession()
    )
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def run(settings: Settings) -> int:
    clock = SystemClock()
    db = Database(settings.database_path)
    await db.open()
    try:
        applied = await migrate(db, clock=clock)
    except MigrationError as exc:
        log.error("database migration failed, not starting: %s", exc)
        await db.close()
        return 3
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))

    calendar = LegalCalendar(settings.calendar_overrides_path)
    configure_deadlines(calendar=calendar, local_periods=settings.local_periods)
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
    changed = await recompute_provisional(db, calendar, clock)
    # The citizen and whoever must act are told each new date, once (deduplicated). Re-reading
    # the last week's moves also covers a crash between the move and the telling.
    moved = await recent_recomputations(db, clock.now() - timedelta(days=7))
    if moved:
        await notify_recomputed(db, moved, clock, admin_ids=settings.admin_ids)
    org = load_organisation(settings.organisation_path)
    defences = await LitigationService(db, clock, org).recompute_provisional()
    if changed or defences:
        log.info(
            "recomputed %d provisional deadlines and %d defence dates after a calendar update",
            len(changed),
            defences,
        )
    users = UserRepository(db, clock)
    for admin_id in settings.admin_ids:
        await users.set_role(admin_id, Role.admin)

    bot = build_bot(settings)
    dp = create_dispatcher(settings, db, clock, org=org)
    scheduling = Scheduling(bot=bot, db=db, clock=clock, settings=settings)

    @dp.startup()
    async def on_startup(bot: Bot) -> None:
        # Never drop pending updates: they are citizens' input sent while we were down.
        await bot.delete_webhook(drop_pending_updates=False)
        staff = [u for role in MENU_ROLES for u in await users.with_role(role)]
        await set_commands(bot, settings.default_locale, staff)
        await scheduling.start()
        tune_runtime()
        log.info("bot ready")

    @dp.shutdown()
    async def on_shutdown() -> None:
        # Polling has stopped; let handlers already running finish before the store closes.
        running = list(dp._handle_update_tasks)
        if running:
            await asyncio.wait(running, timeout=20)
        await scheduling.stop()
        log.info("bot stopped")

    try:
        await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
    finally:
        await db.close()
    return 0


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    sys.exit(asyncio.run(run(settings)))


if __name__ == "__main__":
    main()
