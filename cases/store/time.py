"""Time as a dependency, so tests and benchmarks can move it by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LEGAL_TZ = ZoneInfo("Asia/Shanghai")
"""Legal periods end at 24:00 Asia/Shanghai (domain C10); their dates are dates in this zone."""


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


def legal_today(clock: Clock, tz: ZoneInfo = LEGAL_TZ) -> date:
    """Today's date where the law counts days."""
    return clock.now().astimezone(tz).date()


def to_db(moment: datetime) -> str:
    """Instants are stored as UTC ISO-8601 text, which sorts correctly."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
