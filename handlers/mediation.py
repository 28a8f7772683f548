"""The mediation itself (issue 10): /mediate, the mediation page, the other party's link.

Handlers parse, call ``mediation`` (cases.mediation.service.Mediation, workflow data) and
render. Every button is authorised again by the service (the mediator of the case or, while
nobody accepted it, of its room; the room lead; the parties for their own answers): a forged
or forwarded button gets "not available" and changes nothing.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_, format_date
from cases.intake.forms import Procedure
from cases.intake.validation import ValidationError
from cases.litigation.hearing_times import parse_hearing_time
from cases.mediation.common import MAX_NOTE, MAX_PLACE, MAX_REASON, MAX_TERMS, Result
from cases.mediation.parties import (
    LINK_PREFIX,
    LinkState,
    parse_name,
    parse_phone,
    token_hash,
)
from cases.mediation.service import Mediation, Page, Viewer
from cases.org.users import Role, User
from cases.procedures.privacy import mask_id_numbers, mask_numbers
from cases.procedures.statuses import staff_status_text
from cases.store.time import LEGAL_TZ, to_db
from handlers.filters import NotCommand, When
from handlers.mediation_callbacks import MedAction, MediationButton
from handlers.texts import current_locale, t


class MediationForm(StatesGroup):
    op_name = State()
    op_phone = State()
    op_decide = State()
    session_time = State()
    session_place = State()
    move_time = State()
    move_place = State()
    terms = State()
    followup_note = State()
    ext_reason = State()


RESULT_TEXTS: dict[Result, str] = {
    Result.already: N_("This was already done, or the mediation has moved on."),
    Result.not_allowed: N_("This is not available to you."),
    Result.closed: N_("The mediation of this case has ended; this is no longer possible."),
    Result.joined: N_("The other party has already joined; no new link is needed."),
    Result.period_ended: N_(
        "The mediation period has already ended, so it can no longer be extended (the county's "
        "rule). Please record the outcome of the mediation."
    ),
    Result.no_lead: N_(
        "Your room has no lead registered to approve an extension. Ask an administrator."
    ),
}
LINK_TEXTS: dict[LinkState, str] = {
    LinkState.unknown: N_("This link is not valid. Please ask the person who sent it."),
    LinkState.used: N_(
        "This link has already been used. Each link works once; please ask the mediator for "
        "a new one if needed."
    ),
    LinkState.expired: N_("This link has expired. Please ask the mediator for a new one."),
    LinkState.closed: N_("The mediation of this case has ended; the link no longer works."),
    LinkState.joined: N_(
        "You have already joined this mediation with this link. Send /mediate to see it."
    ),
    LinkState.own_case: N_(
        "This link is for the other party of your dispute: please forward it to them."
    ),
}
TIME_TEXTS: dict[str, str] = {
    "format": N_("Please type the date and time of the session, for example {example}."),
    "no_time": N_("Please add the time of the session, for example {example}."),
    "ambiguous": N_(
        "Is that in the morning or in the afternoon? Please add 上午 or 下午, or use the "
        "24-hour clock, for example {example}."
    ),
    "past": N_("This time has already passed. Please type a time still to come."),
}
CONSENT_TEXTS = {
    "unknown": N_("not yet known"),
    "given": N_("agrees to mediation"),
    "refused": N_("refused mediation"),
}


def _button(
    label: str, action: MedAction, item_id: int = 0, version: int = 0
) -> list[InlineKeyboardButton]:
    data = MediationButton(action=action, item_id=item_id, version=version).pack()
    return [InlineKeyboardButton(text=label, callback_data=data)]


def _when(moment: datetime) -> str:
    local = moment.astimezone(LEGAL_TZ)
    return f"{format_date(local.date(), current_locale())} {local:%H:%M}"


def _example(mediation: Mediation) -> str:
    day = (mediation.now() + timedelta(days=7)).astimezone(LEGAL_TZ).date()
    return f"{day.isoformat()} 09:30"


# -- the page ----------------------------------------------------------------------------------


def render_page(page: Page) -> tuple[str, InlineKeyboardMarkup | None]:
    case = page.case
    lines = [
        t(
            "<b>Mediation, case {number}</b>",
            number=f"<code>{html.escape(case.number)}</code>",
        ),
        t("Mediation room: {room}", room=html.escape(case.room_name)),
        t("Status: {status}", status=_(staff_status_text(Procedure.mediation, case.status))),
        t(
            "Mediator: {name}",
            name=html.escape(case.mediator_name)
            if case.mediator_name
            else _("not yet assigned (the room's mediators)"),
        ),
    ]
    other = page.other
    if page.viewer is Viewer.mediator:
        if page.applicant_name:
            lines.append(t("Applicant: {name}", name=html.escape(page.applicant_name)))
        lines.append(
            t(
                "Other party: {name}, {state}",
                name=html.escape(other.name) if other.name else _("not joined in the chat"),
                state=_(CONSENT_TEXTS.get(other.consent, other.consent)),
            )
        )
        if other.phone:
            lines.append(t("Other party's phone: {phone}", phone=html.escape(other.phone)))
    elif page.viewer is Viewer.applicant:
        # Whether the other side agreed, never what they typed (their name and phone).
        lines.append(
            t("Other party: {state}", state=_(CONSENT_TEXTS.get(other.consent, other.consent)))
        )
    elif page.viewer is Viewer.other_party:
        lines.append(
            t(
                "Your details: {name}, {phone}",
                name=html.escape(other.name or ""),
                phone=html.escape(other.phone or ""),
            )
        )
    lines.append("")
    if page.sessions:
        lines.append(_("Sessions:"))
        for session, answers in page.sessions:
            line = "• " + t(
                "{when}, {place}", when=_when(session.starts_at), place=html.escape(session.place)
            )
            if page.viewer is Viewer.mediator and answers:
                said = ", ".join(
                    f"{_(SIDE_NAMES.get(a.side, a.side))}: "
                    + (_("will come") if a.coming else _("cannot come"))
                    for a in answers
                )
                line += f" ({said})"
            lines.append(line)
    else:
        lines.append(_("No session scheduled yet."))
    if page.viewer is Viewer.mediator and page.period is not None:
        due = format_date(page.period.due_on, current_locale())
        lines.append(
            t(
                "Mediation period (the county's rule, not a statute): ended on {due}, overdue. "
                "Please record the outcome.",
                due=due,
            )
            if page.today > page.period.due_on
            else t("Mediation period (the county's rule, not a statute): ends on {due}.", due=due)
        )
        if page.extension is not None:
            lines.append(
                t(
                    "Extension by {days} days: {status}.",
                    days=page.extension["days"],
                    status=_(EXTENSION_STATUS[str(page.extension["status"])]),
                )
            )
    outcome = page.outcome
    if outcome is not None and outcome["agreed"]:
        # Typed by the mediator, perhaps copied from the paper agreement: ID numbers masked
        # for everyone, phone numbers kept for the mediator only (who may call the parties).
        terms = str(outcome["terms"] or "")
        terms = mask_id_numbers(terms) if page.viewer is Viewer.mediator else mask_numbers(terms)
        lines.append(t("Agreement: {terms}", terms=html.escape(terms)))
        if page.viewer is Viewer.mediator and outcome["followup_due_on"]:
            if outcome["followup_at"]:
                lines.append(
                    _("Follow-up visit recorded: the agreement was kept.")
                    if outcome["followup_kept"]
                    else _("Follow-up visit recorded: the agreement was not kept.")
                )
            else:
                lines.append(
                    t(
                        "Follow-up visit (回访) due on {due}.",
                        due=datetime.fromisoformat(outcome["followup_due_on"]).date(),
                    )
                )
    return "\n".join(lines), _keyboard(page)


SIDE_NAMES = {
    "applicant": N_("applicant"),
    "other_party": N_("other party"),
    "mediator": N_("mediator"),
}
EXTENSION_STATUS = {
    "pending": N_("awaiting the room lead"),
    "approved": N_("approved"),
    "refused": N_("refused"),
    "lapsed": N_("lapsed (the period ended first)"),
}


def _keyboard(page: Page) -> InlineKeyboardMarkup | None:
    case = page.case
    rows: list[list[InlineKeyboardButton]] = []
    if page.viewer is Viewer.mediator and case.running:
        if page.other.consent == "unknown":
            rows.append(_button(_("The other party agrees"), MedAction.consent, case.id))
            rows.append(_button(_("The other party refuses"), MedAction.refused, case.id))
        if page.other.user_id is None:
            rows.append(_button(_("Link for the other party"), MedAction.link, case.id))
        rows.append(_button(_("Schedule a session"), MedAction.session, case.id))
        for session, _answers in page.sessions:
            label = _when(session.starts_at)
            rows.append(
                _button(t("Move {when}", when=label), MedAction.move, session.id, session.version)
                + _button(
                    t("Cancel {when}", when=label), MedAction.cancel, session.id, session.version
                )
            )
        rows.append(
            _button(_("Agreement reached"), MedAction.agreed, case.id)
            + _button(_("No agreement"), MedAction.failed, case.id)
        )
        if page.period is not None and page.extension is None and page.today <= page.period.due_on:
            rows.append(_button(_("Ask to extend the period"), MedAction.extend, case.id))
    if (
        page.lead
        and page.extension is not None
        and page.extension["status"] == "pending"
        and case.running
    ):
        rows.append(
            _button(_("Approve the extension"), MedAction.approve, case.id)
            + _button(_("Refuse the extension"), MedAction.refuse_ext, case.id)
        )
    outcome = page.outcome
    if page.viewer is Viewer.mediator and outcome is None and case.status == "settled":
        # Settled from the staff case page: the terms and the follow-up are still to record.
        rows.append(_button(_("Record the agreement's terms"), MedAction.agreed, case.id))
    if (
        page.viewer is Viewer.mediator
        and outcome is not None
        and outcome["agreed"]
        and not outcome["followup_at"]
    ):
        rows.append(
            _button(_("The agreement was kept"), MedAction.kept, case.id)
            + _button(_("The agreement was not kept"), MedAction.broken, case.id)
        )
    if page.viewer in (Viewer.applicant, Viewer.other_party) and case.running:
        for session, _answers in page.sessions:
            label = _when(session.starts_at)
            rows.append(
                _button(
                    t("👍 I will come ({when})", when=label),
                    MedAction.come,
                    session.id,
                    session.version,
                )
            )
            rows.append(
                _button(
                    t("I cannot come ({when})", when=label),
                    MedAction.cannot,
                    session.id,
                    session.version,
                )
            )
        if page.viewer is Viewer.other_party:
            rows.append(_button(_("I do not agree to mediation"), MedAction.op_refuse, case.id))
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def _show(
    message: Message, mediation: Mediation, case_id: int, user: User | None, user_id: int
) -> bool:
    page = await mediation.page(case_id, user, user_id)
    if page is None:
        await message.answer(_("This is not available to you."))
        return False
    text, keyboard = render_page(page)
    await message.answer(text, reply_markup=keyboard)
    return True


async def _form_case(message: Message, state: FSMContext) -> int | None:
    """The case an open mediation question is about; None (and the question closed) when the
    conversation state lost it."""
    case_id = (await state.get_data()).get("case_id")
    if isinstance(case_id, int):
        return case_id
    await state.clear()
    await message.answer(_("This question is no longer open. Send /mediate."))
    return None


async def _alert(query: CallbackQuery, result: Result) -> None:
    await query.answer(
        _(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])), show_alert=True
    )


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
        _button(
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
        await _alert(query, Result.not_allowed)
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
        await _alert(query, Result.not_allowed)
        return
    result = await mediation.parties.record_consent(callback_data.item_id, user, agrees=True)
    if result is not Result.done:
        await _alert(query, result)
        return
    await query.answer(_("Recorded: the other party agrees to mediation."))
    if isinstance(query.message, Message):
        await _show(query.message, mediation, callback_data.item_id, user, query.from_user.id)


async def refused_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if await mediation.viewer(callback_data.item_id, user, query.from_user.id) is not (
        Viewer.mediator
    ):
        await _alert(query, Result.not_allowed)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Record that the other party refuses mediation? The case will be closed and the "
                "applicant told the routes that remain."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    _button(_("Yes, close the case"), MedAction.refused_ok, callback_data.item_id)
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
        await _alert(query, Result.not_allowed)
        return
    result = await mediation.parties.refuse(callback_data.item_id, user=user)
    if result is not Result.done:
        await _alert(query, result)
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
        await _alert(query, Result.not_allowed)
        return
    me = await bot.me()
    result, expires = await mediation.parties.create_link(
        callback_data.item_id, user, me.username or ""
    )
    if result is not Result.done or expires is None:
        await _alert(query, result)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            t(
                "A one-time link was sent to the applicant to forward to the other party. It is "
                "valid until {when}; an earlier link no longer works.",
                when=_when(expires),
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
                _button(_("I agree to mediation"), MedAction.op_agree),
                _button(_("I do not agree to mediation"), MedAction.op_refuse),
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
    await _show(query.message, mediation, case.id, user, query.from_user.id)


async def op_refuse_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if await mediation.viewer(callback_data.item_id, user, query.from_user.id) is not (
        Viewer.other_party
    ):
        await _alert(query, Result.not_allowed)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Do you really not agree to mediation? The mediation will end."),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    _button(
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
        await _alert(query, result)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Recorded: you do not agree to mediation. The mediation has ended. Thank you.")
        )


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
        await _alert(query, Result.not_allowed)
        return
    if move and (session is None or session.version != callback_data.version):
        await _alert(query, Result.already)
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
                example=_example(mediation),
            )
        )


async def session_time(message: Message, state: FSMContext, mediation: Mediation) -> None:
    assert message.text is not None
    data = await state.get_data()
    if await _form_case(message, state) is None:
        return
    try:
        moment = parse_hearing_time(message.text, now=mediation.now())
    except ValidationError as error:
        template = TIME_TEXTS.get(error.code, TIME_TEXTS["format"])
        await message.answer("❗ " + t(template, example=_example(mediation)))
        return
    if mediation.sessions.on_rest_day(moment) and data.get("rest_day_seen") != to_db(moment):
        # Possible but rare: the mediator confirms it (button, or the same time again).
        await state.update_data(rest_day_seen=to_db(moment))
        await message.answer(
            t(
                "{when} is a rest day (a weekend or a public holiday). If the session really is "
                "on that day, confirm below or send the same date and time again; otherwise "
                "type the right one.",
                when=_when(moment),
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    _button(_("Yes, on that day"), MedAction.rest_day_ok, int(data["case_id"]))
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
                _button(
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
    if await _form_case(message, state) is None or not isinstance(data.get("starts_at"), str):
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
            when=_when(starts_at),
            place=html.escape(place),
        )
    else:
        text = t(
            "Session scheduled: {when}, {place}. Both parties and the mediator are told, and "
            "reminded the day before and two hours before.",
            when=_when(starts_at),
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
        await _alert(query, Result.not_allowed)
        return
    result = await mediation.sessions.cancel(callback_data.item_id, user, callback_data.version)
    if result is not Result.done:
        await _alert(query, result)
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
        await _alert(query, result)
        return
    await query.answer(
        _("Thank you: you will come.")
        if coming
        else _("Thank you: the mediator is told that you cannot come."),
        show_alert=True,
    )


# -- outcome -----------------------------------------------------------------------------------


async def agreed_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if await mediation.viewer(callback_data.item_id, user, query.from_user.id) is not (
        Viewer.mediator
    ):
        await _alert(query, Result.not_allowed)
        return
    await query.answer()
    await state.set_state(MediationForm.terms)
    await state.update_data(case_id=callback_data.item_id)
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Type the main terms of the agreement: who does what, how and by when (they "
                "are kept in the case file)."
            )
        )


async def terms_text(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None = None
) -> None:
    assert message.text is not None
    terms = message.text.strip()
    if len(terms) < 5 or len(terms) > MAX_TERMS:
        await message.answer(t("Please type the terms in 5 to {n} characters.", n=MAX_TERMS))
        return
    case_id = await _form_case(message, state)
    if case_id is None:
        return
    await state.clear()
    if user is None:
        await message.answer(_("This is not available to you."))
        return
    result, facts = await mediation.outcome.agree(case_id, user, terms)
    if result is not Result.done:
        await message.answer(_(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])))
        return
    await message.answer(
        t(
            "Agreement recorded. The parties may apply together for judicial confirmation by "
            "{due} (Civil Procedure Law, Art. 205) and are reminded before that day. The "
            "follow-up visit is due in {days} days.",
            due=datetime.fromisoformat(str(facts["confirm_due"])).date(),
            days=mediation.settings.followup_days,
        )
    )


async def failed_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if await mediation.viewer(callback_data.item_id, user, query.from_user.id) is not (
        Viewer.mediator
    ):
        await _alert(query, Result.not_allowed)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "End the mediation without an agreement? The parties are told the routes that "
                "remain."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    _button(_("Yes, no agreement"), MedAction.failed_ok, callback_data.item_id)
                ]
            ),
        )


async def failed_confirm(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if user is None:
        await _alert(query, Result.not_allowed)
        return
    result = await mediation.outcome.fail(callback_data.item_id, user)
    if result is not Result.done:
        await _alert(query, result)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Recorded: no agreement. The case is closed; the parties are told.")
        )


async def followup_choice(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if await mediation.viewer(callback_data.item_id, user, query.from_user.id) is not (
        Viewer.mediator
    ):
        await _alert(query, Result.not_allowed)
        return
    await query.answer()
    await state.set_state(MediationForm.followup_note)
    await state.update_data(
        case_id=callback_data.item_id, kept=callback_data.action is MedAction.kept
    )
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Add a short note on the follow-up visit, or press the button for none."),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[_button(_("No note"), MedAction.no_note, callback_data.item_id)]
            ),
        )


async def followup_note(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None = None
) -> None:
    assert message.text is not None
    if len(message.text.strip()) > MAX_NOTE:
        await message.answer(t("Please keep the note to {n} characters.", n=MAX_NOTE))
        return
    await _save_followup(message, state, mediation, user, message.text)


async def followup_no_note(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    data = await state.get_data()
    if (
        await state.get_state() != MediationForm.followup_note.state
        or data.get("case_id") != callback_data.item_id
    ):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _save_followup(query.message, state, mediation, user, None)


async def _save_followup(
    message: Message,
    state: FSMContext,
    mediation: Mediation,
    user: User | None,
    note: str | None,
) -> None:
    data = await state.get_data()
    if await _form_case(message, state) is None:
        return
    await state.clear()
    if user is None:
        await message.answer(_("This is not available to you."))
        return
    result = await mediation.outcome.record_followup(
        int(data["case_id"]), user, kept=bool(data.get("kept")), note=note
    )
    if result is not Result.done:
        await message.answer(_(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])))
        return
    await message.answer(_("Follow-up visit recorded."))


# -- the mediation period ----------------------------------------------------------------------


async def extend_ask(
    query: CallbackQuery,
    callback_data: MediationButton,
    state: FSMContext,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if await mediation.viewer(callback_data.item_id, user, query.from_user.id) is not (
        Viewer.mediator
    ):
        await _alert(query, Result.not_allowed)
        return
    await query.answer()
    await state.set_state(MediationForm.ext_reason)
    await state.update_data(case_id=callback_data.item_id)
    if isinstance(query.message, Message):
        await query.message.answer(
            t(
                "The county allows one extension of the mediation period, by {days} days, with "
                "the room lead's approval. Type the reason.",
                days=mediation.period.extension_days() or 0,
            )
        )


async def extend_reason(
    message: Message, state: FSMContext, mediation: Mediation, user: User | None = None
) -> None:
    assert message.text is not None
    reason = message.text.strip()
    if len(reason) < 2 or len(reason) > MAX_REASON:
        await message.answer(t("Please type the reason in at most {n} characters.", n=MAX_REASON))
        return
    case_id = await _form_case(message, state)
    if case_id is None:
        return
    await state.clear()
    if user is None:
        await message.answer(_("This is not available to you."))
        return
    result = await mediation.period.request_extension(case_id, user, reason)
    if result is not Result.done:
        await message.answer(_(RESULT_TEXTS.get(result, RESULT_TEXTS[Result.not_allowed])))
        return
    await message.answer(_("The request was sent to the room lead."))


async def extension_decision(
    query: CallbackQuery,
    callback_data: MediationButton,
    mediation: Mediation,
    user: User | None = None,
) -> None:
    if user is None:
        await _alert(query, Result.not_allowed)
        return
    approve = callback_data.action is MedAction.approve
    result = await mediation.period.decide(callback_data.item_id, user, approve=approve)
    if result is not Result.done:
        await _alert(query, result)
        return
    await query.answer(
        _("Approved: the mediation period is extended; everyone is told.")
        if approve
        else _("Refused: the mediator is told."),
        show_alert=True,
    )


# -- routers -----------------------------------------------------------------------------------


def build_link_router() -> Router:
    """``/start op_<token>``: before the start router, which takes every other /start."""
    router = Router(name="mediation-link")
    router.message.register(
        start_with_link,
        CommandStart(deep_link=True, magic=F.args.startswith(LINK_PREFIX)),
    )
    return router


def build_router() -> Router:
    router = Router(name="mediation")
    router.message.register(command_mediate, Command("mediate"))
    on = MediationButton.filter
    router.callback_query.register(open_page, on(F.action == MedAction.open))
    router.callback_query.register(consent, on(F.action == MedAction.consent))
    router.callback_query.register(refused_ask, on(F.action == MedAction.refused))
    router.callback_query.register(refused_confirm, on(F.action == MedAction.refused_ok))
    router.callback_query.register(send_link, on(F.action == MedAction.link))
    router.callback_query.register(
        op_decide,
        StateFilter(MediationForm.op_decide),
        on(F.action.in_({MedAction.op_agree, MedAction.op_refuse}) & (F.item_id == 0)),
    )
    router.callback_query.register(op_refuse_ask, on(F.action == MedAction.op_refuse))
    router.callback_query.register(op_refuse_confirm, on(F.action == MedAction.op_refuse_ok))
    router.callback_query.register(
        session_ask, on(F.action.in_({MedAction.session, MedAction.move}))
    )
    router.callback_query.register(rest_day_ok, on(F.action == MedAction.rest_day_ok))
    router.callback_query.register(same_place, on(F.action == MedAction.same_place))
    router.callback_query.register(session_cancel, on(F.action == MedAction.cancel))
    router.callback_query.register(
        attendance, on(F.action.in_({MedAction.come, MedAction.cannot}))
    )
    router.callback_query.register(agreed_ask, on(F.action == MedAction.agreed))
    router.callback_query.register(failed_ask, on(F.action == MedAction.failed))
    router.callback_query.register(failed_confirm, on(F.action == MedAction.failed_ok))
    router.callback_query.register(
        followup_choice, on(F.action.in_({MedAction.kept, MedAction.broken}))
    )
    router.callback_query.register(followup_no_note, on(F.action == MedAction.no_note))
    router.callback_query.register(extend_ask, on(F.action == MedAction.extend))
    router.callback_query.register(
        extension_decision, on(F.action.in_({MedAction.approve, MedAction.refuse_ext}))
    )
    text = (When(F.text), NotCommand())
    for state, handler in (
        (MediationForm.op_name, op_name),
        (MediationForm.op_phone, op_phone),
        (MediationForm.session_time, session_time),
        (MediationForm.move_time, session_time),
        (MediationForm.session_place, session_place),
        (MediationForm.move_place, session_place),
        (MediationForm.terms, terms_text),
        (MediationForm.followup_note, followup_note),
        (MediationForm.ext_reason, extend_reason),
    ):
        router.message.register(handler, StateFilter(state), *text)
    return router
