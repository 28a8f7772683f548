"""Mediation sessions: time and place typed by the mediator (a rest day confirmed),
moving or cancelling one, and the parties' attendance answers."""

from __future__ import annotations

import html
from datetime import datetime

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.intake.validation import ValidationError
from cases.litigation.hearing_times import parse_hearing_time
from cases.mediation.common import MAX_PLACE, Result
from cases.mediation.service import Mediation, Viewer
from cases.org.users import User
from cases.store.time import to_db
from handlers.mediation.pages import (
    RESULT_TEXTS,
    TIME_TEXTS,
    MediationForm,
    alert_refusal,
    form_case,
    page_button,
    time_example,
    when_text,
)
from handlers.mediation_callbacks import MedAction, MediationButton
from handlers.texts import t

# -- sessions ----------------------------------------------------------------------------------


async def session_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    move = callback_data.action is MedAction.move
    if move:
        session = await mediation.sessions.get(callback_data.item_id)
        case_id = session.case_id if session is not None else 0
    else:
        session, case_id = None, callback_data.item_id
    if await mediation.viewer(case_id, user, query.from_user.id) is not Viewer.mediator:
        await alert_refusal(query, Result.not_allowed)
        return
    if move and (session is None or session.version != callback_data.version):
        await alert_refusal(query, Result.already)
        return
    await query.answer()
    await state.set_state(MediationForm.move_time if move else MediationForm.session_time)
    await state.update_data(
        case_id=case_id,
        session_id=session.id if session else 0,
        version=session.version if session else 0,
        place=session.place if session else "",
    )
    if isinstance(query.message, Message):
        await query.message.answer(
            t(
                "When is the session? Type the date and time, for example {example}.",
                example=time_example(mediation),
            )
        )


async def session_time(message: Message, state: FSMContext, mediation: Mediation) -> None:
    assert message.text is not None
    data = await state.get_data()
    if await form_case(message, state) is None:
        return
    try:
        moment = parse_hearing_time(message.text, now=mediation.now())
    except ValidationError as error:
        template = TIME_TEXTS.get(error.code, TIME_TEXTS["format"])
        await message.answer("❗ " + t(template, example=time_example(mediation)))
        return
    if mediation.sessions.on_rest_day(moment) and data.get("rest_day_seen") != to_db(moment):
        # Possible but rare: the mediator confirms it (button, or the same time again).
        await state.update_data(rest_day_seen=to_db(moment))
        await message.answer(
            t(
                "{when} is a rest day (a weekend or a public holiday). If the session really is "
                "on that day, confirm below or send the same date and time again; otherwise "
                "type the right one.",
                when=when_text(moment),
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    page_button(_("Yes, on that day"), MedAction.rest_day_ok, int(data["case_id"]))
                ]
            ),
        )
        return
    await _ask_place(message, state, moment)


async def rest_day_ok(
    query: CallbackQuery, callback_data: MediationButton, state: FSMContext
) -> None:
    data = await state.get_data()
    current = await state.get_state()
    seen = data.get("rest_day_seen")
    if current not in (MediationForm.session_time.state, MediationForm.move_time.state) or (
        not isinstance(seen, str) or data.get("case_id") != callback_data.item_id
    ):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _ask_place(query.message, state, datetime.fromisoformat(seen))


async def _ask_place(message: Message, state: FSMContext, moment: datetime) -> None:
    moving = await state.get_state() == MediationForm.move_time.state
    await state.update_data(starts_at=to_db(moment))
    await state.set_state(MediationForm.move_place if moving else MediationForm.session_place)
    data = await state.get_data()
    keyboard = (
        InlineKeyboardMarkup(
            inline_keyboard=[
                page_button(
                    t("Same place: {place}", place=str(data.get("place", ""))),
                    MedAction.same_place,
                    int(data.get("session_id", 0)),
                )
            ]
        )
        if moving
        else None
    )
    await message.answer(_("Where is the session? Type the place."), reply_markup=keyboard)


async def session_place(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None = None
) -> None:
    assert message.text is not None
    place = message.text.strip()
    if not place or len(place) > MAX_PLACE:
        await message.answer(t("Please type the place in at most {n} characters.", n=MAX_PLACE))
        return
    await _save_session(message, state, mediation, user, place)


async def same_place(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    data = await state.get_data()
    if (
        await state.get_state() != MediationForm.move_place.state
        or data.get("session_id") != callback_data.item_id
    ):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _save_session(query.message, state, mediation, user, str(data.get("place", "")))


async def _save_session(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None, place: str
) -> None:
    data = await state.get_data()
    moving = await state.get_state() == MediationForm.move_place.state
    if await form_case(message, state) is None or not isinstance(data.get("starts_at"), str):
        return
    await state.clear()
    if user is None:
        await message.answer(_("This is not available to you."))
        return
    starts_at = datetime.fromisoformat(str(data["starts_at"]))
    if moving:
        result = await mediation.sessions.move(
            int(data["session_id"]), user, int(data["version"]), starts_at, place
        )
    else:
        result, _session = await mediation.sessions.schedule(
            int(data["case_id"]), user, starts_at, place
        )
    if result is not Result.done:
        await message.answer(_(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])))
        return
    if moving:
        text = t(
            "Session moved to {when}, {place}. Both parties and the mediator are told, and "
            "reminded the day before and two hours before.",
            when=when_text(starts_at),
            place=html.escape(place),
        )
    else:
        text = t(
            "Session scheduled: {when}, {place}. Both parties and the mediator are told, and "
            "reminded the day before and two hours before.",
            when=when_text(starts_at),
            place=html.escape(place),
        )
    await message.answer(text)


async def session_cancel(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if user is None:
        await alert_refusal(query, Result.not_allowed)
        return
    result = await mediation.sessions.cancel(callback_data.item_id, user, callback_data.version)
    if result is not Result.done:
        await alert_refusal(query, result)
        return
    await query.answer(_("The session was cancelled; everyone is told."), show_alert=True)


async def attendance(
    query: CallbackQuery, callback_data: MediationButton, mediation: Mediation
) -> None:
    coming = callback_data.action is MedAction.come
    result = await mediation.sessions.answer(
        callback_data.item_id, query.from_user.id, callback_data.version, coming=coming
    )
    if result is Result.closed:
        await query.answer(
            _("This session was moved or cancelled; please answer for the new time."),
            show_alert=True,
        )
        return
    if result is Result.not_allowed:
        await alert_refusal(query, result)
        return
    await query.answer(
        _("Thank you: you will come.")
        if coming
        else _("Thank you: the mediator is told that you cannot come."),
        show_alert=True,
    )
