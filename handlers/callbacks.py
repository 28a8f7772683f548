"""Callback data. Buttons carry ids only; every press is authorised again on the server."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from pydantic import Field


class MenuAction(CallbackData, prefix="menu"):
    action: str


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


class CancelChoice(CallbackData, prefix="cancel"):
    """``draft_id``: the form the question was about (0: a form without a draft), so an old
    "yes, discard" button cannot discard a form started later."""

    confirm: bool
    draft_id: int = Field(default=0, ge=0, lt=2**63)


class CaseAction(CallbackData, prefix="case"):
    """Packs as ``case:<action>:<case_id>``; reminders build ``case:view:<id>`` by hand."""

    action: str
    case_id: int = Field(ge=0, lt=2**63)  # a forged huge id must not reach SQLite
