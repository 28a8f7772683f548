"""/mediate, opening the page, and the other party: consent, the refusal, the link the
applicant sends, and the other party joining by it (name, phone, agree or refuse)."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.intake.forms import Procedure
from cases.intake.validation import ValidationError
from cases.mediation.common import Result
from cases.mediation.parties import (
    LINK_PREFIX,
    LinkState,
    parse_name,
    parse_phone,
    token_hash,
)
from cases.mediation.service import Mediation, Viewer
from cases.org.users import Role, User
from cases.procedures.statuses import staff_status_text
from handlers.mediation.pages import (
    LINK_TEXTS,
    MediationForm,
    alert_refusal,
    answered_as,
    page_button,
    render_page,
    show_page,
    when_text,
)
from handlers.mediation_callbacks import MedAction, MediationButton
from handlers.texts import current_locale, t

# -- /mediate and the page ---------------------------------------------------------------------


async def command_mediate(
    message: Message, mediation: Mediation, user: User | None = None
) -> None:
    assert message.from_user is not None
    found = await mediation.cases_for(user, message.from_user.id)
    if not found:
        await message.answer(_("You have no mediation cases."))
        return
    rows = [
        page_button(
            f"{number} · {_(staff_status_text(Procedure.mediation, status))}", MedAction.open, cid
        )
        for cid, number, status in found
    ]
    await message.answer(
        _("Your mediation cases:"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def open_page(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    page = await mediation.page(callback_data.item_id, user, query.from_user.id)
    if page is None:
        await alert_refusal(query, Result.not_allowed)
        return
    await query.answer()
    text, keyboard = render_page(page)
    await query.message.answer(text, reply_markup=keyboard)


# -- the other party ---------------------------------------------------------------------------


async def consent(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if user is None:
        await alert_refusal(query, Result.not_allowed)
        return
    result = await mediation.parties.record_consent(callback_data.item_id, user, agrees=True)
    if result is not Result.done:
        await alert_refusal(query, result)
        return
    await query.answer(_("Recorded: the other party agrees to mediation."))
    if isinstance(query.message, Message):
        await show_page(query.message, mediation, callback_data.item_id, user, query.from_user.id)


async def refused_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if not await answered_as(query, callback_data.item_id, mediation, user, Viewer.mediator):
        return
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Record that the other party refuses mediation? The case will be closed and the "
                "applicant told the routes that remain."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    page_button(
                        _("Yes, close the case"), MedAction.refused_ok, callback_data.item_id
                    )
                ]
            ),
        )


async def refused_confirm(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if user is None:
        await alert_refusal(query, Result.not_allowed)
        return
    result = await mediation.parties.refuse(callback_data.item_id, user=user)
    if result is not Result.done:
        await alert_refusal(query, result)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Recorded: the other party refuses mediation. The case is closed; the applicant "
                "is told the routes that remain."
            )
        )


async def send_link(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    bot: Bot,
    user: User | None = None,
) -> None:
    if user is None:
        await alert_refusal(query, Result.not_allowed)
        return
    me = await bot.me()
    result, expires = await mediation.parties.create_link(
        callback_data.item_id, user, me.username or ""
    )
    if result is not Result.done or expires is None:
        await alert_refusal(query, result)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            t(
                "A one-time link was sent to the applicant to forward to the other party. It is "
                "valid until {when}; an earlier link no longer works.",
                when=when_text(expires),
            )
        )


async def start_with_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    assert message.from_user is not None and command.args is not None
    if user is not None and user.role is not Role.citizen:
        # Staff take no side in a case (回避): the link stays unused for the real party.
        await message.answer(_("Staff cannot join a mediation as a party; the link is unused."))
        return
    key = token_hash(command.args.removeprefix(LINK_PREFIX))
    link_state, case = await mediation.parties.check_link(key, message.from_user.id)
    if link_state is not LinkState.valid or case is None:
        await state.clear()
        await message.answer(_(LINK_TEXTS[link_state]))
        return
    await state.clear()
    await state.set_state(MediationForm.op_name)
    await state.update_data(link=key)  # the hash: the token itself is never stored
    await message.answer(
        t(
            "You were invited to the mediation of case {number} at {room} as the other party "
            "of the dispute. Mediation is voluntary and needs both sides.\n\n"
            "Please type your full name.",
            number=f"<code>{html.escape(case.number)}</code>",
            room=html.escape(case.room_name),
        )
    )


async def op_name(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    try:
        name = parse_name(message.text)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await state.update_data(name=name)
    await state.set_state(MediationForm.op_phone)
    await message.answer(_("Please type your mobile number, so the mediator can reach you."))


async def op_phone(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    try:
        phone = parse_phone(message.text)
    except ValidationError as error:
        await message.answer("❗ " + error.render(current_locale()))
        return
    await state.update_data(phone=phone)
    await state.set_state(MediationForm.op_decide)
    await message.answer(
        _("Do you agree to take part in the mediation?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                page_button(_("I agree to mediation"), MedAction.op_agree),
                page_button(_("I do not agree to mediation"), MedAction.op_refuse),
            ]
        ),
    )


async def op_decide(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    data = await state.get_data()
    key, name, phone = data.get("link"), data.get("name"), data.get("phone")
    if not (isinstance(key, str) and isinstance(name, str) and isinstance(phone, str)):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    agrees = callback_data.action is MedAction.op_agree
    link_state, case = await mediation.parties.join(
        key, query.from_user.id, name, phone, agrees=agrees
    )
    await state.clear()
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if link_state is not LinkState.valid or case is None:
        await query.message.answer(_(LINK_TEXTS[link_state]))
        return
    if not agrees:
        await query.message.answer(
            _("Recorded: you do not agree to mediation. The mediation has ended. Thank you.")
        )
        return
    await query.message.answer(
        _(
            "Thank you. You joined the mediation; you will be told of every session here. "
            "Send /mediate to see it."
        )
    )
    await show_page(query.message, mediation, case.id, user, query.from_user.id)


async def op_refuse_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if not await answered_as(query, callback_data.item_id, mediation, user, Viewer.other_party):
        return
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Do you really not agree to mediation? The mediation will end."),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    page_button(
                        _("Yes, I do not agree"), MedAction.op_refuse_ok, callback_data.item_id
                    )
                ]
            ),
        )


async def op_refuse_confirm(
    query: CallbackQuery, callback_data: MediationButton, mediation: Mediation
) -> None:
    result = await mediation.parties.refuse(
        callback_data.item_id, other_party_id=query.from_user.id
    )
    if result is not Result.done:
        await alert_refusal(query, result)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Recorded: you do not agree to mediation. The mediation has ended. Thank you.")
        )
