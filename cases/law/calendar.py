"""The legal calendar: which days are working days, and how periods are counted on them.

Working days come from the ``chinesecalendar`` package (import ``chinese_calendar``; 2004–2026
in 1.11.0) plus one override file that administrators extend, e.g. with next year's State
Council holiday notice before a package release covers it (domain §1.2).

Counting rules (domain §1.1):

- C1: the start day is not counted; every period starts on the next day.
- C2: N calendar days end on trigger + N.
- C3: N months end on the same day number N months later, or on that month's last day
  (``relativedelta``; 2024-08-31 + 6 M → 2025-02-28). Years likewise (MFD 202).
- C4: a last day on a rest day (weekend or public holiday) rolls forward to the next working day.
- C5 ⚠: 调休 make-up working days (a Saturday or Sunday declared a working day) ARE working days:
  they count in working-day periods and a period ending on one is not extended.
- C6: FY 88(2) working days exclude statutory rest days. Counted with our own loop: the
  package's ``find_workday`` is one day late when the trigger is not a working day (domain §1.2).

Coverage. A year is *covered* when the package has data for it or the override file lists it.
For a day outside coverage the calendar does not guess silently: it falls back to "Monday–Friday
are working days, no holidays" and every counting helper reports ``provisional=True`` when any
day it consulted was outside coverage. The deadline is then shown as provisional, the
administrators are alerted (see :meth:`LegalCalendar.missing_years`), and open deadlines are
recomputed when the data is extended (``cases.procedures.deadline_recount.recompute_provisional``).

Override file (``cases/data/calendar_overrides.json``; the ``CALENDAR_OVERRIDES_PATH`` setting
may point elsewhere)::

    {
      "years": {
        "2027": {
          "holidays": ["2027-01-01", "2027-02-06"],
          "workdays": ["2027-02-14"]
        }
      }
    }

- ``holidays``: rest days that would otherwise be working days (public holidays and 调休 days off
  falling on Monday–Friday). Weekend days may be listed too; it changes nothing.
- ``workdays``: days that are working days although the weekday rule or the package says
  otherwise (调休 make-up Saturdays and Sundays; also a correction of package data).
- A year present in the file counts as covered, even with empty lists. For a year the package
  covers too, the file's entries win over the package's.
- Other top-level keys (e.g. ``"about"``) are ignored, so the file can carry a note.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import chinese_calendar
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_OVERRIDES_PATH = (
    Path(__file__).resolve().parent.parent / "data" / "calendar_overrides.json"
)
_ONE_DAY = timedelta(days=1)

FIXED_SOLAR_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})
"""FJ Art 2 (2024 revision): 元旦 1 Jan, 劳动节 1-2 May, 国庆节 1-3 Oct. For a year without
data these are the holidays known without the State Council's notice; the lunar ones (春节,
清明, 端午, 中秋) and the 调休 swaps are not, so such dates stay provisional."""
_SAFETY_STEPS = 3660
"""No run of rest days is anywhere near ten years long: a loop that gets this far is a bug."""


class Counted(NamedTuple):
    """A counted date, and whether any day consulted lay outside the calendar data."""

    day: date
    provisional: bool


class YearOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()


class CalendarOverrides(BaseModel):
    """The override file, validated: every date in its year, no date in both lists."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    years: dict[int, YearOverride] = Field(default_factory=dict)

    @field_validator("years")
    @classmethod
    def _sane_years(cls, years: dict[int, YearOverride]) -> dict[int, YearOverride]:
        for year, entry in years.items():
            if not 1949 <= year <= 2200:
                raise ValueError(f"implausible year {year}")
            for day in (*entry.holidays, *entry.workdays):
                if day.year != year:
                    raise ValueError(f"{day.isoformat()} is listed under year {year}")
            both = set(entry.holidays) & set(entry.workdays)
            if both:
                listed = ", ".join(sorted(d.isoformat() for d in both))
                raise ValueError(f"listed both as holiday and as workday: {listed}")
        return years

    @model_validator(mode="before")
    @classmethod
    def _empty_file(cls, data: object) -> object:
        return {} if data is None else data


@lru_cache(maxsize=1)
def _package_data() -> tuple[frozenset[int], frozenset[date], frozenset[date]]:
    """Years the installed package covers, its rest days on Mon–Fri and its make-up workdays.

    The years are found by asking the package itself: outside its range ``is_workday`` raises
    ``NotImplementedError`` (domain §1.2), which is exactly the coverage test we need.
    """
    listed_years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    years: set[int] = set()
    for year in range(min(listed_years) - 1, max(listed_years) + 2):
        try:
            chinese_calendar.is_workday(date(year, 7, 1))
        except NotImplementedError:
            continue
        years.add(year)
    rest = frozenset(d for d in chinese_calendar.holidays if d.weekday() < 5 and d.year in years)
    work = frozenset(d for d in chinese_calendar.workdays if d.weekday() >= 5 and d.year in years)
    return frozenset(years), rest, work


def load_overrides(path: Path) -> CalendarOverrides:
    text = path.read_text("utf-8")
    return CalendarOverrides.model_validate(json.loads(text) if text.strip() else {})


