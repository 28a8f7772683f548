"""Mediation assignment in the chat: offers answered, the mediator profile, the room lead.

Mediators answer offers (accept; decline with a reason chosen or typed), keep their profile
(/profile: the name citizens see, a phone for conflict checks, skills and maximum load by
buttons; /away for absences) and step aside from a case (/conflict). The room lead sees the
room's mediators (/mediators) and unassigned cases (/unassigned) and assigns by hand;
administrators see every mediator and make one the lead of their room. The services decide
who may do what (``cases.mediation``); this module parses, calls and renders.
"""

from __future__ import annotations

import contextlib
import html
from datetime import date

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from cases.mediation.assignment import (
    MAX_REASON,
    AssignmentService,
    DeclineReason,
    Outcome,
    Result,
)
from cases.mediation.profiles import (
    MediatorProfiles,
    ProfileError,
    parse_day,
)
from cases.org.organisation import Organisation
from cases.org.users import Role, User, UserRepository
from handlers.assignment_callbacks import (
    LeadAssign,
    LeadOp,
    OfferAnswer,
    OfferDecline,
    OfferOp,
    ProfileAction,
    ProfileOp,
)
from handlers.assignment_pages import (
    AWAY_USAGE,
    BAD_DATE,
    CONFLICT_USAGE,
    DECLINE_LABELS,
    LEADS_ONLY,
    UNASSIGNED_SHOWN,
    DeclineText,
    item_name,
    offer_refusal,
    person_name,
    profile_reply,
)
from handlers.filters import HasRole, NotCommand
from handlers.keyboards import button, grid
from handlers.texts import t
from settings import Settings

# -- mediator profile ----------------------------------------------------------------------


async def command_profile(
    message: Message,
    command: CommandObject,
    user: User,
    mediators: MediatorProfiles,
    assignment: AssignmentService,
    org: Organisation,
    settings: Settings,
) -> None:
    config = settings.mediation
    args = (command.args or "").strip()
    field, _sep, value = args.partition(" ")
    try:
        if field == "name" and value.strip():
            profile = await mediators.set_shown_name(user, user.telegram_id, value)
        elif field == "realname" and value.strip():
            profile = await mediators.set_real_name(user, user.telegram_id, value)
        elif field == "phone" and value.strip():
            profile = await mediators.set_phone(user, user.telegram_id, value)
        else:
            profile = await mediators.profile(user, user.telegram_id)
    except ProfileError as exc:
        await message.answer(_(exc.msgid))
        return
    text, markup = await profile_reply(user, profile, mediators, assignment, org, config)
    await message.answer(text, reply_markup=markup)


async def command_away(
    message: Message,
    command: CommandObject,
    user: User,
    mediators: MediatorProfiles,
    assignment: AssignmentService,
    org: Organisation,
    settings: Settings,
) -> None:
    """``/away 2026-12-20 2026-12-31``; a lead may add one for a mediator of the room:
    ``/away <id> 2026-12-20 2026-12-31``. Without dates: the absences, to delete."""
    config = settings.mediation
    parts = (command.args or "").split()
    target = user.telegram_id
    if len(parts) == 3 and parts[0].isdigit():
        target = int(parts[0])
        parts = parts[1:]
    try:
        if not parts:
            profile = await mediators.profile(user, target)
            text, markup = await profile_reply(user, profile, mediators, assignment, org, config)
            await message.answer(_(AWAY_USAGE) + "\n\n" + text, reply_markup=markup)
            return
        today = assignment.today()
        try:
            first = parse_day(parts[0], today)
            last = parse_day(parts[1], today) if len(parts) > 1 else first
        except ValueError:
            await message.answer(_(BAD_DATE))
            return
        profile = await mediators.add_absence(user, target, first, last)
    except ProfileError as exc:
        await message.answer(_(exc.msgid))
        return
    text, markup = await profile_reply(user, profile, mediators, assignment, org, config)
    await message.answer(
        t("Absence recorded: {start} – {end}.", start=first.isoformat(), end=last.isoformat())
        + "\n\n"
        + text,
        reply_markup=markup,
    )


