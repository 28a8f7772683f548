"""One handler per staff action's button (``StaffAction.filter(F.action == ...)`` in
handlers/staff/__init__.py). Each receives the authorised press as ``pressed``
(handlers/staff/pressed.py) and the executor as ``actions`` (workflow data).

Actions on a typed text (refuse, 补正, extend, suspend) ask for it on the first press; the
buttons under the typed text act on it, and only on it (its fingerprint, handlers/staff/
reasons.py). Irreversible actions without a text are shown back and act when confirmed.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from cases.intake.form_engine import Procedure
from cases.procedures.action_steps import ActionInput
from cases.procedures.actions import Action, CaseActions
from handlers.staff.callbacks import StaffAction, StaffInput, Step
from handlers.staff.keyboards import confirm_keyboard, procedure_keyboard
from handlers.staff.page import ask_copy_sent
from handlers.staff.pressed import Pressed
from handlers.staff.reasons import pending_reason
from handlers.staff.texts import ASK_TEXTS, CONFIRM_TEXTS, REASON_NOT_PENDING
from handlers.texts import t

# -- the shapes an action takes -----------------------------------------------------------------


async def _confirmed(pressed: Pressed, actions: CaseActions, given: ActionInput | None = None):
    """First press: the action shown back with "confirm"; the confirm button acts."""
    if pressed.data.step is not Step.confirm:
        f7 = pressed.view.running("F7")
        # FY 31(2): F7 as counted from the applicant's receipt of the 补正 notice.
        supply_due = pressed.view.supply_due_on or (f7.due_on if f7 else None)
        await pressed.message.answer(
            t(
                CONFIRM_TEXTS[pressed.action],
                number=pressed.number,
                supply_due=supply_due or "—",
            ),
            reply_markup=confirm_keyboard(pressed.view.id, pressed.action),
        )
        return
    await pressed.run(actions, given)


async def _reasoned(
    pressed: Pressed,
    state: FSMContext,
    actions: CaseActions,
    given: Callable[[str], ActionInput],
) -> None:
    """First press: ask for the text; a button under the typed text acts on that text."""
    if pressed.data.step is Step.ask:
        await state.set_state(StaffInput.text)
        await state.set_data({"case_id": pressed.view.id, "action": pressed.action.value})
        await pressed.message.answer(t(ASK_TEXTS[pressed.action], number=pressed.number))
        return
    reason = await pending_reason(state, pressed.data)
    if reason is None:
        await pressed.show(actions, _(REASON_NOT_PENDING))
        return
    await state.clear()
    await pressed.run(actions, given(reason))


def _extension(pressed: Pressed) -> Callable[[str], ActionInput]:
    data: StaffAction = pressed.data
    return lambda reason: ActionInput(days=data.days, reason=reason, expected_total=data.v)


# -- one handler per action ---------------------------------------------------------------------


async def on_accept(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    """受理: a reconsideration asks the procedure first (FY 53); a petition acts at once."""
    track = pressed.data.step
    if pressed.view.procedure is Procedure.reconsideration and track not in (
        Step.ordinary,
        Step.simplified,
    ):
        await pressed.message.answer(
            t(
                "Case {number}: accept under which procedure? The simplified procedure "
                "suits clear facts and small disputes, or when the parties agree "
                "(Administrative Reconsideration Law, Art. 53).",
                number=pressed.number,
            ),
            reply_markup=procedure_keyboard(pressed.view.id),
        )
        return
    await pressed.run(actions, ActionInput(simplified=track is Step.simplified))


async def on_refuse(
    query: CallbackQuery, pressed: Pressed, state: FSMContext, actions: CaseActions
) -> None:
    """不予受理 (FY 30(2)): the typed reason goes to the applicant as written."""
    await _reasoned(pressed, state, actions, lambda reason: ActionInput(reason=reason))


async def on_correct(
    query: CallbackQuery, pressed: Pressed, state: FSMContext, actions: CaseActions
) -> None:
    """补正 (FY 31(1)): one notice listing everything missing; the review pauses."""
    await _reasoned(pressed, state, actions, lambda missing: ActionInput(missing=missing))


async def on_corrected(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    """补正材料已收到: a new acceptance review runs; nothing to choose or type."""
    await pressed.run(actions)


async def on_extend(
    query: CallbackQuery, pressed: Pressed, state: FSMContext, actions: CaseActions
) -> None:
    """延长 (X4, F12, …): the reason, then the days; the approver is recorded."""
    await _reasoned(pressed, state, actions, _extension(pressed))


async def on_extend_supply(
    query: CallbackQuery, pressed: Pressed, state: FSMContext, actions: CaseActions
) -> None:
    """延长补正期限 (FY 31(2)): a good reason, then the working days added."""
    await _reasoned(pressed, state, actions, _extension(pressed))


async def on_suspend(
    query: CallbackQuery, pressed: Pressed, state: FSMContext, actions: CaseActions
) -> None:
    """中止 (FY 39): the reason, then the ground (which decides whether F17 runs)."""
    terminating = pressed.data.step is Step.terminating
    await _reasoned(
        pressed,
        state,
        actions,
        lambda reason: ActionInput(reason=reason, terminating_ground=terminating),
    )


async def on_resume(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    """恢复审理: the paused clocks run again; nothing to choose or type."""
    await pressed.run(actions)


async def on_decide(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    await _confirmed(pressed, actions)


async def on_conclude(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    await _confirmed(pressed, actions)


async def on_agreed(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    await _confirmed(pressed, actions)


async def on_failed(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    await _confirmed(pressed, actions)


async def on_deem_withdrawn(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    await _confirmed(pressed, actions)


async def on_reply_received(query: CallbackQuery, pressed: Pressed, actions: CaseActions) -> None:
    """The office records a reply that came on paper; the liaison's own reply comes through
    handlers/agency_reply.py."""
    await _confirmed(pressed, actions, ActionInput(paper=True))


async def on_copy_sent(
    query: CallbackQuery, pressed: Pressed, state: FSMContext, actions: CaseActions
) -> None:
    """申请书副本已发送: the receipt day from a button (today / yesterday) or typed."""
    day = pressed.data.day
    if day is None:
        await ask_copy_sent(pressed.message, pressed.view, state, pressed.today)
        return
    await state.clear()
    await pressed.run(actions, ActionInput(received_on=day))


BUTTON_HANDLERS: dict[Action, Callable[..., object]] = {
    Action.accept: on_accept,
    Action.refuse: on_refuse,
    Action.correct: on_correct,
    Action.corrected: on_corrected,
    Action.extend: on_extend,
    Action.extend_supply: on_extend_supply,
    Action.suspend: on_suspend,
    Action.resume: on_resume,
    Action.decide: on_decide,
    Action.conclude: on_conclude,
    Action.agreed: on_agreed,
    Action.failed: on_failed,
    Action.deem_withdrawn: on_deem_withdrawn,
    Action.reply_received: on_reply_received,
    Action.copy_sent: on_copy_sent,
}
"""The handler of each action's button (every action has exactly one)."""