class LegalCalendar:
    """Working days and period counting. Immutable once loaded: build a new one to reload."""

    def __init__(self, overrides_path: Path | None = None) -> None:
        if overrides_path is None:
            path = DEFAULT_OVERRIDES_PATH
            overrides = load_overrides(path) if path.exists() else CalendarOverrides()
        else:
            path = Path(overrides_path)
            overrides = load_overrides(path)  # an explicit path that is missing is an error
        self.overrides_path = path
        self.overrides = overrides
        package_years, package_rest, package_work = _package_data()
        self.package_years = package_years
        extra_rest = {d for y in overrides.years.values() for d in y.holidays}
        extra_work = {d for y in overrides.years.values() for d in y.workdays}
        # The file wins over the package for the days it names.
        self._rest = frozenset((package_rest - extra_work) | extra_rest)
        self._work = frozenset((package_work - extra_rest) | extra_work)
        self._years = frozenset(package_years | set(overrides.years))

    # -- coverage ---------------------------------------------------------------------------

    def covers(self, day: date) -> bool:
        """Whether the day's year has real holiday data (package or override file)."""
        return day.year in self._years

    def covered_years(self) -> frozenset[int]:
        return self._years

    def covered_until(self) -> int:
        """The last year of the unbroken run of covered years that starts with the package's."""
        year = min(self.package_years)
        while year + 1 in self._years:
            year += 1
        return year

    def missing_years(self, today: date, ahead: int = 1) -> list[int]:
        """This year and the next ``ahead`` years without data: the start-up / CI check and the
        trigger for alerting the administrators (domain §1.2)."""
        return [y for y in range(today.year, today.year + ahead + 1) if y not in self._years]

    # -- days -------------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        """C5: make-up days are working days. Outside coverage: Monday–Friday less the
        holidays on fixed solar dates (provisional: lunar holidays and 调休 are unknown)."""
        if day in self._work:
            return True
        if day.year not in self._years and (day.month, day.day) in FIXED_SOLAR_HOLIDAYS:
            return False
        return day.weekday() < 5 and day not in self._rest

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: start excluded as in C1, end included."""
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            if self.is_workday(day):
                count += 1
            day += _ONE_DAY
        return count

    # -- counting helpers (each returns the date and whether it is provisional) --------------

    def roll_forward(self, day: date) -> Counted:
        """C4: a last day on a rest day moves to the first working day after it."""
        provisional = day.year not in self._years
        for _ in range(_SAFETY_STEPS):
            if self.is_workday(day):
                return Counted(day, provisional)
            day += _ONE_DAY
            provisional = provisional or day.year not in self._years
        raise RuntimeError("no working day found")  # pragma: no cover

    def roll_back(self, day: date) -> Counted:
        """For periods counted backwards from an event (F11, L6): the latest working day on or
        before the day, so the minimum notice is never shortened (⚠ see deadlines.py)."""
        provisional = day.year not in self._years
        for _ in range(_SAFETY_STEPS):
            if self.is_workday(day):
                return Counted(day, provisional)
            day -= _ONE_DAY
            provisional = provisional or day.year not in self._years
        raise RuntimeError("no working day found")  # pragma: no cover

    def add_workdays(self, trigger: date, n: int) -> Counted:
        """FY 88(2), C1, C5: the n-th working day after the trigger (trigger excluded).

        A trigger on a rest day does not count, and the next working day is day 1 (domain §1.3
        example I: Sat 2025-03-08 + 5 WD = 2025-03-14, where ``find_workday`` says 03-17).
        ``n == 0`` gives the first working day on or after the trigger.
        """
        if n < 0:
            raise ValueError("n must not be negative; use subtract_workdays")
        if n == 0:
            return self.roll_forward(trigger)
        years = self._years
        day = trigger
        provisional = False
        while n:
            day += _ONE_DAY
            if day.year not in years:
                provisional = True
            if self.is_workday(day):
                n -= 1
        return Counted(day, provisional)

    def subtract_workdays(self, event: date, n: int) -> Counted:
        """The n-th working day before the event (event excluded): the latest day for a notice
        due "n working days before" it (F11)."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return self.roll_back(event)
        years = self._years
        day = event
        provisional = False
        while n:
            day -= _ONE_DAY
            if day.year not in years:
                provisional = True
            if self.is_workday(day):
                n -= 1
        return Counted(day, provisional)

    def add_calendar_days(self, trigger: date, n: int) -> Counted:
        """C2 + C4: trigger + n calendar days, rolled forward off a rest day."""
        return self.roll_forward(trigger + timedelta(days=n))

    def subtract_calendar_days(self, event: date, n: int) -> Counted:
        """Event − n calendar days, moved back off a rest day (L6, ⚠)."""
        return self.roll_back(event - timedelta(days=n))

    def add_months(self, trigger: date, n: int) -> Counted:
        """C3 + C4: same day number n months later, or that month's last day; then rolled."""
        return self.roll_forward(trigger + relativedelta(months=n))

    def add_years(self, trigger: date, n: int) -> Counted:
        """C3 for years (MFD 202): 2024-02-29 + 1 year → 2025-02-28; then rolled (C4)."""
        return self.roll_forward(trigger + relativedelta(years=n))
