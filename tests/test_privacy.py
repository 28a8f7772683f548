"""ID and phone numbers never reach the logs: every shape the intake forms accept is redacted,
while the numbers staff need to read a log line (case numbers, dates, update ids) stay."""

from __future__ import annotations

import json
import logging
import re
import sys
import unicodedata
from collections.abc import Callable
from datetime import date

import pytest

from bot import JsonFormatter
from cases.intake.identity import IdType, parse_other_id, parse_resident_id, resident_id_check_char
from cases.intake.validation import parse_mobile, parse_phone
from cases.procedures.privacy import mask_numbers, redact

TODAY = date(2026, 11, 25)
VALID_ID = "420625198503120018"


def make_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def _x_id() -> str:
    """A valid Gucheng number whose check character is X."""
    return next(
        make_id(f"4206252000010100{d}")
        for d in range(10)
        if make_id(f"4206252000010100{d}").endswith("X")
    )


X_ID = _x_id()


def _resident(typed: str) -> None:
    parse_resident_id(typed, today=TODAY)


def _old_card(typed: str) -> None:
    # Refused with its own message (SFZ 23), but typed all the same: it may end up in a log.
    assert typed.replace(" ", "").isdigit() and len(typed.replace(" ", "")) == 15


def _mobile(typed: str) -> None:
    parse_mobile(typed)


def _phone(typed: str) -> None:
    parse_phone(typed)


def _local(typed: str) -> None:
    parse_phone(typed.split()[-1], default_area_code="0710")


def _document(id_type: IdType) -> Callable[[str], None]:
    def accepts(typed: str) -> None:
        parse_other_id(id_type, typed)

    return accepts


# (what a citizen types, the parser that accepts it). Taken from tests/test_validation.py,
# plus full-width, spaced and dashed variants the parsers accept too.
ACCEPTED: list[tuple[str, Callable[[str], None]]] = [
    # Resident ID numbers (GB 11643), residence permits 81/82/83, the old 15-digit card.
    (VALID_ID, _resident),
    ("４２０６２５１９８５０３１２００１８", _resident),
    ("420625 19850312 0018", _resident),
    ("420625　19850312　0018", _resident),  # ideographic spaces
    (f" {X_ID[:6]} {X_ID[6:14]} {X_ID[14:].lower()} ", _resident),
    (X_ID.lower(), _resident),
    ("4206 2519 8503 1200 18", _resident),
    (make_id("81000019900101001"), _resident),
    (make_id("82000019900101001"), _resident),
    (make_id("83000019900101001"), _resident),
    (make_id("99000019900101001"), _resident),  # unknown region: accepted with a warning
    ("420625850312001", _old_card),
    ("420625 850312 001", _old_card),
    # Mobiles.
    ("13800000000", _mobile),
    ("+86 138 0000 0000", _mobile),
    ("138-0000-0000", _mobile),
    ("138.0000.0000", _mobile),
    ("8613800000000", _mobile),
    ("0086 13800000000", _mobile),
    ("１３８００００１２３４", _mobile),
    ("＋８６ １３８ ００００ １２３４", _mobile),
    ("（+86）13800001234", _mobile),
    # Landlines.
    ("0710-1234567", _phone),
    ("07101234567", _phone),
    ("0710-7654321", _phone),
    ("(0710)7654321", _phone),
    ("（０７１０）７６５４３２１", _phone),
    ("(0710) 8234 5678", _phone),
    ("010-62345678", _phone),
    ("+86 710 2234567", _phone),
    ("+86 10 62345678", _phone),
    ("0086-710-2234567", _phone),
    # Passports and permits (light checks only in validation; these are the real shapes).
    (" e1234 5678 ", _document(IdType.passport)),
    ("E12345678", _document(IdType.passport)),
    ("EA1234567", _document(IdType.passport)),
    ("G12345678", _document(IdType.passport)),
    ("H12345678", _document(IdType.hk_macau_permit)),
    ("M1234567(8)", _document(IdType.hk_macau_permit)),
    ("H1234567890", _document(IdType.hk_macau_permit)),
    ("A123456(7)", _document(IdType.other)),
    ("1234567(8)", _document(IdType.other)),  # Macao identity card
    ("C12345678", _document(IdType.other)),
    ("USA110079010001", _document(IdType.foreign_permanent_residence)),
]


def _digits(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())


