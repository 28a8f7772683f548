"""Parsers for what citizens type into the intake forms.

Every parser returns a clean value or raises :class:`ValidationError`. The error carries an
English msgid (marked with ``N_``, translated in ``locales/src/zh/validation.po``) that tells the
user what to type instead, never what they did wrong, so the handler can show it and ask again.

ID and phone numbers are personal data (PIPL; domain §7.1, §9): they are never put into error
messages or reprs, so a logged exception cannot leak them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, timedelta

from cases.i18n import N_, format_date, translate

# ---------------------------------------------------------------------------------------------
# Errors


class ValidationError(ValueError):
    """Input that cannot be used as typed; ``message`` says what to type instead.

    ``params`` (a mapping, or keyword arguments) fill the ``{placeholders}`` of the message;
    dates among them are rendered with
    :func:`cases.i18n.format_date` (with the weekday) in the user's language.
    """

    code: str = "invalid"

    def __init__(
        self,
        message: str,
        params: Mapping[str, object] | None = None,
        *,
        code: str | None = None,
        **named_params: object,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.params: dict[str, object] = {**(params or {}), **named_params}
        if code is not None:
            self.code = code

    def render(self, locale: str) -> str:
        """The message in the user's language, placeholders filled."""
        template = translate(locale, self.message)
        values = {
            key: format_date(value, locale) if isinstance(value, date) else value
            for key, value in self.params.items()
        }
        return template.format(**values)


class FutureDateError(ValidationError):
    """A date after today where only past dates make sense (``code == 'future'``)."""

    code = "future"


# ---------------------------------------------------------------------------------------------
# Shared normalisation


def _fold(text: str) -> str:
    """Full-width digits, letters, spaces and ASCII punctuation to their plain forms (NFKC).

    Only for structured input (numbers, dates, answers); free text keeps its Chinese punctuation.
    """
    return unicodedata.normalize("NFKC", text)


_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CN_DIGITS |= {"七": 7, "八": 8, "九": 9}
_CN_NUMERAL_RUN = re.compile(r"[〇零一二两三四五六七八九十]+")


def _chinese_numeral(run: str) -> int | None:
    """一..九十九 (十, 十二, 二十, 二十三) or digit by digit (二〇二六); None if malformed."""
    if "十" not in run:
        return int("".join(str(_CN_DIGITS[ch]) for ch in run))
    tens_part, _, units_part = run.partition("十")
    if "十" in units_part or len(tens_part) > 1 or len(units_part) > 1:
        return None
    tens = _CN_DIGITS[tens_part] if tens_part else 1
    units = _CN_DIGITS[units_part] if units_part else 0
    if tens == 0:
        return None
    return tens * 10 + units


def _replace_chinese_numerals(text: str) -> str | None:
    result: list[str] = []
    position = 0
    for match in _CN_NUMERAL_RUN.finditer(text):
        value = _chinese_numeral(match.group())
        if value is None:
            return None
        result.append(text[position : match.start()])
        result.append(str(value))
        position = match.end()
    result.append(text[position:])
    return "".join(result)


# ---------------------------------------------------------------------------------------------
# Phone numbers (domain §7.2: permissive; never reject by operator prefix)

_MOBILE = N_("Please type an 11-digit mobile number that starts with 1, for example 13812345678.")
_PHONE = N_(
    "Please type an 11-digit mobile number, or a landline number with its area code, for "
    "example 0710-1234567."
)
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
# Area codes: 010 and 02x have three digits, all others four (0 + three). Local numbers have
# 7 or 8 digits. A bare local number (no area code) must not start with 1, or a truncated
# mobile number would pass as a landline.
_LANDLINE_RE = re.compile(r"0(10|2\d|[3-9]\d\d)([1-9]\d{6,7})")
_LOCAL_RE = re.compile(r"[2-9]\d{6,7}")


def _phone_digits(text: str) -> tuple[str, bool]:
    """Digits only, without a +86 / 0086 / 86 country prefix; and whether one was removed."""
    raw = re.sub(r"[\s\-()（）.]", "", _fold(text))
    for prefix in ("+86", "0086"):
        if raw.startswith(prefix):
            return raw[len(prefix) :], True
    if raw.startswith("86") and len(raw) == 13:
        return raw[2:], True
    return raw, False


def parse_mobile(text: str) -> str:
    """A mainland mobile number as 11 digits (``^1[3-9]\\d{9}$``, domain §7.2)."""
    digits, _ = _phone_digits(text)
    if not _MOBILE_RE.fullmatch(digits):
        raise ValidationError(_MOBILE)
    return digits


