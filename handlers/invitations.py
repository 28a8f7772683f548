"""Staff onboarding by invitation (/invite, /start inv_…) and the member list (/staff).

An administrator picks a role and a unit with buttons and receives a one-time link, shown once
(``cases.org.invitations``). Whoever opens it becomes staff of that unit, sees their role and
staff menu, and the inviting administrator is told. ``/staff`` lists members by unit and the
pending invitations, with buttons to revoke an invitation or remove a member
(``cases.org.membership.remove_member``: their open mediation cases go back to the room).

Every press is authorised again: the router is for administrators only; the invitation and the
removal are compare-and-set in the database, so a double press or a stale button acts once.
"""

from __future__ import annotations

import contextlib
import html
from enum import StrEnum

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandStart, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_, format_date, translate
from cases.org.invitations import (
    Invitation,
    InvitationService,
    Member,
    Outcome,
    staff_members,
    start_link,
    token_from_payload,
)
from cases.org.membership import remove_member
from cases.org.organisation import Organisation
from cases.org.users import Role, User, UserRepository
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock
from handlers.admin import ROLE_NAMES, staff_menu_text
from handlers.callbacks import RowId
from handlers.commands import set_person_menu
from handlers.filters import HasRole
from handlers.keyboards import button, grid
from handlers.replies import edit_text
from handlers.start import KEPT_BY_START
from handlers.texts import current_locale, t
from settings import Settings


class InviteKind(StrEnum):
    """What an invitation makes its user: a role, with the flag it may carry."""

    mediator = "m"
    room_lead = "ml"  # a mediator who leads their room (users.leads_room)
    office_staff = "o"
    reconsideration_head = "oh"  # office staff heading the reconsideration body (FY 62(1))
    agency_liaison = "l"
    agency_head = "h"


KINDS: dict[InviteKind, tuple[Role, bool, bool]] = {
    # kind: (role, heads_reconsideration, leads_room)
    InviteKind.mediator: (Role.mediator, False, False),
    InviteKind.room_lead: (Role.mediator, False, True),
    InviteKind.office_staff: (Role.office_staff, False, False),
    InviteKind.reconsideration_head: (Role.office_staff, True, False),
    InviteKind.agency_liaison: (Role.agency_liaison, False, False),
    InviteKind.agency_head: (Role.agency_head, False, False),
}
KIND_LABELS: dict[InviteKind, str] = {
    InviteKind.mediator: N_("Mediator"),
    InviteKind.room_lead: N_("Mediator leading the room"),
    InviteKind.office_staff: N_("Office staff"),
    InviteKind.reconsideration_head: N_("Head of the reconsideration body"),
    InviteKind.agency_liaison: N_("Agency liaison"),
    InviteKind.agency_head: N_("Agency head"),
}
ROOM_LEAD = N_("leads the room")
RECONSIDERATION_HEAD = N_("head of the reconsideration body")
CASE_OFFICE_ROLES = frozenset({"reconsideration", "petition"})
MEMBER_LINES = 120  # keeps /staff inside Telegram's 4096 characters


class InviteStep(CallbackData, prefix="invite"):
    """``invite:<kind>:<unit>``: the kind chosen (no unit yet), then the unit."""

    kind: InviteKind
    unit: str = Field(default="", max_length=40)


class MemberOp(StrEnum):
    revoke = "revoke"
    remove = "remove"  # ask
    confirm = "confirm"  # remove, confirmed


class StaffManage(CallbackData, prefix="members"):
    """``members:<op>:<id>``: an invitation id (revoke) or a Telegram id (remove)."""

    op: MemberOp
    target: RowId


# -- units ---------------------------------------------------------------------------------------


def units_for(org: Organisation, kind: InviteKind) -> list[tuple[str, str]]:
    """The units a kind of invitation may name, from the organisation file."""
    role, head, _lead = KINDS[kind]
    if role is Role.mediator:
        return [(r.id, r.name) for r in org.mediation_rooms]
    if role is Role.office_staff:
        return [
            (o.id, o.name)
            for o in org.offices
            if (o.role == "reconsideration" if head else o.role in CASE_OFFICE_ROLES)
        ]
    return [(a.id, a.name) for a in org.agencies]


