"""Whose command is it: the command menus (handlers/commands.py) are the one list of which role
has which command; the routers' role filters, the fallback's answer and the error apology follow
them."""

from __future__ import annotations

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendMessage

from cases.org.users import Role
from handlers.commands import ROLE_GROUPS, role_commands
from tests.fakes.telegram import BotClient

UNITS = {Role.mediator: "room_chengguan", Role.agency_liaison: "county_psb"}
UNITS[Role.agency_head] = "county_psb"


async def person(dispatcher: Dispatcher, bot: Bot, role: Role, user_id: int) -> BotClient:
    if role is not Role.citizen:
        await dispatcher["users"].set_role(user_id, role, unit=UNITS.get(role))
    return BotClient(dispatcher, bot, user_id=user_id, language_code="zh-hans")


@pytest.mark.parametrize(
    ("role", "command", "answer"),
    [
        (Role.citizen, "/cases", "/cases 命令仅供承办工作人员、调解员和管理员使用。"),
        (Role.agency_liaison, "/cases", "/cases 命令仅供承办工作人员、调解员和管理员使用。"),
        (Role.mediator, "/lawsuit", "/lawsuit 命令仅供承办工作人员和管理员使用。"),
        (Role.mediator, "/appearance", "/appearance 命令仅供承办工作人员和管理员使用。"),
        (
            Role.citizen,
            "/lawsuits",
            "/lawsuits 命令仅供承办工作人员、机关联络人、机关负责人和管理员使用。",
        ),
        (Role.citizen, "/grant 1001 admin", "/grant 命令仅供管理员使用。"),
        (Role.office_staff, "/staff", "/staff 命令仅供管理员使用。"),
    ],
)
async def test_staff_command_used_by_another_role_says_whose_it_is_not_unknown_command(
    dispatcher: Dispatcher, bot: Bot, role: Role, command: str, answer: str
) -> None:
    """A citizen's or a liaison's /cases was answered "没有这个命令" (no such command)."""
    client = await person(dispatcher, bot, role, 5001)
    await client.send(command)
    text = client.last_text()
    assert text.startswith(answer)
    assert "没有这个命令" not in text
    assert "您可以办理以下事项" in text  # and the menu, as for any command not taken


async def test_a_liaison_told_whose_command_it_is_is_shown_their_own(
    dispatcher: Dispatcher, bot: Bot
) -> None:
    liaison = await person(dispatcher, bot, Role.agency_liaison, 5002)
    await liaison.send("/cases")
    assert "您可以使用的命令：/queue /find /roster /lawsuits" in liaison.last_text()
    citizen = await person(dispatcher, bot, Role.citizen, 5003)
    await citizen.send("/cases")
    assert "您可以使用的命令" not in citizen.last_text()
    await citizen.send("/frobnicate")  # a command nobody has
    assert citizen.last_text() == "没有这个命令。您可以办理以下事项："


@pytest.mark.parametrize("role", list(ROLE_GROUPS))
async def test_every_command_in_a_roles_menu_reaches_its_handler(
    dispatcher: Dispatcher, bot: Bot, role: Role
) -> None:
    """The menus and the routers' role filters agree: no command of a person's own menu falls
    through to the fallback."""
    client = await person(dispatcher, bot, role, 5100)
    for command, _description in role_commands(role):
        await client.send("/cancel")
        await client.send(f"/{command}")
        text = client.last_text()
        assert "没有这个命令" not in text and "命令仅供" not in text, (role, command, text)


@pytest.mark.parametrize(
    ("role", "commands", "not_offered"),
    [
        (Role.agency_liaison, "（/lawsuits）", "/cases"),
        (Role.agency_head, "（/lawsuits）", "/cases"),
        (Role.mediator, "（/cases）", "/lawsuits"),
        (Role.office_staff, "（/cases或/lawsuits）", None),
        (Role.admin, "（/cases或/lawsuits）", None),
    ],
)
async def test_error_apology_points_each_role_to_its_own_command(
    dispatcher: Dispatcher, bot: Bot, role: Role, commands: str, not_offered: str | None
) -> None:
    """The apology pointed a liaison to /cases, which liaisons cannot use."""
    client = await person(dispatcher, bot, role, 5200)
    # The handler's answer fails (Telegram refuses it): the error handler apologises.
    client.session.fail_next(SendMessage, 400, "Bad Request: chat not found", chat_id=5200)
    await client.send("/start")
    apology = client.last_text()
    assert apology.startswith("抱歉，系统出了点问题。请重新打开该案件" + commands)
    if not_offered is not None:
        assert not_offered not in apology


async def test_error_apology_for_a_citizen_names_the_form_commands(
    dispatcher: Dispatcher, bot: Bot
) -> None:
    citizen = await person(dispatcher, bot, Role.citizen, 5300)
    citizen.session.fail_next(SendMessage, 400, "Bad Request: chat not found", chat_id=5300)
    await citizen.send("/start")
    assert "/petition" in citizen.last_text() and "/cases" not in citizen.last_text()
