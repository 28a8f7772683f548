"""Callback data of mediation assignment: offers, the mediator profile, the lead's choices.

Defined once here and imported wherever such a button is built (the outbox's offer message in
scheduling/assignment.py too). Buttons carry ids and enum values only; every press is
authorised again by the service (the offer's own mediator, the room's lead, an administrator).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from cases.mediation.assignment import DeclineReason

RowId = Annotated[int, Field(ge=0, lt=2**63)]


class OfferOp(StrEnum):
    accept = "accept"
    decline = "decline"


class OfferAnswer(CallbackData, prefix="mo"):
    """Under an offer: accept, or decline (then a reason is chosen or typed)."""

    op: OfferOp
    offer_id: RowId


class OfferDecline(CallbackData, prefix="md"):
    """The reason for declining an offer."""

    offer_id: RowId
    reason: DeclineReason


class ProfileOp(StrEnum):
    show = "show"
    skill = "skill"  # value: the category's place in the room's list
    load = "load"  # value: a maximum from LOAD_CHOICES, 0 = the room's default
    unaway = "unaway"  # value: the absence id
    lead = "lead"  # value: 1 make room lead, 0 stop (administrators)


class ProfileAction(CallbackData, prefix="mp"):
    op: ProfileOp
    mediator_id: RowId
    value: RowId = 0


class LeadOp(StrEnum):
    pick = "pick"  # choose a mediator for the case
    assign = "assign"  # assign the case to mediator_id


class LeadAssign(CallbackData, prefix="ml"):
    op: LeadOp
    case_id: RowId
    mediator_id: RowId = 0
