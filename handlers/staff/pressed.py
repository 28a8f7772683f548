"""Which case a staff button acts on, authorised before any action's handler runs.

:class:`PressedCase` is an aiogram ``Filter`` subclass (awaited on the loop, no thread hop, see
handlers/filters.py): after ``StaffAction.filter(F.action == ...)`` it loads the case through
the executor (``CaseActions.staff_view``: role, unit scope, visibility) and checks that the
case offers that action to this person today (``CaseActions.available``, the transition
table). A press that passes reaches its handler as ``pressed``; one that does not falls to
:func:`on_refused`, which says why (not available, the review period ended, already done).
The executor authorises again when it acts: the filter decides what to show, not what happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from cases.org.users import User
from cases.procedures.access import StaffCaseView, review_period_ended
from cases.procedures.action_steps import REVIEW_PERIOD_ENDED, ActionInput
from cases.procedures.actions import Action, CaseActions
from cases.procedures.statuses import CaseStatus
from handlers.staff.callbacks import StaffAction
from handlers.staff.page import report, show
from handlers.staff.texts import ALREADY_TEXT, NOT_AVAILABLE
from handlers.texts import t


@dataclass(frozen=True)
class Pressed:
    """A staff button pressed on a case this person may open, for an action it offers now."""

    message: Message
    view: StaffCaseView
    action: Action
    data: StaffAction
    user: User
    today: date

    @property
    def number(self) -> str:
        return f"<code>{self.view.number}</code>"

    async def run(self, actions: CaseActions, given: ActionInput | None = None) -> None:
        """Take the action through the executor, then show what happened and the case."""
        result = await actions.run(self.action, self.view.id, self.user, given)
        await report(self.message, result, self.action, self.view.id, self.user, actions)

    async def show(self, actions: CaseActions, note: str | None = None) -> None:
        await show(self.message, self.view, self.user, actions, note)


async def authorise(
    query: CallbackQuery, data: StaffAction, user: User, actions: CaseActions
) -> Pressed | StaffCaseView | None:
    """The press, when it may act; else the case as this person sees it (the action is not
    offered now), or None (not available to them, or no message to answer under)."""
    message = query.message if isinstance(query.message, Message) else None
    view = await actions.staff_view(data.case_id, user)
    if view is None or message is None:
        return None
    action = Action(data.action)
    if action not in actions.available(view, user):
        return view
    return Pressed(message, view, action, data, user, actions.today())


class PressedCase(Filter):
    """Matches an authorised press and hands it to the handler as ``pressed``; the press is
    answered here (the spinner stops before the action runs)."""

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: StaffAction,
        user: User,
        actions: CaseActions,
    ) -> bool | dict[str, Any]:
        pressed = await authorise(query, callback_data, user, actions)
        if not isinstance(pressed, Pressed):
            return False
        await query.answer()
        return {"pressed": pressed}


async def on_refused(
    query: CallbackQuery,
    callback_data: StaffAction,
    state: FSMContext,
    user: User,
    actions: CaseActions,
) -> None:
    """A staff button this person may not use now: say why, and show the case as it is."""
    found = await authorise(query, callback_data, user, actions)
    if found is None or not isinstance(query.message, Message):
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    # A press that became possible between the filter and here (the case moved): shown as
    # it is now; the next press acts.
    view, today = (found.view if isinstance(found, Pressed) else found), actions.today()
    ended = review_period_ended(view, today) if view.status is CaseStatus.submitted else None
    if callback_data.action in (Action.correct, Action.refuse) and ended is not None:
        # FY 30(3): a button from before the review period ended.
        await state.clear()
        note = "❗ " + t(REVIEW_PERIOD_ENDED, review_due=ended)
    else:
        note = _(ALREADY_TEXT)
    await show(query.message, view, user, actions, note)
