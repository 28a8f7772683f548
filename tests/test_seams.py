"""Where features built apart meet (integration of issues #8-#14): a mediation from filing to
the agreement's PDF and the statistics; a proxy petition (no citizen account) through the
petition office's handover, the agency, the webhooks and the statistics. Through the
production routers, on a real SQLite file."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pymupdf
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument

from cases.org.users import Role
from cases.store.db import Database
from cases.store.migrate import MIGRATIONS_DIR, migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock, to_db
from handlers.callbacks import DocumentList
from handlers.mediation_callbacks import MedAction, MediationButton
from handlers.petition_agency import AgencyStep, PetitionAgencyAction
from tests.assignment_support import deliver, file_mediation, make_mediator, tick
from tests.support import (
    ADMIN_ID,
    PacedClient,
    file_petition,
    file_reconsideration,
    migrations_where,
    staff_client,
)

CITIZEN = 1001
OTHER_PARTY = 2002
MEDIATOR = 6001


def pdf_text(bot: Bot, chat_id: int) -> tuple[str, str]:
    """(file name, text without whitespace) of the last PDF sent to ``chat_id``."""
    [*_, sent] = [
        r
        for r in bot.session.requests  # type: ignore[attr-defined]
        if isinstance(r, SendDocument) and r.chat_id == chat_id
    ]
    data = sent.document.data  # type: ignore[union-attr]
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        text = "".join(re.sub(r"\s+", "", page.get_text()) for page in pdf)
    return str(sent.document.filename), text  # type: ignore[union-attr]


async def test_mediation_from_filing_to_the_agreement_pdf_the_follow_up_and_the_stats(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The whole path across four features: filed (intake), offered and accepted (assignment),
    the other party joins and a session is held (mediation), the agreement with its terms,
    the citizen's 调解协议书 from /mycases (documents) naming the mediator as their profile
    shows them, the follow-up visit, and /stats counting the agreement and that it was kept.
    The mediation page showed the parties the mediator's Telegram name, not the name their
    profile gives the parties (as the assignment's notice and the agreement do)."""
    citizen = PacedClient(dispatcher, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)
    other = PacedClient(
        dispatcher, bot, user_id=OTHER_PARTY, language_code="zh-hans", first_name="李四",
        clock=clock,
    )  # fmt: skip
    wang = await make_mediator(dispatcher, bot, MEDIATOR, name="wang")
    await wang.send("/profile name 王调解员")
    case_id = await file_mediation(citizen, db)
    number = str(await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,)))

    await tick(dispatcher, db, bot, clock)  # the offer
    await wang.press("接受")
    assert await db.fetch_value("SELECT mediator_id FROM cases WHERE id = ?", (case_id,)) == 6001

    # The parties see the mediator as the profile shows them (not the Telegram name "wang").
    await citizen.click(MediationButton(action=MedAction.open, item_id=case_id))
    assert "调解员：王调解员" in citizen.last_text() and "wang" not in citizen.last_text()
    await wang.click(MediationButton(action=MedAction.open, item_id=case_id))
    await wang.press("发送对方当事人链接")
    citizen.clear()
    await deliver(db, bot, clock)
    [token] = re.findall(r"start=(op_[A-Za-z0-9_-]+)", "\n".join(citizen.texts()))
    await other.send(f"/start {token}")
    await other.send("李四")
    await other.send("13900002222")
    await other.press("我同意调解")

    await wang.click(MediationButton(action=MedAction.open, item_id=case_id))
    await wang.press("安排调解")
    await wang.send("2026-12-02 09:30")
    await wang.send("城关镇调解室")
    await wang.click(MediationButton(action=MedAction.open, item_id=case_id))
    await wang.press("已达成调解协议")
    await wang.send("李四于12月10日前赔偿张三修车费800元")
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (case_id,)) == "settled"

    # The citizen's agreement, from /mycases.
    await citizen.send("/mycases")
    await citizen.press(number)
    await citizen.press("文书")
    await citizen.press("调解协议书")
    name, text = pdf_text(bot, CITIZEN)
    assert name == f"{number}-agreement.pdf"
    assert number in text and "800元" in text and "李四" in text and "王调解员" in text
    assert "张三" in text

    # The follow-up visit (回访), recorded on the mediation page.
    await wang.click(MediationButton(action=MedAction.open, item_id=case_id))
    await wang.press("协议已履行")
    await wang.send("双方已按约履行")
    assert "回访情况已记录" in wang.last_text()
    event = await db.fetch_one(
        "SELECT detail FROM case_events WHERE case_id = ? AND kind = 'mediation_followup'",
        (case_id,),
    )
    assert json.loads(event["detail"])["kept"] is True

    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await admin.send("/stats")
    await admin.press("行政调解")
    await admin.press("📊")
    figures = admin.last_text()
    assert "调解协议：结案1件中达成1件（100%）；回访1件中履行1件。" in figures


# -- a proxy petition registered at a reception day --------------------------------------------

