"""Administrators (法制办) give people their staff roles: /grant and /staff.

A mediator belongs to one mediation room and agency staff to one agency (the ids of the
organisation file): that unit decides which cases they see and which reminders they get.
"""

from __future__ import annotations

import html

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.org.organisation import Organisation
from cases.org.users import Role, UserRepository
from handlers.commands import MENU_ROLES, set_person_menu
from handlers.filters import HasRole
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
    "(reconsideration_office or petition_office) and then act on its cases only. The ids are "
    "in the organisation data file."
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
            await message.answer(
                t("There is no such unit for this role: {unit}.", unit=html.escape(unit or "—"))
                + "\n\n"
                + html.escape(_(USAGE))
            )
            return
    elif unit is not None:
        await message.answer(
            t("This role has no unit; send the command without “{unit}”.", unit=html.escape(unit))
        )
        return
    else:
        name = None
    if message.from_user and telegram_id == message.from_user.id and role is not Role.admin:
        await message.answer(_("You cannot take away your own administrator role."))
        return
    await users.set_role(telegram_id, role, unit)
    user = await users.get(telegram_id)
    assert user is not None
    await set_person_menu(bot, user, settings.default_locale)
    text = t(
        "Done: {id} is now {role}.", id=f"<code>{telegram_id}</code>", role=_(ROLE_NAMES[role])
    )
    if name:
        text += " " + t("Unit: {unit}.", unit=html.escape(name))
    await message.answer(text)


async def command_staff(message: Message, users: UserRepository, org: Organisation) -> None:
    lines = [_("Staff:")]
    for role in MENU_ROLES:
        for person in await users.with_role(role):
            line = f"<code>{person.telegram_id}</code> · {_(ROLE_NAMES[role])}"
            name = _unit_name(org, role, person.unit)
            if name:
                line += f" · {html.escape(name)}"
            lines.append(line)
    if len(lines) == 1:
        lines.append(_("Nobody has a staff role yet; the administrators receive everything."))
    await message.answer("\n".join(lines[:150]))


def build_router() -> Router:
    router = Router(name="admin")
    router.message.filter(HasRole(Role.admin))
    router.message.register(command_grant, Command("grant"))
    router.message.register(command_staff, Command("staff"))
    return router
