"""The privacy review of the merged product (helper r2): each test is named after a defect found,
through the production routers on a real SQLite file."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pymupdf
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import SendDocument
from pydantic import SecretStr

from bot import create_dispatcher
from cases.documents.generated import DocumentKind
from cases.org.membership import remove_member
from cases.org.users import Role
from cases.reception.booking import BookingService
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.callbacks import DocumentRequest
from handlers.staff.callbacks import Nav, StaffAction
from scheduling.booking import BookingJobs
from scheduling.outbox import Outbox, OutboxRow
from scheduling.sender import render_text
from settings import Settings
from tests.fakes.telegram import BotClient
from tests.scheduling_helpers import FakeTransport
from tests.support import (
    ADMIN_ID,
    VALID_ID,
    PacedClient,
    file_reconsideration,
    fill_mediation,
    staff_client,
)

PSB = "county_psb"
HEAD = 7102
PHONE = "13912345678"
NUMBER = "FY-2026-000001"


async def _book_with_a_phone_in_the_matter(client: BotClient) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send(f"邻居长期噪音扰民，我的电话{PHONE}")
    await client.send("请派出所依法处理")
    await client.send("王小明")
    await client.press("2")
    await client.press("没有")
    await client.press("确认预约")


def as_replica(settings: Settings) -> Settings:
    """The settings of a webhook replica (several processes on one database)."""
    return settings.model_copy(
        update={
            "webhook_url": "https://bot.example.gov.cn/tg",
            "webhook_secret": SecretStr("replica-secret"),
        }
    )


async def test_a_phone_typed_into_a_booking_reached_the_agency_and_the_case_subject_in_full(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The matter of a booking, as the citizen typed it, was shown on the agency's /roster and
    day list, and became the subject of the petition registered from it unmasked (every other
    way in masks the subject): an administrator's case page then showed the number."""
    await _book_with_a_phone_in_the_matter(client)
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 1
    head = await staff_client(dispatcher, bot, clock, HEAD, Role.agency_head, PSB)
    booking: BookingService = dispatcher["booking"]
    clock.set(datetime(2026, 11, 29, 7, 0, tzinfo=UTC))  # Sunday 15:00: the day list
    await BookingJobs(booking).tick()
    [day_list] = [
        OutboxRow.from_row(r)
        for r in await db.fetch_all("SELECT * FROM reminders WHERE dedup_key LIKE 'bk-daylist:%'")
    ]
    assert PHONE not in render_text(day_list) and "139****5678" in render_text(day_list)
    assert PHONE not in str(day_list.payload)
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))  # the reception day, 09:30
    await head.send("/roster")
    assert "邻居长期噪音扰民" in head.last_text()
    assert PHONE not in head.last_text() and "139****5678" in head.last_text()
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    case = await db.fetch_one("SELECT id, subject FROM cases")
    assert case is not None and PHONE not in case["subject"]
    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await admin.click(StaffAction(action=Nav.open, case_id=case["id"]))
    assert "邻居长期噪音扰民" in admin.last_text() and PHONE not in admin.last_text()


def _pdf_text(bot: Bot, chat_id: int, since: int) -> str:
    [request] = [
        r
        for r in bot.session.requests[since:]  # type: ignore[attr-defined]
        if isinstance(r, SendDocument) and r.chat_id == chat_id
    ]
    data = request.document.data  # type: ignore[union-attr]
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        return "".join(re.sub(r"\s+", "", page.get_text()) for page in pdf)


async def _document(client: PacedClient, bot: Bot, kind: DocumentKind, case_id: int) -> str:
    before = len(bot.session.requests)  # type: ignore[attr-defined]
    await client.click(DocumentRequest(kind=kind, case_id=case_id).pack())
    return _pdf_text(bot, client.user_id, before)


