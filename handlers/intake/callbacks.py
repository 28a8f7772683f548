"""The intake form's callback data and FSM state (defined once; the form's buttons, the
entry commands and tests import them from here)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from pydantic import Field as PydanticField

from cases.intake.form_engine import Procedure

SUMMARY_VALUE_LIMIT = 300
DONE_WORDS = {"完成", "好了", "没有了", "没有", "done", "finish", "finished", "ok"}


class IntakeForm(StatesGroup):
    answering = State()


class KeepDetails(CallbackData, prefix="kd"):
    """After a filing: keep (1) or do not keep (0) the applicant's details for next time."""

    case_id: int = PydanticField(ge=0, lt=2**63)
    keep: int = PydanticField(ge=0, le=1)


class FormButton(CallbackData, prefix="f"):
    """``action``: pick (a choice, by index), skip, done (evidence), submit, edit, field
    (re-ask one question), discard, default (the commonest answer), otherid (not a resident
    ID card)."""

    draft_id: int = PydanticField(ge=0, lt=2**63)  # a forged huge id must not reach SQLite
    action: str
    field: str = ""
    value: int = PydanticField(default=0, ge=0, lt=1000)


ENTRY_COMMANDS = {
    "reconsider": Procedure.reconsideration,
    "petition": Procedure.petition,
    "mediation": Procedure.mediation,
}
