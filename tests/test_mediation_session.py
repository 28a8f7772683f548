"""The mediation itself (issue 10): the other party joins by a one-time link, sessions with
reminders to three people, moved sessions re-planned once, the agreement and its M1
reminders, the follow-up visit, the period's extension approved only by the room lead, and
forged buttons refused. Through the production routers, on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher

from cases.mediation.parties import token_hash
from cases.org.users import Role
from cases.procedures.case_clocks import extend_deadline
from cases.store.db import Database, IntegrityError
from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import LEGAL_TZ, FakeClock, from_db
from handlers.mediation_callbacks import MedAction, MediationButton
from scheduling.outbox import Outbox as Dispatching
from scheduling.outbox import OutboxRow
from scheduling.sender import render_markup, render_text
from tests.fakes.telegram import BotClient
from tests.scheduling_helpers import FakeTransport
from tests.support import (
    ENGINE,
    VALID_ID,
    PacedClient,
    fill_mediation,
    migrations_where,
    staff_client,
)

MEDIATOR = 5001
COLLEAGUE = 5002  # another mediator of the same room, not its lead
LEAD = 5003
OTHER_ROOM = 5004
OTHER_PARTY = 2002


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LEGAL_TZ).astimezone(UTC)


async def rows(db: Database, prefix: str, status: str | None = "pending") -> list[OutboxRow]:
    sql = "SELECT * FROM reminders WHERE dedup_key LIKE ?"
    params: list[object] = [prefix + "%"]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [OutboxRow.from_row(r) for r in await db.fetch_all(sql + " ORDER BY id", params)]


def button(row: OutboxRow, label: str) -> str:
    markup = render_markup(row)
    assert markup is not None
    for line in markup.inline_keyboard:
        for b in line:
            if label in b.text:
                assert b.callback_data is not None
                return b.callback_data
    raise AssertionError(f"no {label!r} under {render_text(row)}")


class World:
    """A filed mediation case, its room's mediators and lead, and a mediator who took it."""

    def __init__(self, dp: Dispatcher, bot: Bot, db: Database, clock: FakeClock) -> None:
        self.dp, self.bot, self.db, self.clock = dp, bot, db, clock
        self.applicant = PacedClient(dp, bot, user_id=1001, language_code="zh-hans", clock=clock)
        self.other = PacedClient(
            dp, bot, user_id=OTHER_PARTY, language_code="zh-hans", first_name="李四", clock=clock
        )
        self.case_id = 0
        self.room = ""

    async def file(self) -> None:
        await fill_mediation(self.applicant)
        await self.applicant.press("提交")
        row = await self.db.fetch_one("SELECT id, routed_to FROM cases ORDER BY id DESC")
        assert row is not None
        self.case_id, self.room = row["id"], row["routed_to"].removeprefix("room:")
        self.mediator = await staff_client(
            self.dp, self.bot, self.clock, MEDIATOR, Role.mediator, self.room
        )
        self.colleague = await staff_client(
            self.dp, self.bot, self.clock, COLLEAGUE, Role.mediator, self.room
        )
        self.lead = await staff_client(
            self.dp, self.bot, self.clock, LEAD, Role.mediator, self.room
        )
        self.stranger = await staff_client(
            self.dp, self.bot, self.clock, OTHER_ROOM, Role.mediator, "no_such_room"
        )
        await self.db.execute("UPDATE users SET leads_room = 1 WHERE telegram_id = ?", (LEAD,))
        self.dp["users"].forget(LEAD)  # changed behind the repository's back
        # The assignment (another part of issue 10) gave the case to MEDIATOR.
        await self.db.execute(
            "UPDATE cases SET mediator_id = ?, status = 'accepted' WHERE id = ?",
            (MEDIATOR, self.case_id),
        )

    async def page(self, who: BotClient) -> None:
        await who.click(MediationButton(action=MedAction.open, item_id=self.case_id))

    async def link_token(self) -> str:
        await self.page(self.mediator)
        await self.mediator.press("发送对方当事人链接")
        row = (await rows(self.db, f"med:{self.case_id}:link:"))[-1]
        link = row.payload["params"]["link"]
        assert link.startswith("https://t.me/") and "?start=op_" in link
        return str(link.split("?start=")[1])

    async def join(self) -> None:
        token = await self.link_token()
        await self.other.send(f"/start {token}")
        await self.other.send("李四")
        await self.other.send("13900002222")
        await self.other.press("我同意调解")

    async def schedule(self, when: str = "2026-12-02 09:30", place: str = "城关镇调解室") -> None:
        await self.page(self.mediator)
        await self.mediator.press("安排调解")
        await self.mediator.send(when)
        await self.mediator.send(place)


async def world(dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock) -> World:
    w = World(dispatcher, bot, db, clock)
    await w.file()
    return w


# -- the other party ---------------------------------------------------------------------------


async def test_other_party_joins_by_link_sees_only_the_mediation_and_a_second_use_is_refused(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    token = await w.link_token()
    link_row = (await rows(db, f"med:{w.case_id}:link:"))[-1]
    assert link_row.chat_id == 1001  # the applicant forwards it
    assert "转发给纠纷的对方当事人" in render_text(link_row)

    await w.other.send(f"/start {token}")
    assert "请输入您的姓名" in w.other.last_text()
    await w.other.send("李")  # too short? a name of one character is still a name
    await w.other.send("1390000")  # not a mobile number: asked again, nothing lost
    assert "手机" in w.other.last_text()
    await w.other.send("13900002222")
    await w.other.press("我同意调解")
    page = "\n".join(w.other.texts())
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (w.case_id,))
    assert number in page and "您的信息：李，13900002222" in page
    assert VALID_ID not in page and "13800001234" not in page and "张三" not in page
    joined = await rows(db, f"med:{w.case_id}:joined:")
    assert [r.chat_id for r in joined] == [MEDIATOR]
    party = await db.fetch_one("SELECT * FROM mediation_parties WHERE case_id = ?", (w.case_id,))
    assert party["user_id"] == OTHER_PARTY and party["consent"] == "given"

    third = PacedClient(dispatcher, bot, user_id=2003, language_code="zh-hans", clock=clock)
    await third.send(f"/start {token}")
    assert "已被使用" in third.last_text()
    assert (
        await db.fetch_value(
            "SELECT user_id FROM mediation_parties WHERE case_id = ?", (w.case_id,)
        )
        == OTHER_PARTY
    )
    # No new link once the other party has joined.
    await w.page(w.mediator)
    assert "发送对方当事人链接" not in w.mediator.buttons()