def parse_phone(text: str, *, default_area_code: str | None = None) -> str:
    """A mobile (11 digits) or a landline as ``0710-1234567``.

    Citizens in a county often give a landline. ``default_area_code`` (from the organisation
    file, e.g. ``0710``) completes a local number typed without its area code.
    """
    digits, had_country_prefix = _phone_digits(text)
    if _MOBILE_RE.fullmatch(digits):
        return digits
    if had_country_prefix and not digits.startswith("0"):
        digits = "0" + digits  # +86 710 1234567: the trunk 0 is dropped after a country code
    landline = _LANDLINE_RE.fullmatch(digits)
    if landline:
        return f"0{landline.group(1)}-{landline.group(2)}"
    if default_area_code and not had_country_prefix and _LOCAL_RE.fullmatch(digits):
        return f"{default_area_code}-{digits}"
    raise ValidationError(_PHONE)


# ---------------------------------------------------------------------------------------------
# Dates

DATE_FORMAT_HINT = N_("Please type the date as year, month and day, for example {example}.")
_DATE_NOT_REAL = N_(
    "There is no such day in the calendar. Please check the month and the day and type the "
    "date again, for example {example}."
)
_DATE_FUTURE = N_("This date is after today. Please type a date up to today ({today}).")
DATE_NOT_BEFORE = N_("Please type a date on or after {date}.")
DATE_KNOWN_BEFORE_DECISION = N_(
    "The date you learned of the decision cannot be before the decision was made ({date}). "
    "Please type a date on or after that day."
)

_RELATIVE_DAYS = {
    "今天": 0,
    "今日": 0,
    "today": 0,
    "昨天": 1,
    "昨日": 1,
    "yesterday": 1,
    "前天": 2,
    "大前天": 3,
}
_FULL_DATE_RES = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_MONTH_DAY_RES = (
    re.compile(r"(\d{1,2})月(\d{1,2})[日号]?"),
    re.compile(r"(\d{1,2})[-/.](\d{1,2})"),
)


def _latest_month_day(month: int, day: int, today: date) -> date:
    """The most recent ``month``/``day`` not after today (a date typed without a year)."""
    for year in range(today.year, today.year - 8, -1):  # 8 years always contain a 29 Feb
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise ValueError("no such month and day")


def parse_date(
    text: str,
    *,
    today: date,
    allow_future: bool = False,
    not_before: date | None = None,
    not_before_message: str = DATE_NOT_BEFORE,
) -> date:
    """A calendar date as citizens write it.

    Accepts 2026-11-20, 2026/11/20, 2026.11.20, 2026年11月20日(号), 20261120, 二〇二六年十一月
    二十日, full-width digits, 11月20日 / 11-20 (the most recent such day not after today),
    今天/昨天/前天 and today/yesterday. A date after ``today`` raises :class:`FutureDateError`
    unless ``allow_future``; a date before ``not_before`` raises ``code='too_early'`` with
    ``not_before_message`` (placeholder ``{date}``), e.g. :data:`DATE_KNOWN_BEFORE_DECISION`.
    """
    example = {"example": today.isoformat()}
    cleaned = re.sub(r"\s+", "", _fold(text)).lower().rstrip("。.,，!！")
    if cleaned in _RELATIVE_DAYS:
        result = today - timedelta(days=_RELATIVE_DAYS[cleaned])
    else:
        numeric = _replace_chinese_numerals(cleaned)
        if numeric is None:
            raise ValidationError(DATE_FORMAT_HINT, example, code="format")
        result = _match_date(numeric, today, example)
    if result > today and not allow_future:
        raise FutureDateError(_DATE_FUTURE, {"today": today})
    if not_before is not None and result < not_before:
        raise ValidationError(not_before_message, {"date": not_before}, code="too_early")
    return result


def _match_date(text: str, today: date, example: Mapping[str, object]) -> date:
    for pattern in _FULL_DATE_RES:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                result = date(year, month, day)
            except ValueError:
                raise ValidationError(_DATE_NOT_REAL, example, code="not_real") from None
            if year < 1900:
                raise ValidationError(DATE_FORMAT_HINT, example, code="format")
            return result
    for pattern in _MONTH_DAY_RES:
        match = pattern.fullmatch(text)
        if match:
            month, day = (int(part) for part in match.groups())
            try:
                return _latest_month_day(month, day, today)
            except ValueError:
                raise ValidationError(_DATE_NOT_REAL, example, code="not_real") from None
    raise ValidationError(DATE_FORMAT_HINT, example, code="format")


