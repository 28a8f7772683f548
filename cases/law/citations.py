"""Legal references in the plain form users read: "XF 31(1); FY 29" → 《信访工作条例》第三十一条、
《行政复议法》第二十九条. Rule tables keep the short form; users never see it."""

from __future__ import annotations

import re

from cases.law.deadline_rules import LAWS, citation

_REFERENCE = re.compile(r"^([A-Z]+)\s*(\d+)")


def plain_basis(references: str, locale: str = "zh") -> str:
    """Short references, separated by ';', in plain form; anything else is kept as written."""
    if not references or references.lstrip().startswith("《"):
        return references
    out: list[str] = []
    for part in references.split(";"):
        match = _REFERENCE.match(part.strip())
        if match is None or match.group(1) not in LAWS:
            text = part.strip()
        else:
            zh, en = citation(match.group(1), match.group(2))
            text = en if locale == "en" else zh
        if text and text not in out:
            out.append(text)
    return ("; " if locale == "en" else "、").join(out)
