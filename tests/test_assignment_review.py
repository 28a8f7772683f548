"""Regression tests from the review of mediation assignment (issue #10): each is named after
the defect it pins down."""

from __future__ import annotations

from datetime import UTC

from aiogram import Bot, Dispatcher

from cases.mediation.assignment import AssignmentService
from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from tests.assignment_support import (
    COUNTY_ROOM,
    events,
    file_mediation,
    insert_case,
    local,
    make_mediator,
    offers,
    tick,
)
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID


async def test_room_without_a_lead_left_an_unassignable_case_unseen_now_admins_are_told(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    admin = BotClient(dispatcher, bot, user_id=ADMIN_ID, language_code="zh-hans")
    await dispatcher["users"].set_role(ADMIN_ID, Role.admin)
    wang = await make_mediator(dispatcher, bot, 6001)  # the room's only mediator, no lead
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)
    await wang.press("不接受")
    await wang.press("目前案件太多")
    await tick(dispatcher, db, bot, clock)
    assert (await events(db, case_id))[-1] == "mediation_unassigned"
    told = admin.last_text()
    assert "未设负责人" in told and "/mediators" in told
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
    assert number in told
    # Told once, not on every tick.
    await tick(dispatcher, db, bot, clock)
    assert sum("未设负责人" in text for text in admin.texts()) == 1
    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [(6001, "declined")]


async def test_case_held_by_a_mediator_granted_away_stayed_with_nobody_now_goes_back_to_the_room(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    admin = BotClient(dispatcher, bot, user_id=ADMIN_ID, language_code="zh-hans")
    await dispatcher["users"].set_role(ADMIN_ID, Role.admin)
    wang = await make_mediator(dispatcher, bot, 6001)
    zhou = await make_mediator(dispatcher, bot, 6002)
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)
    await wang.press("接受")
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) == 6001

    await admin.send("/grant 6001 citizen")  # wang leaves the mediation room
    await tick(dispatcher, db, bot, clock)

    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) is None
    assert (await events(db, case_id))[-2:] == ["mediation_released", "mediation_offered"]
    assert "新的调解案件分派给您" in zhou.last_text()
    await zhou.press("接受")
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) == 6002


