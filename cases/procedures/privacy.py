"""Personal data never reaches the logs, even by accident (a safety net under careful code).

:func:`redact` runs on every log line (``bot.JsonFormatter``: message and exception text);
:func:`mask_numbers` masks numbers inside free text shown to others (case subjects, a typed
agent "李四 13912345678"). Both find the same numbers: every shape that
:mod:`cases.intake.validation` accepts as an ID or phone number (domain §7.1, §7.2, §9), so a
number the bot took in can never come out in the clear:

- resident ID numbers, 18 characters (also the 81/82/83 residence permits) and the old
  15-digit cards, with spaces or dashes anywhere after the first three digits;
- mobile numbers (``1[3-9]`` + 9 digits), with +86 / 0086 / 86 in front, with spaces, dashes,
  dots or brackets between any of the digits;
- landlines with their area code (``0710-7654321``, ``(0710)7654321``, ``+86 710 7654321``);
- document numbers of passports and permits: one to three letters then 6-12 digits
  (``E12345678``, ``H12345678``, ``CA1234567``), any digits with a bracketed check character
  (``A123456(7)``, ``1234567(8)``);
- numbers without a shape of their own (a Taiwan permit ``12345678``, a local landline
  ``2234567`` typed without area code): only next to a word that says what they are
  (台胞证, 电话, passport, phone ...). Alone, 7-10 digits are far more often dates (20261125),
  update ids or Telegram ids, which the logs must keep.

Matching runs on a copy folded the way validation folds input (NFKC: full-width digits,
ideographic spaces, circled digits); the output keeps the original text around the numbers.

Deliberately kept readable: case numbers (``FY-2026-000001``, ``谷复〔2026〕31号``), dates and
times, counts, update ids and Telegram user/chat ids. A Telegram id is not personal data of the
kind this filter is for, and today's ids have at most 10 digits (below 2**33); an 11-digit id
starting 13-19 would be indistinguishable from a mobile number and IS redacted. Losing such an
id from a log line is the price of never leaking a phone number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# ---------------------------------------------------------------------------------------------
# Folding (NFKC, like cases.intake.validation._fold) of the characters that can turn into digits,
# letters or separators. A table so the common case is one str.translate in C.


def _fold_table() -> dict[int, str]:
    ranges = (
        range(0x80, 0x3400),  # Latin-1 .. CJK symbols (ideographic space, circled digits)
        range(0xA000, 0xAC00),
        range(0xF900, 0x10000),  # compatibility forms, full-width ASCII
        range(0x1D400, 0x1D800),  # mathematical letters and digits
        range(0x1F100, 0x1F110),  # digits with full stop / comma
    )
    table: dict[int, str] = {}
    for block in ranges:
        for code in block:
            char = chr(code)
            folded = unicodedata.normalize("NFKC", char)
            if unicodedata.decimal(char, None) is not None:  # Arabic-Indic and other digits:
                folded = str(unicodedata.decimal(char))  # validation's \d accepts them too
            if folded and folded != char and folded.isascii():
                table[code] = folded
    return table


_FOLD = _fold_table()


def _folded(text: str) -> tuple[str, list[int] | None]:
    """The folded copy, and for each of its characters the index in ``text`` (None when both
    have the same length, i.e. positions are equal: the usual case)."""
    if text.isascii():
        return text, None
    folded = text.translate(_FOLD)
    if len(folded) == len(text):
        return folded, None
    origin: list[int] = []
    for index, char in enumerate(text):
        origin.extend([index] * len(_FOLD.get(ord(char), char)))
    return folded, origin


# ---------------------------------------------------------------------------------------------
# Patterns, on the folded text. A log line is scanned once for runs of digits (cheap: the
# pattern starts with a character set); only runs of six or more digits are looked at closely.

_SEP = r"[\s\-.()]{0,3}"  # what validation strips from phone numbers: spaces - . ( )
_ID_SEP = r"[\s\-]{0,3}"  # what it strips from ID numbers (spaces), and dashes
_AREA = r"(?:10|2\d|[3-9]\d\d)"  # 010, 02x: three digits; all others four (domain §7.2)
_LOCAL = rf"[1-9](?:{_SEP}\d){{6,7}}"
_MOBILE = rf"1{_SEP}[3-9](?:{_SEP}\d){{9}}"

_RUN = re.compile(r"[\d+(](?:[\s\-.()+]{0,3}[\dXx])*")

# Shapes inside a run. Order matters only for matches starting at the same place: longer
# shapes first. The first three digits are written together in every shape but the mobile
# (fewer false hits on lists of small numbers such as "15 2026-11-25"); a mobile may be split
# anywhere, as validation accepts ("1 39 1234 5678"): 11 digits starting 1[3-9] are rare in logs.
_SHAPES = re.compile(
    rf"""
    (?P<id18>(?<!\d)\d\d\d(?:{_ID_SEP}\d){{14}}{_ID_SEP}[\dXx](?!\d))
    | (?P<phone>
        (?<![\d+])(?:\+|00)[\s(]{{0,2}}86[\s\-)]{{0,3}}(?:{_MOBILE}|0?{_AREA}{_SEP}{_LOCAL})(?!\d)
      | (?<!\d)(?:86[\s\-]?)?(?:{_MOBILE}|\(?0{_AREA}{_SEP}{_LOCAL})(?!\d)
    )
    | (?P<id15>(?<!\d)\d\d\d(?:{_ID_SEP}\d){{12}}(?!\d))
    | (?P<document>(?<![0-9A-Za-z])\d{{6,10}}\s?\(\s?[0-9A-Za-z]\s?\))
    """,
    re.VERBOSE,
)
_GROUP_START = re.compile(r"(?<!\d)[\d+(]")
_SHAPE_KINDS = ("id18", "phone", "id15", "document")
_BRACKET_SLACK = 6  # " ( B )" after a run: the check character of 1234567(B)

# Passports and permits: one to three letters, 6-12 digits, maybe a bracketed check character.
# Written to start with a letter (a character set, fast), the letter before checked behind it.
_DOCUMENT = re.compile(
    r"[A-Za-z](?<![0-9A-Za-z][A-Za-z])[A-Za-z]{0,2}\d(?:\s?\d){5,11}"
    r"(?:\s?\(\s?[0-9A-Za-z]\s?\))?(?![0-9A-Za-z])"
)

# A run of 7-10 digits without a shape of its own is personal only next to one of these words.
_KEYWORD_BEFORE = re.compile(
    "(?:身份证|证件|证号|号码|通行证|台胞证|回乡证|居住证|护照|电话|手机|座机|联系|"
    r"(?i:\b(?:passport|permit|phone|telephone|mobile|tel|contact|id[\s_-]?(?:number|no)"
    r"|document)\b))[^\d\n]{0,12}$"
)
_KEYWORD_WINDOW = 30
# Runs the keyword rule leaves alone: a date (2026-11-25, 2026.11.25, 2026/11/25) or the digits
# of a case number (FY-2026-000123), matched from up to three characters before the run.
_DATE_OR_CASE_NUMBER = re.compile(
    r"(?:.{0,3}?(?<!\d)(?:19|20)\d\d[-./]\d{1,2}[-./]\d{1,2}(?!\d)"
    r"|.{0,3}?[A-Za-z]{2}-(?:19|20)\d\d-\d+)\s*$"
)


def _numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) in ``text`` of every ID or phone number, left to right."""
    folded, origin = _folded(text)
    found = [(m.start(), m.end(), "document") for m in _DOCUMENT.finditer(folded)]
    for run in _RUN.finditer(folded):
        start, end = run.span()
        if end - start < 6:
            continue
        # Every shape starts where a group of digits starts: try only there.
        matched_until = start
        for group in _GROUP_START.finditer(folded, start, end):
            if group.start() < matched_until:
                continue
            match = _SHAPES.match(folded, group.start(), min(end + _BRACKET_SLACK, len(folded)))
            if match:
                kind = next(kind for kind in _SHAPE_KINDS if match.group(kind) is not None)
                if kind == "id15" and _KEYWORD_BEFORE.search(
                    folded, max(0, match.start() - _KEYWORD_WINDOW), match.start()
                ):
                    kind = "id15_named"  # "身份证号 4206258…": an ID, not a decision number
                found.append((match.start(), match.end(), kind))
                matched_until = match.end()
        if matched_until > start:
            continue
        if not 7 <= sum(ch.isdigit() for ch in run.group()) <= 10:
            continue
        first_digit = start + next(i for i, ch in enumerate(run.group()) if ch.isdigit())
        if _DATE_OR_CASE_NUMBER.match(folded, max(0, first_digit - 3), end):
            continue  # "联系 … 2026-11-25", "联系人 … FY-2026-000123": dates and case numbers
        if _KEYWORD_BEFORE.search(folded, max(0, first_digit - _KEYWORD_WINDOW), first_digit):
            found.append((first_digit, end, "context"))
    if not found:
        return []
    found.sort(key=lambda span: (span[0], -span[1]))
    spans: list[tuple[int, int, str]] = []
    for start, end, kind in found:
        if spans and start < spans[-1][1]:
            continue  # inside (or overlapping) a number already found
        spans.append((start, end, kind))
    if origin is not None:
        spans = [(origin[start], origin[end - 1] + 1, kind) for start, end, kind in spans]
    return spans


def _replace(
    text: str, replacement: Callable[[str, str], str], kinds: frozenset[str] | None = None
) -> str:
    pieces: list[str] = []
    position = 0
    for start, end, kind in _numbers(text):
        if kinds is not None and kind not in kinds:
            continue
        pieces.append(text[position:start])
        pieces.append(replacement(text[start:end], kind))
        position = end
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)


