"""/queue: my own open work across procedures, overdue first, paged; /find within my cases."""

from __future__ import annotations

from datetime import date

from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from tests.queue_support import seed_case, seed_lawsuit, staff

ROOM = "room:room_chengguan"
RECON = "office:reconsideration_office"
PETITIONS = "office:petition_office"
TODAY = date(2026, 11, 25)  # the clock fixture's day


async def test_a_mediator_sees_their_own_cases_overdue_first_then_nearest(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    me = await staff(dispatcher, bot, clock, 7101, Role.mediator, "room_chengguan")
    colleague = await staff(dispatcher, bot, clock, 7102, Role.mediator, "room_chengguan")
    await seed_case(db, clock, "TJ-1", "mediation", ROOM, mediator_id=7101, due=date(2026, 12, 9))
    await seed_case(db, clock, "TJ-2", "mediation", ROOM, mediator_id=7101, due=date(2026, 11, 20))
    await seed_case(db, clock, "TJ-3", "mediation", ROOM, mediator_id=7101, due=date(2026, 11, 30))
    await seed_case(db, clock, "TJ-4", "mediation", ROOM, mediator_id=7101)  # no deadline
    await seed_case(db, clock, "TJ-5", "mediation", ROOM, mediator_id=7102, due=TODAY)
    await seed_case(db, clock, "TJ-6", "mediation", ROOM, due=TODAY)  # unassigned
    await seed_case(
        db, clock, "TJ-7", "mediation", ROOM, mediator_id=7101, status="settled", due=TODAY
    )
    await me.send("/queue")
    text = me.last_text()
    order = [n for n in ("TJ-2", "TJ-3", "TJ-1", "TJ-4") if n in text]
    assert order == ["TJ-2", "TJ-3", "TJ-1", "TJ-4"]
    assert sorted(order, key=text.index) == order
    assert "TJ-5" not in text and "TJ-6" not in text and "TJ-7" not in text
    assert "共4件，其中已逾期1件" in text and "⚠️ <code>TJ-2</code>" in text
    assert me.buttons()[0].startswith("⚠️ TJ-2")
    await colleague.send("/queue")
    assert "TJ-5" in colleague.last_text() and "TJ-1" not in colleague.last_text()


async def test_a_room_lead_also_sees_the_rooms_unassigned_cases(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    lead = await staff(dispatcher, bot, clock, 7103, Role.mediator, "room_chengguan", lead=True)
    await seed_case(db, clock, "TJ-1", "mediation", ROOM, due=TODAY)
    await seed_case(db, clock, "TJ-2", "mediation", ROOM, mediator_id=7103)
    await seed_case(db, clock, "TJ-3", "mediation", "room:room_shihua", due=TODAY)
    await staff(dispatcher, bot, clock, 7104, Role.mediator, "room_chengguan")
    await seed_case(db, clock, "TJ-4", "mediation", ROOM, mediator_id=7104)
    await lead.send("/queue")
    text = lead.last_text()
    assert "TJ-1" in text and "TJ-2" in text
    assert "TJ-3" not in text and "TJ-4" not in text  # another room; a colleague's own work


async def test_the_queue_is_paged_with_buttons(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    clerk = await staff(dispatcher, bot, clock, 7105, Role.office_staff, "reconsideration_office")
    for day in range(1, 11):
        due = date(2026, 12, day)
        await seed_case(db, clock, f"FY-{day:02}", "reconsideration", RECON, due=due)
    await clerk.send("/queue")
    first = clerk.last_text()
    assert "第1/2页" in first and "FY-01" in first and "FY-08" in first and "FY-09" not in first
    await clerk.press("下一页")
    second = clerk.last_text()
    assert "第2/2页" in second and "FY-09" in second and "FY-10" in second
    assert "FY-01" not in second
    await clerk.press("上一页")
    assert "第1/2页" in clerk.last_text()


async def test_office_staff_see_their_offices_procedure_only(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    recon = await staff(dispatcher, bot, clock, 7106, Role.office_staff, "reconsideration_office")
    petitions = await staff(dispatcher, bot, clock, 7107, Role.office_staff, "petition_office")
    await seed_case(db, clock, "FY-1", "reconsideration", RECON, due=TODAY)
    await seed_case(db, clock, "XF-1", "petition", PETITIONS, due=TODAY, rule="X4")
    await seed_case(db, clock, "XF-2", "petition", PETITIONS, sensitive=True)
    await seed_case(db, clock, "TJ-1", "mediation", ROOM)
    await recon.send("/queue")
    assert "FY-1" in recon.last_text()
    assert all(n not in recon.last_text() for n in ("XF-1", "XF-2", "TJ-1"))
    await petitions.send("/queue")
    assert "XF-1" in petitions.last_text() and "XF-2" in petitions.last_text()
    assert "FY-1" not in petitions.last_text()


async def test_an_agency_liaison_sees_what_was_sent_to_their_agency(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    liaison = await staff(dispatcher, bot, clock, 7108, Role.agency_liaison, "county_psb")
    other = await staff(dispatcher, bot, clock, 7109, Role.agency_head, "county_housing")
    await seed_case(
        db, clock, "FY-1", "reconsideration", RECON, respondent="county_psb", copy_sent=True,
        due=date(2026, 12, 4), rule="F12",
    )  # fmt: skip
    await seed_case(db, clock, "FY-2", "reconsideration", RECON, respondent="county_psb")
    await seed_case(db, clock, "XF-1", "petition", "agency:county_psb", due=TODAY, rule="X4")
    await seed_case(db, clock, "XF-2", "petition", "agency:county_psb", sensitive=True, due=TODAY)
    await seed_lawsuit(db, clock, "county_psb", "（2026）鄂0625行初1号", date(2026, 11, 23))
    await seed_lawsuit(db, clock, "county_housing", "（2026）鄂0625行初2号", date(2026, 12, 1))
    await liaison.send("/queue")
    text = liaison.last_text()
    assert "（2026）鄂0625行初1号" in text and "XF-1" in text and "FY-1" in text
    assert "FY-2" not in text  # the copy was not sent yet (FY 48)
    assert "XF-2" not in text  # 检举控告 stays with the petition office
    assert "行初2号" not in text
    assert text.index("行初1号") < text.index("XF-1") < text.index("FY-1")  # overdue first
    # The agency's own deadline (F10, its reply) is shown, not the office's nearer F12.
    assert "2026年12月10日" in text and "2026年12月4日" not in text
    await liaison.press("FY-1")  # the extract of the application (FY 48), not the staff page
    assert "行政复议申请书摘要（供被申请人答复）</b> <code>FY-1</code>" in liaison.last_text()
    await liaison.send("/queue")
    await liaison.press("XF-1")
    # The agency's petition page, where it acts (as /petitions and "Open case" open it).
    assert "<b>信访事项 <code>XF-1</code></b>" in liaison.last_text()
    await liaison.send("/queue")
    await liaison.press("行初1号")
    assert "王五" in liaison.last_text()
    await other.send("/queue")
    assert "行初2号" in other.last_text() and "FY-1" not in other.last_text()


async def test_find_by_number_or_name_within_what_the_role_may_see(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    mediator = await staff(dispatcher, bot, clock, 7110, Role.mediator, "room_chengguan")
    clerk = await staff(dispatcher, bot, clock, 7111, Role.office_staff, "reconsideration_office")
    await seed_case(db, clock, "TJ-2026-000001", "mediation", ROOM, mediator_id=7110, party="李雷")
    await seed_case(db, clock, "TJ-2026-000002", "mediation", ROOM, party="李雷")  # not theirs
    await seed_case(
        db, clock, "FY-2026-000001", "reconsideration", RECON, party="韩梅梅",
        subject="韩梅梅 13912345678 的处罚", status="decided",
    )  # fmt: skip
    await mediator.send("/find 李雷")
    assert "TJ-2026-000001" in mediator.last_text()
    assert "TJ-2026-000002" not in mediator.last_text()
    await mediator.send("/find 韩梅梅")
    assert "没有找到" in mediator.last_text()
    await mediator.send("/find TJ-2026-000002")
    assert "没有找到" in mediator.last_text()
    await clerk.send("/find 韩梅梅")  # a closed case is found too
    assert "FY-2026-000001" in clerk.last_text() and "13912345678" in clerk.last_text()
    await clerk.send("/find %")
    assert "至少2个字" in clerk.last_text()
    await clerk.send("/find __")
    assert "没有找到" in clerk.last_text()  # LIKE wildcards are literal
    await clerk.press("FY-2026-000001")
    assert "FY-2026-000001" in " ".join(clerk.texts()[-3:])


async def test_an_admin_sees_every_open_case_and_finds_a_number_in_any_letter_case(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    admin = await staff(dispatcher, bot, clock, 7113, Role.admin)
    await seed_case(db, clock, "TJ-2026-000003", "mediation", ROOM, due=TODAY)
    await seed_case(db, clock, "FY-2026-000004", "reconsideration", RECON, status="decided")
    await admin.send("/queue")
    assert "TJ-2026-000003" in admin.last_text() and "FY-2026-000004" not in admin.last_text()
    await admin.send("/find fy-2026")  # as SQLite's LIKE always did, on PostgreSQL too
    assert "FY-2026-000004" in admin.last_text()


async def test_find_masks_numbers_in_the_subject_for_an_agency(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    liaison = await staff(dispatcher, bot, clock, 7112, Role.agency_liaison, "county_psb")
    await seed_case(
        db, clock, "FY-9", "reconsideration", RECON, respondent="county_psb", copy_sent=True,
        subject="张三 13912345678 的处罚",
    )  # fmt: skip
    await liaison.send("/find FY-9")
    assert "FY-9" in liaison.last_text() and "13912345678" not in liaison.last_text()


async def test_a_citizen_has_no_queue(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await staff(dispatcher, bot, clock, 1001, Role.citizen)
    await seed_case(db, clock, "TJ-1", "mediation", ROOM, due=TODAY)
    await citizen.send("/queue")
    assert "TJ-1" not in citizen.last_text() and "仅供" in citizen.last_text()
    await citizen.send("/find TJ-1")
    assert "TJ-1" not in citizen.last_text()
