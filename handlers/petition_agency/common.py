"""What the petition office's and the agency's steps share: the refusal texts, the
callback data of their buttons, the typed-input states, and small helpers."""

from __future__ import annotations

import hashlib
from datetime import date
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from pydantic import Field

from cases.i18n import N_
from handlers.callbacks import RowId

NOT_AVAILABLE = N_("This case is not available to you.")
ALREADY = N_("This was already done, or the case has moved on.")
EXTENSION_CHOICES = (5, 10, 15, 30)
ASSIGN_LABEL = N_("📤 Assign to an agency (交办)")
# Not "outside the county": the 纪委监委 (XF 22(2), 30) and the next level are not agencies of
# the organisation file, whether in the county or not.
TRANSFER_LABEL = N_("🚚 Transfer to another body (转送)")
READ_LABEL = N_("📄 The agency's handling opinion")
EXTENSION_WAITING_LABEL = N_("⏳ The agency's extension request: decide")
EXTENSION_ASKED = "petition_extension_requested"
EXTENSION_DONE = frozenset({"petition_extension_approved", "petition_extension_refused"})


class HandoverStep(StrEnum):
    read = "r"  # the agency's handling opinion, for the office overseeing it
    assign = "a"  # list the agencies
    pick = "p"  # an agency chosen: ask the reason
    transfer = "t"  # ask the receiving body
    confirm = "y"  # do it (with the reason's fingerprint)
    agree = "g"  # the agency's objection: agreed, the petition comes back (XF 23(3))
    disagree = "n"  # the agency's objection: not agreed, the agency must handle it


class HandoverAction(CallbackData, prefix="ho"):
    """``ho:<step>:<case_id>:<agency>:<h>``: ``agency`` an organisation-file id (empty for a
    transfer), ``h`` the fingerprint of the typed reason a confirmation acts on."""

    step: HandoverStep
    case_id: RowId
    agency: str = Field(default="", pattern=r"^([a-z][a-z0-9_]{0,39})?$")
    h: str = Field(default="", pattern=r"^[0-9a-f]{0,8}$")


class AgencyStep(StrEnum):
    view = "v"
    accept = "a"
    opinion = "o"  # start the opinion draft
    send = "s"  # send the drafted opinion
    drop = "d"  # discard the draft
    extend = "e"  # ask for an extension: the reason first
    days = "n"  # the days of the extension (``n``)
    approve = "y"  # the head approves request ``n``
    refuse = "r"  # the head refuses request ``n``
    object = "x"  # not within the agency's competence: the reason first (XF 23(3))
    returned = "z"  # return it, with the typed reason (its fingerprint ``h``)


class PetitionAgencyAction(CallbackData, prefix="pa"):
    """``pa:<step>:<case_id>:<n>:<h>``: ``n`` the days of an extension or the request id."""

    step: AgencyStep
    case_id: RowId
    n: int = Field(default=0, ge=0, lt=2**31)
    h: str = Field(default="", pattern=r"^[0-9a-f]{0,8}$")


class HandoverInput(StatesGroup):
    body = State()  # the office types the receiving body (transfer)
    reason = State()  # the office types the reason


class AgencyInput(StatesGroup):
    opinion = State()  # the agency drafts the handling opinion
    extension = State()  # the agency types the extension's reason
    objection = State()  # the agency types why the matter is not within its competence


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def query_message(query: CallbackQuery) -> Message | None:
    return query.message if isinstance(query.message, Message) else None


def stored_date(value: object) -> object:
    return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else "—"
