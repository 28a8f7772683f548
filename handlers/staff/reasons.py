"""Text typed by staff while an action waits for it (FSM state ``StaffInput.text``): a reason,
what is missing, or the day the respondent received the copy. The text waits in the state;
the buttons shown under it carry its fingerprint and act on it alone (handlers/staff/
buttons.py)."""

from __future__ import annotations

import html

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.validation import TextLimits, ValidationError, clean_text, parse_date
from cases.org.users import User
from cases.procedures.access import EXTENSION_RULES, StaffCaseView, extendable_deadline
from cases.procedures.actions import Action, CaseActions
from handlers.staff.callbacks import StaffAction, StaffInput
from handlers.staff.keyboards import (
    confirm_keyboard,
    copy_sent_keyboard,
    days_keyboard,
    fingerprint,
    ground_keyboard,
)
from handlers.staff.page import report, show
from handlers.staff.texts import ALREADY_TEXT, NOT_AVAILABLE, REASON_CONFIRM_TEXTS
from handlers.texts import current_locale, t

EXTEND_PROMPT = N_(
    "Case {number}: extend “{what}” (now by {date}) by how many days? As the "
    "approver you may grant up to {left} more days."
)
EXTEND_SUPPLY_PROMPT = N_(
    "Case {number}: the material is now due by {date}. Add how many working days? "
    "Grant a reasonable time for the reason given."
)
GROUND_PROMPT = N_(
    "Case {number}: on which ground? For death, incapacity or the end of an "
    "organisation (Art. 39(1) items 1, 2, 4) the case ends after 60 days if the "
    "cause persists (Art. 41)."
)


async def pending_reason(state: FSMContext, data: StaffAction) -> str | None:
    """The typed reason this button was shown for, if it is still the one pending."""
    stored = await state.get_data()
    reason = stored.get("reason")
    if (
        stored.get("case_id") != data.case_id
        or stored.get("action") != str(data.action)
        or not reason
    ):
        return None
    return str(reason) if fingerprint(str(reason)) == data.h else None


async def staff_text(
    message: Message, state: FSMContext, user: User, actions: CaseActions
) -> None:
    """The text an action asked for: checked, then the buttons that act on it."""
    assert message.text is not None
    data = await state.get_data()
    case_id = data.get("case_id")
    try:
        action = Action(str(data.get("action")))
    except ValueError:
        await state.clear()
        return
    view = await actions.staff_view(case_id, user) if isinstance(case_id, int) else None
    if view is None:
        await state.clear()
        await message.answer(_(NOT_AVAILABLE))
        return
    try:
        text = clean_text(message.text, max_len=TextLimits.REQUEST)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    if action in (Action.copy_sent, *EXTENSION_RULES) and action not in actions.available(
        view, user
    ):
        await state.clear()
        await show(message, view, user, actions, _(ALREADY_TEXT))
        return
    if action is Action.copy_sent:
        await _copy_sent_on(message, state, text, view, user, actions)
    elif action in EXTENSION_RULES:
        await _extension_days(message, state, text, view, user, action, actions)
    elif action is Action.suspend:
        await state.update_data(reason=text)
        await message.answer(
            t(GROUND_PROMPT, number=f"<code>{view.number}</code>"),
            reply_markup=ground_keyboard(view.id, text),
        )
    elif action in REASON_CONFIRM_TEXTS:
        await state.update_data(reason=text)
        await message.answer(
            t(
                REASON_CONFIRM_TEXTS[action],
                number=f"<code>{view.number}</code>",
                reason=html.escape(text),
            ),
            reply_markup=confirm_keyboard(view.id, action, fingerprint(text)),
        )


async def _copy_sent_on(
    message: Message,
    state: FSMContext,
    text: str,
    view: StaffCaseView,
    user: User,
    actions: CaseActions,
) -> None:
    """A typed receipt day of the application copy (FY 48: F10 runs from it)."""
    today = actions.today()
    try:
        received_on = parse_date(text, today=today, not_before=view.accepted_on)
    except ValidationError as error:
        await message.answer(
            "❗ " + error.render(current_locale()),
            reply_markup=copy_sent_keyboard(view, today),
        )
        return
    await state.clear()
    result = await actions.copy_sent(view.id, user, received_on=received_on)
    await report(message, result, Action.copy_sent, view.id, user, actions)


async def _extension_days(
    message: Message,
    state: FSMContext,
    text: str,
    view: StaffCaseView,
    user: User,
    action: Action,
    actions: CaseActions,
) -> None:
    """The reason for an extension is kept; the buttons offer the days still grantable."""
    deadline = extendable_deadline(view, EXTENSION_RULES[action])
    if deadline is None:
        await state.clear()
        await show(message, view, user, actions, _(ALREADY_TEXT))
        return
    await state.update_data(reason=text)
    left = actions.extension_left(deadline)
    await message.answer(
        t(
            EXTEND_SUPPLY_PROMPT if action is Action.extend_supply else EXTEND_PROMPT,
            number=f"<code>{view.number}</code>",
            what=_(deadline.title),
            date=deadline.due_on,
            left=left if left is not None else "—",
        ),
        reply_markup=days_keyboard(view.id, left, deadline.extension_days, action, text),
    )


async def staff_not_text(message: Message) -> None:
    """A sticker or photo while a reason is asked: the prompt stays open (not the citizens'
    fallback with its main menu)."""
    await message.answer(_("Please type your answer as a text message."))


__all__ = ["StaffInput", "pending_reason", "staff_not_text", "staff_text"]
