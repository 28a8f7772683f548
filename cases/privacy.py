"""Personal data never reaches the logs, even by accident (a safety net under careful code)."""

from __future__ import annotations

import re

# An 18-character resident ID (GB 11643), a mainland mobile number, with or without +86.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}\d{7}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")


def redact(text: str) -> str:
    text = _ID_NUMBER.sub("[id-number]", text)
    return _MOBILE.sub("[phone]", text)


def mask_numbers(text: str) -> str:
    """Free text shown to others (a case's subject, a typed agent "李四 13912345678"): ID and
    mobile numbers inside it masked the way the dedicated fields are."""
    text = _ID_NUMBER.sub(lambda m: m.group(0)[:6] + "*" * 8 + m.group(0)[-4:], text)
    return _MOBILE.sub(lambda m: _mask_mobile(m.group(0)), text)


def _mask_mobile(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())[-11:]
    return digits[:3] + "****" + digits[-4:]
