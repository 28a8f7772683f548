"""The agency side of reception days: /roster (the day's bookings, attendance, the outcome,
monthly totals). The router also carries /sessions (handlers/sessions.py)."""

from __future__ import annotations

import html
from datetime import date
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_
from cases.intake.forms import PETITION_KINDS
from cases.intake.validation import ValidationError, clean_text
from cases.org.organisation import Organisation, UnknownId
from cases.org.users import Role, User
from cases.procedures.privacy import mask_numbers
from cases.reception.booking import Booking, BookingError, BookingService, BookingStatus
from handlers.booking_views import STATUS_LABELS, agency_name, refuse
from handlers.filters import HasRole, NotCommand, When
from handlers.keyboards import button, grid
from handlers.sessions import command_sessions
from handlers.texts import current_locale, t

ROSTER_ROLES = (Role.agency_liaison, Role.agency_head, Role.admin, Role.office_staff)
AGENCY_ROLES = (Role.agency_liaison, Role.agency_head)
NOTE_LIMIT = 1000
"""A settlement note or an answer before the day, in characters."""

OUTCOME_LABELS = {
    "settled": N_("✔ settled on the spot"),
    "petition": N_("📨 registered as a petition"),
    "referred": N_("➡ referred"),
}


class RosterStep(StrEnum):
    attended = "attended"
    no_show = "no_show"
    answer = "answer"  # answer the matter before the day
    settled = "settled"
    petition = "petition"  # register as a petition: the kind is asked next
    pet_complaint = "pet_complaint"
    pet_suggestion = "pet_suggestion"
    pet_report = "pet_report"
    ref_reconsideration = "ref_reconsideration"
    ref_mediation = "ref_mediation"


PETITION_STEPS = {
    RosterStep.pet_complaint: "complaint",
    RosterStep.pet_suggestion: "suggestion",
    RosterStep.pet_report: "report",
}
"""The kinds intake asks (cases.intake.forms PETITION_KINDS), chosen at registration."""


class RosterAction(CallbackData, prefix="ros"):
    action: RosterStep
    booking_id: int = Field(ge=0, lt=2**63)


class RosterInput(StatesGroup):
    note = State()


def _agencies(user: User) -> list[str] | None:
    """Agency staff see their own agency only; administrators and the office see all."""
    if user.role in AGENCY_ROLES:
        return [user.unit] if user.unit else []
    return None


def _line(item: Booking) -> str:
    line = (
        f"{item.starts_at.strftime('%H:%M')} · <code>{item.number}</code> · "
        f"{html.escape(mask_numbers(item.subject))} · "
        + t("{people} people", people=item.people)
        + f" · {_(STATUS_LABELS[item.status])}"
    )
    if item.outcome:
        line += " · " + _(OUTCOME_LABELS[item.outcome])
    if item.person_name and item.booked_by is None:
        line += " · " + html.escape(item.person_name)
    elif item.person_name and item.booked_by_name:
        line += " · " + t(
            "booked by community worker {worker} for {name}",
            worker=html.escape(item.booked_by_name),
            name=html.escape(item.person_name),
        )
    elif item.person_name:
        line += " · " + t(
            "booked by a community worker for {name}", name=html.escape(item.person_name)
        )
    return line


def _buttons(item: Booking, today: date) -> list[InlineKeyboardButton]:
    if item.status in (BookingStatus.booked, BookingStatus.confirmed) and item.session.day > today:
        return [
            button(
                t("{number}: answer before the day", number=item.number[-6:]),
                RosterAction(action=RosterStep.answer, booking_id=item.id),
            )
        ]
    if item.status in (BookingStatus.booked, BookingStatus.confirmed):
        return [
            button(
                t("✅ {number} came", number=item.number[-6:]),
                RosterAction(action=RosterStep.attended, booking_id=item.id),
            ),
            button(
                t("✗ {number} did not come", number=item.number[-6:]),
                RosterAction(action=RosterStep.no_show, booking_id=item.id),
            ),
        ]
    if item.status is BookingStatus.no_show:
        return [
            button(
                t("✅ {number} came", number=item.number[-6:]),
                RosterAction(action=RosterStep.attended, booking_id=item.id),
            )
        ]
    if item.status is BookingStatus.attended and item.outcome is None:
        short = item.number[-6:]
        return [
            button(
                t("{number}: settled", number=short),
                RosterAction(action=RosterStep.settled, booking_id=item.id),
            ),
            button(
                t("{number}: register petition", number=short),
                RosterAction(action=RosterStep.petition, booking_id=item.id),
            ),
            button(
                t("{number}: refer to reconsideration", number=short),
                RosterAction(action=RosterStep.ref_reconsideration, booking_id=item.id),
            ),
            button(
                t("{number}: refer to mediation", number=short),
                RosterAction(action=RosterStep.ref_mediation, booking_id=item.id),
            ),
        ]
    return []


