"""Administrators (法制办) give people their staff roles by id: /grant (invitation links and
the member list, /invite and /staff, are in handlers/invitations.py).

A mediator belongs to one mediation room and agency staff to one agency (the ids of the
organisation file): that unit decides which cases they see and which reminders they get.
"""

from __future__ import annotations

import contextlib
import html

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_, translate
from cases.org.organisation import Organisation
from cases.org.users import Role, User, UserRepository
from handlers.commands import role_commands, set_person_menu
from handlers.filters import HasRole
from handlers.keyboards import button, grid
from handlers.texts import t
from settings import Settings

ROLE_NAMES: dict[Role, str] = {
    Role.citizen: N_("citizen (no staff role)"),
    Role.mediator: N_("mediator"),
    Role.office_staff: N_("office staff"),
    Role.agency_liaison: N_("agency liaison"),
    Role.agency_head: N_("agency head"),
    Role.admin: N_("administrator"),
    Role.community_worker: N_("community worker (books reception days for citizens)"),
}
UNIT_NEEDED: dict[Role, str] = {
    Role.mediator: "room",
    Role.agency_liaison: "agency",
    Role.agency_head: "agency",
}

USAGE = N_(
    "Usage: /grant <Telegram id> <role> [unit]\n"
    "Roles: mediator, office_staff, agency_liaison, agency_head, admin, community_worker, "
    "citizen (removes the staff role).\n"
    "A mediator needs a mediation room id (for example room_chengguan); agency staff need an "
    "agency id (for example county_psb); office staff may be given their office "
    "(reconsideration_office or petition_office) and then act on its cases only; add “head” "
    "after reconsideration_office for the head of the reconsideration body, who approves "
    "extensions of the decision period. Without a unit, the units are offered as buttons."
)
HEAD_WORD = "head"
RECONSIDERATION_OFFICE = "reconsideration_office"
HEAD_ONLY_OFFICE = N_(
    "Only office staff of the reconsideration office can be its head: /grant <Telegram id> "
    "office_staff reconsideration_office head"
)
HEAD_DONE = N_(
    "Head of the reconsideration body: approves extensions of the decision period "
    "(Administrative Reconsideration Law, Art. 62(1))."
)


UNIT_OPTIONAL: dict[Role, str] = {
    # An office clerk works for the reconsideration office or the petition office and acts on
    # that procedure only; without an office (rows from before) on every procedure.
    Role.office_staff: "office",
}
CASE_OFFICE_ROLES = frozenset({"reconsideration", "petition"})
NOT_AN_OFFICE = N_(
    "Office staff belong to the reconsideration office or the petition office, not to a unit "
    "such as “{unit}”: send reconsideration_office or petition_office, or no unit."
)


def _unit_name(org: Organisation, role: Role, unit: str | None) -> str | None:
    if unit is None:
        return None
    kind = UNIT_NEEDED.get(role) or UNIT_OPTIONAL.get(role)
    try:
        if kind == "room":
            return org.room(unit).name
        if kind == "agency":
            return org.agency(unit).name
        if kind == "office":
            office = org.office(unit)
            return office.name if office.role in CASE_OFFICE_ROLES else None
    except LookupError:
        return None
    return None


async def command_grant(
    message: Message,
    command: CommandObject,
    users: UserRepository,
    org: Organisation,
    bot: Bot,
    settings: Settings,
) -> None:
    parts = (command.args or "").split()
    # ASCII digits only ("²".isdigit() is true) and a real Telegram id: positive, < 2**52.
    head = len(parts) == 4 and parts[3].lower() == HEAD_WORD
    if head:
        parts = parts[:3]
    if (
        len(parts) not in (2, 3)
        or not (parts[0].isascii() and parts[0].isdigit())
        or not 0 < int(parts[0]) < 2**52
    ):
        await message.answer(html.escape(_(USAGE)))
        return
    telegram_id, role_text = int(parts[0]), parts[1].lower()
    unit = parts[2] if len(parts) == 3 else None
    try:
        role = Role(role_text)
    except ValueError:
        await message.answer(html.escape(_(USAGE)))
        return
    if role in UNIT_OPTIONAL and unit is not None and _unit_name(org, role, unit) is None:
        await message.answer(t(NOT_AN_OFFICE, unit=html.escape(unit)))
        return
    if role in UNIT_NEEDED or (role in UNIT_OPTIONAL and unit is not None):
        name = _unit_name(org, role, unit)
        if name is None:
            # The units to choose from, as buttons (never "see the data file on the server").
            text = (
                t("There is no such unit for this role: {unit}.", unit=html.escape(unit))
                if unit
                else t("Which unit does {id} belong to?", id=f"<code>{telegram_id}</code>")
            )
            await message.answer(
                text + "\n" + _("Choose one:"),
                reply_markup=_unit_keyboard(org, telegram_id, role),
            )
            return
    elif unit is not None:
        await message.answer(
            t("This role has no unit; send the command without “{unit}”.", unit=html.escape(unit))
        )
        return
    else:
        name = None
    if head and (role is not Role.office_staff or unit != RECONSIDERATION_OFFICE):
        await message.answer(_(HEAD_ONLY_OFFICE))
        return
    if message.from_user and telegram_id == message.from_user.id and role is not Role.admin:
        await message.answer(_("You cannot take away your own administrator role."))
        return
    await message.answer(
        await _grant(users, bot, settings, telegram_id, role, unit, name, head=head)
    )


