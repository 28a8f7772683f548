"""Start-up only: settings, the store, migrations, Bot + Dispatcher, the scheduler, polling.

Run ``python bot.py`` (see README, Quick start). Tests import :func:`create_dispatcher`. The
checks before anything starts (settings, data files, the database file, catalogues) are in
startup.py.

Exit codes (README, "Exit codes"): 0 stopped by SIGTERM/SIGINT; 1 unexpected error (a bug, the
log line carries the traceback); 2 a setting is missing or invalid, or Telegram rejected
BOT_TOKEN; 3 a database migration failed; 4 a data file (organisation, calendar overrides) or the
database file cannot be used. Every start-up failure is one log line saying what to do, and the
database is closed on every path (an open aiosqlite thread would keep the process alive).
The webhooks file (WEBHOOKS_PATH) is a data file: exit code 4, its secrets never in the log.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import sys
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
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
    SendDocument,
    SendMessage,
    SendPhoto,
    SendVoice,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.methods.base import Response
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiogram.utils.i18n import I18n

from cases.i18n import LOCALES_DIR
from cases.intake.service import IntakeService
from cases.law.deadline_rules import DeadlineEngine
from cases.litigation.court_cases import LitigationService
from cases.mediation.assignment import AssignmentService
from cases.mediation.profiles import MediatorProfiles
from cases.mediation.service import Mediation
from cases.org.invitations import InvitationService
from cases.org.organisation import Organisation, load_organisation
from cases.org.users import Role, UserRepository
from cases.petitions.handover import PetitionHandover
from cases.procedures.actions import CaseActions
from cases.procedures.followup import FollowUpService
from cases.procedures.privacy import redact
from cases.reception.booking import BookingService
from cases.reports.figures import StatsService
from cases.store.db import DATABASE_ERRORS, Database, open_database
from cases.store.fsm_records import FsmRecords
from cases.store.processed_updates import ProcessedUpdates
from cases.store.time import Clock, SystemClock
from cases.webhooks.config import WebhooksFile, load_webhooks
from cases.webhooks.inbound import InboundService
from cases.webhooks.queue import RetryPolicy, WebhookQueue
from handlers import get_routers, setup_middlewares
from handlers.commands import MENU_ROLES, set_commands
from handlers.replies import RetryRateLimitedReplies
from handlers.storage import SqliteStorage
from scheduling.assignment import AssignmentJobs, AssignmentMailer
from scheduling.booking import BookingJobs, BookingMailer
from scheduling.handover_notices import AgencyMailer
from scheduling.inbound import InboundServer
from scheduling.notices import notice_sink
from scheduling.planner import Planner
from scheduling.policy import POLICIES, set_quiet_hours
from scheduling.runner import Scheduling
from scheduling.sender import SendLimiter
from scheduling.timing import after_quiet_hours
from scheduling.webhooks import WebhookPump
from serving import serve_webhook
from settings import Settings
from startup import (
    EXIT_CRASHED,
    EXIT_SETTINGS,
    EXIT_STOPPED,
    DataFiles,
    StartupError,
    check_database_file,
    check_redis,
    database_named,
    database_unusable,
    deadline_engine,
    ensure_catalogues,
    load_data_files,
    load_settings,
    prepare_store,
    reason,
)
from startup import (
    EXIT_DATA as EXIT_DATA,  # re-exported: tests import it from bot
)

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


# Waiting for Telegram at start-up: a county server may boot before its network is up, so keep
# trying (1 s, growing to one attempt a minute) instead of exiting.
STARTUP_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=60.0, factor=1.5, jitter=0.1)


def build_i18n(settings: Settings) -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=settings.default_locale, domain="messages")


def create_dispatcher(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    i18n: I18n | None = None,
    org: Organisation | None = None,
    storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
    engine: DeadlineEngine | None = None,
    webhooks: WebhooksFile | None = None,
) -> Dispatcher:
    """Everything a handler needs arrives as workflow data, by parameter name.

    ``engine`` is the one deadline engine of the process (the configured calendar and local
    periods, :func:`load_data_files`); every service that counts a period is given it.
    ``storage`` and ``events_isolation``: Redis's when replicas share the work
    (:func:`shared_state`); default the database's FSM records and this process's per-chat
    locks.
    """
    i18n = i18n or build_i18n(settings)
    set_quiet_hours(settings.quiet_hours)  # one value for every scheduling module
    org = org or load_organisation(settings.organisation_path)
    engine = engine or deadline_engine(settings)
    webhooks = webhooks if webhooks is not None else load_webhooks(settings.webhooks_path)
    # Replicas share the database: nothing a person changes may be remembered per process.
    single = not settings.replicas
    users = UserRepository(db, clock, cache=single)
    processed = ProcessedUpdates(db, clock, alone=single)
    actions = CaseActions(db, clock, notice_sink(clock), engine=engine)
    tz = ZoneInfo(settings.timezone)
    litigation = LitigationService(db, clock, org, engine=engine)
    dp = Dispatcher(
        storage=storage or SqliteStorage(FsmRecords(db, clock)),
        events_isolation=events_isolation or SimpleEventIsolation(),
        settings=settings,
        db=db,
        clock=clock,
        users=users,
        org=org,
        deadlines=engine,
        intake=IntakeService(db, clock, org, engine=engine, cache_drafts=single),
        followup=FollowUpService(db, clock),
        litigation=litigation,
        stats=StatsService(db, clock, org, litigation),
        webhooks=webhook_queue(settings, db, clock, webhooks),
        invitations=InvitationService(db, clock, valid_days=settings.invitation_days),
        # Handlers preview reminders with the planner itself (what it will send, to whom).
        planner=Planner(
            db,
            clock,
            admin_ids=settings.admin_ids,
            escalation_hours=settings.escalation_hours,
            calendar=engine.calendar,
            org=org,
        ),
        actions=actions,
        handover=PetitionHandover(
            db,
            clock,
            org,
            notice_sink(clock),
            AgencyMailer(db, clock, settings.admin_ids),
            engine=engine,
        ),
        # The mediation itself (issue 10): the other party, sessions, outcome, period.
        mediation=Mediation(
            db,
            clock,
            actions,
            settings.mediation,
            defer=lambda moment: after_quiet_hours(moment, tz),
            calendar=engine.calendar,
            # The other party hears of M1 on the days the applicant does (the policy table).
            m1_days_before=[
                -step.offset.amount
                for step in POLICIES["M1"].steps
                if Role.citizen in step.audiences
            ],
        ),
        booking=BookingService(
            db,
            clock,
            org,
            engine.calendar,
            settings.booking,
            BookingMailer(ZoneInfo(settings.timezone)),
            engine=engine,
        ),
        assignment=AssignmentService(
            db,
            clock,
            org,
            engine.calendar,
            settings.mediation,
            AssignmentMailer(ZoneInfo(settings.timezone)),
        ),
        mediators=MediatorProfiles(db, clock, org, users),
    )
    setup_middlewares(
        dp, processed=processed, users=users, i18n=i18n, flood_limit=settings.flood_limit
    )
    dp.include_routers(*get_routers())
    return dp


def webhook_queue(
    settings: Settings, db: Database, clock: Clock, webhooks: WebhooksFile
) -> WebhookQueue:
    policy = RetryPolicy(
        max_attempts=settings.webhooks_max_attempts,
        base_seconds=settings.webhooks_retry_base_seconds,
        cap_seconds=settings.webhooks_retry_cap_seconds,
    )
    return WebhookQueue(db, clock, webhooks, policy=policy)


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
    SendDocument,
    SendPhoto,
    SendVoice,
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


async def connect_telegram(bot: Bot, stop: asyncio.Event, *, polling: bool = True) -> bool:
    """getMe, and deleteWebhook when polling, retried with backoff while Telegram cannot be
    reached.

    A webhook replica leaves the webhook alone: the other replicas are serving it, and one that
    deleted it and then failed to start would stop every update for all of them.
    False if a stop signal came while waiting. A rejected token raises StartupError (exit 2):
    retrying cannot fix it.
    """
    backoff = Backoff(STARTUP_BACKOFF)
    while not stop.is_set():
        try:
            await bot.me()
            if polling:
                # Never drop pending updates: they are citizens' input sent while we were down.
                await bot.delete_webhook(drop_pending_updates=False)
            return True
        except (TelegramUnauthorizedError, TelegramNotFound) as exc:
            raise StartupError(
                f"Telegram rejected BOT_TOKEN ({exc.message}): it is wrong or was revoked "
                "(put the current token from @BotFather in .env), or TELEGRAM_API_BASE does "
                "not point at a Bot API server (leave it empty for Telegram's own)",
                EXIT_SETTINGS,
            ) from None
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            delay = exc.retry_after if isinstance(exc, TelegramRetryAfter) else next(backoff)
            log.warning(
                "cannot reach Telegram yet (%s: %s); trying again in %.0f s",
                type(exc).__name__,
                exc,
                delay,
            )
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return False


async def _until_stopped(bot: Bot, stop: asyncio.Event, *, polling: bool = True) -> bool:
    """connect_telegram with SIGTERM/SIGINT ending the wait (polling installs its own)."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        return await connect_telegram(bot, stop, polling=polling)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def run(settings: Settings) -> int:
    """Start, poll until a stop signal, stop; the exit code (module docstring)."""
    clock = SystemClock()
    try:
        if ensure_catalogues():
            log.info("compiled the translation catalogues (the install step had not run)")
        files = load_data_files(settings)
        if settings.database_dsn is None:
            check_database_file(settings.database_path)
        if settings.redis_url:
            await check_redis(settings.redis_url)
    except StartupError as exc:
        log.error("not starting: %s", exc)
        return exc.exit_code
    db = open_database(settings.database_dsn, settings.database_path)
    bot: Bot | None = None
    try:
        try:
            await prepare_store(settings, db, clock, files)
        except DATABASE_ERRORS as exc:
            raise database_unusable(database_named(settings, db), exc) from None
        bot = build_bot(settings)
        if not await _until_stopped(bot, asyncio.Event(), polling=not settings.webhook_url):
            log.info("stopped while waiting for Telegram")
            return EXIT_STOPPED
        await serve(settings, db, clock, bot, files)
        return EXIT_STOPPED
    except StartupError as exc:
        log.error("not starting: %s", exc)
        return exc.exit_code
    except Exception:
        log.exception("the bot stopped after an unexpected error")
        return EXIT_CRASHED
    finally:
        if bot is not None:
            await bot.session.close()  # polling closes it too; a second close does nothing
        await db.close()


