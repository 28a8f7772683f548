"""/book: a bureau chief's reception day (局长接待日, XF 18(2)), and the booking router.

Agency → day → time (seats left) → the matter in brief → confirm → receipt. Every press is
checked again by the service (a stale or forged button never books, cancels or shows another
person's booking); seats are counted by the database (cases/reception/seats.py). The citizen's
own bookings and their buttons are in handlers/booking_manage.py, what both show in
handlers/booking_views.py; this module's router carries them all.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from cases.intake.forms import ELSEWHERE_CHOICES, ELSEWHERE_PETITION_LEGAL
from cases.intake.validation import TextLimits, ValidationError, clean_text, parse_phone
from cases.law.citations import plain_basis
from cases.org.organisation import Organisation, UnknownId
from cases.org.users import Role, User
from cases.reception.booking import (
    MAX_PEOPLE,
    BookingError,
    BookingService,
    Issue,
    Outcome,
    Proxy,
)
from handlers.booking_manage import action, alternative
from handlers.booking_views import (
    BOOKED_ELSEWHERE,
    MAX_TEXT,
    BookingAction,
    BookingAlternative,
    BookingForm,
    BookingPick,
    agency_name,
    booking_card,
    day_buttons,
    manage_keyboard,
    refuse,
    show_days,
    show_result,
    show_times,
    time_buttons,
    when_text,
)
from handlers.callbacks import MenuAction
from handlers.filters import NotCommand, When
from handlers.keyboards import button, grid, main_menu
from handlers.texts import current_locale, t


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
    try:  # as intake takes a name: control and invisible characters dropped, then the length
        name = clean_text(message.text or "", max_len=TextLimits.NAME, min_len=2)
    except ValidationError:
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
        + "\n\n"
        # The agency's liaisons and head read the matter as it is booked: a report of an
        # official's wrongdoing belongs on the confidential route (XF 30(3)).
        + _(
            "The agency's staff read what you write here. To report wrongdoing by an official, "
            "use /petition instead: a report is kept confidential and never passed to the "
            "person or unit reported (《信访工作条例》第三十条)."
        )
    )


async def subject_text(message: Message, state: FSMContext) -> None:
    try:
        text = clean_text(message.text or "", max_len=MAX_TEXT, min_len=2)
    except ValidationError:
        await message.answer(t("Please write 2 to {limit} characters.", limit=MAX_TEXT))
        return
    await state.update_data(subject=text)
    await state.set_state(BookingForm.request)
    await message.answer(_("What do you ask the agency for?"))


async def request_text(message: Message, state: FSMContext) -> None:
    try:
        text = clean_text(message.text or "", max_len=MAX_TEXT, min_len=2)
    except ValidationError:
        await message.answer(t("Please write 2 to {limit} characters.", limit=MAX_TEXT))
        return
    await state.update_data(request=text)
    if (await state.get_data()).get("proxy_name"):
        await state.set_state(BookingForm.choosing)
        await ask_people(message)
        return
    await state.set_state(BookingForm.own_name)
    await message.answer(
        _(
            "Your full name, as on your ID card (the agency receives you by name and checks "
            "the card when you arrive):"
        )
    )


async def own_name(message: Message, state: FSMContext) -> None:
    try:  # as intake takes a name: control and invisible characters dropped, then the length
        name = clean_text(message.text or "", max_len=TextLimits.NAME, min_len=2)
    except ValidationError:
        await message.answer(_("Please type your full name (2 to 50 characters)."))
        return
    await state.update_data(own_name=name)
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
        # XF 20(2): a visit about the remedies of a lawsuit goes to the political-legal
        # departments; XF 31(1)(2)(4): arbitration and reconsideration keep their procedure.
        locale = current_locale()
        cited = "《信访工作条例》第二十条第二款、第三十一条" if locale == "zh" else "XF 20; XF 31"
        basis = t("Legal basis: {basis}", basis=plain_basis(cited, locale))
        await message.answer(
            _(ELSEWHERE_PETITION_LEGAL) + "\n" + basis + "\n" + _("No booking was made."),
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
    if data.get("own_name"):
        lines.append(t("Name: {name}", name=html.escape(str(data["own_name"]))))
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
    proxy = _proxy(data, user)
    needed = ("session_id", "slot", "subject", "request", "people")
    if not all(k in data for k in needed) or (proxy is None and "own_name" not in data):
        await message.answer(_("This button is no longer valid. Please start again with /book."))
        return
    result = await booking.book(
        user.telegram_id,
        int(str(data["session_id"])),
        int(str(data["slot"])),
        Issue(
            str(data["subject"]),
            str(data["request"]),
            int(str(data["people"])),
            None if proxy else str(data["own_name"]),
        ),
        proxy=proxy,
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
        buttons = time_buttons(session, slots)
    else:
        buttons = day_buttons(await booking.open_days(result.booking.agency, limit=4))
    await show_result(message, result, org, buttons)


# -- the citizen's bookings ----------------------------------------------------------------


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
    texts.message.register(own_name, StateFilter(BookingForm.own_name))
    router.include_router(texts)
    return router
