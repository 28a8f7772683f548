"""Open court cases: the list (/lawsuits), a card per case and its buttons (defence filed, record
an appearance, add a hearing, close). The office sees every case; an agency's liaison and head
see their own agency's cases and may only record that the defence was filed. Every press
loads the court case again and checks that the item still belongs to it and is open.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.validation import ValidationError
from cases.litigation.court_cases import LitigationService
from cases.litigation.hearing_times import parse_hearing_time
from cases.litigation.models import HEARING_NOT_STARTED, Hearing, Lawsuit, LawsuitNotFound
from cases.org.users import User
from cases.store.time import LEGAL_TZ, to_db
from handlers.filters import NotCommand, When
from handlers.keyboards import button, grid
from handlers.litigation.appearance import ask_appearance
from handlers.litigation.shared import (
    AGENCY,
    STAFF,
    TYPE_AS_TEXT,
    CaseButton,
    LitigationForm,
    error_text,
    example_time,
    head_rule,
    hearing_rows,
    local_time,
    reminder_lines,
)
from handlers.replies import edit_text
from handlers.texts import current_locale, t
from scheduling.digest import telegram_length
from scheduling.planner import Planner

AGENCY_ACTIONS = frozenset({"open", "filed"})
"""What an agency's own people may do on its court case card: look, and record the defence."""


LIST_LIMIT = 20
"""Open court cases listed by /lawsuits (one line and one button each), the most urgent first."""


LIST_MAX_CHARS = 3800
"""/lawsuits is one message: Telegram refuses more than 4,096 characters, and one message per
court case would run into its limit of about one message a second to a chat (429)."""


BUTTON_LABEL_MAX = 32


