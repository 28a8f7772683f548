"""The citizen's bookings: the list beside /mycases, and the buttons on a booking or on a
message about it (view, cancel, reschedule, take an offered seat, keep or release after an
early answer, "I will come", an alternative after a session was cancelled). Every press is
checked again by the service: a stale or forged button never acts on another person's booking.
"""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from cases.org.organisation import Organisation
from cases.org.users import User
from cases.reception.booking import (
    BookingError,
    BookingService,
    BookingStatus,
    Issue,
    Outcome,
    Proxy,
)
from handlers.booking_views import (
    STATUS_LABELS,
    BookingAction,
    BookingAlternative,
    BookingForm,
    booking_card,
    manage_keyboard,
    refuse,
    show_days,
    show_result,
    when_text,
)
from handlers.keyboards import button, grid
from handlers.texts import t


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
            if current.status in (BookingStatus.booked, BookingStatus.confirmed):
                await query.answer(_("Thank you, we expect you."))
            else:  # released, cancelled or over meanwhile: "we expect you" would be false
                await query.answer()
                await message.answer(_("This booking is already cancelled or over."))
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
            Issue(old.subject, old.request, old.people, old.person_name),
            proxy=proxy,
        )
    except BookingError as error:
        await refuse(message, error, booking)
        return
    await show_result(message, result, org)