async def test_room_lead_moved_to_another_room_by_grant_kept_leading_now_the_lead_is_cleared(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    admin = BotClient(dispatcher, bot, user_id=ADMIN_ID, language_code="zh-hans")
    await dispatcher["users"].set_role(ADMIN_ID, Role.admin)
    lead = await make_mediator(dispatcher, bot, 6001, lead=True)
    await admin.send(f"/grant 6001 mediator {COUNTY_ROOM}")
    await lead.send("/unassigned")  # not the lead of the room they were moved to
    assert lead.last_text() == "只有调解室负责人可以查看本室未分派的案件。"
    # Granted again to the same room: still its lead (a repeated grant changes nothing).
    await dispatcher["users"].set_leads_room(6001, True)
    await admin.send(f"/grant 6001 mediator {COUNTY_ROOM}")
    user = await dispatcher["users"].get(6001)
    assert user is not None and user.leads_room


async def test_conflict_declared_on_a_closed_case_erased_its_mediator_now_refused(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    wang = await make_mediator(dispatcher, bot, 6001)
    await make_mediator(dispatcher, bot, 6002)
    case_id = await file_mediation(client, db)
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
    await tick(dispatcher, db, bot, clock)
    await wang.press("接受")
    await db.execute("UPDATE cases SET status = 'withdrawn' WHERE id = ?", (case_id,))

    await wang.send(f"/conflict {number} 申请人是我的表弟")

    assert "已办结" in wang.last_text()
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) == 6001
    assert (await events(db, case_id))[-1] == "mediation_accepted"
    assert await db.fetch_value("SELECT count(*) FROM mediator_conflicts") == 0


async def test_case_moved_to_the_default_room_was_silent_now_the_citizen_is_told_why(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    await make_mediator(dispatcher, bot, 6001)  # the PSB room's, who must step aside
    county = await make_mediator(dispatcher, bot, 6100, COUNTY_ROOM)
    case_id = await file_mediation(client, db, other="谷城县公安局")
    client.clear()

    await tick(dispatcher, db, bot, clock)

    assert [m for _i, m, _s in await offers(db, case_id)] == [6100]
    told = client.last_text()
    assert "谷城县公安局行政调解室所属的机关" in told and "回避" in told
    county_room = await db.fetch_value("SELECT routed_to_name FROM cases WHERE id = ?", (case_id,))
    assert county_room in told
    # Told once: later ticks do not repeat it.
    await county.press("接受")
    await tick(dispatcher, db, bot, clock)
    assert sum("回避" in text for text in client.texts()) == 1


async def test_backlog_nobody_can_take_starved_new_cases_past_the_limit_now_they_come_first(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock
) -> None:
    service: AssignmentService = dispatcher["assignment"]
    stuck = [await insert_case(db, n, COUNTY_ROOM) for n in (801, 802)]  # a room nobody staffs
    await service.offer_unassigned()
    assert [(await events(db, c))[-1] for c in stuck] == ["mediation_unassigned"] * 2
    await make_mediator(dispatcher, bot, 6001)
    new = await insert_case(db, 803)

    await service.offer_unassigned(limit=2)  # room for two cases in this pass

    assert [m for _i, m, _s in await offers(db, new)] == [6001]


async def test_offer_to_a_mediator_who_then_declared_an_absence_waited_out_its_hours_now_passes_on(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    wang = await make_mediator(dispatcher, bot, 6001)
    zhou = await make_mediator(dispatcher, bot, 6002)
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)
    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [(6001, "pending")]

    await wang.send("/away 2026-11-25 2026-11-27")  # from today: he will not answer
    await tick(dispatcher, db, bot, clock)

    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [
        (6001, "withdrawn"),
        (6002, "pending"),
    ]
    assert "新的调解案件分派给您" in zhou.last_text()
    assert (await events(db, case_id))[-2:] == ["mediation_offer_withdrawn", "mediation_offered"]


async def test_unassigned_list_said_assigned_for_a_mere_offer_now_says_waiting_for_an_answer(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    lead = await make_mediator(dispatcher, bot, 6001, name="组长", lead=True)
    await lead.send("/away 2026-11-25 2026-11-26")
    await make_mediator(dispatcher, bot, 6002, name="周")
    await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)

    await lead.send("/unassigned")

    assert "已请 周 承办，待其于 2026-11-25 13:00 前答复（尚未接受）" in lead.last_text()
    assert "已分派给" not in lead.last_text()


async def test_mediator_whose_shown_name_is_not_their_real_name_escaped_the_name_conflict_check(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    li = await make_mediator(dispatcher, bot, 6001, name="Xiao Li")
    await li.send("/profile name 李老师")
    await li.send("/profile realname 李 四")  # the other side's name in the filed case
    assert "真实姓名（仅用于回避核查，不向申请人显示）：李四" in li.last_text()
    await li.send("/profile realname 李")
    assert li.last_text() == "真实姓名应为 2 至 32 个字。"
    clear = await make_mediator(dispatcher, bot, 6002)
    case_id = await file_mediation(client, db, other="李四")

    await tick(dispatcher, db, bot, clock)

    assert [m for _i, m, _s in await offers(db, case_id)] == [6002]
    assert "新的调解案件分派给您" in clear.last_text()


async def test_case_whose_room_has_only_conflicted_mediators_waited_for_ever_now_goes_to_default(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    lead = await make_mediator(dispatcher, bot, 6001, lead=True)
    await lead.send("/profile realname 李四")  # the other side: the room's only mediator
    county = await make_mediator(dispatcher, bot, 6100, COUNTY_ROOM)
    case_id = await file_mediation(client, db, other="李四")
    client.clear()

    await tick(dispatcher, db, bot, clock)

    assert await db.fetch_value("SELECT routed_to FROM cases WHERE id = ?", (case_id,)) == (
        f"room:{COUNTY_ROOM}"
    )
    assert await events(db, case_id) == ["mediation_moved_recused", "mediation_offered"]
    assert "新的调解案件分派给您" in county.last_text()
    assert "均与本案有利害关系，应当回避" in client.last_text()
    # A room that merely has nobody free (load, absence, declines) keeps its case.
    zhou = await make_mediator(dispatcher, bot, 6002)
    await zhou.send("/away 2026-11-25 2026-11-26")
    await lead.send("/away 2026-11-25 2026-11-26")
    kept = await file_mediation(client, db, other="赵六")
    await tick(dispatcher, db, bot, clock)
    assert await db.fetch_value("SELECT routed_to FROM cases WHERE id = ?", (kept,)) == (
        "room:room_psb"
    )
    assert (await events(db, kept))[-1] == "mediation_unassigned"


async def test_staff_history_called_a_pending_offer_assigned_now_says_waiting_for_an_answer(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    admin = BotClient(dispatcher, bot, user_id=ADMIN_ID, language_code="zh-hans")
    await dispatcher["users"].set_role(ADMIN_ID, Role.admin)
    await make_mediator(dispatcher, bot, 6001, name="王")
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)

    await admin.click(f"staff:view:{case_id}::0:0::")

    history = admin.last_text().split("办理经过")[-1]
    assert "已请该调解员承办，等待其答复（尚未接受）。" in history
    assert "已分派给该调解员" not in history


async def test_offer_withdrawn_because_the_case_closed_left_the_mediator_untold_now_they_are_told(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    wang = await make_mediator(dispatcher, bot, 6001)
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)
    await db.execute("UPDATE cases SET status = 'withdrawn' WHERE id = ?", (case_id,))

    await tick(dispatcher, db, bot, clock)
    await tick(dispatcher, db, bot, clock)

    assert "已撤回，无需答复" in wang.last_text()
    assert sum("无需答复" in text for text in wang.texts()) == 1
    assert (await events(db, case_id))[-1] == "mediation_offer_withdrawn"


async def test_telegram_nickname_barred_a_mediator_with_a_real_name_from_look_alike_parties(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    xiao = await make_mediator(dispatcher, bot, 6001, name="小王")
    case_id = await file_mediation(client, db, other="小王庄村民委员会")
    await tick(dispatcher, db, bot, clock)
    assert await offers(db, case_id) == []  # a nickname is all we know: kept out

    await xiao.send("/profile realname 王晓明")
    other = await file_mediation(client, db, other="小王庄村民委员会")
    await tick(dispatcher, db, bot, clock)

    assert [m for _i, m, _s in await offers(db, other)] == [6001]


async def test_offer_made_after_hours_or_on_a_rest_day_counts_from_the_next_working_morning(
    dispatcher: Dispatcher,
) -> None:
    """Coverage the review asked for (no defect found): 4 working hours, 08:30-17:30."""
    service: AssignmentService = dispatcher["assignment"]
    cases = [
        (local(2026, 11, 27, 18, 0), local(2026, 11, 30, 12, 30)),  # Friday evening → Monday
        (local(2026, 11, 28, 10, 0), local(2026, 11, 30, 12, 30)),  # Saturday → Monday
        (local(2026, 11, 30, 17, 30), local(2026, 12, 1, 12, 30)),  # at closing → next day
        (local(2026, 11, 30, 7, 0), local(2026, 11, 30, 12, 30)),  # before opening
        (local(2026, 2, 13, 17, 0), local(2026, 2, 14, 12, 0)),  # 调休 Saturday 02-14 counts
    ]
    for offered, due in cases:
        until, provisional = service.offer_expires(offered)
        assert (until, provisional) == (due.astimezone(UTC), False), offered