def unit_name(org: Organisation, unit: str | None) -> str | None:
    """The name of a room, agency or office id (ids are unique across kinds)."""
    if unit is None:
        return None
    for kind in ("room", "agency", "office"):
        with contextlib.suppress(LookupError):
            return str(getattr(org, kind)(unit).name)
    return None


def _role_text(role: Role, head: bool, lead: bool) -> str:
    """The role and the flag it carries: 调解员（调解室负责人）."""
    flags = [_(ROOM_LEAD)] if lead else []
    flags += [_(RECONSIDERATION_HEAD)] if head else []
    if not flags:
        return _(ROLE_NAMES[role])
    if current_locale() == "zh":
        return _(ROLE_NAMES[role]) + "（" + "，".join(flags) + "）"
    return f"{_(ROLE_NAMES[role])} ({', '.join(flags)})"


# -- /invite -------------------------------------------------------------------------------------


async def command_invite(message: Message, settings: Settings) -> None:
    buttons = [button(_(KIND_LABELS[kind]), InviteStep(kind=kind)) for kind in InviteKind]
    await message.answer(
        t(
            "Whom do you invite? The link you get works once, for {days} days, and can be "
            "revoked with /staff.",
            days=settings.invitation_days,
        ),
        reply_markup=grid(buttons, width=2),
    )


async def on_kind(query: CallbackQuery, callback_data: InviteStep, org: Organisation) -> None:
    await query.answer()
    buttons = [
        button(name, InviteStep(kind=callback_data.kind, unit=unit_id))
        for unit_id, name in units_for(org, callback_data.kind)
        if len(InviteStep(kind=callback_data.kind, unit=unit_id).pack().encode()) <= 64
    ]
    if isinstance(query.message, Message):
        await edit_text(
            query.message,
            t("{kind}: which unit?", kind=_(KIND_LABELS[callback_data.kind])),
            grid(buttons, width=2),
        )


async def on_unit(
    query: CallbackQuery,
    callback_data: InviteStep,
    org: Organisation,
    invitations: InvitationService,
    bot: Bot,
) -> None:
    kind = callback_data.kind
    if callback_data.unit not in dict(units_for(org, kind)) or not isinstance(
        query.message, Message
    ):
        await query.answer(_("There is no such unit."), show_alert=True)
        return
    role, head, lead = KINDS[kind]
    made = await invitations.create(
        role,
        callback_data.unit,
        created_by=query.from_user.id,
        request_key=f"{query.message.chat.id}:{query.message.message_id}",
        head=head,
        lead=lead,
    )
    if made is None:
        await query.answer(
            _("This button already made a link; it is shown only once. Send /invite for another."),
            show_alert=True,
        )
        return
    await query.answer()
    invitation, token = made
    username = (await bot.me()).username or ""
    text = t(
        "Invitation for {role} of {unit}, valid until {until}.\n"
        "Send this link to the person; it works once and is shown only this time:\n{link}",
        role=_role_text(role, head, lead),
        unit=html.escape(unit_name(org, invitation.unit) or invitation.unit),
        until=_until(invitation),
        link=f"<code>{html.escape(start_link(username, token))}</code>",
    )
    await edit_text(query.message, text)


def _until(invitation: Invitation) -> str:
    moment = invitation.expires_at.astimezone(LEGAL_TZ)
    return f"{format_date(moment.date(), current_locale())} {moment:%H:%M}"


# -- /start inv_… --------------------------------------------------------------------------------


class InvitationLink(Filter):
    """``/start inv_<token>``: passes the token (empty when it is malformed) to the handler."""

    async def __call__(self, message: Message) -> bool | dict[str, str]:
        parts = (message.text or "").split(maxsplit=1)
        token = token_from_payload(parts[1].strip() if len(parts) == 2 else None)
        return False if token is None else {"token": token}


OUTCOME_TEXTS: dict[Outcome, str] = {
    Outcome.used: N_("This invitation link has already been used. Nothing was changed."),
    Outcome.expired: N_(
        "This invitation link has expired. Nothing was changed; ask the administrator for a "
        "new one."
    ),
    Outcome.revoked: N_("This invitation link was revoked. Nothing was changed."),
    Outcome.unknown: N_("This invitation link is not valid. Nothing was changed."),
    Outcome.administrator: N_(
        "You are an administrator; this link would take that role away. Nothing was changed: "
        "send the link to the person it is meant for."
    ),
}
JOINED_ADMIN = N_("{name} ({id}) used your invitation and is now {role} of {unit}.")


