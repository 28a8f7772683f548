"""Staff acting on cases through the chat: accept, refuse, 补正, extend, suspend, decide,
mediation outcomes, /cases; every action re-authorised, recorded, idempotent, and the citizen
told through the outbox in their language."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from cases.i18n import format_date
from cases.org.users import Role, User
from cases.procedures.action_steps import ActionResult, Outcome
from cases.procedures.actions import CaseActions
from cases.procedures.deadline_recount import expire_acceptance_reviews
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.staff import callbacks as staff_handlers
from scheduling.notices import deem_accepted, notice_sink
from scheduling.outbox import Outbox
from scheduling.planner import Planner
from scheduling.runner import Scheduling, SchedulingConfig
from scheduling.sender import render_markup, render_text
from tests.fakes.telegram import BotClient
from tests.scheduling_helpers import FakeTransport
from tests.support import (
    ADMIN_ID,
    ENGINE,
    VALID_ID,
    PacedClient,
    compute,
    file_petition,
    file_reconsideration,
    fill_mediation,
    staff_client,
)

CITIZEN = 1001
STAFF = 7001
MEDIATOR = 7002


@pytest.fixture
def dp(dispatcher: Dispatcher) -> Dispatcher:
    """The bot's own dispatcher (bot.create_dispatcher): staff routes come from get_routers()
    only, so these tests fail if staff is dropped from it (tests/test_routers.py)."""
    return dispatcher


@pytest.fixture
def citizen(dp: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return PacedClient(dp, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)


@pytest.fixture
async def admin(dp: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dp, bot, clock, ADMIN_ID, Role.admin)


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
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("不予受理")
    assert "第三十条第二款" in admin.last_text()
    await admin.send("申请人与被申请的行政行为没有利害关系。")
    assert "没有利害关系" in admin.last_text()  # shown back: it acts only when confirmed
    assert await status(db, case_id) == "submitted"
    await admin.press("确认")
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


async def test_a_message_typed_later_cannot_refuse_a_case(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    """Regression (HIGH): after pressing 不予受理 and leaving for /cases, the next text typed
    for anything else refused the case and was sent to the citizen as the reason."""
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("不予受理")
    await admin.send("/cases")
    await admin.send("你好")
    assert await status(db, case_id) == "submitted"
    # Still in the prompt, a stray text is only shown back with a confirmation button.
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("不予受理")
    await admin.send("你好")
    assert "你好" in admin.last_text() and "不能撤销" in admin.last_text()
    await admin.press("取消")
    assert await status(db, case_id) == "submitted"
    assert await events(db, case_id, "refused") == []
    assert await deliver(db, clock) == []


async def test_an_older_confirm_button_does_not_act_on_a_newer_text(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    """Regression (HIGH): the first "确认" refused the case with whatever was typed last
    ("好的，稍等"), which the citizen then received as the reason."""
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("不予受理")
    await admin.send("申请人与被申请的行政行为没有利害关系。")
    first = button_data(admin, "确认")
    await admin.send("好的，稍等")
    await admin.click(first)
    assert admin.last_text().startswith("未作任何处理")
    assert await status(db, case_id) == "submitted"
    # Leaving for /cases sets the reason aside: the button says nothing was done.
    await admin.send("/cases")
    await admin.click(first)
    assert admin.last_text().startswith("未作任何处理")
    assert await events(db, case_id, "refused") == []
    assert await deliver(db, clock) == []


async def test_a_sticker_while_a_reason_is_asked_keeps_the_prompt_open(
    citizen: PacedClient, admin: PacedClient, db: Database
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("不予受理")
    await admin.send_sticker()
    assert admin.last_text() == "请用文字输入您的回答。"
    await admin.send("申请人与被申请的行政行为没有利害关系。")
    assert "没有利害关系" in admin.last_text() and "确认" in admin.buttons()


async def test_correction_pauses_the_review_and_material_received_restarts_it(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("通知补正")
    await admin.send("请提交处罚决定书复印件。")
    await admin.press("确认")
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
    await admin.click(f"staff:view:{case_id}::0:0::")
    assert "📝 通知补正" not in admin.buttons()
    await admin.press("补正材料已收到")
    assert await status(db, case_id) == "submitted"
    # Staff read the history about the applicant, not the citizen's own "you" texts.
    await admin.click(f"staff:view:{case_id}::0:0::")
    page = admin.last_text()
    assert "已收到申请人补正的材料" in page
    assert "您" not in page.split("办理经过")[-1]
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
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
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


async def test_two_approvers_extending_at_the_same_moment_extend_once(
    dp: Dispatcher, bot: Bot, citizen: PacedClient, db: Database, clock: FakeClock
) -> None:
    """Regression: both presses passed the check made outside the unit of work; F12 grew by
    20 days and the citizen was told a date 10 days short of the real one."""
    case_id = await file_reconsideration(citizen, db)
    first = await staff_client(dp, bot, clock, ADMIN_ID, Role.admin)
    second = await staff_client(dp, bot, clock, 9002, Role.admin)
    await first.click(f"staff:accept:{case_id}:o:0:0::")
    await deliver(db, clock)
    for approver in (first, second):
        await approver.click(f"staff:view:{case_id}::0:0::")
        await approver.press("延长期限")
        await approver.send("案情复杂，需要现场调查。")
    await asyncio.gather(
        first.click(button_data(first, "10日")), second.click(button_data(second, "10日"))
    )
    row = await db.fetch_one(
        "SELECT due_on, extension_days FROM case_deadlines WHERE case_id = ? AND rule_id = 'F12'",
        (case_id,),
    )
    assert row["extension_days"] == 10
    assert len(await events(db, case_id, "deadline_extended")) == 1
    [text] = await deliver(db, clock)
    assert format_date(date.fromisoformat(row["due_on"]), "zh") in text


async def test_suspension_pauses_and_resumption_moves_the_decision_date(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    before = date.fromisoformat((await clocks(db, case_id))["F12"][1])
    await admin.press("中止审理")
    await admin.send("双方同意调解。")
    await admin.press("其他原因")
    assert await status(db, case_id) == "suspended"
    assert (await clocks(db, case_id))["F12"][0] == "paused"
    assert "F17" not in await clocks(db, case_id)

    clock.advance(timedelta(days=3))
    await admin.click(f"staff:view:{case_id}::0:0::")
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
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    await admin.press("中止审理")
    await admin.send("申请人死亡，需等待近亲属表明是否参加。")
    await admin.press("申请人死亡")
    # F17 (FY 39(1)(1), 41(5)): 60 days from Wed 2026-11-25 → Sun 2027-01-24 → Mon 01-25.
    assert (await clocks(db, case_id))["F17"] == ("open", "2027-01-25")
    [suspended] = await events(db, case_id, "suspended")
    assert suspended["terminating_ground"] is True
    await admin.click(f"staff:resume:{case_id}::0:0::")
    assert (await clocks(db, case_id))["F17"][0] == "cancelled"


async def test_decision_closes_the_clock_and_tells_the_citizen_about_suing(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
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
    await admin.click(f"staff:decide:{case_id}:y:0:0::")
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
        engine=ENGINE,
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
    await citizen.click(f"staff:accept:{case_id}:o:0:0::")
    await citizen.click(f"staff:view:{case_id}::0:0::")
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
    await office.click(f"staff:view:{case_id}::0:0::")
    await office.press("受理·转送")
    assert await status(db, case_id) == "accepted"
    state = await clocks(db, case_id)
    assert state["X1"][0] == "met"
    assert state["X4"] == ("open", compute("X4", date(2026, 11, 25)).due.isoformat())
    # XF 34: only the head of the body approves; office staff get no extension button.
    assert "⏳ 延长期限" not in office.buttons()
    await admin.click(f"staff:view:{case_id}::0:0::")
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
    room = str(await db.fetch_value("SELECT routed_to FROM cases")).removeprefix("room:")
    other_room = await staff_client(dp, bot, clock, MEDIATOR + 1, Role.mediator, "room_shihua")
    await other_room.send("/cases")
    assert "TJ-2026-000001" not in other_room.last_text()  # another room's case
    mediator = await staff_client(dp, bot, clock, MEDIATOR, Role.mediator, room)
    await mediator.send("/cases")
    assert "TJ-2026-000001" not in mediator.last_text()  # the room's, not yet theirs
    await db.execute("UPDATE cases SET mediator_id = ? WHERE id = ?", (MEDIATOR, case_id))
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
    assert any("《民事诉讼法》第二百零五条" in t for t in texts)
    await Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar).plan()
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
    await admin.click(f"staff:failed:{case_id}:y:0:0::")
    assert await status(db, case_id) == "closed"
    [text] = await deliver(db, clock)
    assert "仲裁" in text and "人民调解法" not in text


async def test_mediator_cannot_see_or_act_on_a_reconsideration_case(
    dp: Dispatcher, bot: Bot, citizen: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    mediator = await staff_client(dp, bot, clock, MEDIATOR, Role.mediator)
    await mediator.click(f"staff:accept:{case_id}:o:0:0::")
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
    await citizen.press("提交")  # the county's mediation period (MA): 30 days → 2026-12-25
    await file_petition(citizen, db)  # X1: 15 days → 2026-12-10
    await file_reconsideration(citizen, db)  # F5: 2026-12-02
    await admin.send("/cases")
    assert admin.buttons()[:3] == [
        "FY-2026-000001 · 2026年12月2日（星期三）",
        "XF-2026-000001 · 2026年12月10日（星期四）",
        "TJ-2026-000001 · 2026年12月25日（星期五）",
    ]
    text = admin.last_text()
    assert text.index("FY-2026") < text.index("XF-2026") < text.index("TJ-2026")


# -- legal review fixes -------------------------------------------------------------------------

LIAISON = 7003


def shanghai(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour - 8, 0, tzinfo=UTC)


async def dp_user(db: Database, telegram_id: int) -> User:
    row = await db.fetch_one(
        "SELECT telegram_id, locale, role FROM users WHERE telegram_id = ?", (telegram_id,)
    )
    assert row is not None
    return User(telegram_id=row[0], locale=row[1], role=Role(row[2]))


async def pending_steps(db: Database, rule_id: str, chat_id: int) -> set[str]:
    rows = await db.fetch_all(
        "SELECT step FROM reminders WHERE rule_id = ? AND chat_id = ? AND status = 'pending'"
        " AND kind IN ('reminder', 'chase', 'overdue')",
        (rule_id, chat_id),
    )
    return {r["step"] for r in rows}


async def test_f10_copy_sent_opens_the_respondents_reply_period_and_stops_f9(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """HIGH: F10 was never opened, so the respondent was never reminded, and F9 reminders ran
    on after the copy was sent."""
    await dp["users"].set_role(LIAISON, Role.agency_liaison)
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    planner = Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar)
    await planner.plan()
    assert await pending_steps(db, "F9", ADMIN_ID)  # the office is reminded to send the copy

    clock.set(shanghai(2026, 11, 27, 10))  # Friday
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("申请书副本已发送")
    assert "10个工作日" in admin.last_text() and "《行政复议法》第四十八条" in admin.last_text()
    assert {"今天", "昨天"} <= set(admin.buttons())
    copy_yesterday = button_data(admin, "昨天")
    await admin.click(copy_yesterday)  # received on Thu 2026-11-26

    state = await clocks(db, case_id)
    assert state["F9"][0] == "met"
    # FY 48: 10 working days after Thu 2026-11-26 → Thu 2026-12-10.
    assert state["F10"] == ("open", "2026-12-10")
    assert compute("F10", date(2026, 11, 26)).due == date(2026, 12, 10)
    assert "2026年12月10日（星期四）" in admin.last_text()
    f9_closed = await db.fetch_value(
        "SELECT closed_on FROM case_deadlines WHERE case_id = ? AND rule_id = 'F9'", (case_id,)
    )
    assert f9_closed == "2026-11-26"
    [copy] = await events(db, case_id, "copy_sent")
    assert (copy["received_on"], copy["actor_role"]) == ("2026-11-26", "admin")
    assert "申请书副本已发送" not in " ".join(admin.buttons())  # offered once

    # The old button again: nothing new.
    await admin.click(copy_yesterday)
    assert "已经办理过" in admin.last_text()
    assert len(await events(db, case_id, "copy_sent")) == 1
    assert (
        await db.fetch_value(
            "SELECT count(*) FROM case_deadlines WHERE case_id = ? AND rule_id = 'F10'", (case_id,)
        )
        == 1
    )

    await planner.plan()
    assert await pending_steps(db, "F9", ADMIN_ID) == set()  # F9 reminders stop
    assert {"-5wd", "-2wd", "-1wd", "0wd", "+1wd"} <= await pending_steps(db, "F10", LIAISON)


async def test_f10_copy_sent_simplified_gives_five_working_days_and_checks_the_typed_date(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:s:0:0::")
    await admin.press("申请书副本已发送")
    assert "5个工作日" in admin.last_text() and "《行政复议法》第五十四条" in admin.last_text()
    assert "昨天" not in admin.buttons()  # accepted today: yesterday is impossible
    await admin.send("2026-11-24")  # before the acceptance
    assert admin.last_text().startswith("❗")
    await admin.send("2026-11-30")  # in the future
    assert admin.last_text().startswith("❗")
    assert "F10" not in await clocks(db, case_id)
    await admin.send("2026年11月25日")
    row = await db.fetch_one(
        "SELECT due_on, simplified FROM case_deadlines WHERE case_id = ? AND rule_id = 'F10'",
        (case_id,),
    )
    # FY 54: 5 working days after Wed 2026-11-25 → Wed 2026-12-02.
    assert (row["due_on"], row["simplified"]) == ("2026-12-02", 1)


async def test_f5_passed_acceptance_dates_from_the_f5_last_day(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    """MEDIUM: an acceptance after F5 ended (before the scheduler's deemed-acceptance step)
    dated F9 and F12 from today instead of the F5 last day (FY 30(3))."""
    case_id = await file_reconsideration(citizen, db)  # F5 runs until Wed 2026-12-02
    clock.set(shanghai(2026, 12, 4))
    await admin.click(f"staff:view:{case_id}::0:0::")
    buttons = " ".join(admin.buttons())
    assert "通知补正" not in buttons and "不予受理" not in buttons
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    assert await status(db, case_id) == "accepted"
    rows = await db.fetch_all(
        "SELECT rule_id, trigger_on, due_on FROM case_deadlines WHERE case_id = ?"
        " AND rule_id IN ('F9', 'F12')",
        (case_id,),
    )
    assert {r["rule_id"]: r["trigger_on"] for r in rows} == {
        "F9": "2026-12-02",
        "F12": "2026-12-02",
    }
    assert (await clocks(db, case_id))["F12"][1] == compute(
        "F12", date(2026, 12, 2)
    ).due.isoformat()
    [accepted] = await events(db, case_id, "accepted")
    assert accepted["accepted_on"] == "2026-12-02" and accepted["after_review_period"] is True
    [text] = await deliver(db, clock)
    assert "2026年12月2日（星期三）届满" in text and "第三十条第三款" in text


async def test_f5_passed_correction_request_is_refused(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    clock.set(shanghai(2026, 12, 2))  # the last day of F5: 补正 still possible
    await admin.click(f"staff:view:{case_id}::0:0::")
    old_refuse = button_data(admin, "不予受理")
    await admin.press("通知补正")
    clock.set(shanghai(2026, 12, 3))  # the review period ended overnight
    await admin.send("请提交处罚决定书复印件。")
    await admin.press("确认")
    assert "受理审查期限已于2026年12月2日（星期三）届满" in admin.last_text()
    assert "视为受理" in admin.last_text()
    await admin.click(old_refuse)
    assert "受理审查期限已于2026年12月2日（星期三）届满" in admin.last_text()
    assert await status(db, case_id) == "submitted"
    assert "F7" not in await clocks(db, case_id)
    assert await notices(db, case_id) == []


async def test_f7_passed_deemed_withdrawn_only_after_the_supply_period(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    """MEDIUM: nothing happened when F7 passed without the material (FY 31(2))."""
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("通知补正")
    await admin.send("请提交处罚决定书复印件。")  # F7: by Wed 2026-12-09
    await admin.press("确认")
    await deliver(db, clock)
    clock.set(shanghai(2026, 12, 9))
    await admin.click(f"staff:view:{case_id}::0:0::")
    assert "视为放弃" not in " ".join(admin.buttons())  # the last day still runs
    assert await CaseActions(db, clock, notice_sink(clock), engine=ENGINE).deem_withdrawn(
        case_id, await dp_user(db, ADMIN_ID)
    ) == ActionResult(Outcome.already)

    clock.set(shanghai(2026, 12, 10))
    await admin.click(f"staff:view:{case_id}::0:0::")
    buttons = " ".join(admin.buttons())
    assert "视为放弃" in buttons and "补正材料已收到" in buttons  # a good reason may excuse
    assert "延长补正期限" not in buttons  # an ended period cannot be extended
    await admin.press("视为放弃")
    assert "2026年12月9日（星期三）" in admin.last_text()
    confirm = button_data(admin, "确认")
    await admin.click(confirm)
    await admin.click(confirm)
    assert await status(db, case_id) == "abandoned"
    state = await clocks(db, case_id)
    assert state["F5"][0] == "cancelled" and state["F7"][0] == "cancelled"
    [withdrawn] = await events(db, case_id, "deemed_withdrawn")
    assert withdrawn["supply_due"] == "2026-12-09"
    [text] = await deliver(db, clock)
    assert "视为放弃行政复议申请" in text and "《行政复议法》第三十一条第二款" in text
    await citizen.send("/mycases")
    assert "视为放弃申请" in citizen.last_text()
    assert "已撤回" not in citizen.last_text()  # the citizen did not withdraw it


async def test_f7_more_time_for_a_good_reason_extends_the_supply_period(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("通知补正")
    await admin.send("请提交处罚决定书复印件。")
    await admin.press("确认")
    await deliver(db, clock)
    await admin.press("延长补正期限")
    await admin.send("申请人住院治疗，无法按期补正。")
    five = button_data(admin, "5个工作日")
    await admin.click(five)
    await admin.click(five)
    row = await db.fetch_one(
        "SELECT due_on, extension_days, extended_by FROM case_deadlines"
        " WHERE case_id = ? AND rule_id = 'F7'",
        (case_id,),
    )
    # 10 + 5 working days after Wed 2026-11-25 → Wed 2026-12-16.
    assert tuple(row) == ("2026-12-16", 5, ADMIN_ID)
    [text] = await deliver(db, clock)
    assert "延长5个工作日" in text and "住院" in text
    assert "2026年12月16日（星期三）" in text and "第三十一条第二款" in text


async def test_provisional_dates_in_citizen_notices_say_so(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    """LOW: a decision date in 2027 (not yet in the holiday calendar) was shown as final."""
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    assert compute("F12", date(2026, 11, 25)).provisional
    [text] = await deliver(db, clock)
    assert "2027年1月25日" in text and "暂定" in text
    await admin.press("已作出复议决定")
    await admin.press("确认")
    [decided] = await deliver(db, clock)  # F15 ends in 2026: a final date
    assert "2026年12月10日" in decided and "暂定" not in decided


async def test_x1_and_f17_reminder_policies_reach_the_office(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """LOW: X1 (XF 22) and F17 (FY 41(5)) had no reminder policy."""
    await staff_client(dp, bot, clock, STAFF, Role.office_staff)
    await file_petition(citizen, db)  # X1: 15 days → Thu 2026-12-10
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    await admin.press("中止审理")
    await admin.send("申请人死亡，需等待近亲属表明是否参加。")
    await admin.press("申请人死亡")  # F17: 60 days → Mon 2027-01-25
    await Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar).plan()
    assert await pending_steps(db, "X1", STAFF) == {"-3wd", "0wd"}
    assert await pending_steps(db, "F17", STAFF) == {"-5wd"}


async def test_f5_passed_acceptance_between_the_schedulers_two_units_keeps_the_f5_date(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    clock.set(shanghai(2026, 12, 3))
    # The scheduler's first unit ran (F5 missed, F9 and F12 opened), the second not yet.
    await expire_acceptance_reviews(db, date(2026, 12, 3), clock, engine=ENGINE)
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    assert await status(db, case_id) == "accepted"
    rows = await db.fetch_all(
        "SELECT rule_id, trigger_on FROM case_deadlines WHERE case_id = ?"
        " AND rule_id IN ('F9', 'F12')",
        (case_id,),
    )
    assert sorted((r["rule_id"], r["trigger_on"]) for r in rows) == [
        ("F12", "2026-12-02"),
        ("F9", "2026-12-02"),
    ]
    [accepted] = await events(db, case_id, "accepted")
    assert accepted["accepted_on"] == "2026-12-02"
    assert await deem_accepted(db, clock, ENGINE) == []
    assert len(await notices(db, case_id)) == 1


async def test_numbers_typed_into_free_text_are_masked_for_staff_without_full_view(
    db: Database, clock: FakeClock
) -> None:
    """Regression: an agent typed as "李四 13912345678" was shown in full to an admin."""
    from cases.org.users import User
    from cases.procedures.access import staff_case_view

    await db.execute(
        "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1001, 'a', 'a')"
    )
    await db.execute(
        "INSERT INTO cases(id, number, procedure, status, citizen_id, subject, received_on,"
        " created_at, updated_at) VALUES (1, 'FY-2026-000001', 'reconsideration', 'submitted',"
        " 1001, 's', '2026-11-25', 'a', 'a')"
    )
    await db.execute(
        "INSERT INTO parties(case_id, role, name) VALUES (1, 'agent', '李四 13912345678')"
    )
    admin = User(telegram_id=9001, locale="zh", role=Role.admin)
    office = User(telegram_id=7001, locale="zh", role=Role.office_staff)
    admin_view = await staff_case_view(db, 1, admin, ENGINE)
    office_view = await staff_case_view(db, 1, office, ENGINE)
    assert admin_view is not None and office_view is not None
    assert "139****5678" in " ".join(admin_view.parties)
    assert "13912345678" not in " ".join(admin_view.parties)
    assert "13912345678" in " ".join(office_view.parties)  # the office needs to call


# -- status and history wording (issue 8) -------------------------------------------------------


async def test_correction_request_is_not_written_to_the_history_as_suspension(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    """Regression: a 补正 request (FY 31) was written to the history as "办理中止", the word
    of FY 39's suspension; it pauses only the acceptance review."""
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    await admin.press("通知补正")
    await admin.send("请提交处罚决定书复印件。")
    await admin.press("确认")
    await admin.click(f"staff:view:{case_id}::0:0::")
    history = admin.last_text().split("办理经过")[-1]
    assert "中止" not in history
    assert "申请人补正材料期间，受理审查期限暂停计算：审查行政复议申请并决定是否受理" in history
    await citizen.send("/mycases")
    await citizen.press("FY-2026-000001")
    mine = citizen.last_text()
    assert "中止" not in mine
    assert "在您补正材料之前，受理审查期限暂停计算" in mine


async def test_staff_pages_use_staff_words_not_the_citizens_or_another_procedures(
    dp: Dispatcher, bot: Bot, citizen: PacedClient, admin: PacedClient, db: Database
) -> None:
    """Regression: staff pages showed the citizen's wording ("需要您补正材料") and
    reconsideration words on mediation cases ("已收到，等待审查")."""
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:view:{case_id}::0:0::")
    assert "状态：已收到，受理审查中" in admin.last_text()
    await admin.press("通知补正")
    await admin.send("请提交处罚决定书复印件。")
    await admin.press("确认")
    page = admin.last_text()
    assert "需要您补正材料" not in page
    assert "已通知申请人补正材料" in page
    await admin.send("/cases")
    assert "需要您补正材料" not in admin.last_text()

    await fill_mediation(citizen)
    await citizen.press("提交")
    mediation_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    await admin.click(f"staff:view:{mediation_id}::0:0::")
    page = admin.last_text()
    assert "等待审查" not in page and "状态：已收到，等待调解" in page
    # The citizen keeps their own words.
    await citizen.send("/mycases")
    assert "需要您补正材料" in citizen.last_text()


async def test_history_names_the_deadline_and_the_actor_by_name_and_role(
    citizen: PacedClient, admin: PacedClient, db: Database
) -> None:
    """Regression: history lines such as "开始计算办理期限" did not say which deadline, and
    named the actor only by role."""
    case_id = await file_reconsideration(citizen, db)
    await admin.click(f"staff:accept:{case_id}:o:0:0::")
    await admin.click(f"staff:view:{case_id}::0:0::")
    history = admin.last_text().split("办理经过")[-1]
    assert "开始计算办理期限" not in history
    f12_due = format_date(compute("F12", date(2026, 11, 25)).due, "zh")
    assert f"开始计算期限：作出行政复议决定，至{f12_due}。" in history
    assert "已在期限内完成：审查行政复议申请并决定是否受理。" in history
    assert "(王科长 · 管理员)" in history
    assert (
        await db.fetch_value("SELECT display_name FROM users WHERE telegram_id = ?", (ADMIN_ID,))
        == "王科长"
    )
    # Citizens' Telegram names are not stored.
    assert (
        await db.fetch_value("SELECT display_name FROM users WHERE telegram_id = ?", (CITIZEN,))
        is None
    )


async def test_reconsideration_clerk_cannot_record_a_mediation_outcome_or_accept_petitions(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """Regression: office staff had no unit, so a reconsideration-office clerk could record
    a mediation outcome in a police mediation room's case and accept petitions. An office
    clerk now belongs to one office (/grant … office_staff <office id>) and acts on its
    procedure only; one without an office (granted before) works as before."""
    await fill_mediation(citizen)
    await citizen.press("提交")
    mediation_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    petition_id = await file_petition(citizen, db)
    reconsideration_id = await file_reconsideration(citizen, db)

    await admin.send("/grant 7003 office_staff reconsideration_office")
    assert "谷城县司法局" in admin.last_text()
    await admin.send("/grant 7004 office_staff hotline_12345")
    assert "不属于具体单位" in admin.last_text()
    assert await db.fetch_value("SELECT role FROM users WHERE telegram_id = 7004") is None

    clerk = PacedClient(dp, bot, user_id=7003, language_code="zh-hans", clock=clock)
    await clerk.click(f"staff:agreed:{mediation_id}:y:0:0::")
    await clerk.click(f"staff:accept:{petition_id}::0:0::")
    assert clerk.session.alerts()[-2:] == ["您无权查看这个案件。"] * 2
    assert await status(db, mediation_id) == "submitted"
    assert await status(db, petition_id) == "submitted"
    await clerk.send("/cases")
    listed = clerk.last_text()
    assert "FY-2026-000001" in listed
    assert "TJ-2026-000001" not in listed and "XF-2026-000001" not in listed
    await clerk.click(f"staff:accept:{reconsideration_id}:o:0:0::")
    assert await status(db, reconsideration_id) == "accepted"

    # A clerk from before offices were units keeps working on every procedure.
    legacy = await staff_client(dp, bot, clock, 7005, Role.office_staff)
    await legacy.click(f"staff:failed:{mediation_id}:y:0:0::")
    assert await status(db, mediation_id) == "closed"


def test_the_longest_staff_button_fits_telegrams_64_bytes() -> None:
    """Flags, the reason's fingerprint, the days and the receipt day have their own fields;
    with the largest values each button carries, the callback data still fits."""
    from cases.procedures.transitions import Action

    largest = {"case_id": 2**63 - 1, "step": staff_handlers.Step.terminating}
    for action in Action:  # reasoned and extension buttons: days, total and fingerprint
        data = staff_handlers.StaffAction(
            action=action, v=999, days=999, h="f" * 8, **largest
        ).pack()
        assert len(data.encode()) <= 64, data
    copy = staff_handlers.StaffAction(
        action=Action.copy_sent, on="2026-12-31", **largest
    ).pack()  # the receipt-day buttons carry a date and nothing else
    assert len(copy.encode()) <= 64, copy
    assert staff_handlers.StaffAction.unpack(copy).day == date(2026, 12, 31)
