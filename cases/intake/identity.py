"""Identity documents citizens type: the resident identity number (公民身份号码, GB 11643-1999;
domain §7.1: check character, birth date, region) and the other document types accepted.

The numbers are personal data: never put into error messages or reprs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal

from cases.i18n import N_
from cases.intake.validation import ValidationError, _fold, mask_id_number

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
