"""Personal data never reaches the logs, even by accident (a safety net under careful code)."""

from __future__ import annotations

import re

# An 18-character resident ID (GB 11643), a mainland mobile number, with or without +86.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}\d{7}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")


def redact(text: str) -> str:
    text = _ID_NUMBER.sub("[id-number]", text)
    return _MOBILE.sub("[phone]", text)
