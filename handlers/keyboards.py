"""Keyboards shared by several flows."""

from __future__ import annotations

from functools import lru_cache

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from cases.i18n import N_
from handlers.callbacks import CancelChoice, LanguageChoice, MenuAction

MENU_ITEMS: tuple[tuple[str, str], ...] = (
    ("reconsider", N_("⚖️ Challenge a government decision (reconsideration)")),
    ("mediation", N_("🤝 Ask for mediation of a dispute")),
    ("petition", N_("📨 Complaint, request or suggestion (petition)")),
    ("triage", N_("❓ Not sure? Help me choose")),
    ("book", N_("📅 Book a bureau chief reception day")),
    ("mycases", N_("📂 My cases")),
)


def grid(buttons: list[InlineKeyboardButton], width: int = 1) -> InlineKeyboardMarkup:
    """Rows of ``width`` buttons. Built directly: InlineKeyboardBuilder deep-copies every
    button on export, which was a tenth of the time of a form step (benchmarks/dispatch.py)."""
    rows = [buttons[i : i + width] for i in range(0, len(buttons), width)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def main_menu() -> InlineKeyboardMarkup:
    i18n = I18n.get_current(no_error=True)
    return _main_menu(i18n.current_locale if i18n else "zh")


@lru_cache(maxsize=4)
def _main_menu(locale: str) -> InlineKeyboardMarkup:
    # The menu is the same for everyone in a language: build it once per locale.
    return grid([button(_(label), MenuAction(action=action)) for action, label in MENU_ITEMS])


def language_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="简体中文", callback_data=LanguageChoice(code="zh"))
    builder.button(text="English", callback_data=LanguageChoice(code="en"))
    return builder.as_markup()


def cancel_confirmation(draft_id: int = 0) -> InlineKeyboardMarkup:
    return grid(
        [
            button(_("Yes, discard it"), CancelChoice(confirm=True, draft_id=draft_id)),
            button(_("No, keep going"), CancelChoice(confirm=False, draft_id=draft_id)),
        ],
        2,
    )