async def test_the_mediation_agreement_pdf_printed_the_numbers_the_page_masks(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """The terms of an agreement, typed by the mediator with the parties' ID and phone numbers,
    are masked on the mediation page (ID numbers for everyone, phones for all but the
    mediator), but the 调解协议书 PDF printed them in full to the applicant and the mediator."""
    applicant = PacedClient(dispatcher, bot, user_id=1001, language_code="zh-hans", clock=clock)
    await fill_mediation(applicant)
    await applicant.press("提交")
    case = await db.fetch_one("SELECT id, routed_to FROM cases ORDER BY id DESC")
    assert case is not None
    room = case["routed_to"].removeprefix("room:")
    mediator = await staff_client(dispatcher, bot, clock, 5001, Role.mediator, room)
    await db.execute(
        "UPDATE cases SET mediator_id = 5001, status = 'settled' WHERE id = ?", (case["id"],)
    )
    other_id = "110101199003074514"
    await db.execute(
        "INSERT INTO mediation_outcomes(case_id, agreed, terms, ended_on, recorded_by)"
        " VALUES (?, 1, ?, '2026-11-20', 5001)",
        (case["id"], f"李四（身份证{other_id}，电话13900002222）赔偿修车费800元"),
    )
    own = await _document(applicant, bot, DocumentKind.agreement, case["id"])
    assert "赔偿修车费800元" in own
    assert other_id not in own and "13900002222" not in own and "139****2222" in own
    mediators = await _document(mediator, bot, DocumentKind.agreement, case["id"])
    assert other_id not in mediators and "13900002222" in mediators


async def test_the_dossier_of_an_administrator_showed_the_id_number_only_the_office_may_see(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Reviewed, no defect: the dossier masks as the reader's role sees numbers (the office
    in full, an administrator masked)."""
    citizen = PacedClient(dispatcher, bot, user_id=1001, language_code="zh-hans", clock=clock)
    case_id = await file_reconsideration(citizen, db)
    office = await staff_client(dispatcher, bot, clock, 7001, Role.office_staff)
    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    assert VALID_ID in await _document(office, bot, DocumentKind.dossier, case_id)
    text = await _document(admin, bot, DocumentKind.dossier, case_id)
    assert VALID_ID not in text and VALID_ID[:6] + "********" + VALID_ID[-4:] in text


async def test_a_staff_member_removed_on_one_replica_still_opened_cases_on_another(
    settings: Settings,
    dispatcher: Dispatcher,
    bot: Bot,
    db: Database,
    clock: FakeClock,
) -> None:
    """Replicas are separate processes on one database. Each kept the role it had read of a
    person in a process-local cache, so a clerk removed with /staff on one replica (or given
    another office with /grant) kept opening the cases of their old office on every other one
    until it restarted."""
    citizen = PacedClient(dispatcher, bot, user_id=1001, language_code="zh-hans", clock=clock)
    case_id = await file_reconsideration(citizen, db)
    other_replica = create_dispatcher(as_replica(settings), db, clock)
    await staff_client(dispatcher, bot, clock, 7001, Role.office_staff, "reconsideration_office")
    clerk_elsewhere = PacedClient(
        other_replica, bot, user_id=7001, language_code="zh-hans", clock=clock
    )
    await clerk_elsewhere.click(StaffAction(action=Nav.open, case_id=case_id))
    assert NUMBER in clerk_elsewhere.last_text()  # the other replica knows them as staff
    assert await remove_member(db, clock, 7001, by=ADMIN_ID) is not None  # what /staff does
    before = len(clerk_elsewhere.texts())
    await clerk_elsewhere.click(StaffAction(action=Nav.open, case_id=case_id))
    assert all(NUMBER not in text for text in clerk_elsewhere.texts()[before:])
    assert VALID_ID not in "".join(clerk_elsewhere.texts()[before:])


async def test_a_county_systems_note_showed_an_id_number_in_the_history_to_every_role(
    dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """A status note from another county system (the inbound webhook) was shown in the case
    history, and in the dossier, as it came: with the applicant's ID number even to an
    administrator, whose role sees it masked everywhere else. The office sees it in full."""
    citizen = PacedClient(dispatcher, bot, user_id=1001, language_code="zh-hans", clock=clock)
    case_id = await file_reconsideration(citizen, db)
    await db.execute(
        "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
        " VALUES (?, '2026-11-25T02:00:00+00:00', NULL, 'system', 'external_note', ?)",
        (case_id, json.dumps({"source": "court", "note": f"申请人{VALID_ID}已起诉"})),
    )
    admin = await staff_client(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    office = await staff_client(dispatcher, bot, clock, 7001, Role.office_staff)
    assert f"申请人{VALID_ID}已起诉" in await _document(office, bot, DocumentKind.dossier, case_id)
    dossier = await _document(admin, bot, DocumentKind.dossier, case_id)
    assert "已起诉" in dossier and VALID_ID not in dossier
    await admin.click(StaffAction(action=Nav.open, case_id=case_id))
    page = admin.last_text()
    assert "办理经过" in page and "已起诉" in page and VALID_ID not in page


async def test_a_removed_agency_head_still_received_the_day_list_queued_for_them(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Removing a staff member left the messages already queued for them as staff (here the
    reception day's list, with the visitors' names): they reached a person who was a citizen
    again. Deadline reminders were re-planned; notices were not."""
    await _book_with_a_phone_in_the_matter(client)
    await staff_client(dispatcher, bot, clock, HEAD, Role.agency_head, PSB)
    clock.set(datetime(2026, 11, 29, 7, 0, tzinfo=UTC))
    await BookingJobs(dispatcher["booking"]).tick()
    queued = "SELECT status FROM reminders WHERE dedup_key LIKE 'bk-daylist:%' AND chat_id = ?"
    assert await db.fetch_value(queued, (HEAD,)) == "pending"
    assert await remove_member(db, clock, HEAD, by=ADMIN_ID) is not None
    assert await db.fetch_value(queued, (HEAD,)) == "cancelled"
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN_ID]).dispatch_due()
    assert [r for r in transport.delivered if r.chat_id == HEAD] == []


