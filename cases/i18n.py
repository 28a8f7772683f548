"""Translation outside aiogram: the same compiled gettext catalogues, read with the stdlib.

Reminders are rendered by the scheduler, which has no aiogram update context, so it cannot use
aiogram's ``gettext``. Both read ``locales/<lang>/LC_MESSAGES/messages.mo``. English is the msgid
language; Chinese (``zh``) is the default locale.

Strings defined in ``cases/`` (rule effects, statuses) are marked with :func:`N_` so they can be
extracted, and are translated where they are shown.
"""

from __future__ import annotations

import gettext
from datetime import date
from functools import lru_cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"

_WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def N_(message: str) -> str:
    """Mark a string for translation without translating it here."""
    return message


@lru_cache(maxsize=8)
def translations(locale: str) -> gettext.NullTranslations:
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    return gettext.translation(DOMAIN, LOCALES_DIR, languages=[locale], fallback=True)


def translate(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def format_date(day: date, locale: str) -> str:
    """Dates with the weekday, as DESIGN.md asks: 2026年12月3日（星期四） / Thu 3 Dec 2026."""
    if locale == "en":
        return day.strftime("%a %-d %b %Y")
    return f"{day.year}年{day.month}月{day.day}日（{_WEEKDAYS_ZH[day.weekday()]}）"