async def on_invitation_link(
    message: Message,
    token: str,
    state: FSMContext,
    invitations: InvitationService,
    users: UserRepository,
    org: Organisation,
    bot: Bot,
    settings: Settings,
) -> None:
    if await state.get_state() not in (None, *KEPT_BY_START):
        await state.clear()  # as /start: the next text answers no question left on screen
    if message.from_user is None:
        return
    result = await invitations.accept(token, message.from_user.id) if token else None
    outcome = result.outcome if result is not None else Outcome.unknown
    if result is None or outcome is not Outcome.joined or result.invitation is None:
        await message.answer(_(OUTCOME_TEXTS[outcome]))
        return
    invitation = result.invitation
    users.forget(message.from_user.id)
    user = await users.ensure(message.from_user.id, display_name=message.from_user.full_name)
    name = unit_name(org, invitation.unit)
    locale = current_locale()
    lines = [_("Welcome to the county's staff.")]
    if user.leads_room:
        lines.append(_("You lead your mediation room: you see its cases and assign them."))
    if user.heads_reconsideration:
        lines.append(
            _(
                "You head the reconsideration body: you approve extensions of the decision "
                "period (Administrative Reconsideration Law, Art. 62(1))."
            )
        )
    lines.append(staff_menu_text(user, locale, name))
    await message.answer("\n\n".join(lines))
    await set_person_menu(bot, user, settings.default_locale)
    await _tell_inviter(bot, users, invitation, user, name, settings.default_locale)


async def _tell_inviter(
    bot: Bot,
    users: UserRepository,
    invitation: Invitation,
    member: User,
    name: str | None,
    default: str,
) -> None:
    inviter = await users.get(invitation.created_by)
    locale = (inviter.locale if inviter else None) or default
    role = translate(locale, ROLE_NAMES[invitation.role])
    text = translate(locale, JOINED_ADMIN).format(
        name=html.escape(member.display_name or str(member.telegram_id)),
        id=f"<code>{member.telegram_id}</code>",
        role=role,
        unit=html.escape(name or invitation.unit),
    )
    with contextlib.suppress(TelegramBadRequest, TelegramForbiddenError):
        await bot.send_message(invitation.created_by, text)


# -- /staff --------------------------------------------------------------------------------------


def _member_line(member: Member) -> str:
    who = html.escape(member.display_name or "—")
    return (
        f"· {who} <code>{member.telegram_id}</code> "
        f"{_role_text(member.role, member.heads_reconsideration, member.leads_room)}"
    )


async def command_staff(
    message: Message,
    db: Database,
    org: Organisation,
    invitations: InvitationService,
    settings: Settings,
) -> None:
    await _send_staff(message, db, org, invitations, settings)


async def _send_staff(
    message: Message,
    db: Database,
    org: Organisation,
    invitations: InvitationService,
    settings: Settings,
) -> None:
    members = await staff_members(db)
    me = message.chat.id
    lines = [_("<b>Staff</b>, by unit:")]
    by_unit: dict[str, list[Member]] = {}
    for member in members:
        by_unit.setdefault(unit_name(org, member.unit) or _("(no unit)"), []).append(member)
    for unit, people in by_unit.items():
        lines.append(f"<b>{html.escape(unit)}</b>")
        lines += [_member_line(m) for m in people]
    if not members:
        lines.append(_("Nobody has a staff role yet; the administrators receive everything."))
    lines = lines[:MEMBER_LINES]
    pending = await invitations.pending()
    lines.append("")
    lines.append(_("<b>Pending invitations:</b>") if pending else _("No pending invitations."))
    buttons: list[InlineKeyboardButton] = []
    for invitation in pending:
        role, head, lead = invitation.role, invitation.heads_reconsideration, invitation.leads_room
        lines.append(
            f"#{invitation.id} {_role_text(role, head, lead)} · "
            f"{html.escape(unit_name(org, invitation.unit) or invitation.unit)} · "
            + t("until {until}", until=_until(invitation))
        )
        buttons.append(
            button(
                t("Revoke #{id}", id=invitation.id),
                StaffManage(op=MemberOp.revoke, target=invitation.id),
            )
        )
    for member in members:
        if member.telegram_id == me or member.telegram_id in settings.admin_ids:
            continue  # not yourself; ADMIN_IDS are set in the settings, not here
        buttons.append(
            button(
                t("Remove {name}", name=member.display_name or member.telegram_id),
                StaffManage(op=MemberOp.remove, target=member.telegram_id),
            )
        )
    await message.answer("\n".join(lines), reply_markup=grid(buttons[:90], width=2))


