"""Callback data. Buttons carry ids only; every press is authorised again on the server.

The one definition of each format, imported wherever such a button is built: the reminder
sender (scheduling/sender.py) builds "open case" and "received" buttons from here too. This
module imports nothing of the project, so the sender may import it.
"""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from cases.documents.generated import DocumentKind

RowId = Annotated[int, Field(ge=0, lt=2**63)]
"""An SQLite rowid. A forged button with a larger number would pass a plain ``int`` and make
SQLite raise OverflowError; bounded, it fails the filter and gets the stale-button answer."""


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
    """``case:<action>:<case_id>``; reminders carry ``view`` (scheduling/sender.py)."""

    action: str
    case_id: RowId


class CaseFollowUp(CallbackData, prefix="fu"):
    """Under a citizen's closure notice: rate the handling, or request the 复查 (issue 11;
    cases.procedures.followup). Handled in handlers/mycases.py, ownership checked there."""

    action: str
    case_id: RowId
    value: int = Field(default=0, ge=0, le=5)


class ReminderAck(CallbackData, prefix="ack"):
    """The "received / 已收到" button under staff and agency reminders: proof of service (送达)."""

    reminder_id: RowId


class DocumentRequest(CallbackData, prefix="doc"):
    """``doc:<kind>:<case_id>``: one generated PDF (cases.documents), authorised again on every
    press. Also under the citizen's acceptance, 补正 and refusal notices (scheduling/sender.py)."""

    kind: DocumentKind
    case_id: RowId


class DocumentList(CallbackData, prefix="docs"):
    """``docs:<case_id>``: the documents of a case this person may have, as buttons."""

    case_id: RowId


class OpinionFiles(CallbackData, prefix="pof"):
    """Under a citizen's notice of a petition's handling opinion: send its documents (XF 32;
    handlers/petition_agency/, ownership checked there)."""

    case_id: RowId
