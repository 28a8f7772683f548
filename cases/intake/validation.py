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
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

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
# Resident identity number (公民身份号码, GB 11643-1999; domain §7.1)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# Province-level codes of GB/T 2260 plus the residence-permit codes 81/82/83 (港澳台居民居住证),
# which python-stdnum wrongly rejects (domain §7.1). A region outside this table gives a
# warning, never a rejection. More specific entries (city, county) are matched first.
REGIONS: dict[str, tuple[str, str]] = {
    "11": ("北京市", "Beijing"),
    "12": ("天津市", "Tianjin"),
    "13": ("河北省", "Hebei"),
    "14": ("山西省", "Shanxi"),
    "15": ("内蒙古自治区", "Inner Mongolia"),
    "21": ("辽宁省", "Liaoning"),
    "22": ("吉林省", "Jilin"),
    "23": ("黑龙江省", "Heilongjiang"),
    "31": ("上海市", "Shanghai"),
    "32": ("江苏省", "Jiangsu"),
    "33": ("浙江省", "Zhejiang"),
    "34": ("安徽省", "Anhui"),
    "35": ("福建省", "Fujian"),
    "36": ("江西省", "Jiangxi"),
    "37": ("山东省", "Shandong"),
    "41": ("河南省", "Henan"),
    "42": ("湖北省", "Hubei"),
    "43": ("湖南省", "Hunan"),
    "44": ("广东省", "Guangdong"),
    "45": ("广西壮族自治区", "Guangxi"),
    "46": ("海南省", "Hainan"),
    "50": ("重庆市", "Chongqing"),
    "51": ("四川省", "Sichuan"),
    "52": ("贵州省", "Guizhou"),
    "53": ("云南省", "Yunnan"),
    "54": ("西藏自治区", "Tibet"),
    "61": ("陕西省", "Shaanxi"),
    "62": ("甘肃省", "Gansu"),
    "63": ("青海省", "Qinghai"),
    "64": ("宁夏回族自治区", "Ningxia"),
    "65": ("新疆维吾尔自治区", "Xinjiang"),
    "71": ("台湾省", "Taiwan"),
    "81": ("香港特别行政区（居住证）", "Hong Kong (residence permit)"),
    "82": ("澳门特别行政区（居住证）", "Macao (residence permit)"),
    "83": ("台湾地区（居住证）", "Taiwan (residence permit)"),
    "4206": ("湖北省襄阳市", "Xiangyang, Hubei"),
    "420625": ("湖北省襄阳市谷城县", "Gucheng County, Xiangyang, Hubei"),
}

ID_REGION_UNKNOWN_WARNING = N_(
    "The first two digits of this ID number do not match a province we know. If you copied "
    "the number exactly from the card, you can continue."
)

_ID_LENGTH = N_("Please type the 18-character ID number from your ID card.")
_ID_OLD_CARD = N_(
    "15-digit first-generation ID cards are no longer valid (since 1 January 2013). Please "
    "type the 18-character number from your current ID card."
)
_ID_CHARS = N_(
    "An ID number has 17 digits followed by a digit or the letter X. Please type the number "
    "again exactly as printed on the card."
)
_ID_CHECK = N_(
    "This ID number does not add up: one of the digits may have been mistyped. Please compare "
    "it with your ID card and type it again."
)
_ID_BIRTH_DATE = N_(
    "The birth date inside this ID number (characters 7 to 14) is not a possible date. Please "
    "compare the number with your ID card and type it again."
)


def resident_id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("resident_id_check_char needs exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def region_name(region_code: str, locale: str = "zh") -> str | None:
    """The most specific known name for a 6-digit division code (county, city, province)."""
    for length in (6, 4, 2):
        entry = REGIONS.get(region_code[:length])
        if entry is not None:
            return entry[1] if locale == "en" else entry[0]
    return None


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number. The repr masks the number (never log ID numbers)."""

    number: str = field(repr=False)
    birth_date: date
    sex: Literal["male", "female"]
    region_code: str
    region_known: bool

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)

    def age_on(self, day: date) -> int:
        """Age in full years (the 申请书 asks for age or birth date, FYSS 19)."""
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)

    def region_name(self, locale: str = "zh") -> str | None:
        return region_name(self.region_code, locale)

    def __repr__(self) -> str:
        return f"ResidentId(number={self.masked!r}, region_known={self.region_known})"


def parse_resident_id(text: str, *, today: date) -> ResidentId:
    """Check an 18-character resident ID number (GB 11643-1999, domain §7.1).

    Unknown region codes are accepted with ``region_known=False`` so the form can show
    :data:`ID_REGION_UNKNOWN_WARNING`; 15-digit first-generation numbers are refused (SFZ 23).
    """
    number = re.sub(r"\s+", "", _fold(text)).upper()
    if len(number) == 15 and number.isascii() and number.isdigit():
        raise ValidationError(_ID_OLD_CARD, code="old_card")
    if len(number) != 18:
        raise ValidationError(_ID_LENGTH, code="length")
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise ValidationError(_ID_CHARS, code="chars")
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(_ID_CHECK, code="check_digit")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_ID_BIRTH_DATE, code="birth_date") from None
    if not EARLIEST_BIRTH_DATE <= birth <= today:
        raise ValidationError(_ID_BIRTH_DATE, code="birth_date")
    region = number[:6]
    return ResidentId(
        number=number,
        birth_date=birth,
        sex="male" if int(number[16]) % 2 else "female",
        region_code=region,
        region_known=region[:2] in REGIONS,
    )


# ---------------------------------------------------------------------------------------------
# Other identity documents (FY 89: foreigners may apply; XF 48)


class IdType(StrEnum):
    resident_id = "resident_id"
    passport = "passport"
    hk_macau_permit = "hk_macau_permit"
    taiwan_permit = "taiwan_permit"
    foreign_permanent_residence = "foreign_permanent_residence"
    other = "other"

    @property
    def label(self) -> str:
        """The msgid to show on the document-type button."""
        return ID_TYPE_LABELS[self]


ID_TYPE_LABELS: dict[IdType, str] = {
    IdType.resident_id: N_("Resident identity card"),
    IdType.passport: N_("Passport"),
    IdType.hk_macau_permit: N_("Mainland travel permit for Hong Kong and Macao residents"),
    IdType.taiwan_permit: N_("Mainland travel permit for Taiwan residents"),
    IdType.foreign_permanent_residence: N_("Foreign permanent resident ID card"),
    IdType.other: N_("Other identity document"),
}

OTHER_ID_MIN_LENGTH = 5
OTHER_ID_MAX_LENGTH = 30
_OTHER_ID = N_(
    "Please type the document number as printed: {minimum} to {maximum} letters or digits "
    "(a hyphen or brackets are fine)."
)


def parse_other_id(id_type: IdType, text: str) -> str:
    """Light checks only: formats of passports and permits vary and change; staff verify them."""
    if id_type is IdType.resident_id:
        raise ValueError("use parse_resident_id for resident ID numbers")
    number = re.sub(r"\s+", "", _fold(text)).upper()
    params = {"minimum": OTHER_ID_MIN_LENGTH, "maximum": OTHER_ID_MAX_LENGTH}
    if not OTHER_ID_MIN_LENGTH <= len(number) <= OTHER_ID_MAX_LENGTH:
        raise ValidationError(_OTHER_ID, params, code="length")
    if not re.fullmatch(r"[A-Z0-9()\-/]+", number) or not re.search(r"[0-9]", number):
        raise ValidationError(_OTHER_ID, params, code="chars")
    return number


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