PSB = "county_psb"
WORKER = 7201
HEAD = 7102
CLERK = 7001
LIAISON = 7103


async def _proxy_petition_at_the_roster(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> int:
    """A community worker books 公安局's reception day for 李大爷 (no account); the agency's
    head registers it as a petition at the roster: the case goes to the petition office."""
    await dispatcher["users"].set_role(WORKER, Role.community_worker)
    await dispatcher["users"].set_role(HEAD, Role.agency_head, PSB)
    worker = PacedClient(dispatcher, bot, user_id=WORKER, language_code="zh-hans", clock=clock)
    await worker.send("/book")
    await worker.send("李大爷")
    await worker.send("13912345678")
    await worker.press("公安局")
    await worker.press("11月30日")
    await worker.press("09:00")
    await worker.send("低保申请被拒")
    await worker.send("请重新审核")
    await worker.press("1")
    await worker.press("没有")
    await worker.press("确认预约")
    head = PacedClient(dispatcher, bot, user_id=HEAD, language_code="zh-hans", clock=clock)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))
    await head.send("/roster")
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    case = await db.fetch_one("SELECT id, citizen_id, routed_to FROM cases")
    assert case["citizen_id"] is None and case["routed_to"] == "office:petition_office"
    return int(case["id"])


async def test_a_proxy_reception_day_petition_handed_to_an_agency_kept_its_x2_open(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A petition registered at the roster runs X2 (XF 23: tell the petitioner whether it is
    accepted), not X1. Handing it to an agency met only X1, so X2 stayed open: the case showed
    as overdue 15 days later and counted as closed late, though the petitioner had been told
    where it went. The statistics looked for the receiving agency in ``routed_to``, which
    /roster now sets to the petition office: the petition counted under "other". And the case
    has no citizen account: the handover, the agency's page, the opinion, the webhooks and the
    statistics must all do without one."""
    case_id = await _proxy_petition_at_the_roster(dispatcher, bot, db, clock)
    number = str(await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,)))
    clerk = await staff_client(dispatcher, bot, clock, CLERK, Role.office_staff, "petition_office")
    liaison = await staff_client(dispatcher, bot, clock, LIAISON, Role.agency_liaison, PSB)
    await clerk.send("/queue")
    assert number in clerk.last_text()
    await clerk.click(f"staff:view:{case_id}::0:0::")
    await clerk.press("交办有关机关")
    await clerk.press("谷城县公安局")
    await clerk.send("低保审核属民政部门，但该事项由公安局接待日受理，交其办理")
    await clerk.press("确认")
    assert "已交办谷城县公安局" in clerk.last_text()
    x2 = await db.fetch_one(
        "SELECT status, closed_on FROM case_deadlines WHERE case_id = ? AND rule_id = 'X2'",
        (case_id,),
    )
    assert tuple(x2) == ("met", "2026-11-30")

    await liaison.send("/queue")
    assert number in liaison.last_text()
    await liaison.press(number)
    assert "李大爷" in liaison.last_text()
    await liaison.press("受理并告知信访人")
    assert "已受理" in liaison.last_text()
    await liaison.press("出具处理意见")
    await liaison.send("经查，已转请民政部门重新审核。")
    await liaison.press("发送处理意见")
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (case_id,)) == "decided"
    # Nothing for a chat that does not exist; the liaisons' notices went out.
    assert not await db.fetch_value(
        "SELECT count(*) FROM reminders WHERE case_id = ? AND audience = 'citizen'", (case_id,)
    )
    # The office's dossier (案卷评查) of a case without a citizen account.
    await clerk.click(DocumentList(case_id=case_id).pack())
    await clerk.press("案卷")
    name, text = pdf_text(bot, CLERK)
    assert name.startswith(number) and "李大爷" in text and "已交办谷城县公安局" in text
    # Who took it up: the agency head by role (it read "（agency）", the role never recorded).
    assert "（机关负责人）在部门局长接待日当面接收" in text and "（agency）" not in text
    # The county systems hear of every change, with no citizen in the payload.
    events = await db.fetch_all(
        "SELECT type, detail FROM webhook_events WHERE case_id = ? ORDER BY id", (case_id,)
    )
    assert [r["type"] for r in events][:1] == ["case.created"]
    assert "case.status_changed" in [r["type"] for r in events]
    # Decided in time: not late, not overdue.
    clock.set(datetime(2026, 12, 20, 2, tzinfo=UTC))
    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await admin.send("/stats")
    await admin.press("上月")
    await admin.press("信访")
    await admin.press("📊")
    figures = admin.last_text()
    assert "按期办结：1件中1件（100%）" in figures and "当前逾期0件" in figures
    # Taken up on 公安局's reception day: counted under it, not under "other".
    assert "• 谷城县公安局：收到1件，办结1件（按期100%）" in figures


async def test_county_systems_never_heard_a_petition_was_handed_to_an_agency(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The webhook capture (migration 0019) watches ``cases.routed_to``; a handover (0017)
    never changes it, so 12345 and the provincial platform heard nothing when the petition
    office assigned a petition to an agency or took it back after an objection. Each is now a
    ``case.routed`` event: to ``agency:<id>`` with the agency's name, and back to the office."""
    from cases.webhooks.queue import build_payload

    citizen = PacedClient(dispatcher, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)
    clerk = await staff_client(dispatcher, bot, clock, CLERK, Role.office_staff, "petition_office")
    liaison = await staff_client(
        dispatcher, bot, clock, LIAISON, Role.agency_liaison, "county_transport"
    )
    case_id = await file_petition(citizen, db)
    await clerk.click(f"staff:view:{case_id}::0:0::")
    await clerk.press("交办有关机关")
    await clerk.press("谷城县交通运输局")
    await clerk.send("村道养护属交通运输部门职责")
    await clerk.press("确认")
    await liaison.click(PetitionAgencyAction(step=AgencyStep.object, case_id=case_id))
    await liaison.send("村道属乡镇管养，不属本局职责")
    await liaison.press("确认")
    clerk.clear()
    await clerk.click(f"staff:view:{case_id}::0:0::")
    await clerk.press("同意异议")

    def routed(conn: sqlite3.Connection) -> list[dict]:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT * FROM webhook_events WHERE case_id = ? AND type = 'case.routed' ORDER BY id",
            (case_id,),
        ).fetchall()
        return [build_payload(conn, row, personal=False) for row in rows]

    payloads = await db.run(routed)
    assert [p["routing"] for p in payloads] == [
        {
            "unit": "office:petition_office",
            "unit_name": "谷城县信访局",
            "from_unit": None,
            "transferred": False,
        },
        {
            "unit": "agency:county_transport",
            "unit_name": "谷城县交通运输局",
            "from_unit": "office:petition_office",
            "transferred": True,
        },
        {
            "unit": "office:petition_office",
            "unit_name": "谷城县信访局",
            "from_unit": "agency:county_transport",
            "transferred": True,
        },
    ]
    assert "13800001234" not in json.dumps(payloads, ensure_ascii=False)


