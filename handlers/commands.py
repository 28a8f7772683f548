"""The command menus: citizens' per language, and staff commands in staff chats only."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from cases.i18n import N_
from cases.org.users import Role, User

log = logging.getLogger(__name__)

MENU_ROLES = (Role.admin, Role.office_staff, Role.mediator, Role.agency_liaison, Role.agency_head)

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("start", "开始 / 主菜单"),
        ("reconsider", "申请行政复议"),
        ("mediation", "申请行政调解"),
        ("petition", "信访：投诉、求决、建议、检举"),
        ("book", "预约局长接待日"),
        ("mycases", "我的案件"),
        ("forgetme", "删除保存的个人信息"),
        ("cancel", "取消正在填写的表单"),
        ("help", "使用说明"),
        ("lang", "切换语言 / Language"),
    ],
    "en": [
        ("start", "Start / main menu"),
        ("reconsider", "Apply for administrative reconsideration"),
        ("mediation", "Ask for administrative mediation"),
        ("petition", "Petition: complaint, request, suggestion, report"),
        ("book", "Book a bureau chief reception day"),
        ("mycases", "My cases"),
        ("forgetme", "Delete my saved details"),
        ("cancel", "Cancel the form you are filling in"),
        ("help", "How to use this service"),
        ("lang", "Language / 切换语言"),
    ],
}


STAFF_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("cases", "待办案件"),
        ("lawsuit", "登记行政应诉案件"),
        ("lawsuits", "未结应诉案件"),
        ("appearance", "出庭应诉统计"),
        ("roster", "局长接待日名单与统计"),
    ],
    "en": [
        ("cases", "Open cases to handle"),
        ("lawsuit", "Register a court case against an agency"),
        ("lawsuits", "Open court cases"),
        ("appearance", "Court appearance statistics"),
        ("roster", "Reception-day list and totals"),
    ],
}
"""Shown only in the chats of staff (BotCommandScopeChat), after the citizens' commands."""

AGENCY_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("roster", "本单位局长接待日名单"),
        ("lawsuits", "本单位未结应诉案件"),
        ("petitions", "交办本单位的信访事项"),
    ],
    "en": [
        ("roster", "Your reception-day list"),
        ("lawsuits", "Your agency's open court cases"),
        ("petitions", "Petitions assigned to your agency"),
    ],
}
"""An agency's liaison and head: their own agency's court cases (行政应诉) and the petitions
assigned to it (XF 22-23)."""

ADMIN_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("grant", "设置工作人员角色"),
        ("invite", "邀请工作人员（一次性链接）"),
        ("staff", "工作人员名单与邀请"),
        ("sessions", "局长接待日场次"),
        ("mediators", "调解员名单与调解室负责人"),
        ("stats", "统计与导出"),
        ("webhooks", "对接系统推送状态"),
    ],
    "en": [
        ("grant", "Give a person a staff role"),
        ("invite", "Invite a staff member (one-time link)"),
        ("staff", "Staff and invitations"),
        ("sessions", "Reception-day sessions"),
        ("mediators", "Mediators and room leads"),
        ("stats", "Statistics and export"),
        ("webhooks", "Deliveries to county systems"),
    ],
}

MEDIATOR_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("mediate", "调解：对方当事人、调解安排、结果与回访"),
        ("profile", "我的调解员资料：显示名、擅长类别、最大案件数"),
        ("away", "登记不在岗日期"),
        ("conflict", "申请回避"),
        ("unassigned", "未分派的调解案件（调解室负责人）"),
        ("mediators", "本调解室调解员（调解室负责人）"),
    ],
    "en": [
        ("mediate", "Mediation: other party, sessions, outcome, follow-up"),
        ("profile", "My mediator profile: shown name, skills, maximum load"),
        ("away", "Declare an absence"),
        ("conflict", "Step aside from a case (conflict of interest)"),
        ("unassigned", "Unassigned mediation cases (room lead)"),
        ("mediators", "Your room's mediators (room lead)"),
    ],
}
"""Mediators (issue #10): the mediation itself (handlers/mediation/; parties use /mediate
without it in their menu: their notices carry an "open the mediation" button), their profile
and offers (handlers/assignment.py); the last two are for room leads."""


