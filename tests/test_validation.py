"""What a citizen typing into the intake forms gets accepted, corrected or asked again for."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from cases.intake.identity import (
    ID_CHECK_CHARS,
    IdType,
    parse_other_id,
    parse_resident_id,
    resident_id_check_char,
)
from cases.intake.validation import (
    DATE_KNOWN_BEFORE_DECISION,
    FutureDateError,
    TextLimits,
    ValidationError,
    clean_text,
    mask_id_number,
    mask_phone,
    parse_count,
    parse_date,
    parse_mobile,
    parse_phone,
    parse_yes_no,
)

TODAY = date(2026, 11, 25)  # a Wednesday, as in tests/conftest.py
ROOT = Path(__file__).resolve().parent.parent


def make_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


# --- resident ID -----------------------------------------------------------------------------


def test_check_char_matches_published_examples() -> None:
    # The GB 11643-1999 sample numbers.
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052418800101001") == "4"
    assert resident_id_check_char("42062519850312001") == "8"


def test_check_char_is_iso_7064_mod_11_2() -> None:
    # Independent formulation (python-stdnum): (1 - 2 * int(first17, 13)) % 11.
    for n in range(0, 10**17, 7_777_777_777_777_7):
        first17 = f"{n:017d}"
        expected = "0123456789X"[(1 - 2 * int(first17, 13)) % 11]
        assert resident_id_check_char(first17) == expected


def test_valid_gucheng_number() -> None:
    rid = parse_resident_id("420625198503120018", today=TODAY)
    assert rid.number == "420625198503120018"
    assert rid.birth_date == date(1985, 3, 12)
    assert rid.sex == "male"
    assert rid.region_code == "420625"
    assert rid.region_known
    assert rid.region_name("zh") == "湖北省襄阳市谷城县"
    assert rid.age_on(TODAY) == 41
    assert rid.age_on(date(2026, 3, 11)) == 40


def test_female_number_and_lower_case_x_with_spaces() -> None:
    number = make_id("42062519900101002")  # sequence 002: even → female
    assert parse_resident_id(number, today=TODAY).sex == "female"
    first17 = next(
        f"4206252000010100{d}" for d in range(10) if make_id(f"4206252000010100{d}")[-1] == "X"
    )
    typed = f" {first17[:6]} {first17[6:14]} {first17[14:]}x "
    assert parse_resident_id(typed, today=TODAY).number == first17 + "X"


def test_full_width_digits_are_accepted() -> None:
    typed = "４２０６２５１９８５０３１２００１８"
    assert parse_resident_id(typed, today=TODAY).number == "420625198503120018"


def test_wrong_check_digit_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        parse_resident_id("420625198503120019", today=TODAY)
    assert info.value.code == "check_digit"
    assert "420625" not in info.value.render("en")  # never echo the number


def test_impossible_birth_date_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        parse_resident_id(make_id("42062519850230001"), today=TODAY)  # 30 February
    assert info.value.code == "birth_date"


def test_future_and_pre_1900_birth_dates_are_refused() -> None:
    for first17 in ("42062520261126001", "44052418800101001"):
        with pytest.raises(ValidationError) as info:
            parse_resident_id(make_id(first17), today=TODAY)
        assert info.value.code == "birth_date"
    # Born today is fine.
    assert parse_resident_id(make_id("42062520261125001"), today=TODAY).birth_date == TODAY


def test_fifteen_digit_card_gets_its_own_message() -> None:
    with pytest.raises(ValidationError) as info:
        parse_resident_id("420625850312001", today=TODAY)
    assert info.value.code == "old_card"
    assert "2013" in info.value.render("en")


@pytest.mark.parametrize("typed", ["42062519850312001", "4206251985031200188", "", "abc"])
def test_wrong_length_asks_for_18_characters(typed: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_resident_id(typed, today=TODAY)
    assert info.value.code == "length"
    assert "18" in info.value.render("en")


def test_letters_inside_the_number_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        parse_resident_id("4206251985X3120018", today=TODAY)
    assert info.value.code == "chars"


def test_residence_permit_and_unknown_regions_are_accepted() -> None:
    # 港澳台居民居住证 (81/82/83): python-stdnum refuses them; we must not.
    for prefix in ("810000", "820000", "830000"):
        rid = parse_resident_id(make_id(prefix + "19900101001"), today=TODAY)
        assert rid.region_known
    unknown = parse_resident_id(make_id("99000019900101001"), today=TODAY)
    assert not unknown.region_known
    assert unknown.region_name() is None


def test_repr_does_not_leak_the_number() -> None:
    rid = parse_resident_id("420625198503120018", today=TODAY)
    assert "420625198503120018" not in repr(rid)
    assert "420625198503120018" not in str(rid)


# --- other identity documents ----------------------------------------------------------------


def test_other_documents_light_checks() -> None:
    assert parse_other_id(IdType.passport, " e1234 5678 ") == "E12345678"
    assert parse_other_id(IdType.hk_macau_permit, "H12345678") == "H12345678"
    assert parse_other_id(IdType.other, "A123456(7)") == "A123456(7)"
    for bad in ("E12", "X" * 31, "护照123456", "ABCDEFG"):
        with pytest.raises(ValidationError):
            parse_other_id(IdType.passport, bad)
    with pytest.raises(ValueError):
        parse_other_id(IdType.resident_id, "420625198503120018")


def test_every_id_type_has_a_label() -> None:
    assert all(t.label for t in IdType)


# --- phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["+86 138 0000 0000", "13800000000", "138-0000-0000", "8613800000000", "0086 13800000000"],
)
def test_mobile_numbers_are_normalised(typed: str) -> None:
    assert parse_mobile(typed) == "13800000000"


@pytest.mark.parametrize("typed", ["12345678901", "1380000000", "138000000001", "0710-1234567"])
def test_not_a_mobile_number(typed: str) -> None:
    with pytest.raises(ValidationError):
        parse_mobile(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0710-1234567", "0710-1234567"),
        ("07101234567", "0710-1234567"),
        ("(0710) 8234 5678", "0710-82345678"),
        ("010-62345678", "010-62345678"),
        ("+86 710 2234567", "0710-2234567"),
        ("+86 138 0000 0000", "13800000000"),
    ],
)
def test_phone_accepts_landlines_and_mobiles(typed: str, expected: str) -> None:
    assert parse_phone(typed) == expected


def test_local_number_gets_the_county_area_code_when_configured() -> None:
    assert parse_phone("2234567", default_area_code="0710") == "0710-2234567"
    with pytest.raises(ValidationError):
        parse_phone("2234567")
    with pytest.raises(ValidationError):
        parse_phone("13800000", default_area_code="0710")  # a truncated mobile, not a landline


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "2026-11-20",
        "2026/11/20",
        "2026.11.20",
        "2026年11月20日",
        "2026年11月20号",
        "2026 年 11 月 20 日",
        "20261120",
        "２０２６年１１月２０日",
        "２０２６－１１－２０",
        "二〇二六年十一月二十日",
        "11月20日",
        "11-20",
        "11/20",
        "2026-11-20。",
        "\u30002026年11月20日\u3000",
    ],
)
def test_date_formats(typed: str) -> None:
    assert parse_date(typed, today=TODAY) == date(2026, 11, 20)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("今天", TODAY),
        ("today", TODAY),
        ("Yesterday", date(2026, 11, 24)),
        ("昨天", date(2026, 11, 24)),
        ("前天", date(2026, 11, 23)),
    ],
)
def test_relative_dates(typed: str, expected: date) -> None:
    assert parse_date(typed, today=TODAY) == expected


def test_month_day_without_year_is_the_most_recent_past_one() -> None:
    assert parse_date("11月25日", today=TODAY) == TODAY
    assert parse_date("11月26日", today=TODAY) == date(2025, 11, 26)
    assert parse_date("12月1日", today=TODAY) == date(2025, 12, 1)
    assert parse_date("1月5号", today=TODAY) == date(2026, 1, 5)
    assert parse_date("2月29日", today=TODAY) == date(2024, 2, 29)


@pytest.mark.parametrize("typed", ["2026-02-30", "2026年13月1日", "2月30日", "20260431"])
def test_impossible_calendar_dates(typed: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_date(typed, today=TODAY)
    assert info.value.code == "not_real"
    assert not isinstance(info.value, FutureDateError)


@pytest.mark.parametrize("typed", ["下周", "2026", "hello", "1899-01-01", "十十月"])
def test_unreadable_dates_show_an_example(typed: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_date(typed, today=TODAY)
    assert info.value.code == "format"
    assert "2026-11-25" in info.value.render("en")


def test_future_date_is_refused_with_its_own_error() -> None:
    with pytest.raises(FutureDateError) as info:
        parse_date("2026-11-26", today=TODAY)
    assert info.value.code == "future"
    assert "25 Nov 2026" in info.value.render("en")
    assert parse_date("2026-12-03", today=TODAY, allow_future=True) == date(2026, 12, 3)


def test_not_before_names_the_earlier_date() -> None:
    decided = date(2026, 11, 10)
    assert parse_date("2026-11-10", today=TODAY, not_before=decided) == decided
    with pytest.raises(ValidationError) as info:
        parse_date(
            "2026-11-09",
            today=TODAY,
            not_before=decided,
            not_before_message=DATE_KNOWN_BEFORE_DECISION,
        )
    assert info.value.code == "too_early"
    assert info.value.params == {"date": decided}
    rendered = info.value.render("en")
    assert "decision" in rendered
    assert "Tue 10 Nov 2026" in rendered


# --- free text -------------------------------------------------------------------------------


def test_clean_text_tidies_whitespace_but_keeps_paragraphs() -> None:
    typed = "  第一段\u3000\u3000有  空格\t和制表符 \r\n\r\n\r\n\r\n第二段\x00\u200b  "
    assert clean_text(typed, max_len=TextLimits.FACTS) == "第一段 有 空格 和制表符\n\n第二段"


def test_clean_text_keeps_chinese_punctuation() -> None:
    assert (
        clean_text("要求撤销罚款，退还２００元。", max_len=100) == "要求撤销罚款，退还２００元。"
    )


def test_clean_text_empty_and_short() -> None:
    for typed in ("", "   \n\t ", "\u200b\x07"):
        with pytest.raises(ValidationError) as info:
            clean_text(typed, max_len=TextLimits.NAME)
        assert info.value.code == "empty"
    with pytest.raises(ValidationError) as info:
        clean_text("王", max_len=TextLimits.NAME, min_len=2)
    assert info.value.code == "too_short"
    assert clean_text("王五", max_len=TextLimits.NAME, min_len=2) == "王五"


def test_clean_text_too_long_says_limit_and_length() -> None:
    assert len(clean_text("字" * TextLimits.NAME, max_len=TextLimits.NAME)) == 50
    with pytest.raises(ValidationError) as info:
        clean_text("字" * 51, max_len=TextLimits.NAME)
    assert info.value.code == "too_long"
    assert info.value.params == {"max_len": 50, "length": 51}
    assert "50" in info.value.render("en") and "51" in info.value.render("en")


def test_text_limits_are_ordered() -> None:
    limits = [TextLimits.NAME, TextLimits.SHORT, TextLimits.ADDRESS, TextLimits.REQUEST]
    assert limits == sorted(limits) and TextLimits.FACTS < 4096


# --- yes/no and counts -----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["是", "是的", "对", "有", "Yes", "y", " 是。", "ＹＥＳ"])
def test_yes(typed: str) -> None:
    assert parse_yes_no(typed) is True


@pytest.mark.parametrize("typed", ["否", "不是", "没有", "no", "N", "不", "无"])
def test_no(typed: str) -> None:
    assert parse_yes_no(typed) is False


@pytest.mark.parametrize("typed", ["也许", "", "是不是", "maybe"])
def test_unclear_answer(typed: str) -> None:
    with pytest.raises(ValidationError):
        parse_yes_no(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("3", 3),
        ("３", 3),
        ("三", 3),
        ("三人", 3),
        ("两个", 2),
        ("十", 10),
        ("十二", 12),
        ("5 人", 5),
    ],
)
def test_counts(typed: str, expected: int) -> None:
    assert parse_count(typed, minimum=1, maximum=20) == expected


@pytest.mark.parametrize("typed", ["0", "6", "六", "一二", "几个", "", "-1", "2.5"])
def test_count_outside_range_or_unreadable(typed: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_count(typed, minimum=1, maximum=5)  # e.g. representatives, XF 20(3)
    assert info.value.params == {"minimum": 1, "maximum": 5}


# --- masking ---------------------------------------------------------------------------------


def test_masking() -> None:
    assert mask_id_number("420625198503120018") == "420625********0018"
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("123") == "***"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0710-2234567") == "0710-***4567"


# --- the Chinese catalogue -------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_a_chinese_translation_with_the_same_placeholders() -> None:
    with (ROOT / "locales/src/zh/validation.po").open("rb") as fh:
        catalog = read_po(fh, locale="zh")
    msgids: list[str] = []
    for module in ("cases/intake/validation.py", "cases/org/routing.py"):
        with (ROOT / module).open("rb") as fh:
            msgids += [m for _, m, _, _ in extract("python", fh, keywords={"N_": None})]
    assert len(msgids) > 30
    for msgid in msgids:
        entry = catalog.get(msgid)
        assert entry is not None and entry.string, f"no Chinese text for {msgid!r}"
        assert _placeholders(entry.string) == _placeholders(msgid), msgid
        assert re.search(r"[\u4e00-\u9fff]", entry.string), msgid


def test_check_chars_alphabet() -> None:
    assert sorted(ID_CHECK_CHARS) == sorted("0123456789X")


def test_error_params_as_mapping_or_keywords() -> None:
    by_mapping = ValidationError("Please type at most {maximum} names.", {"maximum": 5})
    by_keyword = ValidationError("Please type at most {maximum} names.", maximum=5)
    assert by_mapping.params == by_keyword.params == {"maximum": 5}
    assert by_keyword.render("en") == "Please type at most 5 names."
    assert by_keyword.code == "invalid"
