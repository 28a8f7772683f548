"""Mediation cases offered to mediators (issue #10): one offer at a time to the eligible
mediator with the fewest open cases, accept / decline with a reason, time-outs counted in
working hours on the legal calendar, conflicts of interest, absences, maximum load, skills, the
room lead's hand, forged buttons, and an offer that survives a restart."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from aiogram import Bot, Dispatcher

from cases.mediation.assignment import AssignmentService, DeclineReason
from cases.mediation.common import MediationSettings
from cases.org.organisation import load_organisation
from cases.org.users import Role
from cases.store.db import Database
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock, from_db
from handlers.assignment_callbacks import (
    LeadAssign,
    LeadOp,
    OfferAnswer,
    OfferDecline,
    OfferOp,
    ProfileAction,
    ProfileOp,
)
from scheduling.assignment import AssignmentMailer
from tests.assignment_support import (
    COUNTY_ROOM,
    PSB_ROOM,
    events,
    file_mediation,
    insert_case,
    local,
    make_mediator,
    offers,
    tick,
)
from tests.backends import same_store
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, ENGINE, migrations_where


async def test_a_new_case_is_offered_to_one_mediator_who_accepts_and_the_citizen_is_told(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    wang = await make_mediator(dispatcher, bot, 6001, name="wang")
    zhou = await make_mediator(dispatcher, bot, 6002, name="zhou")
    await wang.send("/profile name 王调解员")
    assert "向申请人显示的姓名：王调解员" in wang.last_text()
    case_id = await file_mediation(client, db)

    await tick(dispatcher, db, bot, clock)

    # One offer, to the first of two equally idle mediators; the other hears nothing.
    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [(6001, "pending")]
    offer = wang.last_text()
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
    assert number in offer and "交通事故赔偿" in offer and "城关镇" in offer
    # Wednesday 09:00 + 4 office hours = 13:00 the same day.
    assert "请于 2026年11月25日（星期三） 13:00 前答复" in offer
    # The first deadline: the county's mediation period (MA, 30 days from receipt, 11-25).
    assert "最近期限：2026年12月25日（星期五）" in offer
    assert wang.buttons() == ["✅ 接受", "不接受"]
    assert not zhou.texts()

    await wang.press("接受")
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) == 6001
    assert "您已接受调解案件" in wang.last_text()
    await wang.press_again()  # a double press acts once
    assert "您已经接受了这个案件。" in wang.session.alerts()
    assert await events(db, case_id) == ["mediation_offered", "mediation_accepted"]

    client.clear()
    await tick(dispatcher, db, bot, clock)
    told = client.last_text()
    assert "王调解员" in told and "谷城县公安局行政调解室" in told
    assert "2026年11月30日（星期一） 前与您联系" in told
    await client.send("/mycases")
    await client.press(number)
    assert "调解员已受理您的案件，将与您联系。" in client.last_text()


async def test_decline_with_a_chosen_or_typed_reason_passes_the_case_to_the_next_mediator(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    wang = await make_mediator(dispatcher, bot, 6001)
    zhou = await make_mediator(dispatcher, bot, 6002)
    li = await make_mediator(dispatcher, bot, 6003)
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)

    await wang.press("不接受")
    assert wang.buttons() == [
        "目前案件太多",
        "我不在岗",
        "需要回避（利害关系）",
        "其他原因（请输入）",
    ]
    await wang.press("目前案件太多")
    assert "您已拒绝案件" in wang.last_text()
    await tick(dispatcher, db, bot, clock)
    assert "新的调解案件分派给您" in zhou.last_text()

    await zhou.press("不接受")
    await zhou.press("其他原因")
    await zhou.send("很" * 301)  # too long: refused, still asked
    assert zhou.last_text() == "请控制在 300 个字以内（您输入了 301 个字）。"
    await zhou.send("下周要出差培训")
    assert "您已拒绝案件" in zhou.last_text()
    reason = await db.fetch_value(
        "SELECT reason FROM mediation_offers WHERE mediator_id = 6002 AND case_id = ?", (case_id,)
    )
    assert reason == "下周要出差培训"
    await tick(dispatcher, db, bot, clock)
    assert "新的调解案件分派给您" in li.last_text()
    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [
        (6001, "declined"),
        (6002, "declined"),
        (6003, "pending"),
    ]
    assert await events(db, case_id) == [
        "mediation_offered",
        "mediation_declined",
        "mediation_offered",
        "mediation_declined",
        "mediation_offered",
    ]


async def test_a_friday_afternoon_offer_runs_out_on_monday_and_passes_to_the_next(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    """4 working hours from Friday 15:00: 2½ hours on Friday, 1½ on Monday from 08:30."""
    clock.set(local(2026, 11, 27, 15, 0).astimezone(UTC))
    wang = await make_mediator(dispatcher, bot, 6001)
    zhou = await make_mediator(dispatcher, bot, 6002)
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)
    assert "请于 2026年11月30日（星期一） 10:00 前答复" in wang.last_text()

    clock.set(local(2026, 11, 30, 9, 59).astimezone(UTC))
    await tick(dispatcher, db, bot, clock)
    assert [s for _i, _m, s in await offers(db, case_id)] == ["pending"]

    clock.set(local(2026, 11, 30, 10, 0).astimezone(UTC))
    await tick(dispatcher, db, bot, clock)
    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [
        (6001, "expired"),
        (6002, "pending"),
    ]
    assert "新的调解案件分派给您" in zhou.last_text()
    assert "已超时未答复，已转给其他调解员" in wang.last_text()
    await wang.press("接受")  # too late: the old button is refused
    assert any("已失效" in alert for alert in wang.session.alerts())
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) is None
    assert await events(db, case_id) == [
        "mediation_offered",
        "mediation_offer_expired",
        "mediation_offered",
    ]


def service(db: Database, clock: FakeClock, **settings: int) -> AssignmentService:
    return AssignmentService(
        db,
        clock,
        load_organisation(None),
        ENGINE.calendar,
        MediationSettings(**settings),  # type: ignore[arg-type]
        AssignmentMailer(),
    )


async def test_offer_hours_skip_the_national_day_holiday_and_count_the_make_up_saturday(
    db: Database, clock: FakeClock
) -> None:
    assignment = service(db, clock)
    # Wednesday 30 Sep 2026, 16:00: 1½ hours that day; 1–7 October are holidays.
    until, provisional = assignment.offer_expires(local(2026, 9, 30, 16, 0))
    calendar = ENGINE.calendar
    first_workday = next(
        date(2026, 10, d) for d in range(1, 31) if calendar.is_workday(date(2026, 10, d))
    )
    assert first_workday > date(2026, 10, 7)
    assert until == local(first_workday.year, 10, first_workday.day, 11, 0).astimezone(UTC)
    assert not provisional
    # A year the calendar does not cover: counted Monday–Friday and said to be provisional.
    _until, provisional = assignment.offer_expires(local(2031, 3, 3, 9, 0))
    assert provisional


async def test_a_party_named_or_phoned_like_a_mediator_or_the_dispute_agency_is_never_offered(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    li = await make_mediator(dispatcher, bot, 6001, name="李四")  # the other side's name
    phone = await make_mediator(dispatcher, bot, 6002)
    await phone.send("/profile phone 13800001234")  # the applicant's phone (fill_mediation)
    assert "138****1234" in phone.last_text()
    clear = await make_mediator(dispatcher, bot, 6003)
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)
    assert [m for _i, m, _s in await offers(db, case_id)] == [6003]
    assert not li.texts() or "分派给您" not in li.last_text()
    await clear.press("接受")

    # A dispute with the agency the room belongs to (the county PSB): nobody of its room may
    # mediate; the county's default room (the justice bureau's) takes it.
    county = await make_mediator(dispatcher, bot, 6100, COUNTY_ROOM)
    other = await insert_case(db, 900, other_party_name="谷城县公安局")
    await tick(dispatcher, db, bot, clock)
    assert [m for _i, m, _s in await offers(db, other)] == [6100]
    assert "新的调解案件分派给您" in county.last_text()
    assert await db.fetch_value("SELECT routed_to FROM cases WHERE id = ?", (other,)) == (
        f"room:{COUNTY_ROOM}"
    )
    assert await events(db, other) == ["mediation_moved", "mediation_offered"]


async def test_declaring_a_conflict_later_hands_the_case_on_and_never_back(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    wang = await make_mediator(dispatcher, bot, 6001)
    zhou = await make_mediator(dispatcher, bot, 6002)
    case_id = await file_mediation(client, db)
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
    await tick(dispatcher, db, bot, clock)
    await wang.press("接受")
    await wang.send(f"/conflict {number} 申请人是我的表弟")
    assert "已登记您对案件" in wang.last_text()
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) is None
    assert (await offers(db, case_id))[-1][1:] == (6002, "pending")
    await tick(dispatcher, db, bot, clock)
    assert "新的调解案件分派给您" in zhou.last_text()
    await zhou.press("不接受")
    await zhou.press("目前案件太多")
    await tick(dispatcher, db, bot, clock)
    # Nobody left: wang's conflict keeps the case from him.
    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [
        (6001, "accepted"),
        (6002, "declined"),
    ]
    assert (await events(db, case_id))[-2:] == ["mediation_declined", "mediation_unassigned"]
    assert "mediation_handed_over" in await events(db, case_id)
    # Someone else's case number is refused.
    await zhou.send(f"/conflict {number}")
    assert zhou.last_text() == "您没有这个编号的待答复分派或在办案件。"


async def test_max_load_absence_and_skills_keep_a_mediator_from_offers(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock
) -> None:
    full = await make_mediator(dispatcher, bot, 6001)
    away = await make_mediator(dispatcher, bot, 6002)
    skilled = await make_mediator(dispatcher, bot, 6003)
    free = await make_mediator(dispatcher, bot, 6004)
    # Maximum 3 (a button), and three open cases already.
    await full.send("/profile")
    await full.press("3")
    assert "最多同时承办件数：3；" in full.last_text()
    for n in range(3):
        case = await insert_case(db, 100 + n)
        await db.execute("UPDATE cases SET mediator_id = 6001 WHERE id = ?", (case,))
    await away.send("/away 2026-11-24 2026-11-27")
    assert "已登记不在岗：2026-11-24 – 2026-11-27" in away.last_text()
    await skilled.send("/profile")
    await skilled.press("治安纠纷")  # public order only: not traffic accidents
    assert "擅长纠纷类别：治安纠纷" in skilled.last_text()

    case_id = await insert_case(db, 200)
    await tick(dispatcher, db, bot, clock)
    assert [m for _i, m, _s in await offers(db, case_id)] == [6004]
    assert "新的调解案件分派给您" in free.last_text()

    # The absence ends: after it, 6002 is offered again (and has fewest open cases).
    await free.press("接受")
    clock.set(local(2026, 11, 30, 9, 0).astimezone(UTC))
    later = await insert_case(db, 201)
    await tick(dispatcher, db, bot, clock)
    assert [m for _i, m, _s in await offers(db, later)] == [6002]
    # Absences are listed and deleted by button.
    await away.send("/away")
    assert "2026-11-24 – 2026-11-27" not in away.last_text()  # over: no longer listed


async def test_fewest_open_cases_first_and_ties_to_the_one_idle_longest(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock
) -> None:
    assignment: AssignmentService = dispatcher["assignment"]
    for user_id in (6001, 6002, 6003):
        await make_mediator(dispatcher, bot, user_id)
    mediator = {u: await dispatcher["users"].get(u) for u in (6001, 6002, 6003)}
    order = []
    for n in range(6):
        case_id = await insert_case(db, 300 + n)
        chosen = await assignment.offer(case_id)
        assert chosen is not None
        order.append(chosen)
        offer_id = (await offers(db, case_id))[-1][0]
        assert (await assignment.accept(offer_id, mediator[chosen])).outcome.value == "done"
        clock.advance(timedelta(minutes=5))
    # Round robin: each time the least loaded; on a tie, the one whose last case is oldest.
    assert order == [6001, 6002, 6003, 6001, 6002, 6003]


async def test_the_room_lead_sees_unassigned_cases_and_assigns_by_hand(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    lead = await make_mediator(dispatcher, bot, 6001, name="组长", lead=True)
    wang = await make_mediator(dispatcher, bot, 6002, name="王")
    await wang.send("/away 2026-11-25 2026-12-05")
    await lead.send("/away 2026-11-25 2026-12-05")
    case_id = await file_mediation(client, db)
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
    await tick(dispatcher, db, bot, clock)
    assert "请指定调解员：/unassigned" in lead.last_text()  # nobody eligible: the lead is told

    await wang.send("/unassigned")
    assert wang.last_text() == "只有调解室负责人可以查看本室未分派的案件。"
    await lead.send("/unassigned")
    assert number in lead.last_text() and "目前没有可承办的调解员" in lead.last_text()
    await lead.press(f"分派 {number}")
    # Absent mediators may be chosen by hand; the lead sees who is away.
    assert lead.buttons() == ["组长 · 在办 0 件 · 今日不在岗", "王 · 在办 0 件 · 今日不在岗"]
    await lead.press("王")
    assert "已分派给 王" in lead.last_text()
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) == 6002
    await lead.press_again()
    assert "这个案件已有调解员。" in lead.session.alerts()
    await tick(dispatcher, db, bot, clock)
    assert "调解室负责人将调解案件" in wang.last_text()
    assert "王" in client.last_text() and "前与您联系" in client.last_text()
    assert (await events(db, case_id))[-1] == "mediation_assigned"


async def test_assigning_by_hand_withdraws_the_pending_offer_and_a_closed_case_drops_its_own(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    lead = await make_mediator(dispatcher, bot, 6001, name="组长", lead=True)
    await lead.send("/away 2026-11-25 2026-11-30")
    zhou = await make_mediator(dispatcher, bot, 6002, name="周")
    case_id = await file_mediation(client, db)
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
    await tick(dispatcher, db, bot, clock)
    assert "新的调解案件分派给您" in zhou.last_text()
    await zhou.press("不接受")
    await zhou.press("需要回避")
    await tick(dispatcher, db, bot, clock)
    await lead.send("/unassigned")
    assert "最近拒绝原因：需要回避（利害关系）" in lead.last_text()
    # The lead cannot assign a mediator who declared a conflict, only one without.
    await lead.press(f"分派 {number}")
    assert lead.buttons() == ["组长 · 在办 0 件 · 今日不在岗"]
    await lead.click(LeadAssign(op=LeadOp.assign, case_id=case_id, mediator_id=6002))
    assert "该调解员与本案有利害关系，应当回避。" in lead.session.alerts()

    # A second case: offered to zhou, then the lead assigns it to himself by hand.
    other = await file_mediation(client, db, other="王二")
    await tick(dispatcher, db, bot, clock)
    assert (await offers(db, other))[-1][1:] == (6002, "pending")
    await lead.click(LeadAssign(op=LeadOp.assign, case_id=other, mediator_id=6001))
    await tick(dispatcher, db, bot, clock)
    assert "对您的分派已撤回" in zhou.last_text()
    await zhou.press("接受")
    assert any("已失效" in alert for alert in zhou.session.alerts())
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (other,)) == 6001

    # A third, withdrawn by the applicant while offered: the offer is withdrawn too.
    third = await insert_case(db, 700)
    await tick(dispatcher, db, bot, clock)
    offer_id = (await offers(db, third))[-1][0]
    await db.execute("UPDATE cases SET status = 'withdrawn' WHERE id = ?", (third,))
    await tick(dispatcher, db, bot, clock)
    assert (await offers(db, third))[-1][2] == "withdrawn"
    await zhou.click(OfferAnswer(op=OfferOp.accept, offer_id=offer_id))
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (third,)) is None


async def test_forged_buttons_are_refused_across_mediators_rooms_and_roles(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock, client: BotClient
) -> None:
    wang = await make_mediator(dispatcher, bot, 6001)
    zhou = await make_mediator(dispatcher, bot, 6002)
    other_lead = await make_mediator(dispatcher, bot, 6100, COUNTY_ROOM, lead=True)
    case_id = await file_mediation(client, db)
    await tick(dispatcher, db, bot, clock)
    offer_id = (await offers(db, case_id))[0][0]

    # Another mediator presses wang's offer: refused, nothing changes.
    await zhou.click(OfferAnswer(op=OfferOp.accept, offer_id=offer_id))
    await zhou.click(OfferDecline(offer_id=offer_id, reason=DeclineReason.busy))
    assert zhou.session.alerts().count("这个分派不是给您的。") == 2
    # A citizen's forged press falls through to the stale-button answer.
    await client.click(OfferAnswer(op=OfferOp.accept, offer_id=offer_id))
    # A lead of another room cannot assign this case; a plain mediator cannot either.
    await other_lead.click(LeadAssign(op=LeadOp.assign, case_id=case_id, mediator_id=6100))
    await zhou.click(LeadAssign(op=LeadOp.pick, case_id=case_id))
    assert zhou.session.alerts().count("您无权分派这个案件。") == 2
    # Profiles: another mediator's, or making oneself a room lead.
    await zhou.click(ProfileAction(op=ProfileOp.load, mediator_id=6001, value=3))
    await zhou.click(ProfileAction(op=ProfileOp.lead, mediator_id=6002, value=1))
    await other_lead.click(ProfileAction(op=ProfileOp.skill, mediator_id=6001, value=0))
    assert "您无权修改这位调解员的资料。" in zhou.session.alerts()
    assert "只有管理员可以设置调解室负责人。" in zhou.session.alerts()
    # An out-of-range value in a forged button is a refusal, not an error.
    await wang.click(ProfileAction(op=ProfileOp.skill, mediator_id=6001, value=99))
    assert await db.fetch_value("SELECT count(*) FROM mediator_skills") == 0
    assert await db.fetch_value("SELECT count(*) FROM mediator_profiles") == 0
    assert await db.fetch_value("SELECT leads_room FROM users WHERE telegram_id = 6002") == 0
    assert [(m, s) for _i, m, s in await offers(db, case_id)] == [(6001, "pending")]
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) is None


async def test_an_admin_makes_a_mediator_the_room_lead_and_the_lead_manages_the_room(
    dispatcher: Dispatcher, db: Database, bot: Bot, clock: FakeClock
) -> None:
    admin = BotClient(dispatcher, bot, user_id=ADMIN_ID, language_code="zh-hans")
    await dispatcher["users"].set_role(ADMIN_ID, Role.admin)
    await make_mediator(dispatcher, bot, 6001, name="组长")
    wang = await make_mediator(dispatcher, bot, 6002, name="王")
    await admin.send("/mediators")
    await admin.press("组长")
    await admin.press("设为调解室负责人")
    assert "调解室负责人。" in admin.last_text()
    lead_user = await dispatcher["users"].get(6001)
    assert lead_user is not None and lead_user.leads_room
    lead = BotClient(dispatcher, bot, user_id=6001, language_code="zh-hans")
    await lead.send("/mediators")
    await lead.press("王")
    await lead.press("5")
    assert "最多同时承办件数：5；" in lead.last_text()
    await lead.send("/away 6002 2026-12-20 2026-12-31")
    assert "已登记不在岗：2026-12-20 – 2026-12-31" in lead.last_text()
    await wang.send("/profile")
    assert "2026-12-20 – 2026-12-31" in wang.last_text()
    await wang.press("删除不在岗")
    assert "未登记不在岗日期。" in wang.last_text()


async def test_an_offer_pending_at_a_restart_runs_out_and_passes_on_after_it(
    db: Database, clock: FakeClock, tmp_path
) -> None:
    """Store-level restart: the offer lives in the database, not in the process."""
    from cases.org.users import UserRepository

    users = UserRepository(db, clock)
    for user_id in (6001, 6002):
        await users.set_role(user_id, Role.mediator, PSB_ROOM)
    case_id = await insert_case(db, 400)
    first = service(db, clock)
    assert await first.offer(case_id) == 6001
    until = from_db(
        await db.fetch_value(
            "SELECT expires_at FROM mediation_offers WHERE case_id = ?", (case_id,)
        )
    )
    await db.close()

    reopened = same_store(db)
    await reopened.open()
    try:
        clock.set(until + timedelta(minutes=1))
        second = service(reopened, clock)
        await second.tick()
        assert [(m, s) for _i, m, s in await offers(reopened, case_id)] == [
            (6001, "expired"),
            (6002, "pending"),
        ]
        await second.tick()  # a second run changes nothing
        assert len(await offers(reopened, case_id)) == 2
        outbox = await reopened.fetch_all(
            "SELECT chat_id FROM reminders WHERE dedup_key LIKE 'asg:offer:%' ORDER BY id"
        )
        assert [r[0] for r in outbox] == [6001, 6002]
    finally:
        await reopened.close()
        await db.open()


async def test_migration_0015_upgrades_a_database_with_cases_and_mediators(
    tmp_path, clock: FakeClock
) -> None:
    """A database from before 0015, with a waiting mediation case and a mediator: after the
    upgrade the case is offered like a new one."""

    from cases.org.users import UserRepository
    from cases.store.migrate import migrate

    before = migrations_where(tmp_path / "before", lambda name: "mediation_assignment" not in name)
    db = SqliteDatabase(tmp_path / "old.sqlite3")
    await db.open()
    try:
        await migrate(db, before, clock=clock)
        await UserRepository(db, clock).set_role(6001, Role.mediator, PSB_ROOM)
        case_id = await insert_case(db, 500)
        applied = await migrate(db, clock=clock)
        assert [name.split("_", 1)[1] for name in applied] == ["mediation_assignment.sql"]
        assert await service(db, clock).offer(case_id) == 6001
        assert await db.fetch_value("SELECT count(*) FROM cases") == 1
    finally:
        await db.close()


async def test_an_english_speaking_mediator_reads_the_offer_in_english_with_escaped_names(
    db: Database, clock: FakeClock
) -> None:
    import json as json_module

    from cases.org.users import UserRepository
    from scheduling.assignment import assignment_buttons, render_assignment

    users = UserRepository(db, clock)
    await users.set_role(6001, Role.mediator, PSB_ROOM)
    await users.set_locale(6001, "en")
    case_id = await insert_case(db, 800)
    assert await service(db, clock).offer(case_id) == 6001
    row = await db.fetch_one(
        "SELECT locale, payload FROM reminders WHERE dedup_key LIKE 'asg:offer:%'"
    )
    assert row is not None and row[0] == "en"
    payload = json_module.loads(row[1])
    text = render_assignment("en", payload)
    assert "A mediation case is offered to you: <code>TJ-2026-000800</code>" in text
    assert "Traffic" in text and "Chengguan" in text
    assert "Wed 25 Nov 2026 13:00" in text
    labels = [label for label, _data in assignment_buttons("en", payload)]
    assert labels == ["✅ Accept", "Decline"]
    payload["params"]["number"] = "<b>x</b>"
    assert "&lt;b&gt;x&lt;/b&gt;" in render_assignment("en", payload)