async def test_an_expired_link_says_so_and_the_applicant_cannot_use_their_own(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    token = await w.link_token()
    await w.applicant.send(f"/start {token}")
    assert "请转发给对方" in w.applicant.last_text()
    clock.advance(timedelta(days=8))
    await w.other.send(f"/start {token}")
    assert "已过期" in w.other.last_text()
    assert (
        await db.fetch_value(
            "SELECT count(*) FROM mediation_parties WHERE user_id = ?", (OTHER_PARTY,)
        )
        == 0
    )


async def test_the_other_party_refusing_closes_the_case_and_the_applicant_is_told_the_routes(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule()
    await w.page(w.other)
    await w.other.press("我不同意调解")
    await w.other.press("是，我不同意")
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (w.case_id,)) == "closed"
    told = await rows(db, f"med:{w.case_id}:refused:applicant")
    text = render_text(told[0])
    assert "不同意调解" in text and "/petition" in text and "人民调解法" not in text
    assert [r.chat_id for r in await rows(db, f"med:{w.case_id}:refused:{MEDIATOR}")] == [MEDIATOR]
    # The sessions' reminders and the period stop.
    assert await rows(db, f"med:{w.case_id}:ses:") == []
    assert (
        await db.fetch_value(
            "SELECT status FROM case_deadlines WHERE case_id = ? AND rule_id = 'MA'", (w.case_id,)
        )
        == "cancelled"
    )


async def test_the_mediator_records_consent_or_refusal(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.page(w.mediator)
    await w.mediator.press("对方同意调解")
    assert (
        await db.fetch_value(
            "SELECT consent FROM mediation_parties WHERE case_id = ?", (w.case_id,)
        )
        == "given"
    )
    await w.mediator.press_again()
    assert "已完成" in w.mediator.session.alerts()[-1]
    assert (
        await db.fetch_value(
            "SELECT count(*) FROM case_events WHERE case_id = ? AND kind = 'mediation_consent'",
            (w.case_id,),
        )
        == 1
    )


# -- sessions ----------------------------------------------------------------------------------


async def test_session_reminders_reach_applicant_other_party_and_mediator_at_the_right_times(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule("2026-12-02 09:30")  # a Wednesday
    assert "已安排调解" in w.mediator.last_text()
    planned = await rows(db, f"med:{w.case_id}:ses:")
    people = {OTHER_PARTY, 1001, MEDIATOR}
    notices = [r for r in planned if r.step == "mediation:session_new"]
    assert {r.chat_id for r in notices} == people
    day = [r for r in planned if r.step == "mediation:reminder_day"]
    two = [r for r in planned if r.step == "mediation:reminder_2h"]
    assert {r.chat_id for r in day} == people and {r.chat_id for r in two} == people
    assert {r.due_at for r in day} == {local(2026, 12, 1, 9, 30)}
    # Two hours before 09:30 is 07:30, inside the quiet hours: moved to 08:00, still before.
    assert {r.due_at for r in two} == {local(2026, 12, 2, 8, 0)}
    assert all(r.expires_at == local(2026, 12, 2, 9, 30) for r in day + two)
    other_day = next(r for r in day if r.chat_id == OTHER_PARTY)
    assert "明天" in render_text(other_day) and "城关镇调解室" in render_text(other_day)
    # The other party cannot come: the mediator is told.
    await w.other.click(button(other_day, "我无法参加"))
    told = await rows(db, f"med:{w.case_id}:ses:")
    cannot = [r for r in told if r.step == "mediation:cannot_come"]
    assert [r.chat_id for r in cannot] == [MEDIATOR]
    assert "对方当事人" in render_text(cannot[0])
    await w.applicant.click(button(next(r for r in day if r.chat_id == 1001), "👍"))
    answers = await db.fetch_all("SELECT person_id, coming FROM mediation_attendance")
    assert {(a["person_id"], a["coming"]) for a in answers} == {(OTHER_PARTY, 0), (1001, 1)}


async def test_moving_a_session_replans_its_reminders_exactly_once(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule("2026-12-02 09:30")
    old = await rows(db, f"med:{w.case_id}:ses:")
    await w.page(w.mediator)
    await w.mediator.press("改期")
    await w.mediator.send("2026-12-03 14:00")
    await w.mediator.press("地点不变")
    assert "已改至" in w.mediator.last_text()
    cancelled = {o.id for o in await rows(db, f"med:{w.case_id}:ses:", "cancelled")}
    assert {r.id for r in old} <= cancelled
    new = await rows(db, f"med:{w.case_id}:ses:")
    assert len([r for r in new if r.step.startswith("mediation:reminder")]) == 6
    assert {r.due_at for r in new if r.step == "mediation:reminder_day"} == {
        local(2026, 12, 2, 14, 0)
    }
    assert {r.due_at for r in new if r.step == "mediation:reminder_2h"} == {
        local(2026, 12, 3, 12, 0)
    }
    moved = [r for r in new if r.step == "mediation:session_moved"]
    assert {r.chat_id for r in moved} == {OTHER_PARTY, 1001, MEDIATOR}
    assert "改至" in render_text(moved[0])
    # The stale "move" button of the old version does nothing.
    session_id = await db.fetch_value("SELECT id FROM mediation_sessions")
    await w.mediator.click(MediationButton(action=MedAction.move, item_id=session_id, version=1))
    assert "已完成" in w.mediator.session.alerts()[-1]
    # An answer given to the old time does not count for the new one.
    old_day = next(
        r for r in old if r.chat_id == OTHER_PARTY and r.step == "mediation:reminder_day"
    )
    await w.other.click(button(old_day, "👍"))
    assert "改期或取消" in w.other.session.alerts()[-1]
    assert await db.fetch_value("SELECT count(*) FROM mediation_attendance") == 0
    assert len(await rows(db, f"med:{w.case_id}:ses:")) == len(new)


async def test_a_session_on_a_rest_day_is_taken_only_when_the_mediator_confirms(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.page(w.mediator)
    await w.mediator.press("安排调解")
    await w.mediator.send("2026-11-28 09:30")  # a Saturday
    assert "休息日" in w.mediator.last_text()
    assert await db.fetch_value("SELECT count(*) FROM mediation_sessions") == 0
    await w.mediator.press("是，就在这一天")
    await w.mediator.send("村委会")
    starts = await db.fetch_value("SELECT starts_at FROM mediation_sessions")
    assert from_db(starts) == local(2026, 11, 28, 9, 30)


async def test_cancelling_a_session_tells_everyone_and_stops_its_reminders(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule()
    await w.page(w.mediator)
    await w.mediator.press("取消")
    assert await rows(db, f"med:{w.case_id}:ses:") == []
    told = await rows(db, f"med:{w.case_id}:sesx:")
    assert {r.chat_id for r in told} == {OTHER_PARTY, 1001, MEDIATOR}
    # A session a week away: the cancellation keeps the quiet hours (see the night tests).
    quiet = await db.fetch_all("SELECT quiet FROM reminders WHERE dedup_key LIKE 'med:%:sesx:%'")
    assert {r["quiet"] for r in quiet} == {"defer"}


async def test_a_session_scheduled_at_night_is_told_in_the_morning(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    clock.set(local(2026, 11, 25, 22, 30))
    await w.schedule("2026-12-02 09:30")
    notices = [
        r for r in await rows(db, f"med:{w.case_id}:ses:") if r.step == "mediation:session_new"
    ]
    assert {r.due_at for r in notices} == {local(2026, 11, 26, 8, 0)}


async def test_staff_cannot_join_a_mediation_as_the_other_party(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    token = await w.link_token()
    await w.colleague.send(f"/start {token}")
    assert "工作人员不能" in w.colleague.last_text()
    await w.other.send(f"/start {token}")
    assert "请输入您的姓名" in w.other.last_text()


# -- outcome -----------------------------------------------------------------------------------


async def test_agreement_starts_m1_with_reminders_to_both_parties_worded_as_a_choice(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule()
    await w.page(w.mediator)
    await w.mediator.press("已达成调解协议")
    await w.mediator.send("李四于12月10日前赔偿张三修车费800元")
    assert "司法确认" in w.mediator.last_text()
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (w.case_id,)) == "settled"
    m1 = await db.fetch_one(
        "SELECT due_on, basis FROM case_deadlines WHERE case_id = ? AND rule_id = 'M1'",
        (w.case_id,),
    )
    assert m1["due_on"] == "2026-12-25" and "民事诉讼法" in m1["basis"]
    # The applicant's M1 reminders come from the planner; the other party's from the mediation.
    await dispatcher["planner"].plan()
    applicant = await db.fetch_all(
        "SELECT due_at FROM reminders WHERE rule_id = 'M1' AND chat_id = 1001 ORDER BY due_at"
    )
    other = await rows(db, f"med:{w.case_id}:m1:")
    assert [from_db(r["due_at"]) for r in applicant] == [r.due_at for r in other]
    assert [r.due_at for r in other] == [
        local(2026, 12, 15, 8, 30),
        local(2026, 12, 22, 8, 30),
        local(2026, 12, 24, 8, 30),
    ]
    text = render_text(other[0])
    assert "司法确认" in text and "《民事诉讼法》第二百零五条" in text and "人民调解法" not in text
    # Regression (M1 reminder worded as a duty, "须在…前…申请"): applying is the parties' choice.
    assert "如需申请司法确认" in text and "须在" not in text
    agreed = await rows(db, f"med:{w.case_id}:agreed:op")
    assert "《民事诉讼法》第二百零五条" in render_text(agreed[0])
    # The session's reminders are no longer wanted.
    assert await rows(db, f"med:{w.case_id}:ses:") == []
    terms = await db.fetch_value(
        "SELECT terms FROM mediation_outcomes WHERE case_id = ?", (w.case_id,)
    )
    assert "800元" in terms


async def test_failure_closes_the_case_and_both_parties_hear_the_routes(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.page(w.mediator)
    await w.mediator.press("调解不成")
    await w.mediator.press("是，调解不成")
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (w.case_id,)) == "closed"
    other = await rows(db, f"med:{w.case_id}:failed:op")
    assert "/petition" in render_text(other[0])
    applicant = await db.fetch_one(
        "SELECT * FROM reminders WHERE chat_id = 1001 AND payload LIKE '%mediation_failed%'"
    )
    assert applicant is not None


async def test_follow_up_visit_is_reminded_to_the_mediator_and_recorded_once(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.page(w.mediator)
    await w.mediator.press("已达成调解协议")
    await w.mediator.send("李四于12月10日前赔偿张三修车费800元")
    due = await rows(db, f"med:{w.case_id}:followup:")
    assert [(r.chat_id, r.due_at) for r in due] == [(MEDIATOR, local(2026, 12, 25, 8, 30))]
    assert "回访" in render_text(due[0])
    kept = button(due[0], "协议已履行")
    await w.colleague.click(kept)  # the case is MEDIATOR's: a colleague cannot record it
    assert "无权" in w.colleague.session.alerts()[-1]
    await w.mediator.click(kept)
    await w.mediator.send("双方已按约履行")
    assert "回访情况已记录" in w.mediator.last_text()
    event = await db.fetch_one(
        "SELECT detail FROM case_events WHERE case_id = ? AND kind = 'mediation_followup'",
        (w.case_id,),
    )
    assert json.loads(event["detail"]) == {"kept": True, "note": "双方已按约履行"}
    assert await rows(db, f"med:{w.case_id}:followup:") == []
    await w.mediator.click(button(due[0], "协议未履行"))
    await w.mediator.press("无备注")
    assert "已完成" in w.mediator.last_text()
    assert (
        await db.fetch_value("SELECT count(*) FROM case_events WHERE kind = 'mediation_followup'")
        == 1
    )


# -- the mediation period ----------------------------------------------------------------------


async def test_the_period_is_extended_once_and_only_with_the_room_leads_approval(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    ma = await db.fetch_one(
        "SELECT id, due_on, basis FROM case_deadlines WHERE case_id = ? AND rule_id = 'MA'",
        (w.case_id,),
    )
    assert ma["due_on"] == "2026-12-25" and "县定期限" in ma["basis"]
    await w.page(w.mediator)
    assert "本县规定" in w.mediator.last_text()
    await w.mediator.press("申请延长期限")
    await w.mediator.send("双方仍在协商赔偿数额")
    asked = await rows(db, f"med:{w.case_id}:ext:ask:")
    assert [r.chat_id for r in asked] == [LEAD]
    assert "非法定期限" in render_text(asked[0])
    approve = button(asked[0], "批准延期")
    for forger in (w.colleague, w.stranger, w.mediator, w.other, w.applicant):
        await forger.click(approve)
        assert "无权" in forger.session.alerts()[-1]
    assert (
        await db.fetch_value("SELECT extension_days FROM case_deadlines WHERE id = ?", (ma["id"],))
        == 0
    )
    await w.lead.click(approve)
    extended = await db.fetch_one("SELECT * FROM case_deadlines WHERE id = ?", (ma["id"],))
    assert extended["extension_days"] == 30 and extended["extended_by"] == LEAD
    assert extended["due_on"] > "2027-01-23"
    told = await rows(db, f"med:{w.case_id}:ext:yes:")
    assert {r.chat_id for r in told} == {1001, MEDIATOR}
    await w.lead.click(approve)
    assert "已完成" in w.lead.session.alerts()[-1]
    # Once: no second request.
    await w.page(w.mediator)
    assert "申请延长期限" not in w.mediator.buttons()
    await w.mediator.click(MediationButton(action=MedAction.extend, item_id=w.case_id))
    await w.mediator.send("再延一次")
    assert await db.fetch_value("SELECT count(*) FROM mediation_extensions") == 1
    assert (
        await db.fetch_value("SELECT extension_days FROM case_deadlines WHERE id = ?", (ma["id"],))
        == 30
    )


async def test_the_period_is_reminded_and_listed_overdue_by_the_planner(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await dispatcher["planner"].plan()
    due = await db.fetch_all(
        "SELECT chat_id, due_at FROM reminders WHERE rule_id = 'MA' ORDER BY due_at"
    )
    assert {r["chat_id"] for r in due} >= {MEDIATOR}
    from scheduling.digest import collect

    data = await collect(db, date(2026, 12, 28))
    assert any(item.rule_id == "MA" for item in data.overdue)
    assert w.case_id


# -- forged buttons ----------------------------------------------------------------------------


async def test_forged_mediation_buttons_are_refused_across_roles_and_rooms(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule()
    session_id = await db.fetch_value("SELECT id FROM mediation_sessions")
    case = w.case_id
    forged = [
        MediationButton(action=MedAction.session, item_id=case),
        MediationButton(action=MedAction.move, item_id=session_id, version=1),
        MediationButton(action=MedAction.cancel, item_id=session_id, version=1),
        MediationButton(action=MedAction.agreed, item_id=case),
        MediationButton(action=MedAction.failed_ok, item_id=case),
        MediationButton(action=MedAction.refused_ok, item_id=case),
        MediationButton(action=MedAction.consent, item_id=case),
        MediationButton(action=MedAction.link, item_id=case),
        MediationButton(action=MedAction.extend, item_id=case),
        MediationButton(action=MedAction.kept, item_id=case),
    ]
    for person in (w.applicant, w.other, w.stranger, w.colleague):
        for data in forged:
            await person.click(data)
            assert "无权" in person.session.alerts()[-1], (person.user_id, data)
    # A party's own answer buttons and refusal are theirs alone.
    await w.stranger.click(MediationButton(action=MedAction.come, item_id=session_id, version=1))
    assert "无权" in w.stranger.session.alerts()[-1]
    await w.applicant.click(MediationButton(action=MedAction.op_refuse_ok, item_id=case))
    assert "无权" in w.applicant.session.alerts()[-1]
    await w.stranger.click(MediationButton(action=MedAction.open, item_id=case))
    assert "无权" in w.stranger.session.alerts()[-1]
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (case,)) == "accepted"
    assert await db.fetch_value("SELECT status FROM mediation_sessions") == "scheduled"
    assert await db.fetch_value("SELECT count(*) FROM mediation_outcomes") == 0


# -- migration ---------------------------------------------------------------------------------


async def test_migration_0016_upgrades_a_database_that_already_has_mediation_cases(
    tmp_path: Path, clock: FakeClock
) -> None:
    earlier = migrations_where(
        tmp_path / "earlier", lambda name: "mediation" not in name or name.startswith("0012")
    )
    database = SqliteDatabase(tmp_path / "old.sqlite3")
    await database.open()
    try:
        await migrate(database, earlier, clock=clock)
        await database.execute(
            "INSERT INTO users(telegram_id, role, first_seen, last_seen)"
            " VALUES (1, 'citizen', 'x', 'x')"
        )
        await database.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
            " created_at, updated_at, routed_to) VALUES ('谷调〔2026〕1号', 'mediation',"
            " 'accepted', 1, 's', '2026-11-20', 'x', 'x', 'room:x')"
        )
        applied = await migrate(database, clock=clock)
        assert any("mediation" in name for name in applied)
        assert await database.fetch_value("SELECT count(*) FROM cases") == 1
        await database.execute(
            "INSERT INTO mediation_parties(case_id, updated_at) VALUES (1, 'x')"
        )
        assert await database.fetch_value("SELECT consent FROM mediation_parties") == "unknown"
    finally:
        await database.close()


async def test_an_agreement_recorded_on_the_staff_page_gets_its_terms_and_follow_up_here(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The staff case page's "agreement reached" records no terms: the mediation page asks for
    them, and the follow-up visit and the other party's M1 reminders follow."""
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    user = await dispatcher["users"].get(MEDIATOR)
    await dispatcher["actions"].mediation_outcome(w.case_id, user, agreed=True)
    await w.page(w.mediator)
    await w.mediator.press("记录调解协议内容")
    await w.mediator.send("李四于12月10日前赔偿张三修车费800元")
    assert "司法确认" in w.mediator.last_text()
    assert len(await rows(db, f"med:{w.case_id}:m1:")) == 3
    assert len(await rows(db, f"med:{w.case_id}:followup:")) == 1
    await w.page(w.mediator)
    assert "记录调解协议内容" not in w.mediator.buttons()


async def test_the_other_party_joining_after_a_session_was_scheduled_is_told_and_reminded(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.schedule("2026-12-02 09:30")
    await w.join()
    mine = [r for r in await rows(db, f"med:{w.case_id}:ses:") if r.chat_id == OTHER_PARTY]
    assert sorted(r.step for r in mine) == [
        "mediation:reminder_2h",
        "mediation:reminder_day",
        "mediation:session_new",
    ]
    assert {r.due_at for r in mine if r.step == "mediation:reminder_day"} == {
        local(2026, 12, 1, 9, 30)
    }


async def test_confirm_reminder_claims_no_binding_force_borrowed_from_people_mediation_law(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Binding force of an agreement is 人民调解法 Art 31, which is not the basis of the
    county's 行政调解 (domain §5): the reminder says the court decides instead."""
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.page(w.mediator)
    await w.mediator.press("已达成调解协议")
    await w.mediator.send("李四于12月10日前赔偿张三修车费800元")
    text = render_text((await rows(db, f"med:{w.case_id}:m1:"))[0])
    assert "约束力" not in text and "不予受理" not in text
    assert "由法院决定" in text and "《民事诉讼法》第二百零五条" in text


async def test_no_agreement_on_the_staff_page_left_session_notices_and_the_other_party_untold(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Known limit of the first version: "no agreement" pressed on the staff case page left the
    session scheduled, its notices and reminders pending, and the other party untold. The tick
    step winds it up once."""
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    clock.set(local(2026, 11, 25, 22, 30))  # at night: the session notices wait for 08:00
    await w.schedule("2026-12-02 09:30")
    assert [r for r in await rows(db, f"med:{w.case_id}:ses:") if r.kind.value == "notice"]
    user = await dispatcher["users"].get(MEDIATOR)
    await dispatcher["actions"].mediation_outcome(w.case_id, user, agreed=False)
    ending = dispatcher["mediation"].ending
    assert await ending.sweep() == 1
    assert await rows(db, f"med:{w.case_id}:ses:") == []
    assert await db.fetch_value("SELECT status FROM mediation_sessions") == "cancelled"
    [told] = await rows(db, f"med:{w.case_id}:failed:op")
    assert told.chat_id == OTHER_PARTY
    text = render_text(told)
    assert "未达成协议" in text and "不再举行" in text and "/petition" in text
    # Once: a second tick, or the mediation page's own "no agreement", tells nobody again.
    assert await ending.sweep() == 0
    await w.mediator.click(MediationButton(action=MedAction.failed_ok, item_id=w.case_id))
    assert "已完成" in w.mediator.session.alerts()[-1]
    assert len(await rows(db, f"med:{w.case_id}:failed:op")) == 1


async def test_an_agreement_on_the_staff_page_left_the_session_reminders_running(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A settled case is not closed, so the planner kept the session's reminders: the tick
    step calls the session off and the other party hears of the agreement and M1 at once,
    before the mediator records the terms; recording them later tells nobody twice."""
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule("2026-12-02 09:30")
    user = await dispatcher["users"].get(MEDIATOR)
    await dispatcher["actions"].mediation_outcome(w.case_id, user, agreed=True)
    await dispatcher["planner"].plan()
    assert await dispatcher["mediation"].ending.sweep() == 1
    assert await rows(db, f"med:{w.case_id}:ses:") == []
    [agreed] = await rows(db, f"med:{w.case_id}:agreed:op")
    assert "《民事诉讼法》第二百零五条" in render_text(agreed)
    assert len(await rows(db, f"med:{w.case_id}:m1:")) == 3
    await w.page(w.mediator)
    await w.mediator.press("记录调解协议内容")
    await w.mediator.send("李四于12月10日前赔偿张三修车费800元")
    assert len(await rows(db, f"med:{w.case_id}:agreed:op")) == 1
    assert len(await rows(db, f"med:{w.case_id}:m1:")) == 3
    assert len(await rows(db, f"med:{w.case_id}:followup:")) == 1


async def test_a_withdrawal_left_the_sessions_on_and_the_mediator_and_other_party_untold(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule("2026-12-02 09:30")
    assert await dispatcher["intake"].withdraw(w.case_id, user_id=1001)
    assert await dispatcher["mediation"].ending.sweep() == 1
    assert await rows(db, f"med:{w.case_id}:ses:") == []
    [op] = await rows(db, f"med:{w.case_id}:withdrawn:op")
    assert op.chat_id == OTHER_PARTY and "撤回" in render_text(op)
    [staff] = await rows(db, f"med:{w.case_id}:withdrawn:{MEDIATOR}")
    assert "已告知对方当事人" in render_text(staff)
    assert "张三" not in render_text(op) and VALID_ID not in render_text(op)


async def test_the_applicant_was_not_told_that_the_other_party_agreed(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """After forwarding the link the applicant heard nothing until a session was scheduled:
    now they learn the other side agreed and what comes next, once (link or mediator)."""
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    [told] = await rows(db, f"med:{w.case_id}:consent:applicant")
    assert told.chat_id == 1001
    text = render_text(told)
    assert "对方当事人已同意调解" in text and "调解员将安排调解" in text
    assert "李四" not in text and "13900002222" not in text
    assert button(told, "查看调解").startswith("med:open:")
    # The mediator's "the other party agrees" (a stale button) tells the applicant nothing new.
    await w.mediator.click(MediationButton(action=MedAction.consent, item_id=w.case_id))
    assert len(await rows(db, f"med:{w.case_id}:consent:")) == 1


async def test_an_extension_approved_after_the_period_ended_said_the_mediation_had_ended(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The clock refuses to extend an ended period; the lead was told "the mediation has
    ended" (it had not) and the request hung, its buttons live. Now the request lapses, the
    lead and the mediator are told why, and an overdue period offers no extension."""
    w = await world(dispatcher, bot, db, clock)
    await w.page(w.mediator)
    await w.mediator.press("申请延长期限")
    await w.mediator.send("双方仍在协商赔偿数额")
    approve = button((await rows(db, f"med:{w.case_id}:ext:ask:"))[0], "批准延期")
    clock.advance(timedelta(days=31))  # past the last day, 2026-12-25
    await w.lead.click(approve)
    alert = w.lead.session.alerts()[-1]
    assert "已经届满" in alert and "调解已结束" not in alert
    assert await db.fetch_value("SELECT status FROM mediation_extensions") == "lapsed"
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (w.case_id,)) in (
        "submitted",
        "accepted",
    )
    [told] = await rows(db, f"med:{w.case_id}:ext:lapsed:")
    assert told.chat_id == MEDIATOR and "请记录调解结果" in render_text(told)
    await w.page(w.mediator)
    assert "已超期" in w.mediator.last_text()
    assert "申请延长期限" not in w.mediator.buttons()
    await w.lead.click(approve)
    assert "已完成" in w.lead.session.alerts()[-1]


async def test_an_extension_asked_after_the_period_ended_was_sent_to_the_lead(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.page(w.mediator)
    clock.advance(timedelta(days=31))
    await w.mediator.click(MediationButton(action=MedAction.extend, item_id=w.case_id))
    await w.mediator.send("双方仍在协商赔偿数额")
    assert "已经届满" in w.mediator.last_text()
    assert await db.fetch_value("SELECT count(*) FROM mediation_extensions") == 0
    assert await rows(db, f"med:{w.case_id}:ext:ask:") == []


async def test_session_reminders_planned_before_acceptance_follow_the_mediator_who_accepts(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A session scheduled by the room lead while nobody had accepted the case reminds the
    lead; once a mediator accepts, the mediator who has the case gets them instead."""
    w = await world(dispatcher, bot, db, clock)
    await db.execute(
        "UPDATE cases SET mediator_id = NULL, status = 'submitted' WHERE id = ?", (w.case_id,)
    )
    await w.page(w.lead)
    await w.lead.press("发送对方当事人链接")
    row = (await rows(db, f"med:{w.case_id}:link:"))[-1]
    await w.other.send(f"/start {row.payload['params']['link'].split('?start=')[1]}")
    await w.other.send("李四")
    await w.other.send("13900002222")
    await w.other.press("我同意调解")
    await w.page(w.lead)
    await w.lead.press("安排调解")
    await w.lead.send("2026-12-02 09:30")
    await w.lead.send("城关镇调解室")
    staff = [r for r in await rows(db, f"med:{w.case_id}:ses:") if r.chat_id > 5000]
    assert {r.chat_id for r in staff} == {LEAD}
    await db.execute(
        "UPDATE cases SET mediator_id = ?, status = 'accepted' WHERE id = ?",
        (MEDIATOR, w.case_id),
    )
    await dispatcher["mediation"].tick()
    left = await rows(db, f"med:{w.case_id}:ses:")
    assert {r.chat_id for r in left} == {MEDIATOR, 1001, OTHER_PARTY}
    mine = sorted(r.step for r in left if r.chat_id == MEDIATOR)
    assert mine == ["mediation:reminder_2h", "mediation:reminder_day", "mediation:session_new"]
    await dispatcher["mediation"].tick()  # nothing twice
    assert len(await rows(db, f"med:{w.case_id}:ses:")) == len(left)


async def test_a_room_colleague_opened_an_unassigned_mediation_and_saw_the_other_partys_phone(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Any mediator of the room could open (and act on) a case nobody had accepted: the
    applicant's name and the other party's phone reached a mediator it was never assigned
    to, perhaps one who had declined it for a conflict of interest. Only the lead may."""
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await db.execute(
        "UPDATE cases SET mediator_id = NULL, status = 'submitted' WHERE id = ?", (w.case_id,)
    )
    await w.colleague.send("/mediate")
    assert "13900002222" not in w.colleague.last_text()
    assert w.colleague.buttons() == []
    for action in (MedAction.open, MedAction.link, MedAction.session):
        await w.colleague.click(MediationButton(action=action, item_id=w.case_id))
        assert "无权" in w.colleague.session.alerts()[-1]
    assert all("13900002222" not in text for text in w.colleague.texts())
    await w.page(w.lead)
    assert "13900002222" in w.lead.last_text()
    # The mediator it is assigned to opens it again.
    await db.execute("UPDATE cases SET mediator_id = ? WHERE id = ?", (MEDIATOR, w.case_id))
    await w.page(w.mediator)
    assert "13900002222" in w.mediator.last_text()


async def test_a_room_mediator_acted_on_a_mediation_the_assignment_had_not_given_them(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The mediation let any mediator of the room open and act on a case nobody had accepted
    (and listed it in /mediate), while the staff page and /queue (issue #10) show it only to
    the mediator it is assigned to and the room lead: the two disagreed, and a mediator the
    case was never offered to could schedule its sessions. Now both refuse them."""
    w = await world(dispatcher, bot, db, clock)
    await db.execute(
        "UPDATE cases SET mediator_id = NULL, status = 'submitted' WHERE id = ?", (w.case_id,)
    )
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (w.case_id,))
    await w.page(w.colleague)
    assert "无权" in w.colleague.session.alerts()[-1]
    await w.colleague.click(MediationButton(action=MedAction.session, item_id=w.case_id))
    assert "无权" in w.colleague.session.alerts()[-1]
    await w.colleague.send("/mediate")
    assert number not in w.colleague.last_text()
    await w.colleague.send("/queue")
    assert number not in w.colleague.last_text()
    await w.page(w.lead)  # the lead, who assigns by hand, may
    assert number in w.lead.last_text()
    await w.lead.send("/mediate")
    assert number in "\n".join([w.lead.last_text(), *w.lead.buttons()])
    await db.execute("UPDATE cases SET mediator_id = ? WHERE id = ?", (COLLEAGUE, w.case_id))
    await w.page(w.colleague)  # once it is theirs
    assert number in w.colleague.last_text()


async def test_the_link_token_stayed_in_the_database_after_its_message_was_sent(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Only the token's hash was to be kept, yet the sent outbox row kept the whole link for
    as long as it was valid (and every backup with it)."""
    w = await world(dispatcher, bot, db, clock)
    token = await w.link_token()
    transport = FakeTransport()
    await Dispatching(db, transport, clock, admin_ids=[]).dispatch_due()
    [sent] = [r for r in transport.delivered if r.step == "mediation:link"]
    assert token in render_text(sent)  # the applicant got it
    await dispatcher["mediation"].tick()
    secret = token.removeprefix("op_")
    payloads = await db.fetch_all("SELECT payload FROM reminders")
    assert [r[0] for r in payloads if secret in r[0]] == []
    # The hash still opens the mediation for the person the applicant forwarded it to.
    await w.other.send(f"/start {token}")
    assert "请输入您的姓名" in w.other.last_text()


async def test_a_session_moved_at_night_from_early_next_morning_was_told_only_at_eight(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A move was deferred to 08:00 like any notice, after people coming to a 09:00 session
    may have set out; a cancellation, on the contrary, woke everyone at night even for a
    session days away. Both now depend on how soon the session is."""
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.schedule("2026-11-26 09:00")
    await w.schedule("2026-11-30 15:00")
    clock.set(local(2026, 11, 25, 23, 0))
    early, later = await db.fetch_all("SELECT id FROM mediation_sessions ORDER BY starts_at")
    await w.page(w.mediator)
    await w.mediator.click(MediationButton(action=MedAction.move, item_id=early["id"], version=1))
    await w.mediator.send("2026-11-27 09:00")
    await w.mediator.press("地点不变")
    moved = await rows(db, f"med:{w.case_id}:ses:{early['id']}:v2:notice:")
    assert {r.chat_id for r in moved} == {1001, OTHER_PARTY, MEDIATOR}
    assert all(r.due_at < local(2026, 11, 25, 23, 30) for r in moved)  # now, not at 08:00
    quiet = await db.fetch_all(
        "SELECT quiet FROM reminders WHERE dedup_key LIKE ?",
        (f"med:{w.case_id}:ses:{early['id']}:v2:notice:%",),
    )
    assert {r["quiet"] for r in quiet} == {"none"}
    await w.mediator.click(
        MediationButton(action=MedAction.cancel, item_id=later["id"], version=1)
    )
    told = await rows(db, f"med:{w.case_id}:sesx:{later['id']}:")
    assert {r.due_at for r in told} == {local(2026, 11, 26, 8, 0)}


async def test_the_applicants_page_did_not_say_whether_the_other_party_had_agreed(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.page(w.applicant)
    assert "对方当事人：尚不清楚" in w.applicant.last_text()
    await w.join()
    await w.page(w.applicant)
    page = w.applicant.last_text()
    assert "对方当事人：同意调解" in page
    assert "李四" not in page and "13900002222" not in page


async def test_an_approval_interrupted_after_the_clock_step_could_be_refused_and_hung(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Approval is two units (the clock, then the request). Between them a second lead's
    refusal won (period extended, request "refused"), and pressing approve again hit the
    clock's guard ("already") with the request pending for ever."""
    w = await world(dispatcher, bot, db, clock)
    await w.page(w.mediator)
    await w.mediator.press("申请延长期限")
    await w.mediator.send("双方仍在协商赔偿数额")
    ask = (await rows(db, f"med:{w.case_id}:ext:ask:"))[0]
    ma = await db.fetch_value(
        "SELECT id FROM case_deadlines WHERE case_id = ? AND rule_id = 'MA'", (w.case_id,)
    )
    # The first unit of the lead's approval ran; the process stopped before the second.
    await extend_deadline(
        db, ma, LEAD, 30, "双方仍在协商赔偿数额", clock, engine=ENGINE, expected_days=0
    )
    await w.lead.click(button(ask, "不批准延期"))
    assert "已完成" in w.lead.session.alerts()[-1]
    assert await db.fetch_value("SELECT status FROM mediation_extensions") == "pending"
    await w.lead.click(button(ask, "批准延期"))
    assert await db.fetch_value("SELECT status FROM mediation_extensions") == "approved"
    told = await rows(db, f"med:{w.case_id}:ext:yes:")
    assert {r.chat_id for r in told} == {1001, MEDIATOR}
    assert (
        await db.fetch_value("SELECT extension_days FROM case_deadlines WHERE id = ?", (ma,)) == 30
    )


async def test_the_other_party_opening_their_used_link_again_was_told_to_ask_for_a_new_one(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    token = await w.link_token()
    await w.other.send(f"/start {token}")
    await w.other.send("李四")
    await w.other.send("13900002222")
    await w.other.press("我同意调解")
    await w.other.send(f"/start {token}")
    assert "您已通过此链接加入" in w.other.last_text() and "/mediate" in w.other.last_text()
    assert "新的链接" not in w.other.last_text()


async def test_the_link_token_was_kept_in_the_conversation_state_while_the_name_was_typed(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    token = await w.link_token()
    await w.other.send(f"/start {token}")
    await w.other.send("李四")  # someone who stops here leaves the conversation state behind
    secret = token.removeprefix("op_")
    states = await db.fetch_all("SELECT data FROM fsm_states")
    assert [r[0] for r in states if secret in r[0]] == []
    await w.other.send("13900002222")
    await w.other.press("我同意调解")
    assert (
        await db.fetch_value(
            "SELECT user_id FROM mediation_parties WHERE case_id = ?", (w.case_id,)
        )
        == OTHER_PARTY
    )


async def test_the_applicants_m1_reminder_claimed_binding_force_from_people_mediation_law(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The planner's M1 reminders to the applicant said "调解协议对双方仍有约束力" (人民调解法
    Art 31), not the basis of 行政调解."""
    w = await world(dispatcher, bot, db, clock)
    await w.page(w.mediator)
    await w.mediator.press("已达成调解协议")
    await w.mediator.send("李四于12月10日前赔偿张三修车费800元")
    await dispatcher["planner"].plan()
    found = await db.fetch_all(
        "SELECT * FROM reminders WHERE rule_id = 'M1' AND chat_id = 1001 ORDER BY due_at"
    )
    assert found
    for row in found:
        text = render_text(OutboxRow.from_row(row))
        assert "约束力" not in text and "由法院决定" in text


async def test_agreement_terms_showed_the_applicants_phone_and_id_to_the_other_party(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    w = await world(dispatcher, bot, db, clock)
    await w.join()
    await w.page(w.mediator)
    await w.mediator.press("已达成调解协议")
    await w.mediator.send(f"李四于12月10日前赔偿张三（身份证{VALID_ID}，电话13800001234）800元")
    await w.page(w.other)
    page = w.other.last_text()
    assert "800元" in page and VALID_ID not in page and "13800001234" not in page
    await w.page(w.mediator)
    mine = w.mediator.last_text()
    assert "13800001234" in mine and VALID_ID not in mine  # the mediator may call the parties


async def test_refusing_at_the_link_was_two_units_and_could_leave_a_silent_joined_refuser(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Joining and refusing were two units: if the refusal failed, the person had joined, the
    link was spent and the case ran on as if they had said nothing. Now one unit: all or
    nothing (a failure is injected with a trigger on the real database)."""
    w = await world(dispatcher, bot, db, clock)
    token = await w.link_token()
    key = token_hash(token.removeprefix("op_"))
    await w.other.send("/mediate")  # the person is known to the bot
    assert await db.fetch_value("SELECT 1 FROM users WHERE telegram_id = ?", (OTHER_PARTY,))
    if db.dialect == "postgresql":
        await db.execute(
            "CREATE FUNCTION fail_refusal() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '23000'; END $$"
        )
        await db.execute(
            "CREATE TRIGGER fail_refusal BEFORE INSERT ON case_events FOR EACH ROW"
            " WHEN (NEW.kind = 'mediation_refused') EXECUTE FUNCTION fail_refusal()"
        )
    else:
        await db.execute(
            "CREATE TRIGGER fail_refusal BEFORE INSERT ON case_events"
            " WHEN NEW.kind = 'mediation_refused' BEGIN SELECT RAISE(ABORT, 'injected'); END"
        )
    with pytest.raises(IntegrityError):
        await dispatcher["mediation"].parties.join(
            key, OTHER_PARTY, "李四", "13900002222", agrees=False
        )
    assert await db.fetch_value("SELECT used_at FROM mediation_links") is None
    assert (
        await db.fetch_value("SELECT count(*) FROM mediation_parties WHERE user_id IS NOT NULL")
        == 0
    )
    await db.execute(
        "DROP TRIGGER fail_refusal ON case_events"
        if db.dialect == "postgresql"
        else "DROP TRIGGER fail_refusal"
    )
    await w.other.send(f"/start {token}")
    await w.other.send("李四")
    await w.other.send("13900002222")
    await w.other.press("我不同意调解")
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (w.case_id,)) == "closed"
    assert [r.chat_id for r in await rows(db, f"med:{w.case_id}:refused:")] == [1001, MEDIATOR]
