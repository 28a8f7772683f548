"""Callback data of the mediation buttons, defined once: the handlers (handlers/mediation/)
and the outbox rendering (scheduling/mediation.py) build them from here. Imports nothing of
the project, so the scheduler may import it (as it does handlers/callbacks.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

RowId = Annotated[int, Field(ge=0, lt=2**63)]


class MedAction(StrEnum):
    open = "open"  # the mediation page (case id)
    consent = "consent"  # mediator: the other party agrees (case id)
    refused = "refused"  # mediator: the other party refuses (case id)
    refused_ok = "refused_ok"  # mediator: confirm the refusal (case id)
    link = "link"  # mediator: send the applicant a link for the other party (case id)
    session = "session"  # mediator: schedule a session (case id)
    move = "move"  # mediator: move a session (session id, version)
    cancel = "cancel"  # mediator: cancel a session (session id, version)
    rest_day_ok = "rest_day_ok"  # mediator: yes, the session is on that rest day (case id)
    same_place = "same_place"  # mediator: a moved session stays where it was (session id)
    come = "come"  # party: I will come (session id, version)
    cannot = "cannot"  # party: I cannot come (session id, version)
    agreed = "agreed"  # mediator: record the agreement (case id)
    failed = "failed"  # mediator: no agreement (case id)
    failed_ok = "failed_ok"  # mediator: confirm no agreement (case id)
    kept = "kept"  # mediator, follow-up: the agreement was kept (case id)
    broken = "broken"  # mediator, follow-up: it was not kept (case id)
    no_note = "no_note"  # mediator, follow-up: no note (case id)
    extend = "extend"  # mediator: ask to extend the period (case id)
    approve = "approve"  # room lead: approve the extension (case id)
    refuse_ext = "refuse_ext"  # room lead: refuse the extension (case id)
    op_agree = "op_agree"  # joining other party: I agree to mediation
    op_refuse = "op_refuse"  # joining other party / other party: I do not agree
    op_refuse_ok = "op_refuse_ok"  # other party: confirm the refusal (case id)


class MediationButton(CallbackData, prefix="med"):
    action: MedAction
    item_id: RowId = 0
    version: int = Field(default=0, ge=0, lt=2**31)
