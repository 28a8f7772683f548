"""The respondent agency answers a reconsideration (FY 48, 54): the liaison's reply in the chat
or the office's "reply and evidence received" closes F10 and stops its reminders; the office
reads the reply in the case file; a liaison's reminder names the matter and opens the extract."""

from __future__ import annotations

import hashlib
import io
import json

from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument

from cases.org.users import Role
from cases.procedures.transitions import Action
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.agency_reply import AgencyReplyAction
from handlers.callbacks import CaseAction
from handlers.case_file import CaseFileAction
from handlers.staff.callbacks import StaffAction, Step
from scheduling.outbox import OutboxRow
from scheduling.planner import Planner
from scheduling.sender import render_markup, render_text
from tests.case_file_support import (
    CITIZEN,
    LIAISON,
    NOT_AVAILABLE,
    OFFICE,
    Paced,
    assert_telegram_accepts,
    file_reconsideration,
    open_from_list,
    person,
    visible,
)
from tests.support import ENGINE

REPLY_PDF = b"%PDF-1.4 the agency's evidence"
ADMIN = 9001


async def copy_sent_case(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> tuple[int, Paced, Paced]:
    """A filed reconsideration, accepted, the copy sent today; the office and the respondent's
    liaison."""
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    await open_from_list(office)
    await office.press("✅ 受理")
    await office.press("普通程序")
    await office.press("申请书副本已发送")
    await office.press("今天")
    liaison = await person(
        dispatcher, bot, clock, LIAISON, Role.agency_liaison, await respondent(db)
    )
    return case_id, office, liaison


async def respondent(db: Database) -> str:
    return json.loads(await db.fetch_value("SELECT answers FROM cases"))["respondent_id"]


async def f10_status(db: Database, case_id: int) -> str:
    return str(
        await db.fetch_value(
            "SELECT status FROM case_deadlines WHERE case_id = ? AND rule_id = 'F10'", (case_id,)
        )
    )


async def pending_f10(db: Database) -> int:
    return int(
        await db.fetch_value(
            "SELECT count(*) FROM reminders WHERE rule_id = 'F10' AND status = 'pending'"
        )
    )


async def reply_events(db: Database, case_id: int) -> list[dict]:
    rows = await db.fetch_all(
        "SELECT detail FROM case_events WHERE case_id = ? AND kind = 'reply_received'", (case_id,)
    )
    return [json.loads(r["detail"]) for r in rows]


async def test_liaison_replies_in_the_chat_f10_met_reminders_stop_office_reads_it(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    case_id, office, liaison = await copy_sent_case(dispatcher, bot, clock, db)
    planner = Planner(db, clock, admin_ids=[ADMIN], calendar=ENGINE.calendar)
    await planner.plan()
    assert await pending_f10(db) > 0

    await liaison.click(CaseAction(action="view", case_id=case_id))  # the reminder's button
    assert any("提交书面答复" in b for b in liaison.buttons())
    await liaison.press("提交书面答复")
    await liaison.send("答复：处罚决定事实清楚 <证据充分> & 程序合法")
    await liaison.send_document("证据<1>.pdf", "application/pdf", REPLY_PDF)
    assert "文件 1 个" in liaison.last_text()
    await liaison.press("发送答复")
    assert "答复和证据已记录" in liaison.last_text()

    assert await f10_status(db, case_id) == "met"
    [detail] = await reply_events(db, case_id)
    assert detail["files"][0]["sha256"] == hashlib.sha256(REPLY_PDF).hexdigest()
    await planner.plan()
    assert await pending_f10(db) == 0  # reminders, the chase-up and the overdue report

    office.clear()
    await office.click(CaseFileAction(action="full", case_id=case_id))
    shown = visible(office.texts())
    assert "答复：处罚决定事实清楚 <证据充分> & 程序合法" in shown
    assert hashlib.sha256(REPLY_PDF).hexdigest() in shown
    await office.press("R1")
    [sent] = [r for r in bot.session.requests if isinstance(r, SendDocument)]
    buffer = io.BytesIO()
    await bot.download(sent.document, destination=buffer)  # type: ignore[arg-type]
    assert buffer.getvalue() == REPLY_PDF
    assert_telegram_accepts(bot)

    # The reply is recorded: the extract no longer offers it.
    liaison.clear()
    await liaison.click(CaseAction(action="view", case_id=case_id))
    assert not any("提交书面答复" in b for b in liaison.buttons())


async def test_double_press_on_send_the_reply_records_it_once(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    case_id, _office, liaison = await copy_sent_case(dispatcher, bot, clock, db)
    await liaison.click(AgencyReplyAction(action="start", case_id=case_id))
    await liaison.send("书面答复")
    send = AgencyReplyAction(action="send", case_id=case_id)
    await liaison.click(send)
    await liaison.click(send)
    assert len(await reply_events(db, case_id)) == 1
    assert "已经记录" in liaison.last_text()


async def test_another_agencys_liaison_cannot_start_or_send_a_reply(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    case_id, _office, _liaison = await copy_sent_case(dispatcher, bot, clock, db)
    mine = await respondent(db)
    other = next(a.id for a in dispatcher["org"].agencies if a.id != mine)
    intruder = await person(dispatcher, bot, clock, 7009, Role.agency_liaison, other)
    await intruder.click(AgencyReplyAction(action="start", case_id=case_id))
    assert bot.session.alerts()[-1] == NOT_AVAILABLE
    await intruder.click(AgencyReplyAction(action="send", case_id=case_id))
    assert bot.session.alerts()[-1] == NOT_AVAILABLE
    assert await reply_events(db, case_id) == []
    assert await f10_status(db, case_id) == "open"


async def test_liaison_cannot_reply_before_the_copy_is_sent(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    liaison = await person(
        dispatcher, bot, clock, LIAISON, Role.agency_liaison, await respondent(db)
    )
    await liaison.click(AgencyReplyAction(action="start", case_id=case_id))
    assert bot.session.alerts()[-1] == NOT_AVAILABLE


async def test_office_records_a_paper_reply_and_the_chase_stops(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    case_id, office, _liaison = await copy_sent_case(dispatcher, bot, clock, db)
    planner = Planner(db, clock, admin_ids=[ADMIN], calendar=ENGINE.calendar)
    await planner.plan()
    await office.press("答复和证据已收到")
    await office.press("确认")
    assert await f10_status(db, case_id) == "met"
    [detail] = await reply_events(db, case_id)
    assert detail["paper"] is True
    # The confirm button pressed again (a double press) records nothing more.
    await office.click(
        StaffAction(action=Action.reply_received, case_id=case_id, step=Step.confirm)
    )
    assert len(await reply_events(db, case_id)) == 1
    await planner.plan()
    assert await pending_f10(db) == 0
    office.clear()
    await office.click(CaseFileAction(action="full", case_id=case_id))
    assert "纸质" in visible(office.texts())


async def test_a_reply_after_f10_passed_still_stops_the_chase_up(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    case_id, _office, liaison = await copy_sent_case(dispatcher, bot, clock, db)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE case_deadlines SET status = 'missed', due_on = '2026-11-20',"
            " closed_on = '2026-11-21'"
            " WHERE case_id = ? AND rule_id = 'F10'",
            (case_id,),
        )
    planner = Planner(db, clock, admin_ids=[ADMIN], calendar=ENGINE.calendar)
    await planner.plan()
    assert await pending_f10(db) > 0  # the chase-up and the overdue report
    await liaison.click(AgencyReplyAction(action="start", case_id=case_id))
    await liaison.send("迟到的答复")
    await liaison.press("发送答复")
    assert await f10_status(db, case_id) == "met"
    await planner.plan()
    assert await pending_f10(db) == 0


async def test_f10_reminder_to_the_liaison_names_the_act_and_applicant_and_opens_the_case(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    case_id, _office, _liaison = await copy_sent_case(dispatcher, bot, clock, db)
    await Planner(db, clock, admin_ids=[ADMIN], calendar=ENGINE.calendar).plan()
    row = await db.fetch_one(
        "SELECT * FROM reminders WHERE rule_id = 'F10' AND chat_id = ? ORDER BY due_at LIMIT 1",
        (LIAISON,),
    )
    assert row is not None
    outbox_row = OutboxRow.from_row(row)
    text = render_text(outbox_row)
    assert "谷公(治)决字〔2026〕123号 &lt;x&gt;" in text  # the act's document number, escaped
    assert "谷城&lt;县&gt;某某&amp;公司" in text  # the applicant (an organisation) by name
    assert "420625" not in text and "138" not in text
    markup = render_markup(outbox_row)
    assert markup is not None
    assert any(b.callback_data == f"case:view:{case_id}" for b in markup.inline_keyboard[0])


def test_f10_reminder_masks_numbers_typed_into_the_applicants_name_or_the_act() -> None:
    """Found in review: the reminder named the applicant as typed, numbers and all, while the
    agency's extract masked them."""
    import json

    from scheduling.sources import respondent_details as _respondent_details

    details = _respondent_details(
        json.dumps({"applicant_name": "张三 13912345678 420625199001011234", "act_title": "决定"})
    )
    assert "13912345678" not in details["applicant"]
    assert "420625199001011234" not in details["applicant"]
    assert "139****5678" in details["applicant"]