# ---------------------------------------------------------------------------------------------
# Free text


class TextLimits:
    """Maximum lengths, in characters, of free-text answers.

    Chosen so a whole application summary still fits into Telegram's 4096-character message
    and stays readable for staff:

    - ``NAME`` (50): names of persons and organisations; foreign names and long company names
      need more than the 2-4 characters of a Chinese name.
    - ``SHORT`` (100): titles and document numbers (e.g. 谷公（治）决字〔2026〕123号), the
      respondent agency when typed, a workplace.
    - ``ADDRESS`` (200): a full postal address down to village group and house number.
    - ``REQUEST`` (1000): the 复议请求 / 信访 request (XF 19): what the citizen asks for.
    - ``FACTS`` (3000): facts and reasons; longer material belongs in attachments.
    """

    NAME = 50
    SHORT = 100
    ADDRESS = 200
    REQUEST = 1000
    FACTS = 3000


_TEXT_EMPTY = N_("Please type your answer as a text message.")
_TEXT_TOO_SHORT = N_("Please type at least {min_len} characters.")
_TEXT_TOO_LONG = N_(
    "Please shorten this to at most {max_len} characters; it now has {length}. You can send "
    "longer material as an attachment later."
)
# Invisible characters that only confuse staff and search: zero-width space/joiners used for
# tricks, bidi controls, BOM. The zero-width joiner U+200D stays (it builds emoji).
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\ufeff")
)


def clean_text(text: str, *, max_len: int, min_len: int = 1) -> str:
    """Trim, drop control characters, collapse runs of spaces (newlines are kept, at most one
    blank line in a row) and check the length in characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n").replace("\t", " ").translate(_INVISIBLE)
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    lines = [re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise ValidationError(_TEXT_EMPTY, code="empty")
    if len(text) < min_len:
        raise ValidationError(_TEXT_TOO_SHORT, {"min_len": min_len}, code="too_short")
    if len(text) > max_len:
        raise ValidationError(
            _TEXT_TOO_LONG, {"max_len": max_len, "length": len(text)}, code="too_long"
        )
    return text


# ---------------------------------------------------------------------------------------------
# Yes / no and small counts

_YES_NO = N_("Please answer yes or no.")
_YES = frozenset(
    [
        "是",
        "是的",
        "对",
        "对的",
        "有",
        "要",
        "需要",
        "同意",
        "好",
        "好的",
        "可以",
        "嗯",
        "确认",
        "确定",
        "yes",
        "y",
        "yeah",
        "yep",
        "ok",
        "okay",
        "true",
    ]
)
_NO = frozenset(
    [
        "否",
        "不",
        "不是",
        "不对",
        "没有",
        "没",
        "无",
        "不要",
        "不需要",
        "不同意",
        "不用",
        "不可以",
        "no",
        "n",
        "nope",
        "false",
    ]
)


def parse_yes_no(text: str) -> bool:
    answer = re.sub(r"[\s。.!！,，~～]+", "", _fold(text)).lower()
    if answer in _YES:
        return True
    if answer in _NO:
        return False
    raise ValidationError(_YES_NO)


_COUNT = N_("Please type a number from {minimum} to {maximum}.")


def parse_count(text: str, *, minimum: int, maximum: int) -> int:
    """A small whole number: digits or Chinese numerals (三, 十二), with or without 人/个/位/名."""
    cleaned = re.sub(r"\s+", "", _fold(text)).rstrip("人个位名次件")
    if cleaned and _CN_NUMERAL_RUN.fullmatch(cleaned):
        value = _chinese_numeral(cleaned) if "十" in cleaned or len(cleaned) == 1 else None
    elif cleaned.isascii() and cleaned.isdigit():
        value = int(cleaned)
    else:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise ValidationError(_COUNT, {"minimum": minimum, "maximum": maximum})
    return value


# ---------------------------------------------------------------------------------------------
# Masking for display (summaries, staff lists)


def mask_id_number(number: str) -> str:
    """``420625********0018`` for resident IDs; otherwise only the first and last two remain."""
    if len(number) == 18:
        return number[:6] + "*" * 8 + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 4) + number[-2:]


def mask_phone(number: str) -> str:
    """``138****1234`` for mobiles, ``0710-***4567`` for landlines."""
    if _MOBILE_RE.fullmatch(number):
        return number[:3] + "****" + number[-4:]
    area, dash, local = number.rpartition("-")
    if dash and len(local) > 4:
        return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 4) + number[-2:]
