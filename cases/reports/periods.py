"""Reporting periods: this month, last month, this quarter, this year, or typed dates.

A period is a closed range of local dates (Asia/Shanghai, like every legal date in the store).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, model_validator

from cases.law.calendar import LegalCalendar

MAX_CUSTOM_DAYS = 366 * 5
"""A typed period longer than five years is a typing slip, not a report anyone reads."""
FIRST_YEAR = 2000


class PeriodKind(StrEnum):
    this_month = "m"
    last_month = "lm"
    quarter = "q"
    year = "y"
    custom = "c"


class Period(BaseModel):
    first: date
    last: date
    kind: PeriodKind = PeriodKind.custom

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.last < self.first:
            raise ValueError("a period ends after it starts")
        return self

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def contains(self, day: date | None) -> bool:
        return day is not None and self.first <= day <= self.last

    def label(self) -> str:
        """2026-11-01 – 2026-11-30: ISO dates read the same in both languages."""
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first=first, last=following - timedelta(days=1), kind=PeriodKind.this_month)


def previous_month(day: date) -> Period:
    last = day.replace(day=1) - timedelta(days=1)
    return Period(first=last.replace(day=1), last=last, kind=PeriodKind.last_month)


def preset(kind: PeriodKind, today: date) -> Period:
    """The period a button stands for, as of ``today`` (periods in progress end today's month,
    quarter or year: the figures of days not yet come are simply zero)."""
    if kind is PeriodKind.this_month:
        return month_of(today)
    if kind is PeriodKind.last_month:
        return previous_month(today)
    if kind is PeriodKind.quarter:
        start_month = (today.month - 1) // 3 * 3 + 1
        first = date(today.year, start_month, 1)
        end = month_of(date(today.year, start_month + 2, 1)).last
        return Period(first=first, last=end, kind=kind)
    if kind is PeriodKind.year:
        return Period(first=date(today.year, 1, 1), last=date(today.year, 12, 31), kind=kind)
    raise ValueError("a custom period needs its dates")


class PeriodError(ValueError):
    """A typed period that cannot be read; ``reason`` is an English msgid for the reader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_DATE = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?")

PERIOD_UNREADABLE = "unreadable"
PERIOD_REVERSED = "reversed"
PERIOD_TOO_LONG = "too_long"
PERIOD_OUT_OF_RANGE = "out_of_range"


def parse_custom(text: str, today: date) -> Period:
    """Two dates as people type them: "2026-01-01 2026-03-31", "2026.1.1-2026.3.31",
    "2026年1月1日至2026年3月31日". One date alone is that single day."""
    found = _DATE.findall(text)
    if not found or len(found) > 2:
        raise PeriodError(PERIOD_UNREADABLE)
    try:
        days = [date(int(y), int(m), int(d)) for y, m, d in found]
    except ValueError:
        raise PeriodError(PERIOD_UNREADABLE) from None
    return custom_period(days[0], days[-1], today)


def custom_period(first: date, last: date, today: date) -> Period:
    """A typed period within the limits: the same check for what is typed and for what a
    button brings back (callback data can be forged)."""
    if last < first:
        raise PeriodError(PERIOD_REVERSED)
    if first.year < FIRST_YEAR or last.year > today.year + 1:
        raise PeriodError(PERIOD_OUT_OF_RANGE)
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        raise PeriodError(PERIOD_TOO_LONG)
    return Period(first=first, last=last, kind=PeriodKind.custom)


def first_working_day(year: int, month: int, calendar: LegalCalendar) -> date:
    """The month's first working day on the legal calendar (make-up working days count, C5;
    a year without holiday data gives a provisional day: Monday–Friday less fixed holidays)."""
    day = date(year, month, 1)
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day