async def _grant(
    users: UserRepository,
    bot: Bot,
    settings: Settings,
    telegram_id: int,
    role: Role,
    unit: str | None,
    name: str | None,
    *,
    head: bool = False,
) -> str:
    """Give the role, set the person's menu and tell them; the administrator's answer."""
    await users.set_role(telegram_id, role, unit, head=head)
    user = await users.get(telegram_id)
    assert user is not None
    await set_person_menu(bot, user, settings.default_locale)
    await _tell_the_person(bot, user, name, settings.default_locale)
    text = t(
        "Done: {id} is now {role}.", id=f"<code>{telegram_id}</code>", role=_(ROLE_NAMES[role])
    )
    if name:
        text += " " + t("Unit: {unit}.", unit=html.escape(name))
    if head:
        text += " " + _(HEAD_DONE)
    return text


YOU_ARE_NOW = N_("You now work in this service as {role}.")
YOUR_UNIT = N_("Unit: {unit}.")
YOUR_COMMANDS = N_("Your commands:")


def staff_menu_text(user: User, locale: str, unit_name: str | None = None) -> str:
    """What a staff member is and may do here: their role, unit and commands (also on /start)."""
    lines = [translate(locale, YOU_ARE_NOW).format(role=translate(locale, ROLE_NAMES[user.role]))]
    if unit_name:
        lines[0] += " " + translate(locale, YOUR_UNIT).format(unit=html.escape(unit_name))
    commands = role_commands(user.role, locale if locale in ("zh", "en") else "zh")
    if commands:
        lines.append(translate(locale, YOUR_COMMANDS))
        lines += [f"/{command} – {html.escape(text)}" for command, text in commands]
    return "\n".join(lines)


async def _tell_the_person(bot: Bot, user: User, unit_name: str | None, default: str) -> None:
    """The person given a role learns it in their own chat (if they have opened the bot; a
    person who has not is told on their first /start)."""
    if user.role is Role.citizen:
        return
    locale = user.locale or default
    with contextlib.suppress(TelegramBadRequest, TelegramForbiddenError):
        await bot.send_message(user.telegram_id, staff_menu_text(user, locale, unit_name))


class GrantUnit(CallbackData, prefix="grant"):
    """``grant:<telegram id>:<role>:<unit id>``: the administrator's choice of unit; checked
    again against the organisation on the press."""

    telegram_id: int = Field(gt=0, lt=2**52)
    role: Role
    unit: str = Field(max_length=40)


def _units(org: Organisation, role: Role) -> list[tuple[str, str]]:
    kind = UNIT_NEEDED.get(role) or UNIT_OPTIONAL.get(role)
    if kind == "room":
        return [(r.id, r.name) for r in org.mediation_rooms]
    if kind == "agency":
        return [(a.id, a.name) for a in org.agencies]
    if kind == "office":
        return [(o.id, o.name) for o in org.offices if o.role in CASE_OFFICE_ROLES]
    return []


def _unit_keyboard(org: Organisation, telegram_id: int, role: Role) -> InlineKeyboardMarkup:
    buttons = []
    for unit_id, name in _units(org, role):
        data = GrantUnit(telegram_id=telegram_id, role=role, unit=unit_id)
        if len(data.pack().encode()) <= 64:
            buttons.append(button(name, data))
    return grid(buttons, width=2)


async def on_grant_unit(
    query: CallbackQuery,
    callback_data: GrantUnit,
    users: UserRepository,
    org: Organisation,
    bot: Bot,
    settings: Settings,
) -> None:
    name = _unit_name(org, callback_data.role, callback_data.unit)
    if name is None:
        await query.answer(_("There is no such unit."), show_alert=True)
        return
    await query.answer()
    text = await _grant(
        users, bot, settings, callback_data.telegram_id, callback_data.role,
        callback_data.unit, name,
    )  # fmt: skip
    if isinstance(query.message, Message):
        await query.message.answer(text)


def build_router() -> Router:
    router = Router(name="admin")
    router.message.filter(HasRole(Role.admin))
    router.callback_query.filter(HasRole(Role.admin))
    router.message.register(command_grant, Command("grant"))
    router.callback_query.register(on_grant_unit, GrantUnit.filter(F.role.in_(set(Role))))
    return router