def _card(
    lawsuit: Lawsuit, service: LitigationService, *, agency_view: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """The court case; ``agency_view``: the defendant agency's own people, who get only the
    "defence filed" button (hearings and appearances are the office's record)."""
    now = service.now()
    lines = [
        f"<b>{html.escape(lawsuit.court_case_number)}</b> · {html.escape(lawsuit.agency)}",
        t(
            "{court} · plaintiff: {plaintiff}",
            court=html.escape(lawsuit.court),
            plaintiff=html.escape(lawsuit.plaintiff),
        ),
    ]
    buttons = []
    defence = lawsuit.defence
    if defence is not None:
        if defence.status == "open":
            lines.append(t("Defence due: {date}", date=defence.due_on))
            buttons.append(
                button(
                    _("Defence filed"),
                    CaseButton(action="filed", lawsuit_id=lawsuit.id, item_id=defence.id),
                )
            )
        elif defence.status == "filed":
            lines.append(t("Defence filed on {date}", date=defence.filed_on or defence.due_on))
    to_record = lawsuit.hearings_to_record(now)
    for hearing in to_record:
        lines.append(
            t("Appearance not recorded yet: hearing of {when}", when=local_time(hearing.starts_at))
        )
    upcoming = lawsuit.next_hearing(now)
    if upcoming is not None:
        lines.append(t("Next hearing: {when}", when=local_time(upcoming.starts_at)))
    if lawsuit.head_required:
        lines.append(_("The agency head must appear in person."))
    if agency_view:
        return "\n".join(lines), grid(buttons, 2)
    target: Hearing | None = to_record[0] if to_record else upcoming
    if target is not None:
        buttons.append(
            button(
                _("Record appearance"),
                CaseButton(action="appear", lawsuit_id=lawsuit.id, item_id=target.id),
            )
        )
    buttons.append(button(_("Add a hearing"), CaseButton(action="hearing", lawsuit_id=lawsuit.id)))
    buttons.append(button(_("Close the case"), CaseButton(action="close", lawsuit_id=lawsuit.id)))
    return "\n".join(lines), grid(buttons, 2)


def _list_line(index: int, lawsuit: Lawsuit, service: LitigationService) -> str:
    """One court case of /lawsuits on one line: what needs doing first."""
    now = service.now()
    parts = []
    to_record = lawsuit.hearings_to_record(now)
    if to_record:
        parts.append(
            "⚠️ "
            + t(
                "Appearance not recorded yet: hearing of {when}",
                when=local_time(to_record[0].starts_at),
            )
        )
    defence = lawsuit.defence
    if defence is not None and defence.status == "open":
        parts.append(t("Defence due: {date}", date=defence.due_on))
    upcoming = lawsuit.next_hearing(now)
    if upcoming is not None:
        parts.append(t("Next hearing: {when}", when=local_time(upcoming.starts_at)))
    head = (
        f"{index}. <code>{html.escape(lawsuit.court_case_number)}</code>"
        f" · {html.escape(lawsuit.agency)}"
    )
    separator = "; " if current_locale() == "en" else "；"
    return head + (" — " + separator.join(parts) if parts else "")


def _label(index: int, lawsuit: Lawsuit) -> str:
    text = f"{index}. {lawsuit.court_case_number}"
    return text if len(text) <= BUTTON_LABEL_MAX else text[: BUTTON_LABEL_MAX - 1] + "…"


async def list_lawsuits(message: Message, litigation: LitigationService) -> None:
    """One message: a line per open court case, the most urgent first, and a button per case
    that opens its card with the action buttons."""
    await _show_list(
        message,
        await litigation.list_open(),
        litigation,
        empty=_("There are no open court cases. Register one with /lawsuit."),
    )


async def list_agency_lawsuits(
    message: Message, litigation: LitigationService, user: User
) -> None:
    """/lawsuits for an agency's liaison or head: their own agency's open court cases only."""
    if user.unit is None:
        await message.answer(
            _(
                "Your account is not linked to an agency yet, so no court cases can be shown. "
                "Please ask the administrator to link it."
            )
        )
        return
    await _show_list(
        message,
        await litigation.list_open(agency_id=user.unit),
        litigation,
        empty=_("Your agency has no open court cases."),
    )


async def _show_list(
    message: Message, lawsuits: list[Lawsuit], litigation: LitigationService, *, empty: str
) -> None:
    if not lawsuits:
        await message.answer(empty)
        return
    lines = [
        f"<b>{html.escape(t('Open court cases: {count}', count=len(lawsuits)))}</b>",
        _("Press a court case to open it."),
        "",
    ]
    used = sum(telegram_length(line) + 1 for line in lines)
    tail = telegram_length(t("… and {count} more", count=len(lawsuits))) + 1
    buttons = []
    for index, lawsuit in enumerate(lawsuits[:LIST_LIMIT], start=1):
        line = _list_line(index, lawsuit, litigation)
        if used + telegram_length(line) + 1 + tail > LIST_MAX_CHARS:
            break
        lines.append(line)
        used += telegram_length(line) + 1
        buttons.append(
            button(_label(index, lawsuit), CaseButton(action="open", lawsuit_id=lawsuit.id))
        )
    if len(buttons) < len(lawsuits):
        lines.append(t("… and {count} more", count=len(lawsuits) - len(buttons)))
    await message.answer("\n".join(lines), reply_markup=grid(buttons, 2))


async def case_button(
    query: CallbackQuery,
    callback_data: CaseButton,
    state: FSMContext,
    litigation: LitigationService,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    try:
        lawsuit = await litigation.get(callback_data.lawsuit_id)
    except LawsuitNotFound:
        await query.answer(_("This court case is not open any more."), show_alert=True)
        return
    if message is None:
        await query.answer()
        return
    action, item = callback_data.action, callback_data.item_id
    if action == "open":
        await query.answer()
        text, keyboard = _card(lawsuit, litigation)
        await message.answer(text, reply_markup=keyboard)
    elif action == "filed":
        if lawsuit.defence is None or lawsuit.defence.id != item:
            await query.answer(_("This button is no longer valid."), show_alert=True)
            return
        changed = await litigation.mark_defence_filed(item, by=query.from_user.id)
        await query.answer(
            _("Recorded: the defence was filed. Its reminders stop.")
            if changed
            else _("This was already recorded.")
        )
        text, keyboard = _card(await litigation.get(lawsuit.id), litigation)
        await edit_text(message, text, reply_markup=keyboard)
    elif action == "appear":
        hearing = next((h for h in lawsuit.hearings if h.id == item), None)
        if hearing is None or hearing.status != "scheduled":
            await query.answer(_("This hearing was already recorded."), show_alert=True)
            return
        if hearing.starts_at > litigation.now():
            # The moment, not the day (the service checks it again when recording): the card
            # keeps this button for the next hearing, since a card opened before the hearing
            # stays in the chat and should still work once the hearing has begun.
            local = hearing.starts_at.astimezone(LEGAL_TZ)
            await query.answer(
                t(HEARING_NOT_STARTED, date=local.date(), time=f"{local:%H:%M}"),
                show_alert=True,
            )
            return
        await query.answer()
        await state.set_state(LitigationForm.appearance)
        await state.set_data({"hearing_id": hearing.id, "step": "head"})
        await ask_appearance(message, hearing, "head", lawsuit)
    elif action == "hearing":
        await query.answer()
        await state.set_state(LitigationForm.hearing)
        await state.set_data({"lawsuit_id": lawsuit.id})
        await message.answer(_hearing_question(lawsuit, litigation))
    elif action == "close":
        await query.answer()
        await message.answer(
            _(
                "Close this court case? An open defence period and scheduled hearings are "
                "cancelled, and their reminders stop."
            ),
            reply_markup=grid(
                [
                    button(
                        _("Yes, close it"),
                        CaseButton(action="close_yes", lawsuit_id=lawsuit.id),
                    )
                ]
            ),
        )
    elif action == "close_yes":
        await litigation.close_lawsuit(lawsuit.id, by=query.from_user.id)
        await query.answer()
        await edit_text(
            message,
            t(
                "Court case {number} is closed.",
                number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
            ),
        )
    else:
        await query.answer(_("This button is no longer valid."), show_alert=True)


async def agency_case_button(
    query: CallbackQuery, callback_data: CaseButton, litigation: LitigationService, user: User
) -> None:
    """The card for the defendant agency's own people: only their agency's court cases, and
    only "open" and "defence filed"; any other button (forged or forwarded) is refused."""
    message = query.message if isinstance(query.message, Message) else None
    try:
        lawsuit = await litigation.get(callback_data.lawsuit_id)
    except LawsuitNotFound:
        lawsuit = None
    if (
        lawsuit is None
        or user.unit is None
        or lawsuit.agency_id != user.unit
        or callback_data.action not in AGENCY_ACTIONS
    ):
        await query.answer(_("This court case is not available to you."), show_alert=True)
        return
    if message is None:
        await query.answer()
        return
    if callback_data.action == "open":
        await query.answer()
        text, keyboard = _card(lawsuit, litigation, agency_view=True)
        await message.answer(text, reply_markup=keyboard)
        return
    if lawsuit.defence is None or lawsuit.defence.id != callback_data.item_id:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    changed = await litigation.mark_defence_filed(lawsuit.defence.id, by=query.from_user.id)
    await query.answer(
        _("Recorded: the defence was filed. Its reminders stop.")
        if changed
        else _("This was already recorded.")
    )
    text, keyboard = _card(await litigation.get(lawsuit.id), litigation, agency_view=True)
    await edit_text(message, text, reply_markup=keyboard)


def _hearing_question(lawsuit: Lawsuit, service: LitigationService) -> str:
    return t(
        "Court case {number}: when is the hearing? Type the date and time, for example {example}.",
        number=f"<code>{html.escape(lawsuit.court_case_number)}</code>",
        example=example_time(service),
    )


REST_DAY_AGAIN = N_(
    "{when} is a rest day (a weekend or a public holiday). If the hearing really is on that "
    "day, send the same date and time again; otherwise type the right one."
)


async def hearing_text(
    message: Message, state: FSMContext, litigation: LitigationService, planner: Planner
) -> None:
    assert message.text is not None and message.from_user is not None
    data = await state.get_data()
    lawsuit_id = data.get("lawsuit_id")
    if not isinstance(lawsuit_id, int):
        await state.clear()
        await message.answer(_("This form is no longer open. Use /lawsuits."))
        return
    try:
        moment = parse_hearing_time(message.text, now=litigation.now())
        if litigation.on_rest_day(moment) and data.get("rest_day_seen") != to_db(moment):
            # A hearing on a rest day is possible but rare: the same time typed twice keeps it.
            await state.update_data(rest_day_seen=to_db(moment))
            await message.answer(t(REST_DAY_AGAIN, when=local_time(moment)))
            return
        hearing = await litigation.add_hearing(lawsuit_id, moment, by=message.from_user.id)
    except ValidationError as error:
        await message.answer(error_text(error))
        return
    except LawsuitNotFound:
        await state.clear()
        await message.answer(_("This court case is not open any more."))
        return
    await state.clear()
    lawsuit = await litigation.get(lawsuit_id)
    planned = await planner.preview(await planner.lawsuit_sources(lawsuit_id))
    lines = [
        t(
            "Hearing added: {when}, {court}.",
            when=local_time(moment),
            court=html.escape(lawsuit.court),
        ),
        head_rule(lawsuit.head_required),
        "",
        _("Reminders:"),
        *reminder_lines(hearing_rows(planned, hearing.id), litigation.now()),
    ]
    await message.answer("\n".join(lines))


async def hearing_not_text(
    message: Message, state: FSMContext, litigation: LitigationService
) -> None:
    """Not text while the hearing time is asked: ask for text, repeat the question."""
    lawsuit_id = (await state.get_data()).get("lawsuit_id")
    try:
        open_case = await litigation.get(lawsuit_id) if isinstance(lawsuit_id, int) else None
    except LawsuitNotFound:
        open_case = None
    if open_case is None:
        await state.clear()
        await message.answer(_("This court case is not open any more."))
        return
    await message.answer(_(TYPE_AS_TEXT) + "\n\n" + _hearing_question(open_case, litigation))


def build_router() -> Router:
    router = Router(name="litigation-cards")
    router.message.register(list_lawsuits, Command("lawsuits"), STAFF)
    router.callback_query.register(case_button, CaseButton.filter(), STAFF)
    router.message.register(list_agency_lawsuits, Command("lawsuits"), AGENCY)
    router.callback_query.register(agency_case_button, CaseButton.filter(), AGENCY)
    answering = StateFilter(LitigationForm.hearing)
    router.message.register(hearing_text, answering, When(F.text & ~F.text.startswith("/")), STAFF)
    router.message.register(hearing_not_text, answering, When(~F.text), NotCommand(), STAFF)
    return router
