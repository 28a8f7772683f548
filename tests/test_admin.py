"""Administrators give people staff roles and units; the units scope what staff see."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.methods import SetMyCommands

from cases.org.users import Role
from cases.store.db import Database
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, fill_mediation


async def admin_client(dispatcher: Dispatcher, bot: Bot) -> BotClient:
    await dispatcher["users"].set_role(ADMIN_ID, Role.admin)
    return BotClient(dispatcher, bot, user_id=ADMIN_ID, language_code="zh-hans")


async def test_an_admin_makes_someone_the_mediator_of_a_room(
    dispatcher: Dispatcher, bot: Bot, db: Database, client: BotClient
) -> None:
    admin = await admin_client(dispatcher, bot)
    await fill_mediation(client)
    await client.press("提交")
    room = str(await db.fetch_value("SELECT routed_to FROM cases")).removeprefix("room:")
    await admin.send(f"/grant 4242 mediator {room}")
    assert "4242" in admin.last_text() and "调解员" in admin.last_text()
    row = await db.fetch_one("SELECT role, unit FROM users WHERE telegram_id = 4242")
    assert tuple(row) == ("mediator", room)
    menus = [r for r in admin.session.requests if isinstance(r, SetMyCommands)]
    assert menus and [c.command for c in menus[-1].commands][-1] == "cases"
    mediator = BotClient(dispatcher, bot, user_id=4242)
    await mediator.send("/cases")
    assert "TJ-2026-000001" not in mediator.last_text()  # the room's, not assigned to them
    await db.execute("UPDATE cases SET mediator_id = 4242")
    await mediator.send("/cases")
    assert "TJ-2026-000001" in mediator.last_text()
    await admin.send("/staff")
    assert "4242" in admin.last_text()


async def test_grant_refuses_unknown_roles_and_units(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    admin = await admin_client(dispatcher, bot)
    await admin.send("/grant 4242 mediator room_atlantis")
    assert "没有这个单位编号" in admin.last_text()
    await admin.send("/grant 4242 emperor")
    assert "用法" in admin.last_text()
    await admin.send("/grant")
    assert "用法" in admin.last_text()
    assert await db.fetch_value("SELECT count(*) FROM users WHERE telegram_id = 4242") == 0


async def test_a_citizen_cannot_grant_roles(client: BotClient, db: Database) -> None:
    await client.send(f"/grant {client.user_id} admin")
    assert client.last_text().startswith("/grant 命令仅供管理员使用。")
    assert (
        await db.fetch_value("SELECT role FROM users WHERE telegram_id = ?", (client.user_id,))
        == "citizen"
    )


async def test_an_agency_liaison_gets_their_court_cases_in_the_menu(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    admin = await admin_client(dispatcher, bot)
    await admin.send("/grant 4343 agency_liaison county_psb")
    row = await db.fetch_one("SELECT role, unit FROM users WHERE telegram_id = 4343")
    assert tuple(row) == ("agency_liaison", "county_psb")
    menus = [r for r in admin.session.requests if isinstance(r, SetMyCommands)]
    assert menus and {"lawsuits", "petitions"} <= {c.command for c in menus[-1].commands}
    liaison = BotClient(dispatcher, bot, user_id=4343)
    await liaison.send("/lawsuits")
    assert liaison.last_text() == "本单位目前没有未结的应诉案件。"


async def test_grant_answers_malformed_ids_with_the_usage_not_an_error(
    dispatcher: Dispatcher, bot: Bot, db: Database
) -> None:
    """Regression: a 23-digit id overflowed SQLite and "²³" passed isdigit(); both gave the
    generic error. A unit after a role that has none was silently dropped."""
    admin = await admin_client(dispatcher, bot)
    for args in ("99999999999999999999999 office_staff", "²³ office_staff", "0 admin"):
        await admin.send(f"/grant {args}")
        assert "用法" in admin.last_text(), args
    await admin.send("/grant 4242 office_staff room_traffic")
    assert "不属于具体单位" in admin.last_text()
    assert await db.fetch_value("SELECT count(*) FROM users WHERE telegram_id = 4242") == 0
