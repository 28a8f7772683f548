"""When a court hearing is, from what staff type (Chinese or ISO dates, 上午/下午, a weekday
note), and which county agency a typed name means: parsers with the messages they answer."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cases.i18n import N_
from cases.intake.validation import ValidationError, _replace_chinese_numerals
from cases.org.organisation import Agency, Organisation
from cases.store.time import LEGAL_TZ

MAX_HEARING_AHEAD = timedelta(days=2 * 366)
"""A hearing further ahead than this is almost certainly a mistyped year."""

# --- messages ---------------------------------------------------------------------------------

HEARING_FORMAT = N_(
    "Please type the date and time of the hearing, for example {example} or {example_zh}."
)
HEARING_NOT_REAL = N_(
    "There is no such day or time. Please check it and type it again, for example {example}."
)
HEARING_NO_TIME = N_("Please add the time of the hearing, for example {example}.")
HEARING_AMBIGUOUS = N_(
    "Is that in the morning or in the afternoon? Please add 上午 or 下午, or use the 24-hour "
    "clock, for example {example}."
)
HEARING_PAST = N_(
    "This time has already passed. Please type the date and time of a hearing still to come "
    "(today is {today})."
)
HEARING_TOO_FAR = N_(
    "Please check the year: the hearing would be on {date}, more than two years from now."
)
HEARING_BEFORE_COMPLAINT = N_(
    "The hearing cannot be before the complaint copy was received ({date}). Please check the date."
)
UNKNOWN_AGENCY = N_(
    "This agency is not in the list. Please press one of the buttons, or type its full name."
)

# --- parsing ----------------------------------------------------------------------------------

_WEEKDAY_NOTE = re.compile(r"[（(]?\s*(?:星期|周|礼拜)[一二三四五六日天]\s*[）)]?")
_HEARING_RE = re.compile(
    r"(?:(?P<year>\d{4})\s*[-/.年]\s*)?(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*[日号]?"
    r"\s*[,，]?\s*(?P<period>上午|早上|早晨|中午|下午|晚上|傍晚|am|pm)?\s*"
    r"(?P<hour>\d{1,2})\s*"
    r"(?:[:：]\s*(?P<minute>\d{2})|[点时]\s*(?:(?P<minute_cn>\d{1,2})\s*分?|(?P<half>半))?)"
    r"\s*(?P<suffix>am|pm)?"
)
_DATE_ONLY_RE = re.compile(r"(?:\d{4}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?")
_AFTERNOON = {"下午", "晚上", "傍晚", "pm"}
_EARLIEST_UNMARKED_HOUR = 7
"""Courts do not sit before 07:00: "2:30" without 上午/下午 is taken to be ambiguous."""


def _examples(today: date) -> dict[str, str]:
    sample = today + timedelta(days=14)
    return {
        "example": f"{sample.isoformat()} 09:30",
        "example_zh": f"{sample.month}月{sample.day}日 上午9点30",
    }


def parse_hearing_time(text: str, *, now: datetime, tz: ZoneInfo = LEGAL_TZ) -> datetime:
    """A hearing date and time as staff type it, as an aware UTC datetime (L7).

    Accepts ``2026-12-10 09:30``, ``2026/12/10 9:30``, ``2026年12月10日 14:30``,
    ``12月10日 上午9点30``, ``12月10日9:30``, ``十二月十日下午两点半``, ``12-10 2:30pm``, with or
    without a weekday such as （星期四）. A date without a year is the next such day from today.
    The time is local (Asia/Shanghai) and must be in the future.
    """
    today = now.astimezone(tz).date()
    examples = _examples(today)
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    cleaned = _WEEKDAY_NOTE.sub(" ", cleaned).rstrip("。.,，!！")
    numeric = _replace_chinese_numerals(cleaned)
    match = _HEARING_RE.fullmatch(numeric.strip()) if numeric is not None else None
    if match is None:
        if numeric is not None and _DATE_ONLY_RE.fullmatch(numeric.strip()):
            raise ValidationError(HEARING_NO_TIME, examples, code="no_time")
        raise ValidationError(HEARING_FORMAT, examples, code="format")
    month, day, hour = int(match["month"]), int(match["day"]), int(match["hour"])
    if match["minute"] is not None:
        minute = int(match["minute"])
    elif match["minute_cn"] is not None:
        minute = int(match["minute_cn"])
    else:
        minute = 30 if match["half"] else 0
    period = match["period"] or match["suffix"]
    if (period in _AFTERNOON and hour < 12) or (period == "中午" and hour < 6):
        hour += 12
    elif period is None and hour < _EARLIEST_UNMARKED_HOUR:
        raise ValidationError(HEARING_AMBIGUOUS, {"example": "14:30"}, code="ambiguous")
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValidationError(HEARING_NOT_REAL, examples, code="not_real")
    try:
        day_on = _hearing_day(match["year"], month, day, today)
    except ValueError:
        raise ValidationError(HEARING_NOT_REAL, examples, code="not_real") from None
    moment = datetime.combine(day_on, time(hour, minute), tz).astimezone(UTC)
    if moment <= now:
        raise ValidationError(HEARING_PAST, {"today": today}, code="past")
    if moment - now > MAX_HEARING_AHEAD:
        raise ValidationError(HEARING_TOO_FAR, {"date": day_on}, code="too_far")
    return moment


def _hearing_day(year: str | None, month: int, day: int, today: date) -> date:
    """The typed day; without a year, the first such day from today on (a hearing is ahead)."""
    if year is not None:
        return date(int(year), month, day)
    for candidate_year in range(today.year, today.year + 5):  # 5 years always hold a 29 Feb
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise ValueError("no such month and day")


def find_agency(org: Organisation, text: str) -> Agency | None:
    """A typed agency name: exact (Chinese or English name, id), else a unique partial match."""
    typed = unicodedata.normalize("NFKC", text).strip()
    folded = typed.lower()
    for agency in org.agencies:
        if typed == agency.name or folded in (agency.name_en.lower(), agency.id):
            return agency
    partial = [
        agency
        for agency in org.agencies
        if typed and (typed in agency.name or folded in agency.name_en.lower())
    ]
    return partial[0] if len(partial) == 1 else None


def check_hearing_time(
    starts_at: datetime, received_on: date | None, *, now: datetime, tz: ZoneInfo = LEGAL_TZ
) -> None:
    """A hearing still to come, and not before the complaint copy arrived (L7 follows L3)."""
    if starts_at.tzinfo is None:
        raise ValueError("hearing times must be aware datetimes")
    if starts_at <= now:
        raise ValidationError(HEARING_PAST, {"today": now.astimezone(tz).date()}, code="past")
    if received_on is not None and starts_at.astimezone(tz).date() < received_on:
        raise ValidationError(HEARING_BEFORE_COMPLAINT, {"date": received_on}, code="early")
