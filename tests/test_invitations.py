"""Staff onboarding by one-time invitation links, and /staff: members, revoking, removing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.methods import SetMyCommands

from cases.org.invitations import token_hash
from cases.store.db import Database
from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock
from handlers.invitations import InviteKind, InviteStep, MemberOp, StaffManage
from tests.invitation_support import admin, invite, newcomer
from tests.support import ADMIN_ID, PacedClient, fill_mediation, migrations_where

ROOM = "城关镇行政调解室"


async def role_of(db: Database, user_id: int) -> tuple:
    row = await db.fetch_one(
        "SELECT role, unit, leads_room, heads_reconsideration FROM users WHERE telegram_id = ?",
        (user_id,),
    )
    return tuple(row) if row else ()


async def test_a_new_person_opens_the_link_and_becomes_the_room_lead(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    payload = await invite(boss, "调解室负责人", ROOM)
    assert "只能使用一次" in boss.last_text() and "有效期至" in boss.last_text()
    token = payload.removeprefix("inv_")
    # Only the hash is stored: the link cannot be read back from the database.
    stored = [tuple(r) for r in await db.fetch_all("SELECT * FROM staff_invitations")]
    assert len(stored) == 1 and token not in repr(stored) and token_hash(token) in stored[0]

    person = newcomer(dispatcher, bot, clock, 5501, "王调解")
    await person.send(f"/start {payload}")
    assert await role_of(db, 5501) == ("mediator", "room_chengguan", 1, 0)
    text = person.last_text()
    assert "调解员" in text and ROOM in text and "调解室负责人" in text and "/cases" in text
    menus = [r for r in person.session.requests if isinstance(r, SetMyCommands)]
    assert menus and "cases" in [c.command for c in menus[-1].commands]
    told = boss.session.seen(ADMIN_ID)[-1].text
    assert "王调解" in told and "5501" in told and ROOM in told


async def test_a_used_link_says_so_and_changes_nothing(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    payload = await invite(boss, "机关联络人", "谷城县公安局")
    first = newcomer(dispatcher, bot, clock, 5502, "甲")
    await first.send(f"/start {payload}")
    assert await role_of(db, 5502) == ("agency_liaison", "county_psb", 0, 0)
    second = newcomer(dispatcher, bot, clock, 5503, "乙")
    await second.send(f"/start {payload}")
    assert "已经被使用过" in second.last_text()
    assert await role_of(db, 5503) in ((), ("citizen", None, 0, 0))
    await first.send(f"/start {payload}")  # the same person again: still used, still liaison
    assert "已经被使用过" in first.last_text()
    assert await role_of(db, 5502) == ("agency_liaison", "county_psb", 0, 0)


async def test_an_expired_link_says_so_and_changes_nothing(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    payload = await invite(boss, "承办工作人员", "谷城县信访局")
    clock.advance(timedelta(days=7, seconds=1))
    person = newcomer(dispatcher, bot, clock, 5504, "丙")
    await person.send(f"/start {payload}")
    assert "已过期" in person.last_text()
    assert await role_of(db, 5504) in ((), ("citizen", None, 0, 0))


async def test_a_revoked_link_says_so_and_changes_nothing(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    payload = await invite(boss, "调解员", ROOM)
    await boss.send("/staff")
    assert "待使用的邀请" in boss.last_text() and ROOM in boss.last_text()
    await boss.press("撤销邀请 #1")
    assert "已撤销" in boss.last_text()
    await boss.press_again()
    assert "已经不是待使用状态" in boss.session.alerts()[-1]
    person = newcomer(dispatcher, bot, clock, 5505, "丁")
    await person.send(f"/start {payload}")
    assert "已被撤销" in person.last_text()
    assert await role_of(db, 5505) in ((), ("citizen", None, 0, 0))
    await boss.send("/staff")
    assert "没有待使用的邀请" in boss.last_text()


async def test_an_unknown_or_malformed_token_changes_nothing(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    person = newcomer(dispatcher, bot, clock, 5506, "戊")
    for payload in ("inv_" + "A" * 22, "inv_x", "inv_" + "<b>" * 8):
        await person.send(f"/start {payload}")
        assert "邀请链接无效" in person.last_text()
    assert await role_of(db, 5506) in ((), ("citizen", None, 0, 0))
    await person.send("/start book")  # other payloads are the ordinary /start
    assert "邀请" not in person.last_text()


async def test_a_double_press_on_the_unit_makes_one_link(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    await invite(boss, "调解员", ROOM)
    await boss.press_again()
    assert "只显示一次" in boss.session.alerts()[-1]
    assert await db.fetch_value("SELECT count(*) FROM staff_invitations") == 1


async def test_the_office_head_invitation_names_only_the_reconsideration_office(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    await boss.send("/invite")
    await boss.press("行政复议机构负责人")
    assert boss.buttons() == ["谷城县司法局（县人民政府行政复议机构）"]
    await boss.press("谷城县司法局")
    payload = boss.last_text().split("start=")[1].split("<")[0].split()[0]
    person = newcomer(dispatcher, bot, clock, 5507, "己")
    await person.send(f"/start {payload}")
    assert await role_of(db, 5507) == ("office_staff", "reconsideration_office", 0, 1)
    assert "第六十二条" in person.last_text()


async def test_an_administrator_opening_a_link_keeps_their_role(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    payload = await invite(boss, "调解员", ROOM)
    await boss.send(f"/start {payload}")
    assert "您是管理员" in boss.last_text()
    assert (await role_of(db, ADMIN_ID))[0] == "admin"
    assert await db.fetch_value("SELECT status FROM staff_invitations") == "pending"


async def test_forged_invitation_and_member_buttons_from_non_admins_are_refused(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    payload = await invite(boss, "调解员", ROOM)
    mediator = newcomer(dispatcher, bot, clock, 5508, "庚")
    await mediator.send(f"/start {payload}")
    await mediator.click(InviteStep(kind=InviteKind.room_lead, unit="room_chengguan"))
    await mediator.click(StaffManage(op=MemberOp.revoke, target=1))
    await mediator.click(StaffManage(op=MemberOp.confirm, target=ADMIN_ID))
    await mediator.send("/invite")
    assert "仅供管理员使用" in mediator.last_text()
    assert await db.fetch_value("SELECT count(*) FROM staff_invitations") == 1
    assert (await role_of(db, ADMIN_ID))[0] == "admin"
    citizen = newcomer(dispatcher, bot, clock, 5509, "辛")
    await citizen.click(StaffManage(op=MemberOp.confirm, target=5508))
    assert (await role_of(db, 5508))[0] == "mediator"


async def test_removing_a_mediator_returns_their_open_cases_to_the_room(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    boss = await admin(dispatcher, bot, clock)
    payload = await invite(boss, "调解员", ROOM)
    mediator = newcomer(dispatcher, bot, clock, 5510, "壬")
    await mediator.send(f"/start {payload}")
    citizen = PacedClient(dispatcher, bot, user_id=1001, language_code="zh-hans", clock=clock)
    for _ in range(2):
        await fill_mediation(citizen)
        await citizen.press("提交")
    await db.execute("UPDATE cases SET mediator_id = 5510")
    await db.execute("UPDATE cases SET status = 'settled' WHERE id = 2")  # closed: stays
    await boss.send("/staff")
    assert "壬" in boss.last_text() and ROOM in boss.last_text()
    await boss.press("移除 壬")
    assert "退回所在调解室" in boss.last_text()
    await boss.press("确定移除")
    assert "TJ-2026-000001" in boss.last_text() and "TJ-2026-000002" not in boss.last_text()
    assert await role_of(db, 5510) == ("citizen", None, 0, 0)
    rows = await db.fetch_all("SELECT id, mediator_id FROM cases ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, None), (2, 5510)]
    events = await db.fetch_all("SELECT case_id, kind FROM case_events WHERE kind LIKE 'ret%'")
    assert [tuple(e) for e in events] == [(1, "returned_to_queue")]
    assert "取消您在本服务中的工作人员角色" in mediator.last_text()
    await boss.press_again()
    assert "已不是工作人员" in boss.session.alerts()[-1]
    assert await db.fetch_value("SELECT count(*) FROM case_events WHERE kind LIKE 'ret%'") == 1
    await mediator.send("/cases")
    assert "仅供" in mediator.last_text()  # a citizen again


async def test_the_invitations_migration_upgrades_a_database_with_data(
    tmp_path: Path, clock: FakeClock
) -> None:
    earlier = migrations_where(tmp_path / "earlier", lambda name: name < "0014")
    database = SqliteDatabase(tmp_path / "old.sqlite3")
    await database.open()
    try:
        await migrate(database, earlier, clock=clock)
        await database.execute(
            "INSERT INTO users(telegram_id, role, unit, first_seen, last_seen)"
            " VALUES (5, 'mediator', 'room_chengguan', 'x', 'x')"
        )
        applied = await migrate(database, clock=clock)
        assert any("0014" in name for name in applied)
        assert await database.fetch_value("SELECT unit FROM users") == "room_chengguan"
        assert await database.fetch_value("SELECT count(*) FROM staff_invitations") == 0
    finally:
        await database.close()
