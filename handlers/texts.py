"""Translation helpers for handlers: the current user's language, and texts with dates.

aiogram's ``gettext`` translates; these add what every flow needs on top: placeholders filled
after translation, dates written with their weekday (DESIGN.md), the label separator.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from cases.i18n import format_date


def current_locale() -> str:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n else "zh"


def t(message: str, **params: Any) -> str:
    """Translate, then fill placeholders; dates are written with their weekday."""
    text = _(message)
    if params:
        locale = current_locale()
        text = text.format(
            **{k: format_date(v, locale) if isinstance(v, date) else v for k, v in params.items()}
        )
    return text


def colon() -> str:
    """The label separator as each language writes it."""
    return "：" if current_locale() == "zh" else ": "


_CONJUNCTIONS = {"and": ("和", " and "), "or": ("或", " or ")}


def joined(items: Sequence[str], word: str = "and") -> str:
    """ "a, b and c" in English, "a、b和c" in Chinese; ``word`` "or" for alternatives."""
    zh, en = _CONJUNCTIONS[word]
    if len(items) < 2:
        return "".join(items)
    if current_locale() == "en":
        return ", ".join(items[:-1]) + en + items[-1]
    return "、".join(items[:-1]) + zh + items[-1]


def event_text(kind: str, detail: dict[str, Any], audience: str, texts: dict[str, str]) -> str:
    """One history line's words: clock events name their deadline (``cases.procedures.history``),
    the others come from ``texts`` (the citizen's or the staff's wording)."""
    from cases.law.deadline_rules import RULES
    from cases.procedures.history import describe_clock_event
    from cases.procedures.transitions import history_text

    def title_of(rule_id: str) -> str:
        rule = RULES.get(rule_id)
        return rule.title if rule else rule_id

    line = describe_clock_event(kind, detail, audience, title_of)
    if line is None:
        text = _(history_text(kind, detail, audience) or texts.get(kind, kind))
        if "{number}" in text or "{note}" in text:
            return text.format(
                number=detail.get("number", ""),
                source=detail.get("source", ""),
                note=detail.get("note", ""),
            )
        return text
    sep = "、" if current_locale() == "zh" else "; "
    what = sep.join(_(title) for title in line.titles) or "—"
    return t(line.msgid, what=what, **line.params)
