"""Regression tests for the "Found while testing the staff side, to fix" list of issue 10."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.procedures.action_steps import Outcome
from cases.procedures.actions import CaseActions
from cases.procedures.transitions import Action
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, FakeClock, from_db
from handlers.admin import GrantUnit
from handlers.staff.callbacks import StaffAction
from scheduling.planner import Planner
from scheduling.policy import QuietHours
from tests.case_file_support import OFFICE, file_reconsideration, open_from_list, person
from tests.scheduling_helpers import ADMIN, add_case, add_deadline, add_user, reminders
from tests.support import ADMIN_ID, ENGINE

ROOT = Path(__file__).resolve().parent.parent
CITIZEN = 1001
HEAD = 7010


async def test_staff_reminders_never_fall_on_a_weekend(db: Database, clock: FakeClock) -> None:
    """F12 ends on Wednesday 16 December: its 10-calendar-day reminder fell on Sunday the 6th
    at 08:30; it goes out on Friday the 4th instead, the working day before."""
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN)
    await add_deadline(db, case_id, "F12", date(2026, 12, 16))
    await Planner(db, clock, admin_ids=[ADMIN], calendar=ENGINE.calendar).plan()
    rows = await reminders(db, "status = 'pending' AND chat_id = ?", (ADMIN,))
    moments = {r["step"]: from_db(r["due_at"]).astimezone(LEGAL_TZ) for r in rows}
    assert moments["-10cd"].strftime("%Y-%m-%d %H:%M") == "2026-12-04 08:30"
    assert all(m.weekday() < 5 for m in moments.values()), moments


async def test_citizen_reminders_keep_their_calendar_day(db: Database, clock: FakeClock) -> None:
    """Only staff reminders move: a citizen's M1 reminder may come on a Sunday."""
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, procedure="mediation")
    await add_deadline(db, case_id, "M1", date(2026, 12, 16))
    await Planner(db, clock, admin_ids=[ADMIN], calendar=ENGINE.calendar).plan()
    rows = await reminders(db, "status = 'pending' AND chat_id = ? AND step = '-10cd'", (CITIZEN,))
    assert [from_db(r["due_at"]).astimezone(LEGAL_TZ).date() for r in rows] == [date(2026, 12, 6)]


def test_quiet_hours_one_value_in_settings_and_code() -> None:
    """.env.example said 22:00-08:00 while the code deferred from 21:00: now one setting
    (QUIET_HOURS), whose example value is the default, and no other time written anywhere."""
    expected = str(QuietHours())
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.findall(r"^QUIET_HOURS=(.*)$", text, re.MULTILINE) == [expected]
    assert not re.findall(r"quiet hours \((\d\d:\d\d)-(\d\d:\d\d)\)", text)
    for path in ("scheduling/policy.py", "scheduling/outbox.py", "scheduling/planner.py"):
        source = (ROOT / path).read_text(encoding="utf-8")
        assert not re.findall(r"(\d\d:\d\d)–(\d\d:\d\d)", source), path


# -- F12 extensions: the head of the reconsideration body approves (FY 62(1)) -----------------