@pytest.mark.parametrize(("typed", "accepts"), ACCEPTED, ids=[typed for typed, _ in ACCEPTED])
def test_every_accepted_number_is_redacted(typed: str, accepts: Callable[[str], None]) -> None:
    accepts(typed)  # the table only holds what the bot really takes in
    for line in (
        f"saved party {typed} for case FY-2026-000001",
        f"申请人张三{typed.strip()}已登记",
        f"input_value='{typed}'",
        typed,
    ):
        out = redact(line)
        assert _digits(out) == _digits(line.replace(typed.strip(), "")), (line, out)
        assert "[" in out


@pytest.mark.parametrize(
    "line",
    [
        "台胞证 12345678",  # a Taiwan permit has no letters: recognised by the word before it
        "台胞证号码：１２３４５６７８",
        "passport no. 12345678",
        "电话 2234567",  # a local number, completed with the county's area code
        "联系电话：223-4567",
        "phone: 8234 5678",
    ],
)
def test_numbers_without_a_shape_are_redacted_next_to_what_they_are(line: str) -> None:
    prefix = line.rstrip("0123456789０１２３４５６７８９- ")
    if line.startswith("电话"):
        _local(line)
    out = redact(line)
    assert _digits(out) == ""
    assert out.startswith(prefix)


KEPT = [
    "FY-2026-000001",
    "case FY-2026-000123 accepted (deemed, FY 30(3))",
    "谷复〔2026〕31号",
    "谷公（治）决字〔2026〕123号",
    "2026-11-25",
    "2026-11-25 09:00:00",
    "2026-11-25T09:00:00.123+00:00",
    "2026年11月25日 9:30",
    "20261125",
    "update 123456789 re-delivered; already handled",
    "handler failed on update 987654321: KeyError",
    "reminder 4821: unexpected error while sending",
    "could not mark reminder 123456 as received: message is not modified",
    "planner: 120 sources, 3 replanned, 14 reminders added, 0 cancelled, 2 escalated",
    "deemed accepted (FY 30(3)): 12 case(s)",
    "429 from Telegram: pausing all reminders for 30 s",
    "backup written: cases-2026-11-25-0300.sqlite3",
    "applied migrations: 0001_foundation, 0002_roles, 0007_reminders",
    "holiday calendar does not cover 2027, 2028: deadlines there are provisional",
    "scheduling started: tick every 30 s",
    # Telegram ids: up to 10 digits today; staff need them to find a chat.
    "chat 5123456789 blocked the bot",
    "user 987654321 has role admin",
    "group -1001234567890",
    "Telegram user 7123456789",
    "<Update object at 0x7f3a2b1c4d50>",
    '  File "/work/main/cases/intake.py", line 1234, in submit',
    "sqlite3.IntegrityError: UNIQUE constraint failed: parties.id_number",
]


@pytest.mark.parametrize("line", KEPT)
def test_what_staff_need_to_read_survives(line: str) -> None:
    assert redact(line) == line
    assert mask_numbers(line) == line


def test_an_eleven_digit_telegram_id_that_looks_like_a_mobile_is_redacted() -> None:
    # Decision (cases/procedures/privacy.py docstring): a number shaped like a mobile is one.
    # Today's Telegram ids have at most 10 digits, so only a hypothetical future id is lost.
    assert redact("user 13912345678 opened the bot") == "user [phone] opened the bot"


def test_the_text_around_a_number_is_kept_as_written() -> None:
    line = "申请人（张三）电话：１３８ ００００ １２３４，身份证４２０６２５１９８５０３１２００１８。"  # noqa: E501
    assert redact(line) == "申请人（张三）电话：[phone]，身份证[id-number]。"
    # Characters that NFKC expands (⑩ is "10") stay as they were around a number.
    assert redact("⑩ 号 ⑬800001234 ⑩") == "⑩ 号 [phone] ⑩"


def test_several_numbers_in_one_line() -> None:
    line = f"ID:{VALID_ID},tel 13800000000; agent H12345678 (0710)7654321"
    assert redact(line) == "ID:[id-number],tel [phone]; agent [id-number] [phone]"