_LABELS = {
    "id18": "[id-number]",
    "id15": "[id-number]",
    "id15_named": "[id-number]",
    "document": "[id-number]",
    "phone": "[phone]",
    "context": "[number]",
}


# PostgreSQL names the values of a refused row in its error, and asyncpg's str() of the error
# includes them (DETAIL): "Failing row contains (…)." and "Key (col)=(…) already exists.".
# SQLite's errors carry no values; a row holds names, addresses and what citizens typed, which
# are personal data as much as the numbers. Withheld to the end of the DETAIL.
_ROW_VALUES = re.compile(
    r"(Failing row contains ).*?(?=\nHINT:|\n\n|\Z)"
    r"|(Key \([^)]*\)=)\(.*?\)(?= already exists| is not present| is still referenced| conflicts)",
    re.DOTALL,
)


def redact(text: str) -> str:
    """``text`` with every ID and phone number replaced by a label (for logs), and the values
    of a row PostgreSQL refused left out."""
    if "Failing row contains " in text or "Key (" in text:
        text = _ROW_VALUES.sub(lambda m: (m.group(1) or m.group(2)) + "(…)", text)
    return _replace(text, lambda _, kind: _LABELS[kind])


MASKED_IN_TEXT = frozenset({"id18", "id15_named", "phone", "document", "context"})
"""What :func:`mask_numbers` masks: not a bare 15-digit number (the old cards are invalid since
2013, and in a case's subject it is far more likely a decision number staff must read); a
15-digit number after a word such as 身份证 is still masked (the "context" rule)."""


