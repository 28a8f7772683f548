"""Petitions handed to the agencies that must answer them (issue #10; XF 22-23, 30, 32-35):
the petition office assigns (交办) with a reason or transfers (转送) outside the county; the
agency's liaison accepts in the chat (the citizen told in the agency's name), answers with the
handling opinion and its files (SHA-256 kept), which reaches the citizen with the 30-day 复查
window; an extension is asked by the liaison and approved by the head; reminders to the liaison
name the matter and the petition office's contact and open the petition as the agency sees it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument

from cases.org.users import Role
from cases.petitions.handover import Outcome, PetitionHandover
from cases.procedures.case_clocks import mark_met
from cases.store.db import Database
from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock
from handlers.callbacks import CaseAction, OpinionFiles
from handlers.petition_agency import (
    AgencyStep,
    HandoverAction,
    HandoverStep,
    PetitionAgencyAction,
)
from scheduling.outbox import Outbox, OutboxRow
from scheduling.planner import Planner
from scheduling.sender import render_markup, render_text
from tests.scheduling_helpers import FakeTransport
from tests.support import (
    ADMIN_ID,
    ENGINE,
    VALID_ID,
    PacedClient,
    compute,
    file_petition,
    migrations_where,
    staff_client,
)

CITIZEN = 1001
OFFICE = 7001
LIAISON = 7003
HEAD = 7004
INTRUDER = 7009
AGENCY = "county_transport"  # 谷城县交通运输局
OTHER_AGENCY = "county_psb"
NOT_AVAILABLE = "您无权查看这个案件。"
OPINION_PDF = b"%PDF-1.4 the agency's handling opinion"


@pytest.fixture
def citizen(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return PacedClient(dispatcher, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)


@pytest.fixture
async def office(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dispatcher, bot, clock, OFFICE, Role.office_staff, "petition_office")


@pytest.fixture
async def liaison(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dispatcher, bot, clock, LIAISON, Role.agency_liaison, AGENCY)


@pytest.fixture
async def head(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dispatcher, bot, clock, HEAD, Role.agency_head, AGENCY)


@pytest.fixture
async def intruder(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dispatcher, bot, clock, INTRUDER, Role.agency_head, OTHER_AGENCY)


async def deliver(db: Database, clock: FakeClock) -> list[OutboxRow]:
    """Send what is due through the real outbox; the rows as delivered."""
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN_ID]).dispatch_due()
    return transport.delivered


def to(rows: list[OutboxRow], chat_id: int) -> list[str]:
    return [render_text(row) for row in rows if row.chat_id == chat_id]


async def status(db: Database, case_id: int) -> str:
    return str(await db.fetch_value("SELECT status FROM cases WHERE id = ?", (case_id,)))


async def clocks(db: Database, case_id: int) -> dict[str, tuple[str, str]]:
    rows = await db.fetch_all(
        "SELECT rule_id, status, due_on FROM case_deadlines WHERE case_id = ? ORDER BY id",
        (case_id,),
    )
    return {r["rule_id"]: (r["status"], r["due_on"]) for r in rows}


async def assign(office: PacedClient, case_id: int, agency: str = "谷城县交通运输局") -> None:
    await office.click(f"staff:view:{case_id}::0:0::")
    await office.press("交办有关机关")
    await office.press(agency)
    await office.send("村道养护属交通运输部门职责")
    await office.press("确认")


async def assigned_petition(
    citizen: PacedClient, office: PacedClient, db: Database, clock: FakeClock
) -> int:
    case_id = await file_petition(citizen, db)
    await assign(office, case_id)
    return case_id


# -- the whole way ------------------------------------------------------------------------------


async def test_petition_assigned_accepted_answered_with_files_reaches_the_citizen_with_review(
    dispatcher: Dispatcher,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    head: PacedClient,
    db: Database,
    clock: FakeClock,
    bot: Bot,
) -> None:
    case_id = await file_petition(citizen, db)
    await assign(office, case_id)
    assert "已交办谷城县交通运输局" in office.last_text()
    state = await clocks(db, case_id)
    assert state["X1"][0] == "met" and state["X3"] == ("open", "2026-12-10")
    assert "X4" not in state and await status(db, case_id) == "submitted"

    rows = await deliver(db, clock)
    [told] = to(rows, CITIZEN)
    assert "已于2026年11月25日" in told and "交办谷城县交通运输局" in told
    assert "村道养护属交通运输部门职责" in told and "2026年12月10日" in told
    [to_liaison] = [r for r in rows if r.chat_id == LIAISON]
    text = render_text(to_liaison)
    assert "修复村道路面" in text and "谷城县信访局" in text
    assert VALID_ID not in json.dumps(to_liaison.payload, ensure_ascii=False)
    markup = render_markup(to_liaison)
    assert markup is not None
    opened = [b for r in markup.inline_keyboard for b in r if b.text == "查看案件"]
    assert opened, "the agency's notice opens the petition"
    assert [r for r in rows if r.chat_id == HEAD], "the head is told too"

    # The liaison opens it from the notice: the petition as the agency may see it.
    await liaison.click(CaseAction(action="view", case_id=case_id))
    page = liaison.last_text()
    assert "修复村道路面" in page and "张三" in page
    assert VALID_ID not in page and "13800001234" not in page and "138****1234" in page
    assert "城关镇东街1号" not in page  # the address is not the agency's business
    await liaison.press("受理并告知信访人")
    assert "已受理" in liaison.last_text()
    assert "13800001234" in liaison.last_text()  # handling means calling the petitioner
    state = await clocks(db, case_id)
    assert state["X3"][0] == "met"
    assert state["X4"] == ("open", compute("X4", date(2026, 11, 25)).due.isoformat())
    assert await status(db, case_id) == "accepted"
    [accepted] = to(await deliver(db, clock), CITIZEN)
    assert "谷城县交通运输局已于2026年11月25日（星期三）受理" in accepted
    assert "《信访工作条例》第二十三条第三款" in accepted

    # The office keeps overseeing but no longer concludes itself.
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    assert not any("出具处理意见" in b for b in office.buttons())

    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    await liaison.press("出具处理意见")
    await liaison.send("经查，村道已列入明年养护计划，<3月底前>修复。")
    await liaison.send_document("处理意见书.pdf", "application/pdf", OPINION_PDF)
    assert "文件1个" in liaison.last_text()
    await liaison.press("发送处理意见")
    await liaison.press_again()  # a double press sends once
    assert await status(db, case_id) == "decided"
    assert (await clocks(db, case_id))["X4"][0] == "met"
    [concluded] = await db.fetch_all(
        "SELECT actor_role, detail FROM case_events WHERE case_id = ? AND kind = 'concluded'",
        (case_id,),
    )
    detail = json.loads(concluded["detail"])
    assert concluded["actor_role"] == "agency_liaison"
    assert detail["files"][0]["sha256"] == hashlib.sha256(OPINION_PDF).hexdigest()

    rows = await deliver(db, clock)
    opinion, closing = to(rows, CITIZEN)
    assert "经查，村道已列入明年养护计划，&lt;3月底前&gt;修复。" in opinion
    assert "三十日内" in closing and "2026年12月25日" in closing
    assert "《信访工作条例》第三十五条" in closing
    [opinion_row, closing_row] = [r for r in rows if r.chat_id == CITIZEN]
    closing_buttons = [b.text for r in render_markup(closing_row).inline_keyboard for b in r]
    assert any("复查" in b for b in closing_buttons)
    files_button = [b for r in render_markup(opinion_row).inline_keyboard for b in r]
    assert files_button and "处理意见附件" in files_button[0].text

    # The citizen gets the documents; nobody else does.
    await citizen.click(OpinionFiles(case_id=case_id))
    [sent] = [r for r in bot.session.requests if isinstance(r, SendDocument)]
    buffer = io.BytesIO()
    await bot.download(sent.document, destination=buffer)  # type: ignore[arg-type]
    assert buffer.getvalue() == OPINION_PDF
    stranger = PacedClient(dispatcher, bot, user_id=1002, language_code="zh-hans")
    await stranger.click(OpinionFiles(case_id=case_id))
    assert bot.session.alerts()[-1] == NOT_AVAILABLE

    # The office sees the whole way in the history, each step with the actor by name and role.
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    history = office.last_text()
    assert "已交办谷城县交通运输局；理由：村道养护属交通运输部门职责" in history
    assert "谷城县交通运输局已受理该信访事项" in history
    assert "王科长 · " in history
    # ... and reads the opinion with its documents (the office oversees the handling).
    await office.press("办理机关的处理意见")
    texts = office.texts()
    assert any("经查，村道已列入明年养护计划" in text for text in texts)
    documents = [r for r in bot.session.requests if isinstance(r, SendDocument)]
    assert documents and hashlib.sha256(OPINION_PDF).hexdigest() in str(documents[-1].caption)


async def test_transfer_outside_the_county_names_the_body_tells_the_citizen_and_closes(
    citizen: PacedClient, office: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_petition(citizen, db, request="退还在襄阳市区被扣车辆")
    await office.click(f"staff:view:{case_id}::0:0::")
    await office.press("转送其他机关")
    await office.send("襄阳市公安局交通警察支队")
    await office.send("扣车行为发生在襄阳市区，由市局管辖")
    await office.press("确认")
    assert "已转送襄阳市公安局交通警察支队" in office.last_text()
    assert await status(db, case_id) == "closed"
    state = await clocks(db, case_id)
    assert state["X1"][0] == "met" and "X3" not in state and "X4" not in state
    [told] = to(await deliver(db, clock), CITIZEN)
    assert "转送有权处理的襄阳市公安局交通警察支队" in told
    assert "扣车行为发生在襄阳市区，由市局管辖" in told
    await office.press_again()
    assert await db.fetch_value("SELECT count(*) FROM petition_handovers") == 1


async def test_suggestion_is_forwarded_only_to_a_named_agency_with_a_reason_and_no_x4(
    citizen: PacedClient, office: PacedClient, db: Database, clock: FakeClock
) -> None:
    """Regression (issue #10): a suggestion or a report was closed as "forwarded" with one
    press, naming no body and giving no reason."""
    case_id = await file_petition(citizen, db, kind="提出建议、意见", request="增设公交站点")
    await office.click(f"staff:view:{case_id}::0:0::")
    assert not any(b == "转送有关机关" or "受理" in b for b in office.buttons())
    await office.click(f"staff:accept:{case_id}::0:0::")  # the old button, forged
    assert await status(db, case_id) == "submitted"
    await assign(office, case_id)
    assert "已转送谷城县交通运输局" in office.last_text()
    state = await clocks(db, case_id)
    assert await status(db, case_id) == "closed" and "X4" not in state and "X3" not in state
    [told] = to(await deliver(db, clock), CITIZEN)
    assert "谷城县交通运输局" in told and "村道养护属交通运输部门职责" in told


async def test_not_ours_without_a_reason_or_a_body_is_refused(
    dispatcher: Dispatcher, citizen: PacedClient, office: PacedClient, db: Database
) -> None:
    case_id = await file_petition(citizen, db)
    service: PetitionHandover = dispatcher["handover"]
    user = await dispatcher["users"].get(OFFICE)
    for reason in ("", "   "):
        result = await service.assign(case_id, user, agency_id=AGENCY, reason=reason)
        assert result.outcome is Outcome.refused
    result = await service.transfer(case_id, user, body_name=" ", reason="不属本县管辖")
    assert result.outcome is Outcome.refused
    result = await service.transfer(case_id, user, body_name="襄阳市信访局", reason="")
    assert result.outcome is Outcome.refused
    assert await status(db, case_id) == "submitted"
    assert await db.fetch_value("SELECT count(*) FROM petition_handovers") == 0
    # A confirmation button whose reason is not the one pending does nothing.
    await office.click(HandoverAction(step=HandoverStep.confirm, case_id=case_id, h="00000000"))
    assert await db.fetch_value("SELECT count(*) FROM petition_handovers") == 0


async def test_a_report_never_goes_to_the_agency_it_concerns(
    dispatcher: Dispatcher, citizen: PacedClient, db: Database
) -> None:
    """XF 30(3): 不得将检举、揭发材料转给被检举、揭发的人员或者单位."""
    case_id = await file_petition(citizen, db, kind="检举、控告", request="查处某局李四")
    answers = json.loads(
        await db.fetch_value("SELECT answers FROM cases WHERE id = ?", (case_id,))
    )
    answers["body_concerned"] = AGENCY
    await db.execute("UPDATE cases SET answers = ? WHERE id = ?", (json.dumps(answers), case_id))
    await dispatcher["users"].set_role(OFFICE, Role.office_staff, "petition_office")
    user = await dispatcher["users"].get(OFFICE)
    service: PetitionHandover = dispatcher["handover"]
    accused = await service.assign(
        case_id, user, agency_id=AGENCY, reason="核查", confirmed_report=True
    )
    assert accused.outcome is Outcome.refused and "第三十条" in str(accused.error)
    unconfirmed = await service.assign(case_id, user, agency_id="county_justice", reason="核查")
    assert unconfirmed.outcome is Outcome.refused
    assert await db.fetch_value("SELECT count(*) FROM petition_handovers") == 0
    # Transferred to the discipline body: the citizen's notice names it, nothing of the matter.
    done = await service.transfer(case_id, user, body_name="谷城县纪委监委", reason="检举控告")
    assert done.outcome is Outcome.done and await status(db, case_id) == "closed"


async def test_an_agency_sees_a_report_only_when_deliberately_assigned_and_without_the_name(
    dispatcher: Dispatcher,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
) -> None:
    case_id = await file_petition(citizen, db, kind="检举、控告", request="查处某站收费问题")
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    assert liaison.session.alerts()[-1] == NOT_AVAILABLE
    await assign(office, case_id)  # the confirmation warns of XF 30(3)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    page = liaison.last_text()
    assert "查处某站收费问题" in page and "检举人身份信息由信访局保管" in page
    assert "张三" not in page and "138" not in page


# -- extension ----------------------------------------------------------------------------------


async def test_extension_asked_by_the_liaison_approved_by_the_head_citizen_told_the_reason(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    head: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    await deliver(db, clock)
    assert not any("批准延期" in b for b in liaison.buttons())  # not the liaison's to approve
    await liaison.press("申请延期")
    await liaison.send("需委托第三方检测路基")
    await liaison.press("30日")
    assert "已报送本单位负责人" in liaison.last_text()
    [request] = [r for r in await deliver(db, clock) if r.chat_id == HEAD]
    assert "需委托第三方检测路基" in render_text(request)

    # Neither the liaison nor the petition office approves (XF 34: the head of the body).
    request_id = int(await db.fetch_value("SELECT id FROM petition_extension_requests"))
    approve = PetitionAgencyAction(step=AgencyStep.approve, case_id=case_id, n=request_id)
    await liaison.click(approve)
    await office.click(approve)
    x4_due = (await clocks(db, case_id))["X4"][1]
    assert x4_due == compute("X4", date(2026, 11, 25)).due.isoformat()

    await head.click(CaseAction(action="view", case_id=case_id))
    await head.press("批准延期（30日）")
    assert "已批准" in head.last_text()
    await head.press_again()  # a double press extends once
    assert "此操作已完成" in head.last_text()
    extended = (await clocks(db, case_id))["X4"][1]
    assert extended > x4_due
    assert (
        await db.fetch_value(
            "SELECT extension_days FROM case_deadlines WHERE case_id = ? AND rule_id = 'X4'",
            (case_id,),
        )
        == 30
    )
    rows = await deliver(db, clock)
    [told] = to(rows, CITIZEN)
    assert "需委托第三方检测路基" in told and "《信访工作条例》第三十四条" in told
    assert [r for r in rows if r.chat_id == LIAISON]
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    assert "单位负责人已批准延期30日" in office.last_text()


# -- reminders ----------------------------------------------------------------------------------


async def test_x4_reminders_go_to_the_liaison_with_the_office_contact_and_open_the_petition(
    dispatcher: Dispatcher,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    org = dispatcher["org"]
    petition_office = org.office_for_role("petition").model_copy(
        update={"phone": "0710-7223456", "address": "谷城县城关镇府前街1号"}
    )
    org = org.model_copy(
        update={
            "offices": tuple(petition_office if o.role == "petition" else o for o in org.offices)
        }
    )
    planner = Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar, org=org)
    await planner.plan()
    rows = await db.fetch_all(
        "SELECT * FROM reminders WHERE rule_id = 'X4' AND kind != 'notice' ORDER BY due_at"
    )
    audiences = {(r["chat_id"], r["audience"]) for r in rows}
    assert (LIAISON, "agency_liaison") in audiences and (OFFICE, "office_staff") in audiences
    assert (HEAD, "agency_head") not in audiences  # the head was not registered in this test
    first = next(r for r in rows if r["chat_id"] == LIAISON)
    clock.set(datetime.fromisoformat(first["due_at"]).astimezone(UTC) + timedelta(minutes=1))
    delivered = [r for r in await deliver(db, clock) if r.chat_id == LIAISON]
    reminder = next(r for r in delivered if r.rule_id == "X4")
    text = render_text(reminder)
    assert "修复村道路面" in text and "张三" in text
    assert "谷城县信访局 · 电话 0710-7223456 · 谷城县城关镇府前街1号" in text
    buttons = [b for r in render_markup(reminder).inline_keyboard for b in r]
    [open_case] = [b for b in buttons if b.text == "查看案件"]
    liaison.clear()
    await liaison.click(open_case.callback_data)
    assert "信访事项" in liaison.last_text() and "出具处理意见" in " ".join(liaison.buttons())


async def test_f10_reminder_names_the_reconsideration_office_contact(
    dispatcher: Dispatcher, db: Database, clock: FakeClock
) -> None:
    from tests.scheduling_helpers import add_case, add_user

    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, status="accepted")
    await db.execute(
        "UPDATE cases SET procedure = 'reconsideration', answers = ? WHERE id = ?",
        (json.dumps({"respondent_id": AGENCY, "act_title": "谷交罚〔2026〕7号"}), case_id),
    )
    await dispatcher["users"].set_role(LIAISON, Role.agency_liaison, AGENCY)
    from cases.procedures.case_clocks import open_deadline

    async with db.transaction() as conn:
        await open_deadline(conn, case_id, "F10", clock.now().date(), clock=clock)
    planner = Planner(
        db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar, org=dispatcher["org"]
    )
    await planner.plan()
    row = await db.fetch_one(
        "SELECT payload FROM reminders WHERE rule_id = 'F10' AND chat_id = ? LIMIT 1", (LIAISON,)
    )
    payload: dict[str, Any] = json.loads(row["payload"])
    assert payload["act_title"] == "谷交罚〔2026〕7号"
    assert payload["office_contact_zh"].startswith("谷城县司法局")
    assert "0710-12345" in payload["office_contact_zh"]  # no phone in the file: the hotline


# -- forged buttons -----------------------------------------------------------------------------


async def test_forged_buttons_across_agencies_and_roles_are_refused(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    intruder: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    for step in (AgencyStep.view, AgencyStep.accept, AgencyStep.opinion, AgencyStep.extend):
        await intruder.click(PetitionAgencyAction(step=step, case_id=case_id))
        assert intruder.session.alerts()[-1] == NOT_AVAILABLE
    await intruder.click(CaseAction(action="view", case_id=case_id))
    assert intruder.session.alerts()[-1] == NOT_AVAILABLE
    assert await status(db, case_id) == "submitted"
    # The liaison may not hand a petition over; a citizen may not either.
    other = await file_petition(citizen, db, request="另一件事")
    await liaison.click(HandoverAction(step=HandoverStep.assign, case_id=other))
    await citizen.click(HandoverAction(step=HandoverStep.pick, case_id=other, agency=OTHER_AGENCY))
    assert (
        await db.fetch_value("SELECT count(*) FROM petition_handovers WHERE case_id = ?", (other,))
        == 0
    )
    # The office cannot act as the agency.
    await office.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    assert await status(db, case_id) == "submitted"
    # The real liaison can, once.
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    assert await status(db, case_id) == "accepted"
    assert (
        await db.fetch_value(
            "SELECT count(*) FROM case_deadlines WHERE case_id = ? AND rule_id = 'X4'", (case_id,)
        )
        == 1
    )


# -- the migration ------------------------------------------------------------------------------


async def test_migration_0017_upgrades_a_database_with_petitions(tmp_path: Path) -> None:
    from tests.scheduling_helpers import add_case, add_user

    before = migrations_where(tmp_path / "before", lambda name: name < "0017")
    async with SqliteDatabase(tmp_path / "m.sqlite3") as database:
        await migrate(database, before)
        await add_user(database, CITIZEN)
        case_id = await add_case(database, CITIZEN, status="submitted")
        applied = await migrate(database)
        assert any(name.startswith("0017") for name in applied)
        await database.execute(
            "INSERT INTO petition_handovers(case_id, kind, agency_id, reason, status,"
            " assigned_by, assigned_at) VALUES (?, 'assign', ?, '职责', 'assigned', 1, ?)",
            (case_id, AGENCY, "2026-11-25T01:00:00+00:00"),
        )
        with pytest.raises(Exception, match="UNIQUE"):
            await database.execute(
                "INSERT INTO petition_handovers(case_id, kind, agency_id, reason, status,"
                " assigned_by, assigned_at) VALUES (?, 'assign', ?, '又一次', 'assigned', 1, ?)",
                (case_id, AGENCY, "2026-11-25T01:00:00+00:00"),
            )
        with pytest.raises(Exception, match="CHECK"):
            await database.execute(
                "INSERT INTO petition_handovers(case_id, kind, body_name, reason, status,"
                " assigned_by, assigned_at) VALUES (?, 'transfer', '某机关', ' ', "
                "'transferred', 1, ?)",
                (case_id, "2026-11-25T01:00:00+00:00"),
            )


async def test_agency_objects_within_five_working_days_and_the_office_assigns_again(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """XF 23(3): an agency that is not competent objects with reasons within 5 working days;
    once the office agrees, the petition goes back to it and it passes it on again. Not a
    closure."""
    case_id = await assigned_petition(citizen, office, db, clock)
    await deliver(db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    await liaison.press("不属本单位职权")
    await liaison.send("村道属乡镇管养，不属本局职责")
    await liaison.press("确认")
    assert "异议及理由已报送信访局" in liaison.last_text()
    assert await status(db, case_id) == "submitted"
    rows = await deliver(db, clock)
    [told_office] = to(rows, OFFICE)
    assert "村道属乡镇管养，不属本局职责" in told_office and "同意" in told_office
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    await office.press("同意异议")
    assert "已同意" in office.last_text()
    assert (await clocks(db, case_id))["X3"][0] == "cancelled"
    assert [t for t in to(await deliver(db, clock), LIAISON) if "已同意您单位的异议" in t]
    # The agency no longer sees it; the office can hand it on again.
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    assert liaison.session.alerts()[-1] == NOT_AVAILABLE
    await assign(office, case_id, agency="城关镇人民政府")
    assert "已交办城关镇人民政府" in office.last_text()
    assert (await clocks(db, case_id))["X3"][0] == "open"


async def test_an_objection_after_five_working_days_is_refused(
    citizen: PacedClient, office: PacedClient, liaison: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)  # Wed 2026-11-25
    clock.advance(timedelta(days=8))  # Thu 2026-12-03: the fifth working day was Wed 12-02
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    assert not any("提出异议" in b for b in liaison.buttons())  # the period ended
    await liaison.click(PetitionAgencyAction(step=AgencyStep.object, case_id=case_id))
    assert "2026年12月2日" in liaison.last_text() and "应当办理" in liaison.last_text()
    assert await db.fetch_value("SELECT status FROM petition_handovers") == "assigned"


async def test_a_petition_the_office_handles_itself_reminds_no_agency_and_no_stand_in(
    citizen: PacedClient, office: PacedClient, db: Database, clock: FakeClock
) -> None:
    """X4 names agency liaisons since petitions go to agencies; one the office accepted itself
    has no agency, and nobody stands in for one (the administrators heard nothing new)."""
    case_id = await file_petition(citizen, db)
    await office.click(f"staff:accept:{case_id}::0:0::")
    assert await status(db, case_id) == "accepted"
    await Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar).plan()
    audiences = {
        r["audience"]
        for r in await db.fetch_all(
            "SELECT audience FROM reminders WHERE rule_id = 'X4' AND kind != 'notice'"
        )
    }
    assert audiences == {"office_staff"}


async def test_assign_and_transfer_pressed_together_leave_one_consistent_handover(
    dispatcher: Dispatcher, citizen: PacedClient, office: PacedClient, db: Database
) -> None:
    """Two clerks at once: one assigns, one transfers. One of them wins; never a case closed
    here while an agency holds it."""
    case_id = await file_petition(citizen, db)
    service: PetitionHandover = dispatcher["handover"]
    user = await dispatcher["users"].get(OFFICE)
    results = await asyncio.gather(
        service.assign(case_id, user, agency_id=AGENCY, reason="职责"),
        service.transfer(case_id, user, body_name="襄阳市信访局", reason="县外管辖"),
        service.assign(case_id, user, agency_id=AGENCY, reason="职责"),
    )
    assert [r.outcome for r in results].count(Outcome.done) == 1
    rows = await db.fetch_all("SELECT kind, status FROM petition_handovers")
    assert len(rows) == 1
    expected = "closed" if rows[0]["kind"] == "transfer" else "submitted"
    assert await status(db, case_id) == expected


# -- review fixes (helper f10r) -----------------------------------------------------------------


async def test_office_status_line_read_to_be_accepted_or_forwarded_for_an_assigned_petition(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """The office's page said "已收到，待受理或转送" while an agency held the petition: it now
    says where the petition is at each step."""
    case_id = await assigned_petition(citizen, office, db, clock)
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    page = office.last_text()
    assert "待受理或转送" not in page
    assert "已于2026年11月25日" in page and "交办谷城县交通运输局，待其受理" in page
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    assert "谷城县交通运输局已于2026年11月25日" in office.last_text()
    assert "正在办理" in office.last_text()


async def test_office_status_line_after_an_objection_says_to_assign_again(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.object, case_id=case_id))
    await liaison.send("不属本局职责")
    await liaison.press("确认")
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    assert "提出异议，认为不属其职权范围：待决定是否同意" in office.last_text()
    await office.press("同意异议")
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    assert "提出异议（不属其职权范围）已退回，待重新交办或转送" in office.last_text()


async def test_the_five_working_day_objection_period_had_no_reminder(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    head: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """X3a (XF 23(3)): the agency's page names the last day to object, and on that day at
    08:30 its people are reminded, unless it accepted or objected before."""
    case_id = await assigned_petition(citizen, office, db, clock)  # Wed 2026-11-25
    await deliver(db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    assert "2026年12月2日" in liaison.last_text() and "第二十三条第三款" in liaison.last_text()
    clock.advance(timedelta(days=6))  # Tue 2026-12-01: nothing yet
    assert not to(await deliver(db, clock), LIAISON)
    clock.set(datetime(2026, 12, 2, 0, 31, tzinfo=UTC))  # Wed 12-02 08:31 in Gucheng
    rows = await deliver(db, clock)
    [reminder] = to(rows, LIAISON)
    assert "今天" in reminder and "2026年12月2日" in reminder and "提出异议" in reminder
    assert to(rows, HEAD)
    [row] = [r for r in rows if r.chat_id == LIAISON]
    assert any(b.text == "查看案件" for r in render_markup(row).inline_keyboard for b in r)


async def test_objection_reminder_is_cancelled_once_the_agency_accepts(
    citizen: PacedClient, office: PacedClient, liaison: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    clock.set(datetime(2026, 12, 2, 0, 31, tzinfo=UTC))
    rows = await deliver(db, clock)
    assert not [text for text in to(rows, LIAISON) if "提出异议" in text]


async def _ask_extension(liaison: PacedClient, case_id: int, db: Database) -> int:
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    await liaison.press("申请延期")
    await liaison.send("需委托第三方检测路基")
    await liaison.press("30日")
    return int(await db.fetch_value("SELECT id FROM petition_extension_requests"))


async def test_extension_request_of_an_agency_without_a_head_reached_admins_who_could_not_decide(
    dispatcher: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """No head registered: the request went to the administrators (stand-ins), whose "Open
    case" showed a page without a way to decide. They now decide it on the agency's page."""
    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    case_id = await assigned_petition(citizen, office, db, clock)
    await _ask_extension(liaison, case_id, db)
    await deliver(db, clock)
    await admin.click(CaseAction(action="view", case_id=case_id))
    await admin.press("延期申请：审批")
    assert "需委托第三方检测路基" in admin.last_text()
    assert not any("受理" in b or "出具处理意见" in b for b in admin.buttons())
    await admin.press("批准延期（30日）")
    assert "已批准" in admin.last_text()
    assert (
        await db.fetch_value(
            "SELECT extension_days FROM case_deadlines WHERE case_id = ? AND rule_id = 'X4'",
            (case_id,),
        )
        == 30
    )
    rows = await deliver(db, clock)
    assert to(rows, CITIZEN) and to(rows, LIAISON)  # the reason to the citizen; the liaison
    # An administrator still cannot act for the agency itself.
    service: PetitionHandover = dispatcher["handover"]
    user = await dispatcher["users"].get(ADMIN_ID)
    result = await service.conclude(case_id, user, text="意见")
    assert result.outcome is Outcome.not_allowed


async def test_approve_and_refuse_pressed_together_left_the_period_extended_but_refused(
    dispatcher: Dispatcher,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    head: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """Two heads at once: the request's state always matches the clock."""
    case_id = await assigned_petition(citizen, office, db, clock)
    request_id = await _ask_extension(liaison, case_id, db)
    service: PetitionHandover = dispatcher["handover"]
    user = await dispatcher["users"].get(HEAD)
    results = await asyncio.gather(
        service.decide_extension(case_id, user, request_id=request_id, approve=True),
        service.decide_extension(case_id, user, request_id=request_id, approve=False),
    )
    assert [r.outcome for r in results].count(Outcome.done) >= 1
    decision = await db.fetch_value("SELECT status FROM petition_extension_requests")
    days = await db.fetch_value(
        "SELECT extension_days FROM case_deadlines WHERE case_id = ? AND rule_id = 'X4'",
        (case_id,),
    )
    assert (decision, days) in {("approved", 30), ("refused", 0)}


async def test_an_extension_approved_too_late_answered_in_english(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    head: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    await _ask_extension(liaison, case_id, db)
    clock.advance(timedelta(days=70))  # the 60 days ended before the head pressed
    await head.click(CaseAction(action="view", case_id=case_id))
    await head.press("批准延期（30日）")
    assert "无法批准延期" in head.last_text() and "period" not in head.last_text()


async def test_a_report_reached_the_agency_it_concerns_when_named_differently(
    dispatcher: Dispatcher, citizen: PacedClient, db: Database
) -> None:
    """XF 30(3): the check compared the chosen id with the transfer's typed name, and the
    citizen's typed "交通运输局" with "谷城县交通运输局", exactly: both passed."""
    case_id = await file_petition(citizen, db, kind="检举、控告", request="查处某局李四")
    answers = json.loads(
        await db.fetch_value("SELECT answers FROM cases WHERE id = ?", (case_id,))
    )
    await dispatcher["users"].set_role(OFFICE, Role.office_staff, "petition_office")
    user = await dispatcher["users"].get(OFFICE)
    service: PetitionHandover = dispatcher["handover"]

    async def concerns(value: str) -> None:
        await db.execute(
            "UPDATE cases SET answers = ? WHERE id = ?",
            (json.dumps({**answers, "body_concerned": value}), case_id),
        )

    await concerns(AGENCY)  # chosen from the list
    typed = await service.transfer(case_id, user, body_name="谷城县 交通运输局", reason="核查")
    assert typed.outcome is Outcome.refused and "第三十条" in str(typed.error)
    await concerns("text:交通运输局")  # typed by the citizen
    picked = await service.assign(
        case_id, user, agency_id=AGENCY, reason="核查", confirmed_report=True
    )
    assert picked.outcome is Outcome.refused and "第三十条" in str(picked.error)
    assert await db.fetch_value("SELECT count(*) FROM petition_handovers") == 0
    # A place name alone is no match: the discipline body of the county may receive it.
    await concerns("text:谷城县")
    done = await service.transfer(case_id, user, body_name="谷城县纪委监委", reason="检举控告")
    assert done.outcome is Outcome.done


async def test_accept_and_objection_pressed_together_left_an_accepted_petition_marked_returned(
    dispatcher: Dispatcher,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    head: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """An "accept" meets X3 first, then takes the handover; an objection landing in between
    returned the petition with X3 met (the petitioner "told"), or cancelled X3 of a petition
    then accepted. Now one wins, and the clocks agree with the handover."""
    case_id = await assigned_petition(citizen, office, db, clock)
    service: PetitionHandover = dispatcher["handover"]
    liaison_user = await dispatcher["users"].get(LIAISON)
    head_user = await dispatcher["users"].get(HEAD)
    x3_id = int(
        await db.fetch_value(
            "SELECT id FROM case_deadlines WHERE case_id = ? AND rule_id = 'X3'", (case_id,)
        )
    )
    await mark_met(db, x3_id, HEAD, date(2026, 11, 25), clock)  # the head's accept, under way
    objected = await service.object(case_id, liaison_user, reason="不属本局职责")
    assert objected.outcome is Outcome.already
    assert (await service.accept(case_id, head_user)).outcome is Outcome.done
    assert await db.fetch_value("SELECT status FROM petition_handovers") == "accepted"
    assert await status(db, case_id) == "accepted"

    # Both at once on a fresh assignment: the acceptance stands (an objection waits for the
    # office and does not stop the agency from accepting), and the office's answer comes late.
    second = await assigned_petition(citizen, office, db, clock)
    await asyncio.gather(
        service.object(second, liaison_user, reason="不属本局职责"),
        service.accept(second, head_user),
    )
    assert (
        await db.fetch_value("SELECT status FROM petition_handovers WHERE case_id = ?", (second,))
        == "accepted"
    )
    assert (await clocks(db, second))["X3"][0] == "met"
    assert await status(db, second) == "accepted"
    office_user = await dispatcher["users"].get(OFFICE)
    late = await service.decide_objection(second, office_user, agree=True)
    assert late.outcome is Outcome.already


async def test_an_objection_returned_the_petition_without_the_office_agreeing(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    intruder: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """XF 23(3): materials go back only "经转送、交办机关核实同意后". The objection now waits for
    the office; not agreed, the agency must handle the matter and X3 runs on."""
    case_id = await assigned_petition(citizen, office, db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.object, case_id=case_id))
    await liaison.send("不属本局职责")
    await liaison.press("确认")
    assert await db.fetch_value("SELECT status FROM petition_handovers") == "assigned"
    assert (await clocks(db, case_id))["X3"][0] == "open"
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    assert "待信访局答复" in liaison.last_text()
    assert not any("提出异议" in b for b in liaison.buttons())  # once
    assert any("受理" in b for b in liaison.buttons())  # it may still accept
    await deliver(db, clock)
    # Only the petition office answers an objection (a forged button is refused).
    await intruder.click(HandoverAction(step=HandoverStep.agree, case_id=case_id))
    await liaison.click(HandoverAction(step=HandoverStep.agree, case_id=case_id))
    assert await db.fetch_value("SELECT status FROM petition_handovers") == "assigned"
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    await office.press("不同意")
    assert "不同意" in office.last_text() and "2026年12月10日" in office.last_text()
    await office.press_again()  # a double press answers once
    assert "此操作已完成" in office.last_text()
    [told] = to(await deliver(db, clock), LIAISON)
    assert "不同意您单位的异议" in told and "2026年12月10日" in told
    assert (await clocks(db, case_id))["X3"][0] == "open"
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    assert "信访局不同意异议" in liaison.last_text()
    await liaison.press("受理并告知信访人")
    assert await status(db, case_id) == "accepted"


async def test_office_case_list_read_to_be_accepted_or_forwarded_for_an_assigned_petition(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    office.clear()
    await office.send("/cases")
    assert "已交办谷城县交通运输局，待其受理" in office.last_text()
    assert "待受理或转送" not in office.last_text()
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    office.clear()
    await office.send("/cases")
    assert "谷城县交通运输局正在办理" in office.last_text()


async def test_extension_was_offered_after_the_handling_period_had_ended(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """XF 34 extends a running period: after its last day the liaison was still offered the
    request, which no head could then approve."""
    case_id = await assigned_petition(citizen, office, db, clock)
    await liaison.click(PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id))
    clock.advance(timedelta(days=70))
    await liaison.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    assert not any("申请延期" in b for b in liaison.buttons())
    assert any("出具处理意见" in b for b in liaison.buttons())
    await liaison.click(PetitionAgencyAction(step=AgencyStep.extend, case_id=case_id))
    assert "不能再延长" in liaison.last_text()
    assert await db.fetch_value("SELECT count(*) FROM petition_extension_requests") == 0


async def test_office_agreeing_to_an_objection_while_the_agency_accepts_left_x3_met_on_a_return(
    dispatcher: Dispatcher,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    head: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await assigned_petition(citizen, office, db, clock)
    service: PetitionHandover = dispatcher["handover"]
    await service.object(case_id, await dispatcher["users"].get(LIAISON), reason="不属本局职责")
    x3_id = int(
        await db.fetch_value(
            "SELECT id FROM case_deadlines WHERE case_id = ? AND rule_id = 'X3'", (case_id,)
        )
    )
    await mark_met(db, x3_id, HEAD, date(2026, 11, 25), clock)  # the head's accept, under way
    office_user = await dispatcher["users"].get(OFFICE)
    agreed = await service.decide_objection(case_id, office_user, agree=True)
    assert agreed.outcome is Outcome.already
    assert (await service.accept(case_id, await dispatcher["users"].get(HEAD))).outcome is (
        Outcome.done
    )
    assert await db.fetch_value("SELECT status FROM petition_handovers") == "accepted"


async def test_an_administrator_standing_in_for_the_head_saw_the_petitioners_phone_in_full(
    dispatcher: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """The agency's page shows the petitioner's phone in full once the agency accepted (it
    answers them); an administrator deciding an extension there saw it too, though their role
    sees phones masked everywhere else. Never the ID number, to anyone on this page."""
    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    case_id = await assigned_petition(citizen, office, db, clock)
    await _ask_extension(liaison, case_id, db)
    assert "13800001234" in "".join(liaison.texts())  # the agency that answers: in full
    await admin.click(PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    page = admin.last_text()
    assert "需委托第三方检测路基" in page
    assert "13800001234" not in page and "138****1234" in page
    assert all(VALID_ID not in text for text in (*admin.texts(), *liaison.texts()))


async def test_queue_and_find_never_listed_a_petition_assigned_to_the_agency(
    citizen: PacedClient,
    office: PacedClient,
    liaison: PacedClient,
    intruder: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """/queue and /find looked for ``cases.routed_to = 'agency:<id>'``, which the handover
    never writes (the case stays with the petition office): a liaison's /queue did not show
    the petition their agency had to accept, and the case file extract refused it. The
    handover table is now the one record: listed while the agency holds it, opened on the
    agency's page, gone from /queue when the office agrees to the objection."""
    case_id = await assigned_petition(citizen, office, db, clock)
    number = str(await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,)))
    await liaison.send("/queue")
    assert number in liaison.last_text()
    await liaison.press(number)
    assert any("受理并告知信访人" in b for b in liaison.buttons())
    await liaison.send(f"/find {number}")
    assert number in liaison.last_text()
    await liaison.click(f"cf:full:{case_id}:0")
    assert "信访事项摘要" in liaison.last_text()
    await intruder.send("/queue")
    assert number not in intruder.last_text()
    await intruder.send(f"/find {number}")
    assert "没有找到" in intruder.last_text()
    # The agency objects, the office agrees: the petition is back at the office.
    await liaison.click(PetitionAgencyAction(step=AgencyStep.object, case_id=case_id))
    await liaison.send("不属本局职责")
    await liaison.press("确认")
    office.clear()
    await office.click(f"staff:view:{case_id}::0:0::")
    await office.press("同意异议")
    await liaison.send("/queue")
    assert number not in liaison.last_text()