async def test_a_form_answered_through_two_replicas_lost_the_answers_one_of_them_had_cached(
    settings: Settings, bot: Bot, db: Database, clock: FakeClock
) -> None:
    """Each replica kept the drafts it had read in a process-local cache, written through but
    never re-read: a citizen whose updates went to two replicas in turn had every answer given
    to the other replica overwritten by the stale copy, and was asked the same questions again.
    (The conversation state is shared, as Redis shares it between replicas.)"""
    storage = MemoryStorage()
    replicas = [
        create_dispatcher(as_replica(settings), db, clock, storage=storage) for _ in range(2)
    ]
    citizen = PacedClient(replicas[0], bot, user_id=1001, language_code="zh-hans", clock=clock)
    steps = [
        ("send", "/mediation"),
        ("press", "没有"),
        ("press", "同意"),
        ("press", "交通事故"),
        ("press", "城关镇"),
        ("send", "张三"),
        ("send", VALID_ID),
        ("send", "13800001234"),
        ("send", "城关镇东街1号"),
        ("send", "李四 13900002222"),
        ("send", "对方驾车撞坏了我的电动车。要求赔偿修车费800元"),
        ("press", "跳过"),
        ("press", "提交"),
    ]
    for index, (how, what) in enumerate(steps):
        citizen.dp = replicas[index % 2]  # the balancer sends each update where it likes
        await (citizen.send(what) if how == "send" else citizen.press(what))
    answers = json.loads(await db.fetch_value("SELECT answers FROM cases"))
    assert answers["applicant_name"] == "张三" and answers["id_number"] == VALID_ID
    assert answers["phone"] == "13800001234" and answers["address"] == "城关镇东街1号"