def mask_numbers(text: str) -> str:
    """Free text shown to others (a case's subject, a typed agent "李四 13912345678"): ID and
    phone numbers inside it masked the way the dedicated fields are."""
    return _replace(text, _mask, MASKED_IN_TEXT)


ID_KINDS = frozenset({"id18", "id15_named", "document"})
"""Numbers :func:`mask_id_numbers` masks: every ID shape. Not the 7-10 digit numbers found
only by a word before them ("电话 7654321"): ID numbers are longer, so those are phone numbers
a mediator must be able to call."""


def mask_id_numbers(text: str) -> str:
    """Free text shown to a role that may call the parties (a mediator): ID numbers masked,
    phone numbers kept."""
    return _replace(text, _mask, ID_KINDS)


def _mask(raw: str, kind: str) -> str:
    """Like cases.intake.validation.mask_id_number / mask_phone, on the characters of ``raw``."""
    chars = "".join(ch for ch in raw.translate(_FOLD) if ch.isascii() and ch.isalnum()).upper()
    if kind == "id18":
        return chars[:6] + "*" * 8 + chars[-4:]
    if kind == "phone":
        # Mobiles start with 1, landlines with 0: anything else starts with a country code.
        digits = chars[4:] if chars.startswith("0086") else chars
        digits = digits[2:] if digits.startswith("86") else digits
        if len(digits) == 11 and digits.startswith("1"):
            return digits[:3] + "****" + digits[-4:]
        landline = _LANDLINE.fullmatch(digits if digits.startswith("0") else "0" + digits)
        if landline:
            area, local = landline.groups()
            return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"
    if len(chars) <= 4:
        return "*" * len(chars)
    return chars[:2] + "*" * (len(chars) - 4) + chars[-2:]


_LANDLINE = re.compile(r"(0(?:10|2\d|[3-9]\d\d))(\d{7,8})")