CHAT_LOCK_SECONDS = 30
"""How long a chat's lock in Redis lives: a replica killed while handling one of the chat's
updates holds the chat at most this long. aiogram's default is 60 s, longer than the 55 s its
webhook handler waits before answering Telegram, so the update Telegram sent again answered 200
before it was handled (tests/test_scale.py). No handler takes this long (a PDF: about 1 s)."""


FSM_TTL = timedelta(days=30)
"""A conversation state in Redis left alone this long goes (README, "Privacy"): some forms keep
names and phone numbers in it until they end. Intake drafts live in the database and are not
lost with it: the form's command resumes them."""


@dataclass
class SharedState:
    """What replicas share besides the database (README, "Running at scale")."""

    redis: Any
    storage: BaseStorage
    events_isolation: BaseEventIsolation
    limiter: SendLimiter


def shared_state(settings: Settings, bot_id: int) -> SharedState | None:
    """With ``REDIS_URL``: conversation state and per-chat isolation in Redis, so two updates
    of one chat never run at once on two replicas, and one send budget for all of them.
    Drafts and cases stay in the database."""
    if not settings.redis_url:
        return None
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    from scheduling.shared_limiter import SharedRateLimiter

    storage = RedisStorage.from_url(
        settings.redis_url,
        key_builder=DefaultKeyBuilder(prefix="gucheng:fsm", with_bot_id=True),
        state_ttl=FSM_TTL,
        data_ttl=FSM_TTL,
    )
    return SharedState(
        redis=storage.redis,
        storage=storage,
        events_isolation=storage.create_isolation(lock_kwargs={"timeout": CHAT_LOCK_SECONDS}),
        limiter=SharedRateLimiter(storage.redis, namespace=str(bot_id)),
    )


