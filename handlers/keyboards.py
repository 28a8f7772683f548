"""Keyboards shared by several flows."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from cases.texts import N_
from handlers.callbacks import CancelChoice, LanguageChoice, MenuAction

MENU_ITEMS: tuple[tuple[str, str], ...] = (
    ("reconsider", N_("⚖️ Challenge a government decision (reconsideration)")),
    ("mediation", N_("🤝 Ask for mediation of a dispute")),
    ("petition", N_("📨 Complaint, request or suggestion (petition)")),
    ("triage", N_("❓ Not sure? Help me choose")),
    ("book", N_("📅 Book a bureau chief reception day")),
    ("mycases", N_("📂 My cases")),
)


def main_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for action, label in MENU_ITEMS:
        builder.button(text=_(label), callback_data=MenuAction(action=action))
    builder.adjust(1)
    return builder.as_markup()


def language_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="简体中文", callback_data=LanguageChoice(code="zh"))
    builder.button(text="English", callback_data=LanguageChoice(code="en"))
    return builder.as_markup()


def cancel_confirmation() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, discard it"), callback_data=CancelChoice(confirm=True))
    builder.button(text=_("No, keep going"), callback_data=CancelChoice(confirm=False))
    return builder.as_markup()