async def test_any_office_clerk_no_longer_approves_a_decision_extension(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    clerk = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    await open_from_list(clerk)
    await clerk.press("✅ 受理")
    await clerk.press("普通程序")
    assert not any("延长期限" in b for b in clerk.buttons())
    # A forged extension button and the service itself refuse the clerk.
    await clerk.click(StaffAction(action=Action.extend, case_id=case_id))
    actions: CaseActions = dispatcher["actions"]
    user = await dispatcher["users"].get(OFFICE)
    result = await actions.extend(case_id, user, days=10, reason="复杂", expected_total=0)
    assert result.outcome is not Outcome.done
    assert (
        await db.fetch_value(
            "SELECT extension_days FROM case_deadlines WHERE case_id = ? AND rule_id = 'F12'",
            (case_id,),
        )
        == 0
    )

    # The head of the reconsideration body (flagged with /grant … head) may.
    admin = await person(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await admin.send(f"/grant {HEAD} office_staff reconsideration_office head")
    assert "行政复议机构负责人" in admin.last_text()
    head = await dispatcher["users"].get(HEAD)
    assert head is not None and head.heads_reconsideration
    result = await actions.extend(case_id, head, days=10, reason="复杂", expected_total=0)
    assert result.outcome is Outcome.done
    # Any other grant clears the flag.
    await admin.send(f"/grant {HEAD} office_staff reconsideration_office")
    assert not (await dispatcher["users"].get(HEAD)).heads_reconsideration


# -- /grant without a unit -------------------------------------------------------------------


async def test_grant_with_a_missing_unit_lists_the_units_as_buttons(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    admin = await person(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await admin.send("/grant 4242 mediator")
    text = admin.last_text()
    assert "JSON" not in text and "数据文件" not in text and "服务器" not in text
    rooms = [r.name for r in dispatcher["org"].mediation_rooms]
    assert admin.buttons() == rooms
    await admin.press(rooms[0])
    row = await db.fetch_one("SELECT role, unit FROM users WHERE telegram_id = 4242")
    assert tuple(row) == ("mediator", dispatcher["org"].mediation_rooms[0].id)
    assert "4242" in admin.last_text()
    # A forged unit is refused.
    await admin.click(GrantUnit(telegram_id=4243, role=Role.mediator, unit="room_atlantis"))
    assert bot.session.alerts()[-1] == "没有这个单位。"
    assert await db.fetch_value("SELECT role FROM users WHERE telegram_id = 4243") is None


async def test_grant_tells_the_person_and_start_shows_staff_their_menu(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    newcomer = await person(dispatcher, bot, clock, 4244)
    await newcomer.send("/start")
    admin = await person(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    agency = dispatcher["org"].agencies[0]
    newcomer.clear()
    await admin.send(f"/grant 4244 agency_liaison {agency.id}")
    told = [s.text for s in bot.session.seen(4244)]
    assert any("机关联络人" in x and agency.name in x for x in told), told
    newcomer.clear()
    await newcomer.send("/start")
    assert any("/lawsuits" in x and "机关联络人" in x for x in newcomer.texts())


# -- a court hearing on a rest day -----------------------------------------------------------


async def test_court_hearing_on_a_rest_day_asks_to_confirm(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    """12 December 2026 is a Saturday: the form asks before taking it; "no" asks again, "yes"
    keeps it."""
    staff = await person(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    await staff.send("谷城县人民法院")
    await staff.send("（2026）鄂0625行初88号")
    await staff.send("李四")
    await staff.send("谷公(治)决字〔2026〕123号行政处罚决定")
    await staff.send("2026年11月20日")
    await staff.send("12月12日 上午9点30")
    assert "休息日" in staff.last_text()
    await staff.press("不是，重新输入")
    assert "开庭" in staff.last_text()
    await staff.send("12月12日 上午9点30")
    await staff.press("是，就是这一天")
    await staff.press("是")  # a major case
    await staff.press("否")
    await staff.press("登记")
    starts = await db.fetch_value("SELECT starts_at FROM hearings")
    assert from_db(starts).astimezone(LEGAL_TZ).date() == date(2026, 12, 12)


async def test_court_hearing_on_a_working_day_is_not_questioned(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    staff = await person(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    await staff.send("谷城县人民法院")
    await staff.send("（2026）鄂0625行初89号")
    await staff.send("李四")
    await staff.send("谷公(治)决字〔2026〕124号行政处罚决定")
    await staff.send("2026年11月20日")
    await staff.send("12月10日 上午9点30")
    assert "休息日" not in staff.last_text()


async def test_court_hearing_added_later_on_a_rest_day_asks_to_confirm(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    staff = await person(dispatcher, bot, clock, ADMIN_ID, Role.admin)
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    for answer in ("谷城县人民法院", "（2026）鄂0625行初90号", "李四", "罚款决定", "昨天"):
        await staff.send(answer)
    await staff.press("尚未确定")
    await staff.press("否")
    await staff.press("否")
    await staff.press("登记")
    await staff.send("/lawsuits")
    await staff.press("（2026）鄂0625行初90号")
    await staff.press("添加开庭")
    await staff.send("12月13日上午9点")  # a Sunday
    assert "休息日" in staff.last_text()
    assert await db.fetch_value("SELECT count(*) FROM hearings") == 0
    await staff.send("12月13日上午9点")
    assert await db.fetch_value("SELECT count(*) FROM hearings") == 1


# -- mediation texts cite the right law (domain §5 "Which law to cite") -----------------------


def test_mediation_texts_cite_no_peoples_mediation_law_for_administrative_mediation() -> None:
    """The county's 行政调解室 do 行政调解: court confirmation rests on 民事诉讼法 Art 205, and
    nothing a mediation party or mediator reads names 人民调解法 as the basis."""
    from cases.intake.form_engine import Procedure
    from cases.law.deadline_rules import RULES, citation
    from cases.org.routing import TRIAGE_QUESTIONS
    from cases.procedures.transitions import TRANSITIONS

    assert (RULES["M1"].law, RULES["M1"].article) == ("MS", "205")
    assert citation("MS", "205")[0] == "《民事诉讼法》第二百零五条"
    for row in TRANSITIONS:
        if row.procedure is Procedure.mediation:
            assert row.basis is None or row.basis.law != "TJ", row
    for question in TRIAGE_QUESTIONS:
        if question.if_yes.procedure == "mediation":
            assert "TJ" not in question.if_yes.basis.replace(";", " ").split()
    sources = [ROOT / "cases/intake/forms.py", ROOT / "scheduling/notices.py"]
    for path in [*sources, *(ROOT / "handlers" / "staff").glob("*.py")]:
        assert "人民调解法" not in path.read_text(encoding="utf-8"), path
    for po in (ROOT / "locales" / "src" / "zh").glob("*.po"):
        assert "人民调解法" not in po.read_text(encoding="utf-8"), po
