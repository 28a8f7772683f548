"""Staff acting on cases through the chat: accept, refuse, 补正, extend, suspend, decide,
mediation outcomes, /cases; every action re-authorised, recorded, idempotent, and the citizen
told through the outbox in their language."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from cases.clock import FakeClock
from cases.db import Database
from cases.deadlines import compute
from cases.users import Role
from handlers import staff as staff_handlers
from scheduling.outbox import Outbox
from scheduling.planner import Planner
from scheduling.runner import Scheduling, SchedulingConfig
from scheduling.sender import render_markup, render_text
from tests.conftest import ADMIN_ID
from tests.fakes.telegram import BotClient
from tests.scheduling_helpers import FakeTransport
from tests.test_intake_flows import VALID_ID, fill_mediation, fill_reconsideration

CITIZEN = 1001
STAFF = 7001
MEDIATOR = 7002


@dataclass
class PacedClient(BotClient):
    """A person who takes a second per message, as people do (keeps flood control quiet)."""

    clock: FakeClock | None = None

    async def feed(self, update: dict[str, Any], update_id: int | None = None) -> Any:
        if self.clock is not None:
            self.clock.advance(timedelta(seconds=1))
        return await super().feed(update, update_id)


@pytest.fixture
def dp(dispatcher: Dispatcher) -> Dispatcher:
    """The bot with the staff router, placed before the fallback as handlers/__init__ will."""
    dispatcher.include_router(staff_handlers.build_router())
    routers = dispatcher.sub_routers
    staff = routers.pop()
    routers.insert(len(routers) - 1, staff)
    return dispatcher


@pytest.fixture
def citizen(dp: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return PacedClient(dp, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)


async def staff_client(
    dp: Dispatcher, bot: Bot, clock: FakeClock, user_id: int, role: Role
) -> PacedClient:
    await dp["users"].set_role(user_id, role)
    return PacedClient(
        dp, bot, user_id=user_id, language_code="zh-hans", first_name="王科长", clock=clock
    )


@pytest.fixture
async def admin(dp: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dp, bot, clock, ADMIN_ID, Role.admin)


async def file_reconsideration(citizen: PacedClient, db: Database) -> int:
    await fill_reconsideration(citizen)
    await citizen.press("提交")
    return int(await db.fetch_value("SELECT max(id) FROM cases"))


async def file_petition(citizen: PacedClient, db: Database) -> int:
    """A 申诉求决 petition (the X4 clock applies to these, XF 31(6), 34)."""
    await citizen.send("/petition")
    await citizen.press("没有")
    await citizen.press("申诉、求决")
    await citizen.send("张三")
    await citizen.press("居民身份证")
    await citizen.send(VALID_ID)
    await citizen.send("13800001234")
    await citizen.send("城关镇东街1号")
    await citizen.press("城关镇")
    await citizen.press("跳过")  # no particular agency concerned
    await citizen.send("修复村道路面")
    await citizen.send("村道损坏已有一年。")
    await citizen.send("孩子们每天走这条路上学。")
    await citizen.press("否")  # not raised before
    await citizen.send("1")  # speaks for one person
    await citizen.press("完成")  # no files
    assert "请核对" in citizen.last_text()
    await citizen.press("提交")
    return int(await db.fetch_value("SELECT max(id) FROM cases"))


async def status(db: Database, case_id: int) -> str:
    return str(await db.fetch_value("SELECT status FROM cases WHERE id = ?", (case_id,)))


async def clocks(db: Database, case_id: int) -> dict[str, tuple[str, str]]:
    """rule → (status, due_on) of the newest row per rule."""
    rows = await db.fetch_all(
        "SELECT rule_id, status, due_on FROM case_deadlines WHERE case_id = ? ORDER BY id",
        (case_id,),
    )
    return {r["rule_id"]: (r["status"], r["due_on"]) for r in rows}


async def events(db: Database, case_id: int, kind: str) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        "SELECT actor_id, actor_role, detail FROM case_events WHERE case_id = ? AND kind = ?"
        " ORDER BY id",
        (case_id, kind),
    )
    return [{"actor_id": r[0], "actor_role": r[1], **json.loads(r[2])} for r in rows]


async def notices(db: Database, case_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        "SELECT * FROM reminders WHERE kind = 'notice' AND case_id = ? ORDER BY id", (case_id,)
    )
    return [dict(r) for r in rows]


async def deliver(db: Database, clock: FakeClock) -> list[str]:
    """Send what is due through the real outbox; the texts the citizen received."""
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN_ID]).dispatch_due()
    return [render_text(row) for row in transport.delivered if row.chat_id == CITIZEN]


def button_data(client: BotClient, label: str) -> str:
    for sent in reversed(client.session.seen(client.user_id)):
        if sent.markup is None:
            continue
        for row in sent.markup.inline_keyboard:
            for b in row:
                if label in b.text:
                    assert b.callback_data is not None
                    return b.callback_data
        break
    raise AssertionError(f"no button {label!r}: {client.buttons()}")


# -- reconsideration ----------------------------------------------------------------------------


async def test_accept_from_the_reminder_button_opens_f9_f12_and_tells_the_citizen(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"case:view:{case_id}")  # the "open case" button of a reminder
    page = admin.last_text()
    assert "FY-2026-000001" in page
    assert "420625********0018" in page and VALID_ID not in page  # admins see it masked
    assert {"✅ 受理", "📝 通知补正", "⛔ 不予受理"} <= set(admin.buttons())

    await admin.press("受理")
    assert "简易程序" in admin.last_text()
    await admin.press("普通程序")
    assert "已办理：案件已受理" in admin.last_text()

    assert await status(db, case_id) == "accepted"
    state = await clocks(db, case_id)
    assert state["F5"][0] == "met"
    # F9: 7 working days after Wed 2026-11-25 → Fri 2026-12-04; F12: 60 days (FY 62).
    assert state["F9"] == ("open", "2026-12-04")
    assert state["F12"] == ("open", compute("F12", date(2026, 11, 25)).due.isoformat())
    accepted = await events(db, case_id, "accepted")
    assert [(e["actor_id"], e["actor_role"]) for e in accepted] == [(ADMIN_ID, "admin")]

    [row] = await notices(db, case_id)
    assert (row["audience"], row["chat_id"], row["dedup_key"]) == (
        "citizen",
        CITIZEN,
        f"notice:accepted:{case_id}",
    )
    [text] = await deliver(db, clock)
    assert "已于2026年11月25日（星期三）受理" in text
    assert "普通程序" in text
    assert "《行政复议法》第六十二条" in text
    assert "<code>FY-2026-000001</code>" in text


async def test_double_press_accepts_once(
    citizen: PacedClient, admin: PacedClient, db: Database
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"case:view:{case_id}")
    await admin.press("受理")
    ordinary = button_data(admin, "普通程序")
    await admin.click(ordinary)
    await admin.click(ordinary)
    assert "已经办理过" in admin.last_text()
    assert len(await events(db, case_id, "accepted")) == 1
    assert (
        await db.fetch_value(
            "SELECT count(*) FROM case_deadlines WHERE case_id = ? AND rule_id = 'F12'", (case_id,)
        )
        == 1
    )
    assert len(await notices(db, case_id)) == 1


async def test_refusal_asks_the_reason_stops_the_clocks_and_tells_the_citizen(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0")
    await admin.press("不予受理")
    assert "第三十条第二款" in admin.last_text()
    await admin.send("申请人与被申请的行政行为没有利害关系。")
    assert await status(db, case_id) == "refused"
    assert (await clocks(db, case_id))["F5"][0] == "cancelled"
    [refused] = await events(db, case_id, "refused")
    assert refused["actor_role"] == "admin"
    [text] = await deliver(db, clock)
    assert "不予受理" in text and "没有利害关系" in text
    assert "《行政复议法》第三十条第二款" in text
    # The same text sent again does nothing: the form is over.
    await admin.send("申请人与被申请的行政行为没有利害关系。")
    assert len(await events(db, case_id, "refused")) == 1


async def test_correction_pauses_the_review_and_material_received_restarts_it(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0")
    await admin.press("通知补正")
    await admin.send("请提交处罚决定书复印件。")
    assert await status(db, case_id) == "correction_requested"
    state = await clocks(db, case_id)
    assert state["F5"][0] == "paused"
    # F7: 10 working days after 2026-11-25 → Wed 2026-12-09 (FY 31(2)).
    assert state["F7"] == ("open", "2026-12-09")
    [text] = await deliver(db, clock)
    assert "处罚决定书复印件" in text
    assert "2026年12月9日（星期三）" in text
    assert "十个工作日" in text and "《行政复议法》第三十一条" in text

    # Two days later the citizen adds the material through /mycases, staff record it.
    clock.set(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    await citizen.send("/mycases")
    await citizen.press("FY-2026-000001")
    await citizen.press("补充材料")
    await citizen.send("处罚决定书复印件见附件。")
    await admin.click(f"staff:view:{case_id}::0")
    assert "📝 通知补正" not in admin.buttons()
    await admin.press("补正材料已收到")
    assert await status(db, case_id) == "submitted"
    state = await clocks(db, case_id)
    assert state["F7"][0] == "met"
    # FY 31(3): a new, full F5 review from Fri 2026-11-27 → Fri 2026-12-04.
    assert state["F5"] == ("open", "2026-12-04")
    assert "📝 通知补正" not in admin.buttons()  # one 补正 notice only (FY 31(1))
    [text] = await deliver(db, clock)
    assert "2026年12月4日（星期五）" in text


async def test_extension_needs_a_reason_is_told_and_a_second_press_does_nothing(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0")
    old_due = date.fromisoformat((await clocks(db, case_id))["F12"][1])
    await deliver(db, clock)
    await admin.press("延长期限")
    await admin.send("案情复杂，需要现场调查。")
    thirty = button_data(admin, "30日")
    await admin.click(thirty)
    await admin.click(thirty)
    row = await db.fetch_one(
        "SELECT due_on, extension_days, extended_by, extension_reason FROM case_deadlines"
        " WHERE case_id = ? AND rule_id = 'F12'",
        (case_id,),
    )
    assert row["extension_days"] == 30 and row["extended_by"] == ADMIN_ID
    assert row["extension_reason"] == "案情复杂，需要现场调查。"
    # 60 + 30 days from the acceptance on 2026-11-25 (the extension extends the period, not
    # the rolled-forward last day): Tue 2027-02-23.
    assert old_due == date(2027, 1, 25)
    assert row["due_on"] == "2027-02-23"
    assert "⏳ 延长期限" not in admin.buttons()  # nothing left of the 30 days (FY 62(1))
    [text] = await deliver(db, clock)
    assert "延长30日" in text and "案情复杂" in text
    assert "《行政复议法》第六十二条第一款" in text


async def test_suspension_pauses_and_resumption_moves_the_decision_date(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0")
    before = date.fromisoformat((await clocks(db, case_id))["F12"][1])
    await admin.press("中止审理")
    await admin.send("双方同意调解。")
    await admin.press("其他原因")
    assert await status(db, case_id) == "suspended"
    assert (await clocks(db, case_id))["F12"][0] == "paused"
    assert "F17" not in await clocks(db, case_id)

    clock.advance(timedelta(days=3))
    await admin.click(f"staff:view:{case_id}::0")
    await admin.press("恢复审理")
    assert await status(db, case_id) == "accepted"
    status_f12, due = (await clocks(db, case_id))["F12"]
    assert status_f12 == "open"
    # The unrolled last day (Sun 2027-01-24) moves by the 3 paused days: Wed 2027-01-27.
    assert (before, due) == (date(2027, 1, 25), "2027-01-27")
    texts = await deliver(db, clock)
    assert any("中止审理" in t and "双方同意调解" in t for t in texts)
    assert any("恢复审理" in t for t in texts)


async def test_suspension_on_death_starts_the_60_day_termination_clock(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0")
    await admin.press("中止审理")
    await admin.send("申请人死亡，需等待近亲属表明是否参加。")
    await admin.press("申请人死亡")
    # F17 (FY 39(1)(1), 41(5)): 60 days from Wed 2026-11-25 → Sun 2027-01-24 → Mon 01-25.
    assert (await clocks(db, case_id))["F17"] == ("open", "2027-01-25")
    [suspended] = await events(db, case_id, "suspended")
    assert suspended["terminating_ground"] is True
    await admin.click(f"staff:resume:{case_id}::0")
    assert (await clocks(db, case_id))["F17"][0] == "cancelled"


async def test_decision_closes_the_clock_and_tells_the_citizen_about_suing(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0")
    await admin.press("已作出复议决定")
    await admin.press("确认")
    assert await status(db, case_id) == "decided"
    state = await clocks(db, case_id)
    assert state["F12"][0] == "met" and state["F9"][0] == "cancelled"
    texts = await deliver(db, clock)
    # XS 45: 15 days from 2026-11-25 → Thu 2026-12-10.
    assert any("十五日内" in t and "2026年12月10日（星期四）" in t for t in texts)
    assert any("《行政诉讼法》第四十五条" in t for t in texts)
    # The old "decide" button pressed again: already done.
    await admin.click(f"staff:decide:{case_id}:y:0")
    assert "已经办理过" in admin.last_text()
    assert len(await events(db, case_id, "decided")) == 1


async def test_deemed_acceptance_when_f5_passes(
    citizen: PacedClient, db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    case_id = await file_reconsideration(citizen, db)
    transport = FakeTransport()
    scheduling = Scheduling(
        db=db,
        clock=clock,
        config=SchedulingConfig(admin_ids=(ADMIN_ID,), backup_dir=tmp_path / "b"),
        transport=transport,
    )
    await scheduling.tick()
    assert await status(db, case_id) == "submitted"  # F5 runs until 2026-12-02

    clock.set(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))  # Thu 09:00 in Gucheng
    await scheduling.tick()
    await scheduling.tick()
    assert await status(db, case_id) == "accepted"
    state = await clocks(db, case_id)
    assert state["F5"][0] == "missed"
    f12_due = compute("F12", date(2026, 12, 2)).due
    assert state["F12"] == ("open", f12_due.isoformat())
    [accepted] = await events(db, case_id, "accepted")
    assert accepted["deemed"] is True and accepted["actor_role"] == "system"
    [row] = await notices(db, case_id)
    assert row["dedup_key"] == f"notice:deemed_accepted:{case_id}"
    sent = [r for r in transport.delivered if r.chat_id == CITIZEN]
    assert len(sent) == 1
    text = render_text(sent[0])
    assert "依据《行政复议法》第三十条第三款" in text
    assert "自2026年12月2日（星期三）起视为受理" in text
    assert f"{f12_due.year}年{f12_due.month}月{f12_due.day}日" in text
    markup = render_markup(sent[0])
    assert markup is not None
    assert markup.inline_keyboard[0][0].callback_data == f"case:view:{case_id}"


async def test_citizen_with_a_forged_staff_button_gets_nothing(
    citizen: PacedClient, db: Database
) -> None:
    case_id = await file_reconsideration(citizen, db)
    seen = len(citizen.texts())
    await citizen.click(f"staff:accept:{case_id}:o:0")
    await citizen.click(f"staff:view:{case_id}::0")
    await citizen.send("/cases")
    assert await status(db, case_id) == "submitted"
    assert len(await events(db, case_id, "accepted")) == 0
    assert not any("受理审查" in t or "待办案件" in t for t in citizen.texts()[seen:])


# -- petition -----------------------------------------------------------------------------------


async def test_petition_accept_extension_needs_the_head_and_conclusion_tells_x5(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await file_petition(citizen, db)
    office = await staff_client(dp, bot, clock, STAFF, Role.office_staff)
    await office.click(f"staff:view:{case_id}::0")
    await office.press("受理·转送")
    assert await status(db, case_id) == "accepted"
    state = await clocks(db, case_id)
    assert state["X1"][0] == "met"
    assert state["X4"] == ("open", compute("X4", date(2026, 11, 25)).due.isoformat())
    # XF 34: only the head of the body approves; office staff get no extension button.
    assert "⏳ 延长期限" not in office.buttons()
    await admin.click(f"staff:view:{case_id}::0")
    await admin.press("延长期限")
    await admin.send("需要征求多个部门意见。")
    await admin.press("30日")
    x4 = await db.fetch_one(
        "SELECT extension_days, extended_by FROM case_deadlines WHERE rule_id = 'X4'"
    )
    assert tuple(x4) == (30, ADMIN_ID)
    await admin.press("已出具处理意见")
    await admin.press("确认")
    assert await status(db, case_id) == "decided"
    [concluded] = await events(db, case_id, "concluded")
    assert (concluded["actor_id"], concluded["actor_role"]) == (ADMIN_ID, "admin")
    texts = await deliver(db, clock)
    assert any("延长30日" in t and "征求多个部门意见" in t for t in texts)
    assert any("《信访工作条例》第三十四条" in t for t in texts)
    # X5 (XF 35): 30 days from 2026-11-25 → Fri 2026-12-25.
    assert any("三十日内" in t and "2026年12月25日（星期五）" in t for t in texts)


# -- mediation ----------------------------------------------------------------------------------


async def test_mediation_agreement_opens_m1_and_the_citizen_is_reminded(
    dp: Dispatcher, bot: Bot, citizen: PacedClient, db: Database, clock: FakeClock
) -> None:
    await fill_mediation(citizen)
    await citizen.press("提交")
    case_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    mediator = await staff_client(dp, bot, clock, MEDIATOR, Role.mediator)
    await mediator.send("/cases")
    assert "TJ-2026-000001" in mediator.last_text()
    await mediator.press("TJ-2026-000001")
    page = mediator.last_text()
    assert "13800001234" in page  # a mediator must be able to call the parties
    assert "420625********0018" in page and VALID_ID not in page
    await mediator.press("调解成功")
    await mediator.press("确认")
    assert await status(db, case_id) == "settled"
    # M1 (TJ 33): 30 days from 2026-11-25 → Fri 2026-12-25.
    assert (await clocks(db, case_id))["M1"] == ("open", "2026-12-25")
    texts = await deliver(db, clock)
    assert any("司法确认" in t and "2026年12月25日（星期五）" in t for t in texts)
    assert any("《人民调解法》第三十三条" in t for t in texts)
    await Planner(db, clock, admin_ids=[ADMIN_ID]).plan()
    planned = await db.fetch_all(
        "SELECT step FROM reminders WHERE rule_id = 'M1' AND chat_id = ? AND kind = 'reminder'",
        (CITIZEN,),
    )
    assert {r["step"] for r in planned} == {"-10cd", "-3cd", "-1cd"}


async def test_failed_mediation_closes_and_names_the_other_routes(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    await fill_mediation(citizen)
    await citizen.press("提交")
    case_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    await admin.click(f"staff:failed:{case_id}:y:0")
    assert await status(db, case_id) == "closed"
    [text] = await deliver(db, clock)
    assert "仲裁" in text and "《人民调解法》第二十六条" in text


async def test_mediator_cannot_see_or_act_on_a_reconsideration_case(
    dp: Dispatcher, bot: Bot, citizen: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    mediator = await staff_client(dp, bot, clock, MEDIATOR, Role.mediator)
    await mediator.click(f"staff:accept:{case_id}:o:0")
    await mediator.click(f"case:view:{case_id}")
    assert mediator.session.alerts()[-2:] == ["您无权查看这个案件。"] * 2
    assert not any("FY-2026" in t for t in mediator.texts())
    await mediator.send("/cases")
    assert "FY-2026-000001" not in mediator.last_text()
    assert await status(db, case_id) == "submitted"
    assert len(await notices(db, case_id)) == 0


# -- /cases -------------------------------------------------------------------------------------


async def test_cases_lists_open_cases_soonest_deadline_first(
    citizen: PacedClient, admin: PacedClient, db: Database
) -> None:
    await fill_mediation(citizen)
    await citizen.press("提交")  # no statutory period: last
    await file_petition(citizen, db)  # X1: 15 days → 2026-12-10
    await file_reconsideration(citizen, db)  # F5: 2026-12-02
    await admin.send("/cases")
    assert admin.buttons()[:3] == [
        "FY-2026-000001 · 2026年12月2日（星期三）",
        "XF-2026-000001 · 2026年12月10日（星期四）",
        "TJ-2026-000001",
    ]
    text = admin.last_text()
    assert text.index("FY-2026") < text.index("XF-2026") < text.index("TJ-2026")
