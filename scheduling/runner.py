"""APScheduler as a clock, nothing more (engineering.md §3).

The database is the source of truth: jobs hold no state and take no arguments, the job store is
the in-memory default (nothing pickled, nothing to lose), and every job is safe to run late or
twice. ``coalesce=True``, ``max_instances=1`` and ``misfire_grace_time=None`` are passed as job
defaults: APScheduler's own default grace of one second silently skips a late run (§3, E3).

Downtime is caught up at start-up: rows left in ``sending`` become ``unknown`` before anything
is sent, then one catch-up run settles the acceptance reviews that ended undecided (FY 30(3):
deemed accepted, the citizen told), plans, sends what fell due while the bot was down
(expiring what is no longer useful), queues today's digest if it is daytime and none went out,
takes a backup if the newest is older than a day, and purges old processed-update records.
The monthly report (scheduling/monthly_report.py) is queued with the digest, and by the
catch-up in the daytime, from the month's first working day on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation
from cases.store.db import Database
from cases.store.processed_updates import purge_processed_updates
from cases.store.time import Clock
from scheduling.digest import queue_digests
from scheduling.monthly_report import queue_monthly_reports
from scheduling.notices import alert_calendar_gap, deem_accepted
from scheduling.outbox import DispatchReport, Outbox, Transport
from scheduling.planner import Planner
from scheduling.policy import DIGEST_AT
from scheduling.sender import RateLimiter, SendLimiter, TelegramSender
from scheduling.timing import in_quiet_hours

if TYPE_CHECKING:  # only scheduling/sender.py talks to Telegram; this is a type
    from aiogram import Bot

    from cases.reports.figures import StatsService

log = logging.getLogger(__name__)

BACKUP_PREFIX = "bot-"
BACKUP_STAMP = "%Y%m%d-%H%M%S"
STALE_CLAIM = timedelta(minutes=5)
"""Longer than any send takes (a Telegram request times out well before): a row claimed this
long ago and still ``sending`` belongs to a process that died."""


class _SettingsLike(Protocol):
    admin_ids: list[int]
    timezone: str
    reminder_tick_seconds: int
    backup_dir: Path
    backup_keep: int
    escalation_hours: int


@dataclass(frozen=True)
class SchedulingConfig:
    admin_ids: tuple[int, ...] = ()
    timezone: str = "Asia/Shanghai"
    tick_seconds: float = 30
    backup_dir: Path = Path("data/backups")
    backup_keep: int = 7
    escalation_hours: float = 24
    processed_updates_keep_hours: float = 48
    chat_ids: tuple[int, int] = (-(2**63), 2**63 - 1)
    """The chat ids this process delivers to (settings.CHANNEL_CHAT_IDS): all by default."""
    replicas: bool = False
    """Other processes may share the outbox (WEBHOOK_URL or REDIS_URL set: README, "Running
    at scale"): a row in ``sending`` is a crashed send only once :data:`STALE_CLAIM` old."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, settings: _SettingsLike) -> SchedulingConfig:
        return cls(
            admin_ids=tuple(settings.admin_ids),
            timezone=settings.timezone,
            tick_seconds=settings.reminder_tick_seconds,
            backup_dir=Path(settings.backup_dir),
            backup_keep=settings.backup_keep,
            escalation_hours=settings.escalation_hours,
            processed_updates_keep_hours=getattr(settings, "processed_updates_keep_hours", 48),
            chat_ids=getattr(settings, "chat_ids", (-(2**63), 2**63 - 1)),
            replicas=bool(getattr(settings, "replicas", False)),
        )