async def on_revoke(
    query: CallbackQuery,
    callback_data: StaffManage,
    invitations: InvitationService,
) -> None:
    revoked = await invitations.revoke(callback_data.target, by=query.from_user.id)
    if revoked is None:
        await query.answer(_("This invitation is no longer pending."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            t("Invitation #{id} is revoked: its link no longer works.", id=revoked.id)
        )


async def on_remove(
    query: CallbackQuery,
    callback_data: StaffManage,
    users: UserRepository,
    org: Organisation,
) -> None:
    member = await users.get(callback_data.target)
    if member is None or member.role is Role.citizen:
        await query.answer(_("This person is no longer a staff member."), show_alert=True)
        return
    await query.answer()
    text = t(
        "Remove {name} ({role}{unit}) from the staff? Their role goes back to citizen; open "
        "mediation cases assigned to them go back to their room's queue.",
        name=html.escape(member.display_name or str(member.telegram_id)),
        role=_(ROLE_NAMES[member.role]),
        unit=f", {html.escape(unit_name(org, member.unit) or '')}" if member.unit else "",
    )
    if isinstance(query.message, Message):
        await query.message.answer(
            text,
            reply_markup=grid(
                [
                    button(
                        _("Yes, remove"),
                        StaffManage(op=MemberOp.confirm, target=member.telegram_id),
                    )
                ]
            ),
        )


async def on_confirm_remove(
    query: CallbackQuery,
    callback_data: StaffManage,
    db: Database,
    clock: Clock,
    users: UserRepository,
    bot: Bot,
    settings: Settings,
) -> None:
    target = callback_data.target
    if target == query.from_user.id or target in settings.admin_ids:
        await query.answer(
            _("Administrators named in ADMIN_IDS, and you yourself, are not removed here."),
            show_alert=True,
        )
        return
    removal = await remove_member(db, clock, target, by=query.from_user.id)
    if removal is None:
        await query.answer(_("This person is no longer a staff member."), show_alert=True)
        return
    await query.answer()
    users.forget(target)
    person = await users.ensure(target)
    await set_person_menu(bot, person, settings.default_locale)
    locale = person.locale or settings.default_locale
    with contextlib.suppress(TelegramBadRequest, TelegramForbiddenError):
        await bot.send_message(
            target,
            translate(
                locale,
                N_(
                    "An administrator removed your staff role in this service. You can still "
                    "use it as a citizen."
                ),
            ),
        )
    text = t("Removed: {id} is no longer staff.", id=f"<code>{target}</code>")
    if removal.returned_case_ids:
        marks = ",".join("?" * len(removal.returned_case_ids))
        numbers = await db.fetch_all(
            f"SELECT number FROM cases WHERE id IN ({marks}) ORDER BY id",
            removal.returned_case_ids,
        )
        text += "\n" + t(
            "Back in their room's queue: {numbers}.",
            numbers="、".join(r["number"] for r in numbers),
        )
    if isinstance(query.message, Message):
        await edit_text(query.message, text)


def build_router() -> Router:
    """Invitation links are opened by anyone (before ``start``); the rest is for admins."""
    router = Router(name="invitations")
    router.message.register(on_invitation_link, CommandStart(deep_link=True), InvitationLink())
    admin = Router(name="invitations-admin")
    admin.message.filter(HasRole(Role.admin))
    admin.callback_query.filter(HasRole(Role.admin))
    admin.message.register(command_invite, Command("invite"))
    admin.message.register(command_staff, Command("staff"))
    admin.callback_query.register(on_kind, InviteStep.filter(F.unit == ""))
    admin.callback_query.register(on_unit, InviteStep.filter(F.unit != ""))
    admin.callback_query.register(on_revoke, StaffManage.filter(F.op == MemberOp.revoke))
    admin.callback_query.register(on_remove, StaffManage.filter(F.op == MemberOp.remove))
    admin.callback_query.register(on_confirm_remove, StaffManage.filter(F.op == MemberOp.confirm))
    router.include_router(admin)
    return router
