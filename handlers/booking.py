"""/book: a bureau chief's reception day (局长接待日, XF 18(2)), and the citizen's bookings.

Agency → day → time (seats left) → the matter in brief → confirm → receipt. Every press is
checked again by the service (a stale or forged button never books, cancels or shows another
person's booking); seats are counted by the database (cases/reception/booking.py).
"""

from __future__ import annotations

import html
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_
from cases.intake.forms import ELSEWHERE_CHOICES, ELSEWHERE_PETITION_LEGAL, PROVISIONAL_NOTE
from cases.intake.validation import ValidationError, parse_phone
from cases.org.organisation import Organisation, UnknownId
from cases.org.users import Role, User
from cases.reception.booking import (
    MAX_PEOPLE,
    Booking,
    BookingError,
    BookingService,
    BookingStatus,
    Issue,
    OpenDay,
    Outcome,
    Proxy,
    Result,
    Session,
    SessionClosed,
    Slot,
)
from handlers.callbacks import MenuAction
from handlers.filters import NotCommand, When
from handlers.keyboards import button, grid, main_menu
from handlers.texts import current_locale, t

MAX_TEXT = 300

STATUS_LABELS: dict[BookingStatus, str] = {
    BookingStatus.waiting: N_("on the waitlist"),
    BookingStatus.offered: N_("a seat is offered to you"),
    BookingStatus.booked: N_("booked"),
    BookingStatus.confirmed: N_("booked, you will come"),
    BookingStatus.attended: N_("attended"),
    BookingStatus.no_show: N_("did not come"),
    BookingStatus.cancelled: N_("cancelled"),
    BookingStatus.expired: N_("offer expired"),
    BookingStatus.released: N_("released"),
}


class BookingForm(StatesGroup):
    proxy_name = State()
    proxy_phone = State()
    subject = State()
    request = State()
    choosing = State()  # buttons only: agency, day, time, people, confirm


class BookingPick(CallbackData, prefix="bkp"):
    step: str
    value: str


class BookingAction(CallbackData, prefix="bk"):
    """Built by hand in cases/reception/booking.py for outbox messages: ``bk:<action>:<id>``."""

    action: str
    booking_id: int = Field(ge=0, lt=2**63)


class BookingAlternative(CallbackData, prefix="bkalt"):
    """A nearest open time offered after a session was cancelled: book it with the same
    matter as the cancelled booking."""

    booking_id: int = Field(ge=0, lt=2**63)
    session_id: int = Field(ge=0, lt=2**63)
    slot: int = Field(ge=0, lt=1000)


# -- rendering ---------------------------------------------------------------------------------


def when_text(moment: datetime) -> str:
    return t("{day} {time}", day=moment.date(), time=moment.strftime("%H:%M"))


def agency_name(org: Organisation, agency_id: str) -> str:
    try:
        return org.agency(agency_id).display_name(current_locale())
    except UnknownId:
        return agency_id


def booking_card(booking: Booking, org: Organisation) -> str:
    locale = current_locale()
    lines = [
        t("Booking number: {number}", number=f"<code>{booking.number}</code>"),
        t("Status: {status}", status=_(STATUS_LABELS[booking.status])),
        t("Agency: {agency}", agency=html.escape(agency_name(org, booking.agency))),
        t("Received by: the head of the agency or a deputy head (局长接待日)"),
        t("When: {when}", when=when_text(booking.starts_at)),
        t("Place: {place}", place=html.escape(booking.session.place_in(locale))),
        t("Matter: {subject}", subject=html.escape(booking.subject)),
    ]
    if booking.person_name:
        lines.append(t("For: {name}", name=html.escape(booking.person_name)))
    if booking.session.provisional:
        lines.append("<i>" + _(PROVISIONAL_NOTE) + "</i>")
    return "\n".join(lines)