async def serve(
    settings: Settings, db: Database, clock: Clock, bot: Bot, files: DataFiles
) -> None:
    """Polling, or the webhook with ``WEBHOOK_URL`` (serving.py), until SIGTERM/SIGINT;
    on_shutdown lets running handlers finish first."""
    shared = shared_state(settings, bot.id)
    dp = create_dispatcher(
        settings,
        db,
        clock,
        org=files.org,
        engine=files.engine,
        webhooks=files.webhooks,
        storage=shared.storage if shared else None,
        events_isolation=shared.events_isolation if shared else None,
    )
    users: UserRepository = dp["users"]
    # Handlers' replies are retried after a 429; reminders go through their own Bot, whose
    # sender paces itself and handles 429 on its own (scheduling/sender.py).
    bot.session.middleware(RetryRateLimitedReplies())
    reminder_bot = build_bot(settings)
    scheduling = Scheduling(
        bot=reminder_bot,
        db=db,
        clock=clock,
        settings=settings,
        limiter=shared.limiter if shared else None,
        org=files.org,
        engine=files.engine,
        stats=dp["stats"],
    )
    scheduling.tick_steps.append(BookingJobs(dp["booking"]).tick)
    # Mediations ended on the staff case page or withdrawn: sessions off, other party told;
    # session messages follow the mediator who accepted the case.
    scheduling.tick_steps.append(dp["mediation"].tick)
    scheduling.tick_steps.append(AssignmentJobs(dp["assignment"]).tick)
    # Webhooks: their own tasks and HTTP client, beside polling (scheduling/webhooks.py).
    queue: WebhookQueue = dp["webhooks"]
    pump = WebhookPump(
        queue,
        clock,
        concurrency=settings.webhooks_concurrency,
        timeout=settings.webhooks_timeout_seconds,
    )
    inbound = (
        InboundServer(
            InboundService(db, clock, queue.config, dp["litigation"]),
            settings.http_host,
            settings.http_port,
        )
        if settings.http_port
        else None
    )
    listening: list[InboundServer] = []

    @dp.startup()
    async def on_startup(bot: Bot) -> None:
        staff = [u for role in MENU_ROLES for u in await users.with_role(role)]
        try:
            await set_commands(bot, settings.default_locale, staff)
        except TelegramAPIError as exc:
            # Only the command menus: the bot works without them, the next start sets them.
            log.warning("could not set the command menus (%s: %s)", type(exc).__name__, exc)
        await scheduling.start()
        await pump.start()
        if inbound is not None:
            try:
                await inbound.start()
                listening.append(inbound)
            except OSError as exc:
                # The chat works without it: say so loudly, keep serving citizens.
                log.error(
                    "the inbound endpoint cannot listen on %s:%s (%s); choose a free HTTP_PORT "
                    "or leave it empty, and restart",
                    settings.http_host,
                    settings.http_port,
                    reason(exc),
                )
        tune_runtime()
        log.info("bot ready")

    @dp.shutdown()
    async def on_shutdown() -> None:
        # Polling has stopped; let handlers already running finish before the store closes.
        running = list(dp._handle_update_tasks)
        if running:
            await asyncio.wait(running, timeout=20)
        for server in listening:
            await server.stop()
        await pump.stop()
        await scheduling.stop()
        log.info("bot stopped")

    try:
        if settings.webhook_url:
            await serve_webhook(dp, bot, settings, db, shared.redis if shared else None)
        else:
            await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
    finally:
        await reminder_bot.session.close()
        if shared is not None:
            await shared.storage.close()


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        code = asyncio.run(run(settings))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        code = EXIT_STOPPED
    sys.exit(code)


if __name__ == "__main__":
    main()
