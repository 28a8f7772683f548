"""Quiet hours are one setting (QUIET_HOURS), read by every scheduling module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot import create_dispatcher
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, FakeClock
from scheduling.booking import BookingMailer
from scheduling.planner import after_quiet_hours
from scheduling.policy import QuietHours, quiet_hours, set_quiet_hours
from scheduling.timing import in_quiet_hours
from settings import Settings
from tests.fakes.telegram import TOKEN


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LEGAL_TZ).astimezone(UTC)


@pytest.fixture(autouse=True)
def default_quiet_hours() -> Iterator[None]:
    yield
    set_quiet_hours(QuietHours())


def settings_with(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        bot_token=TOKEN, database_path=tmp_path / "x.sqlite3", _env_file=None, **values
    )


def test_the_default_is_the_value_the_example_file_gives(tmp_path: Path) -> None:
    assert str(settings_with(tmp_path).quiet_hours) == "21:00-08:00"


def test_quiet_hours_are_read_from_the_environment_as_written_in_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: pydantic-settings took QUIET_HOURS=21:00-08:00 for JSON and the bot did not
    start with the example file."""
    monkeypatch.setenv("QUIET_HOURS", "22:00-07:30")
    hours = settings_with(tmp_path).quiet_hours
    assert str(hours) == "22:00-07:30"


def test_quiet_hours_setting_is_read_from_text(tmp_path: Path) -> None:
    hours = settings_with(tmp_path, quiet_hours="22:30-07:00").quiet_hours
    assert (hours.start.hour, hours.start.minute, hours.end.hour) == (22, 30, 7)


@pytest.mark.parametrize("text", ["08:00-22:00", "25:00-07:00", "22-07", "22:00-22:00"])
def test_a_quiet_window_that_is_not_a_night_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValidationError):
        settings_with(tmp_path, quiet_hours=text)


async def test_the_setting_moves_every_scheduling_module(
    tmp_path: Path, db: Database, clock: FakeClock
) -> None:
    """22:00-07:00 configured: 21:30 is awake (the old constant said night), 06:30 night."""
    create_dispatcher(settings_with(tmp_path, quiet_hours="22:00-07:00"), db, clock)
    assert str(quiet_hours()) == "22:00-07:00"
    assert not in_quiet_hours(local(2026, 11, 25, 21, 30), LEGAL_TZ)
    assert in_quiet_hours(local(2026, 11, 26, 6, 30), LEGAL_TZ)
    assert after_quiet_hours(local(2026, 11, 25, 23, 0), LEGAL_TZ) == local(2026, 11, 26, 7)
    # A waitlist seat held for 2 awake hours from 21:00: one hour tonight, one from 07:00.
    assert BookingMailer(LEGAL_TZ).hold_until(local(2026, 11, 25, 21, 0), 2) == local(
        2026, 11, 26, 8
    )