def build_scheduler(
    config: SchedulingConfig, jobs: dict[str, Callable[[], Awaitable[Any]]]
) -> AsyncIOScheduler:
    """An AsyncIOScheduler with the memory job store only and the job defaults of §3."""
    scheduler = AsyncIOScheduler(
        jobstores={"default": MemoryJobStore()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=config.tz,
    )
    scheduler.add_job(
        jobs["tick"], IntervalTrigger(seconds=config.tick_seconds), id="tick", name="reminders"
    )
    scheduler.add_job(
        jobs["digest"],
        CronTrigger(hour=DIGEST_AT.hour, minute=DIGEST_AT.minute, timezone=config.tz),
        id="digest",
        name="morning digest",
    )
    scheduler.add_job(
        jobs["backup"],
        CronTrigger(hour=3, minute=30, timezone=config.tz),
        id="backup",
        name="online backup",
    )
    scheduler.add_job(
        jobs["purge"],
        CronTrigger(hour=4, minute=0, timezone=config.tz),
        id="purge",
        name="purge processed updates",
    )
    return scheduler


class Scheduling:
    """What bot.py starts: planner, outbox, sender and the clock that ticks them."""

    def __init__(
        self,
        *,
        bot: Bot | None = None,
        db: Database,
        clock: Clock,
        engine: DeadlineEngine,
        settings: _SettingsLike | None = None,
        config: SchedulingConfig | None = None,
        transport: Transport | None = None,
        limiter: SendLimiter | None = None,
        org: Organisation | None = None,
        stats: StatsService | None = None,
    ) -> None:
        """``limiter``: the send budget shared by all replicas (Redis); default this
        process's own. ``stats``: the figures for the monthly report
        (scheduling/monthly_report.py); none, no report."""
        if config is None:
            config = SchedulingConfig.from_settings(settings) if settings else SchedulingConfig()
        if transport is None:
            if bot is None:
                raise ValueError("Scheduling needs a bot or a transport")
            transport = TelegramSender(bot, limiter or RateLimiter())
        self.config = config
        self.stats = stats
        self.db = db
        self.clock = clock
        self.engine = engine
        self.transport = transport
        admin_ids = list(config.admin_ids)
        self.planner = Planner(
            db,
            clock,
            admin_ids=admin_ids,
            escalation_hours=config.escalation_hours,
            tz=config.tz,
            org=org,
            calendar=engine.calendar,
        )
        self.outbox = Outbox(
            db, transport, clock, admin_ids=admin_ids, tz=config.tz, chat_ids=config.chat_ids
        )
        self.scheduler = build_scheduler(
            config,
            {
                "tick": self._job(self.tick),
                "digest": self._job(self.digest, one_process=True),
                "backup": self._job(self.backup, one_process=True),
                "purge": self._job(self.purge, one_process=True),
            },
        )
        self._running: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.tick_steps: list[Callable[[], Awaitable[Any]]] = []
        """Other procedures' timed steps (bookings: waitlist offers), run before each send."""

    # --- lifecycle ---

    async def start(self) -> None:
        """Recover, then run the catch-up in the background so polling is not held up."""
        await self.recover_interrupted()
        self.scheduler.start()
        self.scheduler.add_job(
            self._job(self.catch_up, one_process=True),
            id="catch_up",
            name="catch-up after start",
            next_run_time=(datetime.now(UTC)),
        )
        log.info("scheduling started: tick every %s s", self.config.tick_seconds)

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Stop claiming new rows, let the sends in flight finish, then stop the clock."""
        self._stopping = True
        self.outbox.stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        running = [t for t in self._running if not t.done()]
        if running:
            await asyncio.wait(running, timeout=grace_seconds)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down via call_soon_threadsafe
        log.info("scheduling stopped")

    def _job(
        self, func: Callable[[], Awaitable[Any]], *, one_process: bool = False
    ) -> Callable[[], Awaitable[Any]]:
        """``one_process``: a daily job that replicas must not all run; it runs where the
        job's lock is free (an advisory lock on PostgreSQL, a file lock beside SQLite) and is
        skipped elsewhere. What it queues is once-only anyway (the outbox's dedup keys)."""

        async def run() -> Any:
            if self._stopping:
                return None
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                if not one_process:
                    return await func()
                async with self.db.job_lock(func.__name__) as ours:
                    if not ours:
                        log.info("%s: another process is running it", func.__name__)
                        return None
                    return await func()
            except Exception:
                log.exception("scheduled job %s failed", func.__name__)
                return None
            finally:
                if task is not None:
                    self._running.discard(task)

        run.__name__ = func.__name__
        return run

    # --- jobs ---

    async def recover_interrupted(self) -> int:
        """Sends a crash interrupted: at start all of them for a lone process; with replicas
        (and then at every tick) only claims older than :data:`STALE_CLAIM`, since another
        replica's send in flight is also ``sending``."""
        if not self.config.replicas:
            return await self.outbox.recover_interrupted()
        return await self.outbox.recover_interrupted(claimed_before=self.clock.now() - STALE_CLAIM)

    async def tick(self) -> DispatchReport:
        if self.config.replicas:
            await self.recover_interrupted()  # a replica that died: no restart may come
        await self.accept_expired_reviews()
        for step in self.tick_steps:
            try:
                await step()
            except Exception:
                log.exception("tick step failed")
        await self.planner.plan()
        return await self.outbox.dispatch_due()

    async def accept_expired_reviews(self) -> list[int]:
        """FY 30(3): an F5 review that ended undecided makes the case accepted (F9 and F12
        open) and queues the citizen's notice. A failure here is logged and does not hold up
        the reminders."""
        try:
            return await deem_accepted(self.db, self.clock, self.engine)
        except Exception:
            log.exception("deemed acceptance step failed")
            return []

    async def digest(self) -> int:
        # A bot running across New Year must warn too, not only at start-up (domain §1.2).
        today = self.clock.now().astimezone(self.config.tz).date()
        missing = self.engine.calendar.missing_years(today)
        await alert_calendar_gap(
            self.db, missing, self.clock, admin_ids=list(self.config.admin_ids), tz=self.config.tz
        )
        queued = await queue_digests(
            self.db, self.clock, admin_ids=list(self.config.admin_ids), tz=self.config.tz
        )
        queued += await self.monthly_report()
        if queued:
            await self.outbox.dispatch_due()
        return queued

    async def monthly_report(self) -> int:
        """Last month's report to the administrators, from this month's first working day on,
        once (the outbox's dedup keys). A failure here is logged and holds up nothing."""
        if self.stats is None:
            return 0
        try:
            return await queue_monthly_reports(
                self.db,
                self.clock,
                self.stats,
                self.engine.calendar,
                admin_ids=list(self.config.admin_ids),
                tz=self.config.tz,
            )
        except Exception:
            log.exception("monthly report step failed")
            return 0

    async def backup(self) -> Path | None:
        """An online copy (SQLite backup API under the writer lock); the newest N are kept.
        PostgreSQL has none here: its operators run pg_dump (README, "Running at scale")."""
        if not self.db.has_online_backup:
            return None
        folder = self.config.backup_dir
        target = folder / f"{BACKUP_PREFIX}{self.clock.now().strftime(BACKUP_STAMP)}.sqlite3"
        await self.db.backup_to(target)
        for old in self.backups()[: -self.config.backup_keep]:
            old.unlink(missing_ok=True)
        log.info("backup written: %s", target.name)
        return target

    def backups(self) -> list[Path]:
        """Oldest first (the timestamp in the name sorts)."""
        folder = self.config.backup_dir
        if not folder.is_dir():
            return []
        return sorted(folder.glob(f"{BACKUP_PREFIX}*.sqlite3"))

    def _newest_backup_at(self) -> datetime | None:
        for path in reversed(self.backups()):
            stamp = path.stem.removeprefix(BACKUP_PREFIX)
            try:
                return datetime.strptime(stamp, BACKUP_STAMP).replace(tzinfo=UTC)
            except ValueError:
                continue
        return None

    async def purge(self) -> int:
        keep = timedelta(hours=self.config.processed_updates_keep_hours)
        return await purge_processed_updates(self.db, self.clock, keep)

    async def catch_up(self) -> DispatchReport:
        """Whatever fell due while the bot was down, once."""
        now = self.clock.now()
        await self.accept_expired_reviews()
        await self.planner.plan()
        local = now.astimezone(self.config.tz)
        if local.time() >= DIGEST_AT and not in_quiet_hours(now, self.config.tz):
            await queue_digests(
                self.db, self.clock, admin_ids=list(self.config.admin_ids), tz=self.config.tz
            )
            await self.monthly_report()
        newest = self._newest_backup_at()
        if self.db.has_online_backup and (newest is None or now - newest >= timedelta(hours=24)):
            await self.backup()
        await self.purge()
        return await self.outbox.dispatch_due()
