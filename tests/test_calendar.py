"""The legal calendar: working days, C1–C5 counting, coverage and the override file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from cases.law.calendar import DEFAULT_OVERRIDES_PATH, LegalCalendar


@pytest.fixture(scope="module")
def cal() -> LegalCalendar:
    return LegalCalendar()


def write_overrides(tmp_path: Path, years: dict[str, dict[str, list[str]]]) -> Path:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"years": years}), "utf-8")
    return path


# -- working days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 2, 12), False),  # Spring Festival 2024
        (date(2024, 2, 18), True),  # make-up Sunday
        (date(2024, 10, 7), False),  # National Day 2024
        (date(2024, 10, 12), True),  # make-up Saturday
        (date(2025, 1, 26), True),  # make-up Sunday before Spring Festival 2025
        (date(2025, 2, 4), False),  # Spring Festival 2025
        (date(2025, 2, 8), True),  # make-up Saturday
        (date(2025, 10, 8), False),  # National Day + Mid-Autumn 2025
        (date(2025, 10, 11), True),  # make-up Saturday
        (date(2026, 2, 14), True),  # make-up Saturday
        (date(2026, 2, 23), False),  # Spring Festival 2026 (nine days)
        (date(2026, 2, 28), True),  # make-up Saturday
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 3, 9), True),  # an ordinary Monday
    ],
)
def test_working_days_include_make_up_days_and_exclude_holidays(
    cal: LegalCalendar, day: date, working: bool
) -> None:
    assert cal.is_workday(day) is working


def test_working_day_count_skips_spring_festival_2024_and_counts_make_up_sunday(
    cal: LegalCalendar,
) -> None:
    # Fri 02-09 trigger; 02-10..02-17 off; Sun 02-18 is a working day and counts as day 1.
    assert cal.add_workdays(date(2024, 2, 9), 5) == (date(2024, 2, 22), False)


def test_working_day_count_across_spring_festival_2025(cal: LegalCalendar) -> None:
    # Sun 01-26 (make-up) = 1, Mon 01-27 = 2, 01-28..02-04 off, Wed 02-05 = 3.
    assert cal.add_workdays(date(2025, 1, 24), 3).day == date(2025, 2, 5)


def test_trigger_on_make_up_saturday_is_excluded_like_any_start_day(cal: LegalCalendar) -> None:
    # C1: Sat 2026-02-14 is a working day but it is the start day; 02-15..23 off;
    # 24, 25, 26, 27 and the make-up Saturday 28 are the five.
    assert cal.add_workdays(date(2026, 2, 14), 5).day == date(2026, 2, 28)


def test_trigger_on_rest_day_does_not_add_a_day(cal: LegalCalendar) -> None:
    # Domain §1.2: find_workday would give 03-17 here.
    assert cal.add_workdays(date(2025, 3, 8), 5).day == date(2025, 3, 14)


def test_calendar_days_ending_in_national_day_2024_roll_forward(cal: LegalCalendar) -> None:
    assert cal.add_calendar_days(date(2024, 9, 16), 15).day == date(2024, 10, 8)


def test_period_ending_on_make_up_saturday_is_not_extended(cal: LegalCalendar) -> None:
    # C5: 2026-01-30 + 15 CD = Sat 2026-02-14, a make-up working day.
    assert cal.add_calendar_days(date(2026, 1, 30), 15).day == date(2026, 2, 14)


@pytest.mark.parametrize(
    ("trigger", "months", "due"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year: the month's last day
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # a Friday: no roll
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # a Saturday, but a make-up working day
        (date(2024, 8, 31), 3, date(2024, 12, 2)),  # Sat 11-30 rolls to Monday
        (date(2024, 8, 31), 6, date(2025, 2, 28)),  # domain example C
    ],
)
def test_months_use_same_day_or_month_end_then_roll(
    cal: LegalCalendar, trigger: date, months: int, due: date
) -> None:
    assert cal.add_months(trigger, months).day == due


def test_years_from_29_february(cal: LegalCalendar) -> None:
    assert cal.add_years(date(2024, 2, 29), 1).day == date(2025, 2, 28)


def test_counting_back_from_a_hearing(cal: LegalCalendar) -> None:
    assert cal.subtract_workdays(date(2025, 3, 14), 5).day == date(2025, 3, 7)
    # Across National Day 2025: 10-09, 09-30, 09-29, Sun 09-28 (make-up), 09-26.
    assert cal.subtract_workdays(date(2025, 10, 10), 5).day == date(2025, 9, 26)
    # 2024-10-08 − 3 CD = 10-05, a holiday: moves back to Mon 09-30.
    assert cal.subtract_calendar_days(date(2024, 10, 8), 3).day == date(2024, 9, 30)


# -- coverage and provisional results -----------------------------------------------------------


def test_package_coverage_ends_2026(cal: LegalCalendar) -> None:
    assert cal.covers(date(2004, 1, 1))
    assert cal.covers(date(2026, 12, 31))
    assert not cal.covers(date(2027, 1, 1))
    assert cal.covered_until() == 2026
    assert cal.missing_years(date(2026, 11, 25)) == [2027]
    assert cal.missing_years(date(2025, 6, 1)) == []


def test_uncovered_days_count_monday_to_friday_and_are_provisional(cal: LegalCalendar) -> None:
    # 12-29, 12-30, 12-31, then (Fri 2027-01-01 is 元旦, a fixed-date holiday, FJ Art 2)
    # Mon 01-04 and Tue 01-05.
    assert cal.add_workdays(date(2026, 12, 28), 5) == (date(2027, 1, 5), True)
    assert cal.add_calendar_days(date(2026, 12, 20), 60) == (date(2027, 2, 18), True)
    assert cal.add_workdays(date(2026, 12, 1), 5) == (date(2026, 12, 8), False)


def test_override_year_counts_as_covered(tmp_path: Path) -> None:
    path = write_overrides(
        tmp_path, {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-02-07"]}}
    )
    cal = LegalCalendar(path)
    assert cal.covers(date(2027, 6, 1))
    assert cal.covered_until() == 2027
    assert cal.missing_years(date(2026, 11, 25)) == []
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 2, 7))  # a Sunday made a working day
    # 2026-12-17 + 15 CD = Fri 2027-01-01, a holiday → Mon 01-04, no longer provisional.
    assert cal.add_calendar_days(date(2026, 12, 17), 15) == (date(2027, 1, 4), False)


def test_year_listed_with_empty_lists_is_covered(tmp_path: Path) -> None:
    cal = LegalCalendar(write_overrides(tmp_path, {"2027": {}}))
    assert cal.add_workdays(date(2026, 12, 28), 5) == (date(2027, 1, 4), False)


def test_override_corrects_package_data(tmp_path: Path) -> None:
    cal = LegalCalendar(
        write_overrides(tmp_path, {"2026": {"holidays": ["2026-10-09"], "workdays": []}})
    )
    assert not cal.is_workday(date(2026, 10, 9))
    assert LegalCalendar().is_workday(date(2026, 10, 9))


def test_coverage_gap_stops_covered_until(tmp_path: Path) -> None:
    cal = LegalCalendar(write_overrides(tmp_path, {"2028": {}}))
    assert cal.covered_until() == 2026
    assert cal.missing_years(date(2026, 11, 25), ahead=2) == [2027]


@pytest.mark.parametrize(
    "years",
    [
        {"2027": {"holidays": ["2026-12-31"]}},  # a date under the wrong year
        {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}},  # both lists
        {"2027": {"holidays": ["2027-02-30"]}},  # no such day
        {"2027": {"holydays": ["2027-01-01"]}},  # misspelt key
    ],
)
def test_bad_override_file_is_rejected(tmp_path: Path, years: dict) -> None:
    with pytest.raises(ValidationError):
        LegalCalendar(write_overrides(tmp_path, years))


def test_explicit_missing_override_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LegalCalendar(tmp_path / "nope.json")


def test_shipped_override_file_is_valid_and_adds_nothing() -> None:
    cal = LegalCalendar(DEFAULT_OVERRIDES_PATH)
    assert cal.covered_years() == cal.package_years
    assert cal.overrides.years == {}


def test_uncovered_years_keep_the_fixed_date_holidays(cal: LegalCalendar) -> None:
    """Without the State Council's notice the solar-date holidays are still known: 元旦,
    劳动节 1-2 May, 国庆节 1-3 Oct (FJ Art 2); a deadline never lands on them."""
    for day in (date(2027, 1, 1), date(2027, 10, 1)):  # both Fridays
        assert not cal.is_workday(day)
    assert cal.is_workday(date(2027, 10, 4))  # a Monday after National Day (no data yet)
    assert cal.roll_forward(date(2027, 10, 1)) == (date(2027, 10, 4), True)
