"""The staff buttons' callback data and the FSM state of a typed reason: defined once, imported
wherever a staff button is built (handlers/staff/*, and tests that press them).

Buttons carry ids only. Text typed by staff (a reason, what is missing) waits in the FSM state
:class:`StaffInput` until the final button; the extension button also carries the extension
total it was offered with, so a double press extends once. The "copy sent" buttons carry the
receipt date they were shown with (today / yesterday).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from pydantic import Field

from cases.procedures.actions import Action


class Nav(StrEnum):
    """Buttons that move around, not act."""

    view = "view"
    open = "open"  # from /cases: the application as filed, then the page
    list = "list"


class Step(StrEnum):
    """What a press of an action's button means."""

    ask = ""  # the first press: ask for the choice, the reason or the confirmation
    confirm = "y"  # confirmed (with the reason's fingerprint when one was typed)
    ordinary = "o"  # accept: the ordinary procedure
    simplified = "s"  # accept: the simplified procedure (FY 53)
    terminating = "t"  # suspend: death, incapacity, end of an organisation (FY 39(1) 1, 2, 4)
    other_ground = "g"  # suspend: another ground


class StaffAction(CallbackData, prefix="staff"):
    """``staff:<action>:<case_id>:<step>:<v>:<days>:<h>:<on>`` (at most 58 bytes; Telegram
    allows 64): ``v`` is the extension total the button was shown with (a double press extends
    once), ``days`` the days it adds, ``h`` the fingerprint of the typed reason it acts on,
    ``on`` the receipt day a "copy sent" button stands for."""

    action: Action | Nav
    case_id: int = Field(ge=0, lt=2**63)  # a forged huge id must not reach SQLite
    step: Step = Step.ask
    v: int = Field(default=0, ge=0, lt=1000)
    days: int = Field(default=0, ge=0, lt=1000)
    h: str = Field(default="", pattern=r"^[0-9a-f]{0,8}$")
    on: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2})?$")

    @property
    def day(self) -> date | None:
        """The receipt day of a "copy sent" button (aiogram packs no dates: ISO text)."""
        try:
            return date.fromisoformat(self.on) if self.on else None
        except ValueError:
            return None


class StaffInput(StatesGroup):
    text = State()


def nav(case_id: int, to: Nav = Nav.view) -> StaffAction:
    """A button that shows the case page (or the list), acting on nothing."""
    return StaffAction(action=to, case_id=case_id)
