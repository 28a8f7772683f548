"""When a message may go out: working days on the legal calendar, the end of a legal day, and
the night's quiet hours (22:00–08:00 in the county's time zone)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cases.law.calendar import LegalCalendar
from scheduling.policy import (
    Offset,
    Unit,
    quiet_hours,
)


def shift_working_days(calendar: LegalCalendar, day: date, amount: int) -> date:
    """``amount`` working days after (>0) or before (<0) ``day``; 0 is the day itself."""
    step = 1 if amount > 0 else -1
    remaining = abs(amount)
    while remaining:
        day += timedelta(days=step)
        if calendar.is_workday(day):
            remaining -= 1
    return day


def shift(calendar: LegalCalendar, day: date, offset: Offset) -> date:
    if offset.unit is Unit.WORKING_DAYS:
        return shift_working_days(calendar, day, offset.amount)
    if offset.unit is Unit.CALENDAR_DAYS:
        return day + timedelta(days=offset.amount)
    raise ValueError(f"a day cannot be shifted by {offset.unit}")


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """C10: a period ends at 24:00 of its last day, Asia/Shanghai."""
    return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)


def in_quiet_hours(moment: datetime, tz: ZoneInfo) -> bool:
    """Within the configured quiet hours (``QUIET_HOURS``)."""
    quiet = quiet_hours()
    local = moment.astimezone(tz).time()
    return local >= quiet.start or local < quiet.end


def after_quiet_hours(moment: datetime, tz: ZoneInfo) -> datetime:
    """The first moment a citizen may be written to: ``moment`` itself or the end of the
    quiet hours that follows."""
    if not in_quiet_hours(moment, tz):
        return moment
    end = quiet_hours().end
    local = moment.astimezone(tz)
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tz).astimezone(UTC)