async def on_profile_action(
    query: CallbackQuery,
    callback_data: ProfileAction,
    user: User,
    mediators: MediatorProfiles,
    assignment: AssignmentService,
    org: Organisation,
    settings: Settings,
) -> None:
    config = settings.mediation
    m, value = callback_data.mediator_id, callback_data.value
    try:
        match callback_data.op:
            case ProfileOp.show:
                profile = await mediators.profile(user, m)
            case ProfileOp.skill:
                profile = await mediators.toggle_skill(user, m, value)
            case ProfileOp.load:
                profile = await mediators.set_max_load(user, m, value)
            case ProfileOp.unaway:
                profile = await mediators.delete_absence(user, m, value)
            case ProfileOp.lead:
                profile = await mediators.set_lead(user, m, bool(value))
    except ProfileError as exc:
        await query.answer(_(exc.msgid), show_alert=True)
        return
    await query.answer()
    text, markup = await profile_reply(user, profile, mediators, assignment, org, config)
    if callback_data.op is ProfileOp.show or not isinstance(query.message, Message):
        if query.message is not None:
            await query.message.answer(text, reply_markup=markup)
        return
    # The same button twice leaves the text unchanged, which Telegram refuses to "edit": the
    # record is what counts.
    with contextlib.suppress(TelegramBadRequest):
        await query.message.edit_text(text, reply_markup=markup)


async def command_mediators(
    message: Message,
    user: User,
    mediators: MediatorProfiles,
    assignment: AssignmentService,
    org: Organisation,
) -> None:
    people = await mediators.room_mediators(user)
    if not people:
        await message.answer(_("No mediators yet."))
        return
    loads = await assignment.open_load([p.telegram_id for p in people])
    buttons = [
        button(
            t(
                "{name} · {room} · {load} open{lead}",
                name=person_name(p),
                room=item_name(org, "room", p.unit),
                load=loads[p.telegram_id],
                lead=" · " + _("lead") if p.leads_room else "",
            ),
            ProfileAction(op=ProfileOp.show, mediator_id=p.telegram_id),
        )
        for p in people
    ]
    await message.answer(_("Mediators (tap one to open the profile):"), reply_markup=grid(buttons))


# -- offers --------------------------------------------------------------------------------


