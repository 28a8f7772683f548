"""Callback data. Buttons carry ids only; every press is authorised again on the server."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuAction(CallbackData, prefix="menu"):
    action: str


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


class CancelChoice(CallbackData, prefix="cancel"):
    confirm: bool


class CaseAction(CallbackData, prefix="case"):
    """Packs as ``case:<action>:<case_id>``; reminders build ``case:view:<id>`` by hand."""

    action: str
    case_id: int