async def show_roster(
    message: Message, agency: str, day: date, booking: BookingService, org: Organisation
) -> None:
    items = await booking.roster(agency, day)
    lines = [
        t(
            "Reception day of {agency}, {day}:",
            agency=html.escape(agency_name(org, agency)),
            day=day,
        )
    ]
    buttons: list[InlineKeyboardButton] = []
    for item in items:
        lines.append(_line(item))
        buttons += _buttons(item, booking.today())
    if not items:
        lines.append(_("No bookings."))
    await message.answer("\n".join(lines), reply_markup=grid(buttons, 2) if buttons else None)


async def command_roster(
    message: Message,
    command: CommandObject,
    user: User,
    booking: BookingService,
    org: Organisation,
    state: FSMContext,
) -> None:
    if await state.get_state() == RosterInput.note.state:
        # A note or answer begun and left: a later message must not reach a citizen as the
        # agency's answer, nor be recorded as a settlement.
        await state.clear()
    args = (command.args or "").split()
    own = _agencies(user)
    if args and args[0] == "totals":
        month = args[1] if len(args) > 1 else booking.today().strftime("%Y-%m")
        rows = await booking.totals(month, own)
        lines = [t("Reception days, {month}:", month=month)]
        for row in rows:
            lines.append(
                t(
                    "{agency}: booked {booked}, came {attended}, did not come {no_show}, "
                    "cancelled {cancelled}; settled {settled}, petitions {petition}, "
                    "referred {referred}",
                    agency=html.escape(agency_name(org, row.agency)),
                    booked=row.booked,
                    attended=row.attended,
                    no_show=row.no_show,
                    cancelled=row.cancelled,
                    settled=row.settled,
                    petition=row.petition,
                    referred=row.referred,
                )
            )
        if not rows:
            lines.append(_("No bookings."))
        await message.answer("\n".join(lines))
        return
    day = booking.today()
    agency: str | None = own[0] if own else None
    for arg in args:
        try:
            day = date.fromisoformat(arg)
        except ValueError:
            if own is None:
                agency = arg
    if agency is None:
        await message.answer(
            html.escape(_("Usage: /roster <agency id> [YYYY-MM-DD], or /roster totals [YYYY-MM]."))
        )
        return
    try:
        org.agency(agency)
    except UnknownId:
        await message.answer(_("Unknown agency id."))
        return
    await show_roster(message, agency, day, booking, org)