async def test_migration_0020_upgrades_a_database_with_handed_over_petitions(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The trigger is added to a database with petitions and handover history: nothing is
    replayed, the next handover event is captured."""
    mine = MIGRATIONS_DIR / "0020_petition_handover_events.sql"
    before = migrations_where(tmp_path / "before", lambda name: name < mine.name)
    db = SqliteDatabase(tmp_path / "old.sqlite3")
    await db.open()
    try:
        await migrate(db, before, clock)
        stamp = to_db(clock.now())
        await db.execute(
            "INSERT INTO cases(number, procedure, status, subject, received_on, routed_to,"
            " created_at, updated_at) VALUES ('XF-2026-000001', 'petition', 'submitted',"
            " '村道', '2026-11-25', 'office:petition_office', ?, ?)",
            (stamp, stamp),
        )
        event = (
            "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
            " VALUES (1, ?, 7001, 'office_staff', 'petition_assigned',"
            ' \'{"agency_id": "county_psb", "agency_name": "谷城县公安局"}\')'
        )
        await db.execute(event, (stamp,))
        before_count = await db.fetch_value("SELECT count(*) FROM webhook_events")
        assert mine.name in await migrate(db, MIGRATIONS_DIR, clock)
        assert await db.fetch_value("SELECT count(*) FROM webhook_events") == before_count
        await db.execute(event, (stamp,))
        detail = await db.fetch_value(
            "SELECT detail FROM webhook_events WHERE type = 'case.routed' ORDER BY id DESC"
        )
        assert json.loads(detail)["unit"] == "agency:county_psb"
    finally:
        await db.close()


async def test_the_reconsideration_office_was_reminded_of_the_petition_offices_deadlines(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A clerk of an office works on the cases routed to it (issue #10: /queue, the staff
    page), but the planner sent every office deadline to every clerk: the reconsideration
    office was reminded of X1 of a petition it cannot open (its "Open case" refused), and the
    petition office of F5 of every application. Now each office hears of its own cases."""
    citizen = PacedClient(dispatcher, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)
    await staff_client(dispatcher, bot, clock, CLERK, Role.office_staff, "petition_office")
    await staff_client(dispatcher, bot, clock, 7002, Role.office_staff, "reconsideration_office")
    await staff_client(dispatcher, bot, clock, 7005, Role.office_staff)  # no office: every case
    petition = await file_petition(citizen, db)
    application = await file_reconsideration(citizen, db)
    await dispatcher["planner"].plan()

    async def reminded(case_id: int, rule: str) -> set[int]:
        rows = await db.fetch_all(
            "SELECT DISTINCT chat_id FROM reminders WHERE case_id = ? AND rule_id = ?"
            " AND audience = 'office_staff'",
            (case_id, rule),
        )
        return {int(r["chat_id"]) for r in rows}

    assert await reminded(petition, "X1") == {CLERK, 7005}
    assert await reminded(application, "F5") == {7002, 7005}
