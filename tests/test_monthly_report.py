"""The monthly report: on the month's first working day (legal calendar), to every
administrator, through the outbox and the real sender, once, whatever restarts happen."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from openpyxl import load_workbook

from cases.litigation.court_cases import LitigationService
from cases.org.organisation import load_organisation
from cases.reports.figures import StatsService
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, FakeClock
from scheduling.monthly_report import report_month
from scheduling.runner import Scheduling, SchedulingConfig
from scheduling.sender import RateLimiter, TelegramSender
from settings import Settings
from tests.fakes.telegram import TOKEN, RecordingSession
from tests.reports_support import STAMP, add_case, build_county
from tests.scheduling_helpers import FakeMonotonic
from tests.support import ENGINE

ADMIN = 9001  # configured in settings
SECOND_ADMIN = 9002  # given the role with /grant, reads English
OFFICE_HEAD = 6001  # sees /stats, but the monthly report is for administrators


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LEGAL_TZ).astimezone(UTC)


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    instance = Bot(TOKEN, session=RecordingSession())
    try:
        yield instance
    finally:
        await instance.session.close()


async def people(db: Database) -> None:
    async with db.transaction() as conn:
        for telegram_id, role, locale, head in (
            (SECOND_ADMIN, "admin", "en", 0),
            (OFFICE_HEAD, "office_staff", "zh", 1),
        ):
            await conn.execute(
                "INSERT INTO users(telegram_id, role, locale, heads_reconsideration, first_seen,"
                " last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                (telegram_id, role, locale, head, STAMP, STAMP),
            )


def scheduling(db: Database, clock: FakeClock, bot: Bot, tmp_path: Path) -> Scheduling:
    """A fresh Scheduling each call: as after a restart."""
    org = load_organisation(Settings(bot_token="1:x", _env_file=None).organisation_path)
    ticks = FakeMonotonic()
    return Scheduling(
        db=db,
        clock=clock,
        engine=ENGINE,
        config=SchedulingConfig(admin_ids=(ADMIN,), backup_dir=tmp_path / "backups"),
        transport=TelegramSender(bot, RateLimiter(monotonic=ticks, sleep=ticks.sleep)),
        stats=StatsService(db, clock, org, LitigationService(db, clock, org, engine=ENGINE)),
    )


def sent(bot: Bot, chat_id: int, kind: type) -> list:
    session = bot.session
    assert isinstance(session, RecordingSession)
    return [r for r in session.requests if isinstance(r, kind) and r.chat_id == chat_id]


def test_the_report_is_due_from_the_first_working_day_of_the_legal_calendar() -> None:
    calendar = ENGINE.calendar
    assert report_month(date(2026, 10, 7), calendar) is None  # National Day holiday
    assert report_month(date(2026, 10, 8), calendar) == "2026-09"  # first working day
    assert report_month(date(2026, 10, 31), calendar) == "2026-09"
    assert report_month(date(2026, 1, 3), calendar) is None  # New Year holiday
    assert report_month(date(2026, 1, 4), calendar) == "2025-12"  # a Sunday worked (调休)
    assert report_month(date(2026, 5, 5), calendar) is None  # Labour Day
    assert report_month(date(2026, 5, 6), calendar) == "2026-04"


async def test_monthly_report_goes_out_on_the_first_working_day_once_per_admin(
    db: Database, clock: FakeClock, bot: Bot, tmp_path: Path
) -> None:
    await build_county(db)
    await people(db)
    # Monday 30 November: the October report was due from 2 November; a bot that first runs
    # now still sends it (once), and nothing about November yet.
    clock.set(at(date(2026, 11, 30), 8))
    s = scheduling(db, clock, bot, tmp_path)
    await s.digest()
    assert [p.caption for p in sent(bot, ADMIN, SendPhoto)] == ["月度报告：2026年10月"]
    await s.digest()
    assert len(sent(bot, ADMIN, SendPhoto)) == 1

    # Tuesday 1 December, 08:00: November's report.
    clock.set(at(date(2026, 12, 1), 8))
    await s.digest()
    photo = sent(bot, ADMIN, SendPhoto)[-1]
    assert photo.photo.data.startswith(b"\x89PNG")
    assert photo.caption == "月度报告：2026年11月"
    document = sent(bot, ADMIN, SendDocument)[-1]
    assert document.document.filename == "stats-2026-11-01_2026-11-30.xlsx"
    book = load_workbook(io.BytesIO(document.document.data))
    assert list(book["按程序"].iter_rows(values_only=True))[-1][:3] == ("合计", 8, 4)
    [text] = [m.text for m in sent(bot, ADMIN, SendMessage) if "月度报告：2026年11月" in m.text]
    # Hand count (tests/reports_support.py) as of 1 December: M4's MA (11-30) has run out too.
    assert "收到8件，办结7件，当前在办4件，当前逾期3件。" in text
    english = [m.text for m in sent(bot, SECOND_ADMIN, SendMessage) if "November" in m.text]
    assert len(english) == 1 and "Monthly report: November 2026" in english[0]
    assert sent(bot, OFFICE_HEAD, SendPhoto) == []

    # The same morning again, and a restart's catch-up later that day: nothing twice.
    await s.digest()
    clock.set(at(date(2026, 12, 1), 15))
    restarted = scheduling(db, clock, bot, tmp_path)
    await restarted.catch_up()
    clock.set(at(date(2026, 12, 2), 8))
    await restarted.digest()
    assert len(sent(bot, ADMIN, SendPhoto)) == 2 and len(sent(bot, ADMIN, SendDocument)) == 2
    assert len(sent(bot, SECOND_ADMIN, SendDocument)) == 2
    rows = await db.fetch_all(
        "SELECT dedup_key, status FROM reminders WHERE dedup_key LIKE 'monthly:%' ORDER BY 1"
    )
    assert [(r["dedup_key"], r["status"]) for r in rows] == [
        (f"monthly:{month}:{chat}:{part}", "sent")
        for month in ("2026-10", "2026-11")
        for chat in (ADMIN, SECOND_ADMIN)
        for part in ("chart", "text", "xlsx")
    ]


async def test_a_bot_down_on_the_first_working_day_sends_the_report_when_it_is_back(
    db: Database, clock: FakeClock, bot: Bot, tmp_path: Path
) -> None:
    """National Day: October's first working day is the 8th; the bot was down until the 9th."""
    await build_county(db)  # cases since August: September has figures
    clock.set(at(date(2026, 10, 9), 10))
    await scheduling(db, clock, bot, tmp_path).catch_up()
    [photo] = sent(bot, ADMIN, SendPhoto)
    assert photo.caption == "月度报告：2026年9月"
    # At night the catch-up waits for the morning (no report at 03:00).
    clock.set(at(date(2026, 11, 2), 3))
    await scheduling(db, clock, bot, tmp_path).catch_up()
    assert len(sent(bot, ADMIN, SendPhoto)) == 1


async def test_a_fresh_bot_started_in_the_daytime_sends_no_report_of_a_month_before_its_data(
    db: Database, clock: FakeClock, bot: Bot, tmp_path: Path
) -> None:
    """A new installation (and every process test, whatever the hour it runs at): last month
    had nothing on record, so the start-up catch-up sends the administrators nothing."""
    clock.set(at(date(2026, 12, 3), 10))
    await scheduling(db, clock, bot, tmp_path).catch_up()
    await add_case(db, "FY-2026-000001", "reconsideration", "submitted", "2026-12-02")
    await scheduling(db, clock, bot, tmp_path).digest()
    assert sent(bot, ADMIN, SendPhoto) == [] and sent(bot, ADMIN, SendMessage) == []
    monthly = "SELECT count(*) FROM reminders WHERE dedup_key LIKE 'monthly:%'"
    assert await db.fetch_value(monthly) == 0
    # A case received on the month's last day: November has something to report.
    await add_case(db, "FY-2026-000002", "reconsideration", "submitted", "2026-11-30")
    await scheduling(db, clock, bot, tmp_path).digest()
    [photo] = sent(bot, ADMIN, SendPhoto)
    assert photo.caption == "月度报告：2026年11月"