async def on_offer(
    query: CallbackQuery,
    callback_data: OfferAnswer,
    user: User,
    assignment: AssignmentService,
) -> None:
    offer_id = callback_data.offer_id
    if callback_data.op is OfferOp.accept:
        result = await assignment.accept(offer_id, user)
        if result.outcome is Outcome.done:
            await query.answer()
            if isinstance(query.message, Message):
                with contextlib.suppress(TelegramBadRequest):
                    await query.message.edit_reply_markup(reply_markup=None)
                await query.message.answer(
                    t(
                        "You accepted mediation case {number}. Please contact the applicant by "
                        "{date}.",
                        number=f"<code>{html.escape(result.number or '')}</code>",
                        date=date.fromisoformat(str(result.detail["contact_due"])),
                    )
                )
            return
        if result.outcome is Outcome.already:
            await query.answer(_("You have already accepted this case."))
            return
        await query.answer(offer_refusal(result), show_alert=True)
        return
    state = await assignment.pending_offer(offer_id, user)
    if state.outcome is not Outcome.done:
        await query.answer(offer_refusal(state), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        await query.message.answer(
            t(
                "Why do you decline case {number}?",
                number=f"<code>{html.escape(state.number or '')}</code>",
            ),
            reply_markup=grid(
                [
                    button(_(label), OfferDecline(offer_id=offer_id, reason=reason))
                    for reason, label in DECLINE_LABELS.items()
                ]
            ),
        )


async def _declined(message: Message, result: Result) -> None:
    if result.outcome is Outcome.done:
        await message.answer(
            t(
                "You declined case {number}; it passes to another mediator.",
                number=f"<code>{html.escape(result.number or '')}</code>",
            )
        )
    elif result.outcome is Outcome.already:
        await message.answer(_("You have already declined this case."))
    else:
        await message.answer(offer_refusal(result))


async def on_decline(
    query: CallbackQuery,
    callback_data: OfferDecline,
    user: User,
    assignment: AssignmentService,
    state: FSMContext,
) -> None:
    if callback_data.reason is DeclineReason.other:
        pending = await assignment.pending_offer(callback_data.offer_id, user)
        if pending.outcome is not Outcome.done:
            await query.answer(offer_refusal(pending), show_alert=True)
            return
        await state.set_state(DeclineText.reason)
        await state.update_data(offer_id=callback_data.offer_id)
        await query.answer()
        if query.message is not None:
            await query.message.answer(_("Please type the reason in one message."))
        return
    result = await assignment.decline(callback_data.offer_id, user, callback_data.reason)
    if result.outcome in (Outcome.refused, Outcome.stale):
        await query.answer(offer_refusal(result), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await _declined(query.message, result)


async def on_decline_text(
    message: Message, user: User, assignment: AssignmentService, state: FSMContext
) -> None:
    text = (message.text or "").strip()
    if not text:
        await message.answer(_("Please type the reason in one message."))
        return
    if len(text) > MAX_REASON:
        await message.answer(
            t(
                "Please say it in at most {n} characters (yours has {count}).",
                n=MAX_REASON,
                count=len(text),
            )
        )
        return
    offer_id = int((await state.get_data()).get("offer_id", 0))
    await state.clear()
    result = await assignment.decline(offer_id, user, DeclineReason.other, text)
    await _declined(message, result)


async def command_conflict(
    message: Message, command: CommandObject, user: User, assignment: AssignmentService
) -> None:
    number, _sep, reason = (command.args or "").strip().partition(" ")
    if not number:
        await message.answer(_(CONFLICT_USAGE))
        return
    if len(reason.strip()) > MAX_REASON:
        await message.answer(
            t(
                "Please say it in at most {n} characters (yours has {count}).",
                n=MAX_REASON,
                count=len(reason.strip()),
            )
        )
        return
    result = await assignment.declare_conflict(user, number, reason)
    if result.outcome is Outcome.stale:
        await message.answer(
            t(
                "Case {number} is closed; there is nothing to hand on, and it keeps you as its "
                "mediator.",
                number=f"<code>{html.escape(result.number or '')}</code>",
            )
        )
        return
    if result.outcome is not Outcome.done:
        await message.answer(_("You hold no offer or case with this number."))
        return
    await message.answer(
        t(
            "Conflict of interest recorded on case {number}; the case passes to another "
            "mediator and will not be offered to you again.",
            number=f"<code>{html.escape(result.number or '')}</code>",
        )
    )


# -- the room lead -------------------------------------------------------------------------


async def command_unassigned(
    message: Message,
    user: User,
    assignment: AssignmentService,
    org: Organisation,
    users: UserRepository,
) -> None:
    if not user.leads_room:
        await message.answer(_(LEADS_ONLY))
        return
    cases = await assignment.unassigned(user)
    if not cases:
        await message.answer(_("Every mediation case of your room has a mediator."))
        return
    lines = ["<b>" + _("Mediation cases without a mediator") + "</b>"]
    buttons = []
    if len(cases) > UNASSIGNED_SHOWN:
        lines.append(
            t("The oldest {shown} of {count} are shown.", shown=UNASSIGNED_SHOWN, count=len(cases))
        )
    for item in cases[:UNASSIGNED_SHOWN]:
        if item.pending_to is not None and item.pending_until is not None:
            person = await users.get(item.pending_to)
            state = t(
                "offered to {name}, answer due {when}",
                name=html.escape(person_name(person)),
                when=item.pending_until.astimezone(assignment.tz).strftime("%Y-%m-%d %H:%M"),
            )
        else:
            state = _("nobody eligible now")
        if item.last_reason:
            code, _sep, note = item.last_reason.partition(":")
            try:
                label = _(DECLINE_LABELS[DeclineReason(code)])
            except ValueError:
                label = code
            state += t("; last declined: {reason}", reason=html.escape(note or label))
        lines.append(
            t(
                "• {number} · {category} · {township} · received {received} · {state}; "
                "declined {declined}, ran out {expired}",
                number=f"<code>{html.escape(item.number)}</code>",
                category=html.escape(item_name(org, "category", item.category_id)),
                township=html.escape(item_name(org, "township", item.township_id)),
                received=item.received_on.isoformat(),
                state=state,
                declined=item.declined,
                expired=item.expired,
            )
        )
        buttons.append(
            button(
                t("Assign {number}", number=item.number),
                LeadAssign(op=LeadOp.pick, case_id=item.case_id),
            )
        )
    await message.answer("\n".join(lines), reply_markup=grid(buttons, 2))


async def on_lead_assign(
    query: CallbackQuery,
    callback_data: LeadAssign,
    user: User,
    assignment: AssignmentService,
    users: UserRepository,
) -> None:
    case_id = callback_data.case_id
    if callback_data.op is LeadOp.pick:
        allowed = await assignment.choosable(user, case_id)
        if allowed is None:
            await query.answer(_("This case is not yours to assign."), show_alert=True)
            return
        await query.answer()
        if not allowed:
            if query.message is not None:
                await query.message.answer(
                    _("Every mediator of the room has a conflict of interest on this case.")
                )
            return
        loads = await assignment.open_load(allowed)
        away = await assignment.absent_today(allowed)
        buttons = []
        for mediator_id in allowed:
            person = await users.get(mediator_id)
            label = t("{name} · {load} open", name=person_name(person), load=loads[mediator_id])
            if mediator_id in away:
                label += " · " + _("away today")
            buttons.append(
                button(
                    label,
                    LeadAssign(op=LeadOp.assign, case_id=case_id, mediator_id=mediator_id),
                )
            )
        if query.message is not None:
            await query.message.answer(_("Assign to:"), reply_markup=grid(buttons))
        return
    result = await assignment.assign_by_lead(user, case_id, callback_data.mediator_id)
    if result.outcome is Outcome.refused:
        await query.answer(_("This case is not yours to assign."), show_alert=True)
        return
    if result.outcome is Outcome.conflict:
        await query.answer(
            _("This mediator has a conflict of interest on the case."), show_alert=True
        )
        return
    if result.outcome is Outcome.stale:
        await query.answer(_("This case already has a mediator."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        person = await users.get(callback_data.mediator_id)
        await query.message.answer(
            t(
                "Case {number} assigned to {name}; the mediator and the applicant are told.",
                number=f"<code>{html.escape(result.number or '')}</code>",
                name=html.escape(person_name(person)),
            )
        )


def build_router() -> Router:
    router = Router(name="assignment")
    mediator = HasRole(Role.mediator)
    router.message.register(
        on_decline_text, StateFilter(DeclineText.reason), mediator, F.text, NotCommand()
    )
    router.message.register(command_profile, Command("profile"), mediator)
    router.message.register(command_away, Command("away"), mediator)
    router.message.register(command_conflict, Command("conflict"), mediator)
    router.message.register(command_unassigned, Command("unassigned"), mediator)
    router.message.register(
        command_mediators, Command("mediators"), HasRole(Role.mediator, Role.admin)
    )
    router.callback_query.register(on_offer, OfferAnswer.filter(), mediator)
    router.callback_query.register(on_decline, OfferDecline.filter(), mediator)
    router.callback_query.register(on_lead_assign, LeadAssign.filter(), mediator)
    router.callback_query.register(
        on_profile_action, ProfileAction.filter(), HasRole(Role.mediator, Role.admin)
    )
    return router