def test_mask_numbers_masks_the_accepted_shapes_like_the_dedicated_fields() -> None:
    assert mask_numbers("请回电13912345678商量修路") == "请回电139****5678商量修路"
    assert mask_numbers("请回电１３９ １２３４ ５６７８商量修路") == "请回电139****5678商量修路"
    assert mask_numbers("李四 +86 139-1234-5678") == "李四 139****5678"
    assert mask_numbers("身份证 420625 19850312 0018") == "身份证 420625********0018"
    assert mask_numbers("座机（0710）7654321") == "座机0710-***4321"
    assert mask_numbers("护照 E12345678") == "护照 E1*****78"
    assert mask_numbers("谷复〔2026〕31号 2026-11-25") == "谷复〔2026〕31号 2026-11-25"


def test_the_log_formatter_redacts_message_and_exception() -> None:
    phone = "１３８ ００００ １２３４"
    try:
        raise ValueError(f"bad party: id {VALID_ID[:6]} {VALID_ID[6:]}, phone {phone}")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        name="handlers",
        level=logging.ERROR,
        pathname=__file__,
        lineno=1,
        msg="update %s failed for %s, landline %s, case %s",
        args=(123456789, "420625-19850312-0018", "(0710)7654321", "FY-2026-000001"),
        exc_info=exc_info,
    )
    line = JsonFormatter().format(record)
    payload = json.loads(line)
    squeezed = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", line))
    for number in (VALID_ID, "13800001234", "07107654321", "7654321", "19850312"):
        assert number not in squeezed
    assert "update 123456789 failed for [id-number]" in payload["message"]
    assert payload["message"].endswith("landline [phone], case FY-2026-000001")
    assert "bad party: id [id-number], phone [phone]" in payload["error"]
    assert "Traceback" in payload["error"]


@pytest.mark.parametrize(
    "detail",
    [
        # asyncpg's str() of a CheckViolationError / NotNullViolationError
        "Failing row contains (1, 0, 张三丰, resident, 420625198503120018, 13800001234, "
        "谷城县城关镇人民路8号 (东门), x).",
        # UniqueViolationError and ForeignKeyViolationError
        "Key (name, address)=(张三丰, 谷城县城关镇人民路8号) already exists.",
        'Key (applicant_name)=(张三丰) is not present in table "users".',
    ],
)
def test_the_values_of_a_row_postgresql_refused_never_reach_the_logs(detail: str) -> None:
    try:
        raise RuntimeError(
            f'new row for relation "saved_details" violates a rule\nDETAIL:  {detail}'
        )
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "bot", logging.ERROR, __file__, 1, "failed: %s", (detail,), exc_info
    )
    payload = json.loads(JsonFormatter().format(record))
    for text in (payload["message"], payload["error"]):
        assert "张三丰" not in text and "人民路" not in text and "1380000" not in text
        assert "(…)" in text
    assert "violates a rule\nDETAIL:  " in payload["error"]  # what failed stays readable


def test_a_refused_row_is_withheld_only_to_the_end_of_its_detail() -> None:
    line = "new row violates check\nDETAIL:  Failing row contains (7, 张三).\nHINT:  fix it"
    assert (
        redact(line) == "new row violates check\nDETAIL:  Failing row contains (…)\nHINT:  fix it"
    )
    assert redact("Key (id)=(42) already exists.") == "Key (id)=(…) already exists."
    assert redact("Key lookups take 3 ms") == "Key lookups take 3 ms"


def test_staff_can_still_read_decision_numbers_and_dates_in_free_text() -> None:
    """Regression: masking in staff views took a 15-digit decision number for an old ID card
    and a date after "联系" for a phone number."""
    subject = (
        "撤销420625202611250号处罚决定；手机号变更 2026-11-25 处理，联系人张三，"
        "案件 FY-2026-000123"
    )
    assert mask_numbers(subject) == subject
    assert mask_numbers("联系电话 13912345678") == "联系电话 139****5678"


def test_numbers_named_by_a_word_stay_masked_for_staff() -> None:
    """A local landline without area code, or an old ID after "身份证号", is still personal."""
    for text in ("代理人李四，电话 7212345", "证件号码 12345678", "身份证号 420625800101001"):
        masked = mask_numbers(text)
        assert masked != text and "*" in masked, text


def test_a_mobile_split_anywhere_is_redacted_as_validation_accepts_it() -> None:
    from cases.intake.validation import parse_phone

    typed = "1 39 1234 5678"
    assert parse_phone(typed) == "13912345678"
    assert redact(f"phone {typed} saved") == "phone [phone] saved"
    assert mask_numbers(f"代理人 {typed}") == "代理人 139****5678"