WORK_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [("queue", "我的待办（逾期在前）"), ("find", "按案号或姓名查找案件")],
    "en": [("queue", "My open work, overdue first"), ("find", "Find a case by number or name")],
}
"""Every staff role: their own work across procedures (handlers/queue.py)."""

ROLE_GROUPS: dict[Role, str] = {
    Role.office_staff: N_("office staff"),
    Role.mediator: N_("mediators"),
    Role.agency_liaison: N_("agency liaisons"),
    Role.agency_head: N_("agency heads"),
    Role.admin: N_("administrators"),
}
"""The staff roles as a command's users are named ("for office staff and administrators")."""

CASE_LIST_COMMANDS = ("cases", "lawsuits")
"""The commands that show a person the cases they work on (where to check a last step)."""


def role_commands(role: Role, locale: str = "en") -> list[tuple[str, str]]:
    """The commands ``role`` has beyond the citizens' (none for a citizen). The menus are the
    one list of who may use what: the routers' role filters match them (tests check it)."""
    commands: list[tuple[str, str]] = []
    if role in MENU_ROLES:
        commands += WORK_COMMANDS[locale]
    if role in (Role.admin, Role.office_staff):
        commands += STAFF_COMMANDS[locale]
    elif role is Role.mediator:
        # Their profile and offers, then /cases (their room's cases) last, as before.
        commands += MEDIATOR_COMMANDS[locale] + STAFF_COMMANDS[locale][:1]
    elif role in (Role.agency_liaison, Role.agency_head):
        commands += AGENCY_COMMANDS[locale]
    if role is Role.admin:
        commands += ADMIN_COMMANDS[locale]
    return commands


HEAD_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "zh": [("stats", "统计与导出")],
    "en": [("stats", "Statistics and export")],
}
"""The head of the reconsideration office (office staff with ``heads_reconsideration``) also
has /stats (handlers/stats.py): a flag, not a role, so it is added per person."""


def person_commands(user: User, locale: str = "en") -> list[tuple[str, str]]:
    """``role_commands`` plus what a person's flags add."""
    commands = role_commands(user.role, locale)
    if user.role is Role.office_staff and user.heads_reconsideration:
        commands += HEAD_COMMANDS[locale]
    return commands


def command_roles(command: str) -> list[Role]:
    """The staff roles that have ``command`` (in ROLE_GROUPS order); empty for a citizens'
    command or one the bot does not have."""
    return [role for role in ROLE_GROUPS if any(c == command for c, _ in role_commands(role))]


def menu_for(role: Role, locale: str, user: User | None = None) -> list[BotCommand]:
    own = person_commands(user, locale) if user is not None else role_commands(role, locale)
    commands = COMMANDS[locale] + own
    return [BotCommand(command=c, description=d) for c, d in commands]


async def set_person_menu(bot: Bot, user: User, default_locale: str) -> None:
    """One person's menu after a role or language change. A citizen who never chose a
    language gets the default menu back (per Telegram's app language); one who chose gets
    the citizens' commands in that language in their own chat."""
    scope = BotCommandScopeChat(chat_id=user.telegram_id)
    try:
        if user.role is Role.citizen and user.locale is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(
                menu_for(user.role, user.locale or default_locale, user), scope=scope
            )
    except (TelegramBadRequest, TelegramForbiddenError):
        # A person who never opened the bot has no chat yet: /start sets the menu later.
        log.info("command menu for a person deferred until they open the bot")
    except TelegramAPIError as exc:
        # Only the "/" menu (429, network): the next /start sets it; never fail the reply.
        log.warning("could not set a person's command menu (%s)", type(exc).__name__)


async def set_commands(bot: Bot, default_locale: str, staff: list[User] | None = None) -> None:
    """The command menu per language; staff see their own commands in their chats only."""
    for member in staff or []:
        await set_person_menu(bot, member, default_locale)
    for language, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(command=c, description=d) for c, d in commands],
            scope=BotCommandScopeDefault(),
            language_code=language,
        )
    await bot.set_my_commands(
        [BotCommand(command=c, description=d) for c, d in COMMANDS[default_locale]],
        scope=BotCommandScopeDefault(),
    )
