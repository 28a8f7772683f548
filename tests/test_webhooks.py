"""Signed webhooks to county systems and signed requests from them (issue 13).

Receivers are real aiohttp servers on 127.0.0.1 that check signatures from the README's
contract (tests/webhooks_support.py); events come from the bot's own flows and services.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiogram import Bot, Dispatcher

from bot import EXIT_DATA, StartupError, create_dispatcher, load_data_files
from cases.litigation.court_cases import RegisterLawsuit
from cases.org.users import Role
from cases.store.db import Database
from cases.store.migrate import MIGRATIONS_DIR, migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock, to_db
from cases.webhooks.inbound import InboundService
from cases.webhooks.queue import WebhookQueue
from handlers.webhooks import WebhookAction, WebhookButton
from scheduling.inbound import PATH, build_app
from scheduling.planner import Planner
from scheduling.webhooks import WebhookPump
from settings import Settings
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, ENGINE, VALID_ID, fill_mediation, migrations_where
from tests.webhooks_support import (
    COURT_SECRET,
    PROVINCE_SECRET,
    SECRET,
    CountySystem,
    hearing_body,
    receivers_file,
    signed_headers,
)


@pytest.fixture
async def system() -> AsyncIterator[CountySystem]:
    receiver = await CountySystem(SECRET).start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def dispatcher_with(settings: Settings, db: Database, clock: FakeClock, file) -> Dispatcher:
    return create_dispatcher(settings, db, clock, webhooks=file)


async def drain(pump: WebhookPump, clock: FakeClock, rounds: int = 60) -> None:
    """Capture, then deliver round after round, letting the back-off pass between rounds."""
    await pump.capture()
    for _ in range(rounds):
        sent = 0
        for receiver in pump.queue.receivers:
            sent += await pump.deliver(receiver)
        pending = await pump.queue.db.fetch_value(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
        )
        if not sent and not pending:
            return
        if not sent:
            clock.advance(timedelta(hours=2))


async def file_case(dp: Dispatcher, bot: Bot, user_id: int) -> int:
    citizen = BotClient(dp, bot, user_id=user_id, language_code="zh-hans")
    await fill_mediation(citizen)
    await citizen.press("提交")
    return int(await dp["db"].fetch_value("SELECT max(id) FROM cases"))


async def set_status(db: Database, clock: FakeClock, case_id: int, status: str) -> None:
    await db.execute(
        "UPDATE cases SET status = ?, updated_at = ? WHERE id = ?",
        (status, to_db(clock.now()), case_id),
    )


async def test_a_filed_case_reaches_the_county_system_signed_and_in_order(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    dp = dispatcher_with(settings, db, clock, receivers_file(("c12345", system, False)))
    pump = WebhookPump(dp["webhooks"], clock)
    try:
        case_id = await file_case(dp, bot, 1001)
        await set_status(db, clock, case_id, "accepted")
        await db.execute(  # transferred to another mediation room
            "UPDATE cases SET routed_to = 'room:room_shihua', routed_to_name = '石花镇调委会'"
        )
        await drain(pump, clock)
    finally:
        await pump.stop()
    assert system.bad_signatures == 0
    types = [r.event for r in system.accepted]
    assert types == ["case.created", "case.routed", "case.status_changed", "case.routed"]
    first, routed, changed, moved = (r.body for r in system.accepted)
    assert moved["routing"]["transferred"] is True
    assert moved["routing"]["from_unit"] == first["case"]["unit"]
    assert moved["case"]["unit"] == "room:room_shihua"
    number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
    assert first["case"]["number"] == number and first["case"]["procedure"] == "mediation"
    assert first["case"]["status"] == "submitted" and first["case"]["unit"].startswith("room:")
    assert routed["routing"]["transferred"] is False
    assert changed["change"] == {"from": "submitted", "to": "accepted"}
    assert changed["case"]["status"] == "accepted"
    assert first["sequence"] < routed["sequence"] < changed["sequence"]
    assert len({r.delivery for r in system.accepted}) == 4


async def test_retries_against_a_failing_receiver_deliver_each_event_once_in_order(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    dp = dispatcher_with(settings, db, clock, receivers_file(("c12345", system, False)))
    pump = WebhookPump(dp["webhooks"], clock, concurrency=3)
    system.failing = True
    cases = [await file_case(dp, bot, 1001 + i) for i in range(4)]
    for case_id in cases:
        await set_status(db, clock, case_id, "accepted")
        await set_status(db, clock, case_id, "settled")
    await pump.capture()
    for _ in range(5):  # five rounds of refusals, the back-off passing between them
        for receiver in pump.queue.receivers:
            while await pump.deliver(receiver):  # three at a time: two batches
                pass
        clock.advance(timedelta(hours=2))
    assert system.refused == 4 * 5 and system.accepted == []
    attempts = await db.fetch_value("SELECT max(attempts) FROM webhook_deliveries")
    assert attempts == 5  # only the oldest event of each case was tried: the others waited
    system.failing = False
    await drain(pump, clock)
    await pump.stop()
    events = await db.fetch_all("SELECT uid, case_id, id FROM webhook_events ORDER BY id")
    assert len(events) == 4 * 4  # created, routed, accepted, settled
    assert sorted(r.delivery for r in system.accepted) == sorted(e["uid"] for e in events)
    assert system.duplicates == 0
    for case_id in cases:
        number = await db.fetch_value("SELECT number FROM cases WHERE id = ?", (case_id,))
        mine = [r.body["sequence"] for r in system.accepted if r.body["case"]["number"] == number]
        assert mine == sorted(mine) and len(mine) == 4
    assert (
        await db.fetch_value("SELECT count(*) FROM webhook_deliveries WHERE status != 'delivered'")
        == 0
    )


async def test_after_the_cap_a_delivery_is_a_dead_letter_until_an_admin_retries_it(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    settings = settings.model_copy(update={"webhooks_max_attempts": 3})
    dp = dispatcher_with(settings, db, clock, receivers_file(("c12345", system, False)))
    queue: WebhookQueue = dp["webhooks"]
    pump = WebhookPump(queue, clock)
    system.failing = True
    await file_case(dp, bot, 1001)
    await drain(pump, clock, rounds=10)
    dead = await db.fetch_all("SELECT id, attempts FROM webhook_deliveries WHERE status = 'dead'")
    assert [row["attempts"] for row in dead] == [3, 3]  # created and routed, both given up

    await dp["users"].set_role(ADMIN_ID, Role.admin)
    admin = BotClient(dp, bot, user_id=ADMIN_ID, language_code="zh-hans")
    await admin.send("/webhooks")
    page = admin.last_text()
    assert "c12345" in page and "死信（重试次数已用完）：2 条" in page and "HTTP 500" in page
    assert "最近一次送达：尚无" in page

    # A citizen forging the retry button is refused; the dead letter stays dead.
    citizen = BotClient(dp, bot, user_id=1001, language_code="zh-hans")
    await citizen.click(WebhookButton(action=WebhookAction.retry, delivery_id=dead[0]["id"]))
    assert (
        await db.fetch_value(
            "SELECT status FROM webhook_deliveries WHERE id = ?", (dead[0]["id"],)
        )
        == "dead"
    )

    system.failing = False
    await admin.press(f"重新发送 #{dead[0]['id']}")
    await admin.click(WebhookButton(action=WebhookAction.retry, delivery_id=dead[0]["id"]))
    assert "不在死信列表" in admin.session.alerts()[-1]  # a second press acts once
    await drain(pump, clock)
    await pump.stop()
    assert [r.event for r in system.accepted] == ["case.created"]
    await admin.send("/webhooks")
    assert "死信（重试次数已用完）：1 条" in admin.last_text()
    assert "最近一次送达：" in admin.last_text() and "case.created" in admin.last_text()


async def test_personal_data_is_masked_for_a_receiver_not_allowed_it(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    province = await CountySystem(PROVINCE_SECRET).start()
    try:
        file = receivers_file(("c12345", system, False), ("province", province, True))
        dp = dispatcher_with(settings, db, clock, file)
        pump = WebhookPump(dp["webhooks"], clock)
        await file_case(dp, bot, 1001)
        await drain(pump, clock)
        await pump.stop()
    finally:
        await province.stop()
    masked = system.accepted[0].body["case"]["applicant"]
    full = province.accepted[0].body["case"]["applicant"]
    assert full == {"name": "张三", "id_number": VALID_ID, "phone": "13800001234"}
    assert masked == {"name": "张三", "id_number": "420625********0018", "phone": "138****1234"}
    assert VALID_ID not in json.dumps([r.body for r in system.accepted], ensure_ascii=False)
    assert system.accepted[0].delivery == province.accepted[0].delivery  # the same event id


async def test_overdue_deadlines_and_court_hearings_are_events_too(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    dp = dispatcher_with(settings, db, clock, receivers_file(("c12345", system, False)))
    pump = WebhookPump(dp["webhooks"], clock)
    await file_case(dp, bot, 1001)
    await drain(pump, clock)
    lawsuit = await dp["litigation"].register_lawsuit(
        RegisterLawsuit(
            agency_id="county_psb",
            court="谷城县人民法院",
            court_case_number="（2026）鄂0625行初12号",
            plaintiff="张三",
            act_challenged="谷公罚决字〔2026〕12号",
            complaint_received_on=date(2026, 11, 24),
            hearing_at=datetime(2026, 12, 10, 1, 30, tzinfo=UTC),
            registered_by=ADMIN_ID,
        )
    )
    # The L3 defence period is not a case deadline; an open case deadline running out is.
    await db.execute(
        "INSERT INTO case_deadlines(case_id, rule_id, trigger_on, due_on, unit, count, basis,"
        " created_at, updated_at) VALUES (1, 'X1', '2026-11-01', '2026-11-20', 'calendar_days',"
        " 15, '《信访工作条例》第二十二条', ?, ?)",
        (to_db(clock.now()), to_db(clock.now())),
    )
    await drain(pump, clock)
    await drain(pump, clock)  # a second scan announces nothing twice
    await pump.stop()
    kinds = [r.event for r in system.accepted]
    assert kinds.count("deadline.overdue") == 1 and kinds.count("hearing.recorded") == 1
    overdue = next(r.body for r in system.accepted if r.event == "deadline.overdue")
    assert overdue["deadline"]["rule"] == "X1" and overdue["deadline"]["due_on"] == "2026-11-20"
    assert overdue["occurred_at"].startswith("2026-11-20T16:00")  # 21 Nov 00:00 in Gucheng
    hearing = next(r.body for r in system.accepted if r.event == "hearing.recorded")
    assert hearing["case"]["number"] == lawsuit.court_case_number
    assert hearing["case"]["procedure"] == "litigation"
    assert hearing["hearing"]["starts_at"].startswith("2026-12-10T01:30")


# --- inbound ------------------------------------------------------------------------------------


@pytest.fixture
async def inbound(
    settings: Settings, db: Database, clock: FakeClock
) -> AsyncIterator[tuple[Dispatcher, str]]:
    from aiohttp import web

    file = receivers_file(
        senders=[
            {"id": "court", "secret": COURT_SECRET, "may": ["hearing.scheduled"]},
            {"id": "c12345", "secret": SECRET, "may": ["case.note"]},
        ]
    )
    dp = dispatcher_with(settings, db, clock, file)
    service = InboundService(db, clock, file, dp["litigation"])
    runner = web.AppRunner(build_app(service), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield dp, f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    finally:
        await runner.cleanup()


async def _register(dp: Dispatcher) -> None:
    await dp["litigation"].register_lawsuit(
        RegisterLawsuit(
            agency_id="county_psb",
            court="谷城县人民法院",
            court_case_number="（2026）鄂0625行初12号",
            plaintiff="张三",
            act_challenged="谷公罚决字〔2026〕12号",
            complaint_received_on=date(2026, 11, 24),
            registered_by=ADMIN_ID,
        )
    )


async def test_a_signed_hearing_from_the_court_is_added_once_with_its_reminders(
    inbound: tuple[Dispatcher, str], db: Database, clock: FakeClock
) -> None:
    dp, url = inbound
    await _register(dp)
    now = int(clock.now().timestamp())
    body = hearing_body("court-778")
    headers = signed_headers(COURT_SECRET, "court", "hearing.scheduled", "court-778", body, now)
    async with httpx.AsyncClient() as http:
        first = await http.post(url, content=body, headers=headers)
        again = await http.post(url, content=body, headers=headers)  # the court retries
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["result"] == first.json()["result"]
    rows = await db.fetch_all("SELECT starts_at FROM hearings")
    assert [r["starts_at"] for r in rows] == ["2026-12-10T01:30:00.000000+00:00"]
    planner = Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar)
    await planner.plan()
    assert await db.fetch_value("SELECT count(*) FROM reminders WHERE source_kind = 'hearing'") > 0


async def test_forged_replayed_and_unexpected_inbound_requests_are_refused(
    inbound: tuple[Dispatcher, str], db: Database, clock: FakeClock
) -> None:
    dp, url = inbound
    await _register(dp)
    now = int(clock.now().timestamp())
    body = hearing_body("court-1")
    good = signed_headers(COURT_SECRET, "court", "hearing.scheduled", "court-1", body, now)
    async with httpx.AsyncClient() as http:

        async def post(headers: dict[str, str], content: bytes = body) -> httpx.Response:
            return await http.post(url, content=content, headers=headers)

        forged = signed_headers("not-the-court-secret-at-all", "court", "hearing.scheduled",
                                "court-1", body, now)  # fmt: skip
        answer = await post(forged)
        assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
        # The signed request, its body changed on the way.
        tampered = body.replace(b"09:30", b"15:30")
        answer = await post(good, tampered)
        assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
        # The signed request replayed ten minutes later.
        old = signed_headers(
            COURT_SECRET, "court", "hearing.scheduled", "court-1", body, now - 600
        )
        answer = await post(old)
        assert (answer.status_code, answer.json()["error"]) == (401, "stale_timestamp")
        # Replayed under a fresh delivery id: the signed body still names the first one.
        renamed = {**good, "X-Gucheng-Delivery": "court-2"}
        answer = await post(renamed)
        assert (answer.status_code, answer.json()["error"]) == (400, "delivery_mismatch")
        # 12345 may send notes, not hearings; nobody unknown may send anything.
        other = signed_headers(SECRET, "c12345", "hearing.scheduled", "court-1", body, now)
        answer = await post(other)
        assert (answer.status_code, answer.json()["error"]) == (403, "not_allowed")
        stranger = signed_headers(SECRET, "stranger", "hearing.scheduled", "court-1", body, now)
        assert (await post(stranger)).status_code == 401
        answer = await http.get(url)
        assert (answer.status_code, answer.json()["error"]) == (405, "method_not_allowed")
    assert await db.fetch_value("SELECT count(*) FROM hearings") == 0
    assert await db.fetch_value("SELECT count(*) FROM webhook_inbound") == 0


async def test_a_status_note_from_12345_appears_in_the_case_history_once(
    inbound: tuple[Dispatcher, str], db: Database, clock: FakeClock, bot: Bot
) -> None:
    dp, url = inbound
    await file_case(dp, bot, 1001)
    number = await db.fetch_value("SELECT number FROM cases")
    payload = {"id": "n-1", "type": "case.note", "case_number": number, "note": "已电话回访"}
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = signed_headers(SECRET, "c12345", "case.note", "n-1", body,
                             int(clock.now().timestamp()))  # fmt: skip
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, content=body, headers=headers)).json()["duplicate"] is False
        assert (await http.post(url, content=body, headers=headers)).json()["duplicate"] is True
        missing = json.dumps({**payload, "id": "n-2", "case_number": "TJ-2026-999999"}).encode()
        answer = await http.post(
            url,
            content=missing,
            headers=signed_headers(SECRET, "c12345", "case.note", "n-2", missing,
                                   int(clock.now().timestamp())),
        )  # fmt: skip
        assert (answer.status_code, answer.json()["error"]) == (404, "case_not_found")
    notes = await db.fetch_all("SELECT detail FROM case_events WHERE kind = 'external_note'")
    assert [json.loads(n["detail"])["note"] for n in notes] == ["已电话回访"]
    room = str(await db.fetch_value("SELECT routed_to FROM cases")).removeprefix("room:")
    await dp["users"].set_role(4242, Role.mediator, room, lead=True)  # sees the room's cases
    mediator = BotClient(dp, bot, user_id=4242, language_code="zh-hans")
    await mediator.send("/cases")
    await mediator.press(number)
    assert "县内对接系统“c12345”发来的备注：已电话回访" in mediator.last_text()


# --- start-up and schema --------------------------------------------------------------------


def test_a_bad_receivers_file_stops_the_start_without_showing_its_secret(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "webhooks.json"
    path.write_text(
        json.dumps(
            {
                "receivers": [
                    {"id": "c12345", "url": "ftp://x", "secret": "short-secret",
                     "events": ["case.created", "case.eaten"]}
                ]
            }
        ),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(StartupError) as caught:
        load_data_files(settings.model_copy(update={"webhooks_path": path}))
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_DATA
    assert "short-secret" not in message and "\n" not in message
    assert "receivers.0.url" in message and "receivers.0.secret" in message
    assert "receivers.0.events.1" in message


async def test_the_capture_triggers_survive_every_later_migration(tmp_path: Path) -> None:
    """Regression guard: a migration that rebuilds cases, hearings or bookings (copy, drop,
    create) drops their triggers silently, and webhooks would stop without a word."""
    db = SqliteDatabase(tmp_path / "t.sqlite3")
    await db.open()
    try:
        await migrate(db)
        names = {
            r[0]
            for r in await db.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'webhook_%'"
            )
        }
    finally:
        await db.close()
    assert names == {
        "webhook_case_created",
        "webhook_case_status",
        "webhook_case_routed",
        "webhook_hearing_added",
        "webhook_hearing_changed",
        "webhook_hearing_appearance",
        "webhook_booking_created",
        "webhook_petition_handover",
    }


async def test_the_migration_upgrades_a_database_with_cases(
    tmp_path: Path, clock: FakeClock
) -> None:
    mine = next(p for p in MIGRATIONS_DIR.glob("*_webhooks.sql"))
    before = migrations_where(tmp_path / "before", lambda name: name < mine.name)
    db = SqliteDatabase(tmp_path / "old.sqlite3")
    await db.open()
    try:
        await migrate(db, before, clock)
        stamp = to_db(clock.now())
        await db.execute(
            "INSERT INTO users(telegram_id, first_seen, last_seen) VALUES (1, ?, ?)",
            (stamp, stamp),
        )
        await db.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
            " created_at, updated_at) VALUES ('TJ-2026-000001', 'mediation', 'submitted', 1,"
            " '邻里纠纷', '2026-11-25', ?, ?)",
            (stamp, stamp),
        )
        applied = await migrate(db, MIGRATIONS_DIR, clock)
        assert mine.name in applied
        assert await db.fetch_value("SELECT count(*) FROM webhook_events") == 0  # no backfill
        await db.execute("UPDATE cases SET status = 'accepted', updated_at = ?", (stamp,))
        assert await db.fetch_value("SELECT type FROM webhook_events") == "case.status_changed"
    finally:
        await db.close()


async def test_a_reception_day_booking_is_an_event_with_its_day_and_time(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    dp = dispatcher_with(settings, db, clock, receivers_file(("c12345", system, False)))
    pump = WebhookPump(dp["webhooks"], clock)
    citizen = BotClient(dp, bot, user_id=1001, language_code="zh-hans")
    await citizen.send("/book")
    await citizen.press("公安局")
    await citizen.press("11月30日")
    await citizen.press("09:30")
    await citizen.send("邻居长期噪音扰民，电话13800001234")
    await citizen.send("请派出所依法处理")
    await citizen.send("王小明")  # the name as on the ID card
    await citizen.press("2")
    await citizen.press("没有")
    await citizen.press("确认预约")
    await drain(pump, clock)
    await pump.stop()
    [event] = system.accepted
    assert event.event == "booking.created"
    assert event.body["case"] == {
        "number": "JD-2026-000001",
        "procedure": "reception",
        "status": "booked",
        "unit": "county_psb",
    }
    booking = event.body["booking"]
    assert (booking["day"], booking["time"], booking["people"]) == ("2026-11-30", "09:30", 2)
    assert "13800001234" not in booking["subject"] and "138****1234" in booking["subject"]


async def test_a_receiver_that_does_not_answer_in_time_is_retried_later(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    dp = dispatcher_with(settings, db, clock, receivers_file(("c12345", system, False)))
    pump = WebhookPump(dp["webhooks"], clock, timeout=0.2)
    await file_case(dp, bot, 1001)
    system.delay = 1.0  # longer than the pump waits
    await pump.capture()
    await pump.deliver(pump.queue.receivers[0])
    row = await db.fetch_one(
        "SELECT status, attempts, last_error FROM webhook_deliveries ORDER BY id LIMIT 1"
    )
    assert tuple(row) == ("pending", 1, "timeout")
    system.delay = 0.0
    await drain(pump, clock)
    await pump.stop()
    assert [r.event for r in system.accepted][-2:] == ["case.created", "case.routed"]
    assert (
        await db.fetch_value("SELECT count(*) FROM webhook_deliveries WHERE status != 'delivered'")
        == 0
    )


async def test_two_replicas_sent_every_webhook_twice(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, system: CountySystem
) -> None:
    """Replicas (README, "Running at scale") each run the webhook pump on the one database.
    The pump read the due deliveries and sent them without taking them, so two replicas
    delivering at once POSTed every event twice. Each delivery is now taken by a
    compare-and-set before it is sent: two pumps together send each event once."""
    file = receivers_file(("c12345", system, False))
    dp = dispatcher_with(settings, db, clock, file)
    other = WebhookQueue(db, clock, file)
    first, second = WebhookPump(dp["webhooks"], clock), WebhookPump(other, clock)
    system.delay = 0.05  # the two pumps' requests overlap, as on two machines
    try:
        for i in range(3):
            case_id = await file_case(dp, bot, 1001 + i)
            await set_status(db, clock, case_id, "accepted")
        await first.capture()
        [receiver] = first.queue.receivers
        for _ in range(6):
            await asyncio.gather(first.deliver(receiver), second.deliver(receiver))
    finally:
        await first.stop()
        await second.stop()
    assert len(system.accepted) == 9  # created, routed, status changed: three cases
    assert system.duplicates == 0