async def roster_action(
    query: CallbackQuery,
    callback_data: RosterAction,
    state: FSMContext,
    user: User,
    booking: BookingService,
    org: Organisation,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    try:
        item = await booking.staff_booking(callback_data.booking_id, _agencies(user))
    except BookingError as error:
        await refuse(message, error, booking)
        return
    act = callback_data.action
    if act in (RosterStep.attended, RosterStep.no_show):
        done = await booking.mark(item, BookingStatus(act.value), actor=user.telegram_id)
        if not done:
            await message.answer(_("Attendance can be recorded on the day only, and once."))
            return
    elif act in (RosterStep.settled, RosterStep.answer):
        await state.set_state(RosterInput.note)
        await state.set_data({"booking_id": item.id, "kind": act.value})
        if act is RosterStep.settled:
            await message.answer(_("A short note on how the matter was settled:"))
        else:
            await message.answer(
                _("Your answer to the citizen (they are then asked to keep or release the seat):")
            )
        return
    elif act is RosterStep.petition:
        await ask_petition_kind(message, item)
        return
    elif act in PETITION_STEPS or act in (
        RosterStep.ref_reconsideration,
        RosterStep.ref_mediation,
    ):
        await register(message, item, act, user, booking, org)
        return
    await show_roster(message, item.agency, item.session.day, booking, org)


async def ask_petition_kind(message: Message, item: Booking) -> None:
    """As intake asks it: the kind decides who may see the case (a 检举控告 is sensitive)."""
    if item.status is not BookingStatus.attended or item.outcome is not None:
        await message.answer(_("The outcome of this booking was recorded before."))
        return
    labels = {choice.value: choice.label for choice in PETITION_KINDS}
    await message.answer(
        t("{number}: what kind of matter is it?", number=f"<code>{item.number}</code>"),
        reply_markup=grid(
            [
                button(_(labels[kind]), RosterAction(action=step, booking_id=item.id))
                for step, kind in PETITION_STEPS.items()
            ]
        ),
    )


async def register(
    message: Message,
    item: Booking,
    act: RosterStep,
    user: User,
    booking: BookingService,
    org: Organisation,
) -> None:
    """Registered as a petition (of the chosen kind) or referred; recorded once."""
    if act in PETITION_STEPS:
        done, number = await booking.record_outcome(
            item, "petition", actor=user.telegram_id, petition_kind=PETITION_STEPS[act]
        )
    else:
        done, number = await booking.record_outcome(
            item, "referred", actor=user.telegram_id, note=act.value.removeprefix("ref_")
        )
    if not done:
        await message.answer(_("The outcome of this booking was recorded before."))
        return
    if number is None:
        await message.answer(_("Recorded; the citizen is given the command to start it."))
        await show_roster(message, item.agency, item.session.day, booking, org)
        return
    lines = [
        t(
            "Registered as petition {number}. Tell the citizen in writing whether it is "
            "accepted: on the spot where possible, otherwise within the period counted from "
            "the reception day (Regulations on Petition Work, Art. 23(2)).",
            number=f"<code>{number}</code>",
        )
    ]
    if act is RosterStep.pet_report:
        lines.append(
            _(
                "A report of misconduct (检举控告) is confidential: only the petition office "
                "sees the case (Regulations on Petition Work, Art. 30)."
            )
        )
    if item.citizen_id is None:
        lines.append(
            _(
                "Booked by a community worker for a citizen without the bot: the worker is "
                "given the case number to pass on; the office tells the citizen in writing."
            )
        )
    else:
        lines.append(_("The citizen is told the case number."))
    await message.answer("\n".join(lines))
    await show_roster(message, item.agency, item.session.day, booking, org)


async def settled_note(
    message: Message, state: FSMContext, user: User, booking: BookingService, org: Organisation
) -> None:
    data = await state.get_data()
    booking_id = data.get("booking_id")
    if not isinstance(booking_id, int):
        await state.clear()
        await message.answer(_("This button is no longer valid."))
        return
    try:  # cleaned as intake cleans text; too long or empty: asked again, nothing cut off
        note = clean_text(message.text or "", max_len=NOTE_LIMIT, min_len=2)
    except ValidationError as error:
        await message.answer(
            error.render(current_locale())
            + "\n"
            + t(
                "Nothing was recorded yet: please send the note again (at most {limit}).",
                limit=NOTE_LIMIT,
            )
        )
        return
    await state.clear()
    try:
        item = await booking.staff_booking(booking_id, _agencies(user))
    except BookingError as error:
        await refuse(message, error, booking)
        return
    if data.get("kind") == "answer":
        if await booking.answer_before(item, note, actor=user.telegram_id):
            await message.answer(_("Sent. The citizen is asked whether to keep the seat."))
        else:
            await message.answer(_("This booking is already cancelled or over."))
        return
    done, _number = await booking.record_outcome(
        item, "settled", actor=user.telegram_id, note=note
    )
    if not done:
        await message.answer(_("The outcome of this booking was recorded before."))
        return
    await show_roster(message, item.agency, item.session.day, booking, org)


def build_router() -> Router:
    router = Router(name="roster")
    router.message.register(command_sessions, Command("sessions"), HasRole(Role.admin))
    router.message.register(command_roster, Command("roster"), HasRole(*ROSTER_ROLES))
    router.callback_query.register(roster_action, RosterAction.filter(), HasRole(*ROSTER_ROLES))
    router.message.register(
        settled_note,
        StateFilter(RosterInput.note),
        NotCommand(),
        When(F.text),
        HasRole(*ROSTER_ROLES),
    )
    return router
