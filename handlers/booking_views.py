"""What the booking flow shows: statuses, callback data, the booking card and receipt, the
result of a request, and the day and time buttons. Shared by /book (handlers/booking.py), the
citizen's own bookings (handlers/booking_manage.py) and /roster."""

from __future__ import annotations

import html
from datetime import datetime
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_
from cases.intake.forms import PROVISIONAL_NOTE
from cases.org.organisation import Organisation, UnknownId
from cases.reception.booking import (
    Booking,
    BookingError,
    BookingService,
    BookingStatus,
    OpenDay,
    Outcome,
    Result,
    Session,
    SessionClosed,
    Slot,
)
from handlers.keyboards import button, grid
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
    own_name = State()  # the citizen's own name (a proxy booking has it already)
    choosing = State()  # buttons only: agency, day, time, people, confirm


class PickStep(StrEnum):
    agency = "agency"
    day = "day"
    slot = "slot"  # value: "<session id>.<slot>"
    people = "people"
    elsewhere = "elsewhere"
    confirm = "confirm"


class BookingPick(CallbackData, prefix="bkp"):
    step: PickStep
    value: str


class BookingStep(StrEnum):
    """What a button on a booking does. The cases layer writes the same values by hand into
    outbox messages (``bk:<value>:<id>``, cases/reception)."""

    view = "view"
    cancel = "cancel"
    resched = "resched"
    take = "take"
    release = "release"
    keep = "keep"
    come = "come"


class BookingAction(CallbackData, prefix="bk"):
    """Also built by hand in cases/reception for outbox messages: ``bk:<action>:<id>``."""

    action: BookingStep
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
    if booking.person_name and booking.booked_by is not None:
        lines.append(t("For: {name}", name=html.escape(booking.person_name)))
    elif booking.person_name:
        lines.append(t("Name: {name}", name=html.escape(booking.person_name)))
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
    "This person already has a booking at this agency, made by another community worker. That "
    "worker can change or cancel it; the agency can tell you more."
)
"""Only a proxy booking has a phone to match, and its citizen has no account: /mycases would
show them nothing."""


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


def day_buttons(days: list[OpenDay]) -> list[InlineKeyboardButton]:
    buttons = []
    for day in days:
        if day.seats_left:
            label = t(
                "{day} {time} · {seats} seats left",
                day=day.session.day,
                time=day.session.starts.strftime("%H:%M"),
                seats=day.seats_left,
            )
        else:  # every time taken: the day is still open for its waitlist
            label = t(
                "{day} {time} · full, join the waitlist",
                day=day.session.day,
                time=day.session.starts.strftime("%H:%M"),
            )
        if day.session.provisional:
            label += " · " + _("provisional")
        buttons.append(button(label, BookingPick(step="day", value=str(day.session.id))))
    return buttons


async def show_days(message: Message, agency: str, booking: BookingService) -> None:
    # Full days too: a full slot offers the waitlist, also when the whole day is full.
    days = await booking.open_days(agency, include_full=True)
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
    await message.answer(text, reply_markup=grid(day_buttons(days)))


def time_buttons(session: Session, slots: list[Slot]) -> list[InlineKeyboardButton]:
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
    buttons = time_buttons(session, await booking.free_slots(session, include_full=True))
    if not buttons:
        await message.answer(_("Bookings for this day are closed. Please choose another day."))
        return
    await message.answer(
        t("Choose a time on {day}:", day=session.day), reply_markup=grid(buttons, 2)
    )