def manage_keyboard(booking: Booking) -> InlineKeyboardMarkup:
    buttons = []
    if booking.status is BookingStatus.offered:
        buttons.append(
            button(_("✅ Take it"), BookingAction(action="take", booking_id=booking.id))
        )
    if booking.live:
        buttons.append(
            button(_("Reschedule"), BookingAction(action="resched", booking_id=booking.id))
        )
        buttons.append(
            button(_("Cancel the booking"), BookingAction(action="cancel", booking_id=booking.id))
        )
    return grid(buttons)


def receipt(booking: Booking, org: Organisation) -> str:
    return "\n".join(
        [
            _("✅ Your reception-day booking is made."),
            booking_card(booking, org),
            _(
                "Please bring your ID card and the papers about the matter (decisions, letters, "
                "contracts, photos)."
            ),
            _(
                "To cancel or change the time: /mycases, or the buttons below. We remind you "
                "the day before and two hours before."
            ),
        ]
    )


BOOKED_ELSEWHERE = N_(
    "This person already has a booking at this agency, made by someone else. They can see and "
    "change it themselves with /mycases, or ask the agency."
)


async def show_result(
    message: Message,
    result: Result,
    org: Organisation,
    alternatives: list[InlineKeyboardButton] | None = None,
) -> None:
    """The outcome of a booking request; a waitlisted one comes with ``alternatives`` (free
    times as buttons) in the same message."""
    booking = result.booking
    if result.outcome is Outcome.booked:
        await message.answer(receipt(booking, org), reply_markup=manage_keyboard(booking))
    elif result.outcome is Outcome.waitlisted:
        rows = [[b] for b in alternatives or []]
        rows.append(
            [
                button(
                    _("Leave the waitlist"),
                    BookingAction(action="cancel", booking_id=booking.id),
                )
            ]
        )
        await message.answer(
            t(
                "That time is full (it may have filled while you were choosing). You are number "
                "{position} on the waitlist for this day ({number}): if a seat frees up, it is "
                "offered to you. Or choose a free time below.",
                position=result.position,
                number=f"<code>{booking.number}</code>",
            ),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )
    elif result.outcome is Outcome.existing_elsewhere:
        await message.answer(_(BOOKED_ELSEWHERE))
    elif result.outcome is Outcome.existing:
        await message.answer(
            _("You already have a booking at this agency (one at a time):")
            + "\n"
            + booking_card(booking, org),
            reply_markup=manage_keyboard(booking),
        )
    elif result.outcome is Outcome.full:
        await message.answer(
            _("That time is full now. Your booking stays as it was; choose another time:")
        )
    elif result.outcome is Outcome.unchanged:
        await message.answer(_("That is already the time of your booking."))
    else:
        await message.answer(_("This booking is already cancelled or over."))


async def refuse(message: Message, error: BookingError, booking: BookingService) -> None:
    if isinstance(error, SessionClosed):
        await message.answer(t(error.msgid, hours=booking.settings.close_hours))
    else:
        await message.answer(_(error.msgid))


# -- the flow ---------------------------------------------------------------------------------


async def start_booking(
    message: Message, state: FSMContext, user: User, booking: BookingService, org: Organisation
) -> None:
    await state.clear()
    if user.role is Role.community_worker:
        await state.set_state(BookingForm.proxy_name)
        await message.answer(
            _(
                "You are booking for a citizen who is with you. Please type the citizen's full "
                "name:"
            )
        )
        return
    await ask_agency(message, state, booking, org)


async def command_book(
    message: Message, state: FSMContext, user: User, booking: BookingService, org: Organisation
) -> None:
    await start_booking(message, state, user, booking, org)


async def menu_book(
    query: CallbackQuery,
    state: FSMContext,
    user: User,
    booking: BookingService,
    org: Organisation,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_booking(query.message, state, user, booking, org)


async def ask_agency(
    message: Message, state: FSMContext, booking: BookingService, org: Organisation
) -> None:
    await state.set_state(BookingForm.choosing)
    agencies = booking.agencies_with_days()
    for session in await booking.upcoming_sessions():
        if session.agency not in agencies:
            agencies.append(session.agency)
    buttons = [button(agency_name(org, a), BookingPick(step="agency", value=a)) for a in agencies]
    buttons.append(button(_("❓ I don't know which"), MenuAction(action="triage")))
    await message.answer(
        _(
            "Book a reception day: the head of an agency receives citizens in person "
            "(局长接待日). Which agency is your matter about?"
        ),
        reply_markup=grid(buttons),
    )


async def proxy_name(message: Message, state: FSMContext) -> None:
    name = (message.text or "").strip()
    if not 2 <= len(name) <= 50:
        await message.answer(_("Please type the citizen's full name (2 to 50 characters)."))
        return
    await state.update_data(proxy_name=name)
    await state.set_state(BookingForm.proxy_phone)
    await message.answer(_("The citizen's phone number (mobile or landline):"))


async def proxy_phone(
    message: Message, state: FSMContext, booking: BookingService, org: Organisation
) -> None:
    try:
        phone = parse_phone(message.text or "", default_area_code=org.phone_area_code)
    except ValidationError as error:
        await message.answer(error.render(current_locale()))
        return
    await state.update_data(proxy_phone=phone)
    await ask_agency(message, state, booking, org)


def _proxy(data: dict[str, object], user: User) -> Proxy | None:
    name, phone = data.get("proxy_name"), data.get("proxy_phone")
    if user.role is Role.community_worker and isinstance(name, str) and isinstance(phone, str):
        return Proxy(worker_id=user.telegram_id, name=name, phone=phone)
    return None


def _day_buttons(days: list[OpenDay]) -> list[InlineKeyboardButton]:
    buttons = []
    for day in days:
        label = t(
            "{day} {time} · {seats} seats left",
            day=day.session.day,
            time=day.session.starts.strftime("%H:%M"),
            seats=day.seats_left,
        )
        if day.session.provisional:
            label += " · " + _("provisional")
        buttons.append(button(label, BookingPick(step="day", value=str(day.session.id))))
    return buttons


async def show_days(message: Message, agency: str, booking: BookingService) -> None:
    days = await booking.open_days(agency)
    if not days:
        await message.answer(
            t(
                "There is no open reception day of this agency in the next {weeks} weeks. You "
                "can file your matter in writing with /petition.",
                weeks=booking.settings.weeks_ahead,
            )
        )
        return
    text = _("Choose a day:")
    if any(d.session.provisional for d in days):
        text += "\n<i>" + _(PROVISIONAL_NOTE) + "</i>"
    await message.answer(text, reply_markup=grid(_day_buttons(days)))


def _time_buttons(session: Session, slots: list[Slot]) -> list[InlineKeyboardButton]:
    buttons = []
    for slot in slots:
        if slot.seats_left:
            label = t(
                "{time} · {seats} seats left",
                time=slot.starts_at.strftime("%H:%M"),
                seats=slot.seats_left,
            )
        else:
            label = t("{time} · full, join the waitlist", time=slot.starts_at.strftime("%H:%M"))
        buttons.append(button(label, BookingPick(step="slot", value=f"{session.id}.{slot.slot}")))
    return buttons


async def show_times(message: Message, session: Session, booking: BookingService) -> None:
    buttons = _time_buttons(session, await booking.free_slots(session, include_full=True))
    if not buttons:
        await message.answer(_("Bookings for this day are closed. Please choose another day."))
        return
    await message.answer(
        t("Choose a time on {day}:", day=session.day), reply_markup=grid(buttons, 2)
    )


async def pick(
    query: CallbackQuery,
    callback_data: BookingPick,
    state: FSMContext,
    user: User,
    booking: BookingService,
    org: Organisation,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    data = await state.get_data()
    step, value = callback_data.step, callback_data.value
    if await state.get_state() != BookingForm.choosing.state:
        await message.answer(_("This button is no longer valid. Please start again with /book."))
        return
    try:
        if step == "agency":
            await _pick_agency(message, state, value, user, booking, org, data)
        elif step == "day":
            session = await booking.session(int(value)) if value.isdigit() else None
            if session is None or session.agency != data.get("agency"):
                await message.answer(_("This button is no longer valid. Please start again."))
                return
            await show_times(message, session, booking)
        elif step == "slot":
            await _pick_slot(message, state, value, user, booking, org, data)
        elif step == "people":
            await _pick_people(message, state, value)
        elif step == "elsewhere":
            await _pick_elsewhere(message, state, value, booking, org)
        elif step == "confirm":
            await _confirm(message, state, user, booking, org, data)
    except BookingError as error:
        await refuse(message, error, booking)
        agency = data.get("agency")
        if isinstance(agency, str):
            await show_days(message, agency, booking)


async def _pick_agency(
    message: Message,
    state: FSMContext,
    agency: str,
    user: User,
    booking: BookingService,
    org: Organisation,
    data: dict[str, object],
) -> None:
    try:
        org.agency(agency)
    except UnknownId:
        await message.answer(_("This button is no longer valid. Please start again."))
        return
    proxy = _proxy(data, user)
    existing = await booking.live_booking(
        agency, user_id=user.telegram_id, phone=proxy.phone if proxy else None
    )
    if existing is not None and proxy is not None and existing.booked_by != user.telegram_id:
        # Booked for this phone by another worker: say so, show nothing of it.
        await message.answer(_(BOOKED_ELSEWHERE))
        return
    if existing is not None:
        await message.answer(
            _("You already have a booking at this agency (one at a time):")
            + "\n"
            + booking_card(existing, org),
            reply_markup=manage_keyboard(existing),
        )
        return
    await state.update_data(agency=agency, reschedule=None)
    await show_days(message, agency, booking)


async def _pick_slot(
    message: Message,
    state: FSMContext,
    value: str,
    user: User,
    booking: BookingService,
    org: Organisation,
    data: dict[str, object],
) -> None:
    session_text, _dot, slot_text = value.partition(".")
    if not (session_text.isdigit() and slot_text.isdigit()):
        await message.answer(_("This button is no longer valid. Please start again."))
        return
    session = await booking.session(int(session_text))
    if session is None or session.agency != data.get("agency"):
        await message.answer(_("This button is no longer valid. Please start again."))
        return
    slot = int(slot_text)
    reschedule = data.get("reschedule")
    if isinstance(reschedule, int):
        result = await booking.reschedule(
            reschedule, user_id=user.telegram_id, session_id=session.id, slot=slot
        )
        await show_result(message, result, org)
        if result.outcome is Outcome.full:
            await show_times(message, session, booking)
        else:
            await state.clear()
        return
    booking.check_open(session, slot)  # closed or gone: say so now, not after the questions
    await state.update_data(session_id=session.id, slot=slot)
    await state.set_state(BookingForm.subject)
    await message.answer(
        t(
            "{when}. Now the matter in brief, so that the agency can prepare.\nWhat is it "
            "about? (one or two sentences)",
            when=when_text(session.slot_start(slot)),
        )
    )


async def subject_text(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not 2 <= len(text) <= MAX_TEXT:
        await message.answer(t("Please write 2 to {limit} characters.", limit=MAX_TEXT))
        return
    await state.update_data(subject=text)
    await state.set_state(BookingForm.request)
    await message.answer(_("What do you ask the agency for?"))


async def request_text(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not 2 <= len(text) <= MAX_TEXT:
        await message.answer(t("Please write 2 to {limit} characters.", limit=MAX_TEXT))
        return
    await state.update_data(request=text)
    await state.set_state(BookingForm.choosing)
    await ask_people(message)


async def ask_people(message: Message, note: str | None = None) -> None:
    buttons = [
        button(str(n), BookingPick(step="people", value=str(n))) for n in range(1, MAX_PEOPLE + 1)
    ]
    buttons.append(button(_("More than 5"), BookingPick(step="people", value="more")))
    text = _("How many people will come?")
    if note:
        text = note + "\n\n" + text
    await message.answer(text, reply_markup=grid(buttons, 3))


async def _pick_people(message: Message, state: FSMContext, value: str) -> None:
    if value == "more" or not value.isdigit() or not 1 <= int(value) <= MAX_PEOPLE:
        await ask_people(
            message,
            _(
                "When many people raise a common matter, they choose representatives to come: "
                "at most 5 (Regulations on Petition Work, Art. 20(3))."
            ),
        )
        return
    await state.update_data(people=int(value))
    buttons = [
        button(_(choice.label), BookingPick(step="elsewhere", value=choice.value))
        for choice in ELSEWHERE_CHOICES
    ]
    await message.answer(
        _("Is this matter already before a court, an arbitration body or a reconsideration body?"),
        reply_markup=grid(buttons),
    )


async def _pick_elsewhere(
    message: Message, state: FSMContext, value: str, booking: BookingService, org: Organisation
) -> None:
    if value != "none":
        await state.clear()
        await message.answer(
            _(ELSEWHERE_PETITION_LEGAL) + "\n" + _("No booking was made."),
            reply_markup=main_menu(),
        )
        return
    data = await state.get_data()
    session = await booking.session(int(str(data.get("session_id"))))
    if session is None:
        await message.answer(_("This reception session is no longer available."))
        return
    slot = int(str(data.get("slot")))
    lines = [
        _("Please check and confirm:"),
        t("Agency: {agency}", agency=html.escape(agency_name(org, session.agency))),
        t("When: {when}", when=when_text(session.slot_start(slot))),
        t("Matter: {subject}", subject=html.escape(str(data.get("subject")))),
        t("Request: {request}", request=html.escape(str(data.get("request")))),
        t("People coming: {people}", people=data.get("people")),
    ]
    if data.get("proxy_name"):
        lines.append(
            t(
                "For: {name}, {phone}",
                name=html.escape(str(data["proxy_name"])),
                phone=html.escape(str(data.get("proxy_phone"))),
            )
        )
    await message.answer(
        "\n".join(lines),
        reply_markup=grid(
            [
                button(_("✅ Confirm the booking"), BookingPick(step="confirm", value="yes")),
            ]
        ),
    )


async def _confirm(
    message: Message,
    state: FSMContext,
    user: User,
    booking: BookingService,
    org: Organisation,
    data: dict[str, object],
) -> None:
    if not all(k in data for k in ("session_id", "slot", "subject", "request", "people")):
        await message.answer(_("This button is no longer valid. Please start again with /book."))
        return
    result = await booking.book(
        user.telegram_id,
        int(str(data["session_id"])),
        int(str(data["slot"])),
        Issue(str(data["subject"]), str(data["request"]), int(str(data["people"]))),
        proxy=_proxy(data, user),
    )
    if result.outcome is not Outcome.waitlisted:
        await state.clear()
        await show_result(message, result, org)
        return
    # The free times of the day (or the next days) turn the waitlist place into a seat.
    await state.set_data({"agency": result.booking.agency, "reschedule": result.booking.id})
    session = result.booking.session
    slots = await booking.free_slots(session)
    if slots:
        buttons = _time_buttons(session, slots)
    else:
        buttons = _day_buttons(await booking.open_days(result.booking.agency, limit=4))
    await show_result(message, result, org, buttons)


# -- the citizen's bookings ----------------------------------------------------------------


async def show_bookings(message: Message, user_id: int, booking: BookingService) -> bool:
    """Bookings beside cases in /mycases; False when there are none."""
    mine = await booking.my_bookings(user_id)
    if not mine:
        return False
    lines = [_("Your reception-day bookings:")]
    buttons = []
    for item in mine:
        lines.append(
            f"<code>{item.number}</code> · {when_text(item.starts_at)}"
            f" · {_(STATUS_LABELS[item.status])}"
        )
        buttons.append(
            button(item.number, BookingAction(action="view", booking_id=item.id)),
        )
    await message.answer("\n".join(lines), reply_markup=grid(buttons))
    return True


async def action(
    query: CallbackQuery,
    callback_data: BookingAction,
    state: FSMContext,
    user: User,
    booking: BookingService,
    org: Organisation,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    booking_id = callback_data.booking_id
    try:
        current = await booking.get(booking_id, user_id=user.telegram_id)
        if callback_data.action == "view":
            await query.answer()
            await message.answer(booking_card(current, org), reply_markup=manage_keyboard(current))
        elif callback_data.action == "cancel":
            result = await booking.cancel(booking_id, user_id=user.telegram_id)
            await query.answer()
            if result.outcome is Outcome.cancelled:
                await message.answer(
                    t("Booking {number} is cancelled.", number=f"<code>{current.number}</code>")
                )
            else:
                await message.answer(_("This booking is already cancelled or over."))
        elif callback_data.action == "resched":
            await query.answer()
            if not current.live:
                await message.answer(_("This booking is already cancelled or over."))
                return
            await state.clear()
            await state.set_state(BookingForm.choosing)
            await state.update_data(agency=current.agency, reschedule=current.id)
            await message.answer(
                _("Choose the new time. Your present booking stays until the new one is made.")
            )
            await show_days(message, current.agency, booking)
        elif callback_data.action == "take":
            result = await booking.take_offer(booking_id, user_id=user.telegram_id)
            await query.answer()
            if result.outcome is Outcome.booked:
                await show_result(message, result, org)
            else:
                await message.answer(
                    _("This offer is no longer open: the hold ran out or it was answered.")
                )
        elif callback_data.action == "release":
            result = await booking.release(booking_id, user_id=user.telegram_id)
            await query.answer()
            if result.outcome is Outcome.cancelled:
                await message.answer(
                    t(
                        "Seat released for booking {number}. Thank you.",
                        number=f"<code>{current.number}</code>",
                    )
                )
            else:
                await message.answer(_("This booking is already cancelled or over."))
        elif callback_data.action == "keep":
            await query.answer(_("Thank you, we expect you."))
        elif callback_data.action == "come":
            result = await booking.confirm(booking_id, user_id=user.telegram_id)
            await query.answer(_("Thank you, we expect you."))
            if result.outcome is not Outcome.booked and not result.booking.live:
                await message.answer(_("This booking is already cancelled or over."))
        else:
            await query.answer(_("This button is no longer valid."), show_alert=True)
    except BookingError as error:
        await query.answer()
        await refuse(message, error, booking)


async def alternative(
    query: CallbackQuery,
    callback_data: BookingAlternative,
    user: User,
    booking: BookingService,
    org: Organisation,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    try:
        old = await booking.get(callback_data.booking_id, user_id=user.telegram_id)
        session = await booking.session(callback_data.session_id)
        if session is None or session.agency != old.agency:
            await message.answer(_("This button is no longer valid. Please start again."))
            return
        proxy = (
            Proxy(user.telegram_id, old.person_name, old.person_phone)
            if old.citizen_id is None and old.person_name and old.person_phone
            else None
        )
        result = await booking.book(
            user.telegram_id,
            callback_data.session_id,
            callback_data.slot,
            Issue(old.subject, old.request, old.people),
            proxy=proxy,
        )
    except BookingError as error:
        await refuse(message, error, booking)
        return
    await show_result(message, result, org)


def build_router() -> Router:
    router = Router(name="booking")
    router.message.register(command_book, Command("book"))
    router.callback_query.register(menu_book, MenuAction.filter(F.action == "book"))
    router.callback_query.register(pick, BookingPick.filter())
    router.callback_query.register(action, BookingAction.filter())
    router.callback_query.register(alternative, BookingAlternative.filter())
    texts = Router(name="booking-texts")
    texts.message.filter(NotCommand(), When(F.text))
    texts.message.register(proxy_name, StateFilter(BookingForm.proxy_name))
    texts.message.register(proxy_phone, StateFilter(BookingForm.proxy_phone))
    texts.message.register(subject_text, StateFilter(BookingForm.subject))
    texts.message.register(request_text, StateFilter(BookingForm.request))
    router.include_router(texts)
    return router
