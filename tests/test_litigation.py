"""行政应诉: staff register court cases so that L3 (defence) and L7 (hearing) reminders fire,
record who appeared at each hearing, and see the year's 出庭 figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from aiogram import Bot, Dispatcher

from cases.intake.validation import ValidationError
from cases.litigation.court_cases import LitigationService
from cases.litigation.hearing_times import parse_hearing_time
from cases.litigation.models import RegisterLawsuit
from cases.org.organisation import load_organisation
from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, FakeClock, from_db, to_db
from handlers.litigation import CaseButton, FormButton
from scheduling.planner import Planner
from tests.fakes.telegram import BotClient
from tests.support import ADMIN_ID, ENGINE, compute

CASE_NUMBER = "（2026）鄂0625行初12号"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # the clock fixture: Wed 09:00 in Gucheng


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LEGAL_TZ)


@pytest.fixture
def routed(dispatcher: Dispatcher) -> Dispatcher:
    """The bot's own dispatcher: handlers.get_routers() includes the litigation router."""
    assert any(router.name == "litigation" for router in dispatcher.sub_routers)
    return dispatcher


@pytest.fixture
async def staff(routed: Dispatcher, bot: Bot) -> BotClient:
    await routed["users"].set_role(ADMIN_ID, Role.admin)
    return BotClient(routed, bot, user_id=ADMIN_ID, language_code="zh-hans")


@pytest.fixture
def citizen(routed: Dispatcher, bot: Bot) -> BotClient:
    return BotClient(routed, bot, user_id=1001, language_code="zh-hans")


@pytest.fixture
def service(db: Database, clock: FakeClock) -> LitigationService:
    return LitigationService(db, clock, load_organisation(), engine=ENGINE)


def lawsuit_input(**changes: object) -> RegisterLawsuit:
    values: dict[str, object] = {
        "agency_id": "county_psb",
        "court": "谷城县人民法院",
        "court_case_number": CASE_NUMBER,
        "plaintiff": "李四",
        "act_challenged": "谷公(治)决字〔2026〕123号行政处罚决定",
        "complaint_received_on": date(2026, 11, 20),
        "hearing_at": None,
        "major": False,
        "court_requested_head": False,
        "registered_by": ADMIN_ID,
    }
    values.update(changes)
    return RegisterLawsuit(**values)  # type: ignore[arg-type]


async def fill_form(staff: BotClient, *, hearing: str = "12月10日 上午9点30") -> None:
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    await staff.send("谷城县人民法院")
    await staff.send(CASE_NUMBER)
    await staff.send("李四")
    await staff.send("谷公(治)决字〔2026〕123号行政处罚决定")
    await staff.send("2026年11月20日")
    await staff.send(hearing)
    await staff.press("是")  # a major case
    await staff.press("否")  # no written suggestion from the court


async def open_card(client: BotClient, case_number: str) -> str:
    """/lawsuits, then the button of this court case: its card (one message, with buttons)."""
    await client.send("/lawsuits")
    await client.press(case_number)
    return client.last_text()


async def press_on_card(client: BotClient, case_number: str, label: str) -> None:
    """Open this court case from /lawsuits and press a button under its card."""
    card = await open_card(client, case_number)
    assert case_number in card
    await client.press(label)


# --- registering ------------------------------------------------------------------------------


async def test_registering_a_lawsuit_creates_the_defence_and_hearing_rows(
    staff: BotClient, db: Database
) -> None:
    await fill_form(staff)
    summary = staff.last_text()
    assert "请核对" in summary
    assert "谷城县公安局" in summary
    assert "2026年12月10日（星期四） 09:30" in summary
    await staff.press("登记")
    receipt = staff.last_text()
    # L3 (XS 67): 15 CD after Fri 2026-11-20 is Sat 12-05; rolled to Mon 12-07 (C4).
    assert compute("L3", date(2026, 11, 20)).due == date(2026, 12, 7)
    assert f"<code>{CASE_NUMBER}</code>" in receipt
    assert "2026年12月7日（星期一）" in receipt
    assert "依据《行政诉讼法》第六十七条" in receipt
    assert "2026年12月10日（星期四） 09:30" in receipt
    assert "负责人应当亲自出庭" in receipt  # major case: XSJS 129(1)
    assert "2026年12月2日（星期三） 08:30 — 机关联络人" in receipt  # L3, 5 days before
    assert "暂由管理员接收" in receipt  # no liaison or head registered yet

    defence = await db.fetch_one("SELECT * FROM litigation_defences")
    assert defence["agency"] == "谷城县公安局"
    assert defence["due_on"] == "2026-12-07"
    assert defence["complaint_received_on"] == "2026-11-20"
    assert defence["court_case_number"] == CASE_NUMBER
    assert defence["status"] == "open"
    hearing = await db.fetch_one("SELECT * FROM hearings")
    assert hearing["starts_at"] == to_db(local(2026, 12, 10, 9, 30))
    assert from_db(hearing["starts_at"]) == datetime(2026, 12, 10, 1, 30, tzinfo=UTC)
    assert (hearing["major"], hearing["head_required"], hearing["status"]) == (1, 1, "scheduled")
    lawsuit = await db.fetch_one("SELECT * FROM lawsuits")
    assert (lawsuit["plaintiff"], lawsuit["registered_by"]) == ("李四", ADMIN_ID)
    await staff.send("谷城县公安局")  # the form is closed: no longer read as an answer
    assert staff.last_text() == "请选择您要办理的事项："


async def test_the_planner_then_plans_l3_and_l7_reminders(
    staff: BotClient, db: Database, clock: FakeClock
) -> None:
    await fill_form(staff)
    await staff.press("登记")
    await Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar).plan()
    rows = await db.fetch_all(
        "SELECT rule_id, source_kind, step, due_at, chat_id, critical FROM reminders"
        " WHERE status = 'pending' ORDER BY due_at"
    )

    def when(row: object) -> str:
        return from_db(row["due_at"]).astimezone(LEGAL_TZ).strftime("%m-%d %H:%M")  # type: ignore[index]

    l3 = [(r["step"], when(r)) for r in rows if r["rule_id"] == "L3"]
    l7 = [(r["step"], when(r)) for r in rows if r["rule_id"] == "L7"]
    # The weekend's two (Saturday -2cd, Sunday -1cd) become one on the Friday before.
    assert l3 == [
        ("-5cd", "12-02 08:30"),
        ("-1cd", "12-04 08:30"),
        ("0cd", "12-07 08:30"),
    ]
    assert l7 == [
        ("-7cd", "12-03 08:30"),
        ("-3cd", "12-07 08:30"),
        ("-1cd", "12-09 08:30"),
        ("0cd", "12-10 07:30"),
    ]
    assert {r["source_kind"] for r in rows} == {"defence", "hearing"}
    assert {r["chat_id"] for r in rows} == {ADMIN_ID}  # administrators stand in for agencies


async def test_defence_filed_stops_the_l3_reminders(
    staff: BotClient, db: Database, clock: FakeClock
) -> None:
    await fill_form(staff)
    await staff.press("登记")
    planner = Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar)
    await planner.plan()
    card = await open_card(staff, CASE_NUMBER)
    assert CASE_NUMBER in card
    assert "答辩期限：2026年12月7日（星期一）" in card
    assert "下次开庭：2026年12月10日（星期四） 09:30" in card
    await staff.press("答辩已提交")
    assert "已记录" in staff.session.alerts()[-1]
    assert "已于2026年11月25日（星期三）提交答辩" in staff.last_text()
    assert await db.fetch_value("SELECT status FROM litigation_defences") == "filed"
    await planner.plan()
    pending = await db.fetch_all(
        "SELECT rule_id FROM reminders WHERE status = 'pending' AND source_kind = 'defence'"
    )
    assert pending == []
    assert await db.fetch_value(
        "SELECT count(*) FROM reminders WHERE status = 'pending' AND rule_id = 'L7'"
    )


async def test_a_registration_without_hearing_date_then_a_hearing_added(
    staff: BotClient, db: Database
) -> None:
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    for answer in ("谷城县人民法院", CASE_NUMBER, "李四", "罚款决定", "昨天"):
        await staff.send(answer)
    await staff.press("尚未确定")
    await staff.press("否")
    await staff.press("否")
    await staff.press("登记")
    assert "尚未确定" in staff.last_text()
    assert await db.fetch_value("SELECT count(*) FROM hearings") == 0
    assert await db.fetch_value("SELECT due_on FROM litigation_defences") == "2026-12-09"
    await press_on_card(staff, CASE_NUMBER, "添加开庭")
    await staff.send("12月18日下午2点半")
    assert "2026年12月18日（星期五） 14:30" in staff.last_text()
    hearing = await db.fetch_one("SELECT * FROM hearings")
    assert hearing["starts_at"] == to_db(local(2026, 12, 18, 14, 30))
    assert hearing["head_required"] == 0
    assert hearing["agency"] == "谷城县公安局"


async def test_registering_twice_keeps_one_record(
    service: LitigationService, db: Database
) -> None:
    first = await service.register_lawsuit(lawsuit_input())
    second = await service.register_lawsuit(lawsuit_input())
    assert first.created and not second.created
    assert first.id == second.id
    assert await db.fetch_value("SELECT count(*) FROM litigation_defences") == 1
    # A co-defendant (XS 26(2): the 复议机关) registers the same court case for itself.
    other = await service.register_lawsuit(lawsuit_input(agency_id="county_government"))
    assert other.created and other.id != first.id


async def test_service_hearing_by_case_number_filing_once_and_listing_by_agency(
    service: LitigationService, db: Database
) -> None:
    psb = await service.register_lawsuit(lawsuit_input())
    government = await service.register_lawsuit(lawsuit_input(agency_id="county_government"))
    # Co-defendants of one court case: a hearing given by case number reaches both records.
    hearing = await service.add_hearing(CASE_NUMBER, local(2026, 12, 15, 9, 0), by=ADMIN_ID)
    assert hearing.starts_at == local(2026, 12, 15, 9, 0)
    assert await db.fetch_value("SELECT count(*) FROM hearings") == 2
    with pytest.raises(ValidationError):  # a hearing in the past
        await service.add_hearing(psb.id, local(2026, 11, 24, 9, 0), by=ADMIN_ID)
    assert psb.defence is not None
    assert await service.mark_defence_filed(psb.defence.id, ADMIN_ID) is True
    assert await service.mark_defence_filed(psb.defence.id, ADMIN_ID) is False
    listed = await service.list_open(agency_id="county_government")
    assert [lawsuit.id for lawsuit in listed] == [government.id]
    assert [h.starts_at for h in listed[0].hearings] == [local(2026, 12, 15, 9, 0)]
    assert len(await service.list_open()) == 2


# --- who may do it; bad input; stale buttons --------------------------------------------------


async def test_a_citizen_gets_nothing_special(citizen: BotClient, db: Database) -> None:
    for command in ("/lawsuit", "/lawsuits", "/appearance"):
        await citizen.send(command)
        assert citizen.last_text().startswith(f"{command} 命令仅供承办工作人员")
    await citizen.click(CaseButton(action="filed", lawsuit_id=1, item_id=1))
    assert citizen.session.alerts()[-1] == "这个按钮已经失效，请使用下面的菜单。"
    assert await db.fetch_value("SELECT count(*) FROM lawsuits") == 0


async def test_a_citizen_cannot_press_a_staff_button_of_a_real_case(
    citizen: BotClient, service: LitigationService, db: Database
) -> None:
    lawsuit = await service.register_lawsuit(lawsuit_input())
    assert lawsuit.defence is not None
    await citizen.click(
        CaseButton(action="filed", lawsuit_id=lawsuit.id, item_id=lawsuit.defence.id)
    )
    assert citizen.session.alerts()[-1] == "这个按钮已经失效，请使用下面的菜单。"
    assert await db.fetch_value("SELECT status FROM litigation_defences") == "open"


async def test_invalid_dates_are_refused_with_a_clear_message(staff: BotClient) -> None:
    await staff.send("/lawsuit")
    await staff.send("公安局交警")  # not one agency: buttons or the full name
    assert staff.last_text().startswith("❗")
    await staff.send("谷城县公安局")
    await staff.send("谷城县人民法院")
    await staff.send(CASE_NUMBER)
    await staff.send("李四")
    await staff.send("罚款决定")
    await staff.send("2026-12-01")  # after today
    assert staff.last_text().startswith("❗")
    assert "2026年11月25日" in staff.last_text()
    await staff.send("2026-02-30")
    assert staff.last_text().startswith("❗")
    await staff.send("2026-11-20")
    await staff.send("2026-11-24 09:00")  # already past
    assert staff.last_text().startswith("❗")
    assert "已经过去" in staff.last_text()
    await staff.send("12月10日")  # no time
    assert "具体时间" in staff.last_text()
    await staff.send("12月10日 2:30")  # morning or afternoon?
    assert "上午还是下午" in staff.last_text()
    await staff.send("12月10日 14:30")
    assert "重大" in staff.last_text()  # the next question


async def test_forged_and_stale_buttons_are_refused(
    staff: BotClient, service: LitigationService, db: Database
) -> None:
    await staff.click(FormButton(step="summary", action="register"))  # no form open
    assert staff.session.alerts()[-1] == "该问题已不在填写中。"
    await staff.click(CaseButton(action="filed", lawsuit_id=999, item_id=1))
    assert staff.session.alerts()[-1] == "该应诉案件已结案或不存在。"
    first = await service.register_lawsuit(lawsuit_input())
    second = await service.register_lawsuit(
        lawsuit_input(court_case_number="（2026）鄂0625行初13号")
    )
    assert second.defence is not None
    # The defence of another case, under this case's id.
    await staff.click(CaseButton(action="filed", lawsuit_id=first.id, item_id=second.defence.id))
    assert staff.session.alerts()[-1] == "该按钮已失效。"
    assert (
        await db.fetch_value("SELECT count(*) FROM litigation_defences WHERE status = 'open'") == 2
    )
    # An old answer button of a question already answered.
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    await staff.click(FormButton(step="agency", action="pick", value=0))
    assert staff.session.alerts()[-1] == "该问题已不在填写中。"
    assert "审理" in staff.last_text()  # still the court question


@pytest.mark.parametrize(
    "data",
    [
        "lsc:filed:99999999999999999999:0",
        "lsc:open:1:9223372036854775808",
        "lsa:99999999999999999999:head:yes",
        "lsf:agency:pick:99999999999999999999",
    ],
)
async def test_litigation_button_with_out_of_range_id_gets_the_stale_button_answer(
    staff: BotClient, data: str
) -> None:
    """An id SQLite cannot hold (it would raise OverflowError): the filter does not match and
    the fallback answers politely, not with the generic error."""
    await staff.click(data)
    assert staff.session.alerts()[-1] == "这个按钮已经失效，请使用下面的菜单。"


async def test_lawsuits_with_many_court_cases_is_one_message_with_a_button_each(
    staff: BotClient, service: LitigationService
) -> None:
    """Not one message per court case: a chat gets about one message a second, and a 429
    would cut the list halfway."""
    numbers = [f"（2026）鄂0625行初{n}号" + "补" * 70 for n in range(1, 31)]
    for n, number in enumerate(numbers):
        await service.register_lawsuit(
            lawsuit_input(court_case_number=number, hearing_at=local(2026, 12, 1 + n % 28, 9, 30))
        )
    before = len(staff.session.seen(staff.user_id))
    await staff.send("/lawsuits")
    sent = staff.session.seen(staff.user_id)[before:]
    assert len(sent) == 1
    listing = sent[0]
    assert len(listing.text) <= 4096
    assert "未结应诉案件：30件" in listing.text
    assert listing.markup is not None
    buttons = [b for row in listing.markup.inline_keyboard for b in row]
    shown = listing.text.count("<code>（2026）鄂0625行初")
    assert 0 < shown == len(buttons) <= 20
    assert f"……另有 {30 - shown} 项" in listing.text
    assert all(len(b.text) <= 32 for b in buttons)
    # A button opens that court case's card, with its action buttons.
    assert buttons[1].callback_data is not None
    await staff.click(buttons[1].callback_data, message_id=listing.message_id)
    card = staff.last_text()
    label = buttons[1].text.split(". ", 1)[1].rstrip("…")  # "2. （2026）鄂0625行初…"
    assert card.startswith(f"<b>{label}") and card.count("<b>") == 1
    assert "答辩已提交" in staff.buttons() and "结案" in staff.buttons()


async def test_cancel_from_the_summary_registers_nothing(staff: BotClient, db: Database) -> None:
    await fill_form(staff)
    await staff.press("取消")
    assert "未登记" in staff.last_text()
    assert await db.fetch_value("SELECT count(*) FROM lawsuits") == 0


async def test_cancel_works_inside_the_form(staff: BotClient, db: Database) -> None:
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    await staff.send("/cancel")
    await staff.press("是的，删除")
    assert "没有提交任何内容" in "\n".join(staff.texts()[-2:])
    await staff.send("谷城县人民法院")  # no longer an answer
    assert staff.last_text() == "请选择您要办理的事项："
    assert await db.fetch_value("SELECT count(*) FROM lawsuits") == 0


async def test_english_staff_register_too(routed: Dispatcher, bot: Bot, db: Database) -> None:
    await routed["users"].set_role(ADMIN_ID + 1, Role.office_staff)
    staff = BotClient(routed, bot, user_id=ADMIN_ID + 1, language_code="en")
    await staff.send("/lawsuit")
    await staff.press("Gucheng County Public Security Bureau")
    for answer in ("Gucheng County People's Court", CASE_NUMBER, "Li Si", "fine", "2026-11-20"):
        await staff.send(answer)
    await staff.send("2026-12-10 14:00")
    await staff.press("No")
    await staff.press("Yes")  # the court asked for the head in writing
    await staff.press("Register")
    receipt = staff.last_text()
    assert "Mon 7 Dec 2026" in receipt
    assert "Administrative Litigation Law, Art. 67" in receipt
    assert "Thu 10 Dec 2026 14:00" in receipt
    assert "must appear in person" in receipt
    assert await db.fetch_value("SELECT head_required FROM hearings") == 1


# --- appearances and the year's figures -------------------------------------------------------


async def test_recording_appearances_updates_the_statistics(
    staff: BotClient, service: LitigationService, clock: FakeClock, db: Database
) -> None:
    await service.register_lawsuit(lawsuit_input(hearing_at=local(2026, 11, 26, 9, 30)))
    await service.register_lawsuit(
        lawsuit_input(
            agency_id="county_natural_resources",
            court_case_number="（2026）鄂0625行初20号",
            hearing_at=local(2026, 11, 27, 9, 30),
            major=True,
        )
    )
    await press_on_card(staff, CASE_NUMBER, "记录出庭")  # the hearing is tomorrow
    assert "尚未进行" in staff.session.alerts()[-1]

    clock.set(local(2026, 11, 27, 16, 0))  # both hearings are over
    await staff.send("/appearance")
    assert "已开庭但尚未记录：2次" in staff.last_text()

    await staff.send("/lawsuits")
    assert staff.last_text().count("尚未记录出庭情况") == 2  # one message, a line per case
    # The first case: the head did not appear; a staff member did, with an excuse.
    await press_on_card(staff, CASE_NUMBER, "记录出庭")
    assert "是否亲自出庭" in staff.last_text()
    await staff.press("否")
    await staff.send("李某 法制股股长")
    await staff.send("参加省政府紧急会议，已提交加盖印章的说明")
    assert "由相应的工作人员代为出庭" in staff.last_text()
    # The second (major) case: only a lawyer went.
    await press_on_card(staff, "（2026）鄂0625行初20号", "记录出庭")
    await staff.press("否")
    await staff.press("仅律师出庭")
    await staff.press("未说明理由")
    assert "不得仅委托律师出庭" in staff.last_text()

    await staff.send("/appearance")
    stats_text = staff.last_text()
    assert "2026年行政机关出庭应诉情况" in stats_text
    assert "已开庭：2次" in stats_text
    assert "出庭率（负责人或相应的工作人员出庭）：50%（1/2）" in stats_text
    assert "负责人亲自出庭：0次（0%）" in stats_text
    assert "仅委托律师出庭（不允许）：1次" in stats_text
    assert "应当由负责人出庭的案件：负责人亲自出庭 0/1" in stats_text
    assert "尚未记录" not in stats_text

    stats = await service.appearance_stats(2026)
    assert (stats.held, stats.head, stats.staff, stats.lawyer_only, stats.absent) == (
        2,
        0,
        1,
        1,
        0,
    )
    assert stats.attendance_rate == 0.5
    record_row = await db.fetch_one(
        "SELECT a.* FROM hearing_appearances a JOIN hearings h ON h.id = a.hearing_id"
        " WHERE h.agency = '谷城县公安局'"
    )
    assert record_row["appeared_by"] == "李某 法制股股长"
    assert record_row["excuse"].startswith("参加省政府")
    assert await db.fetch_value("SELECT count(*) FROM hearings WHERE status = 'held'") == 2


async def test_the_head_appearing_in_person_is_recorded_in_the_chat(
    staff: BotClient, service: LitigationService, clock: FakeClock, db: Database
) -> None:
    await service.register_lawsuit(lawsuit_input(hearing_at=local(2026, 11, 25, 14, 30)))
    clock.set(local(2026, 11, 25, 17, 0))
    await press_on_card(staff, CASE_NUMBER, "记录出庭")
    await staff.press("是")
    await staff.send("王某 副局长")
    assert "机关负责人亲自出庭" in staff.last_text()
    row = await db.fetch_one("SELECT * FROM hearing_appearances")
    assert (row["attendance"], row["appeared_by"], row["excuse"]) == ("head", "王某 副局长", None)
    await staff.send("/appearance")
    assert "负责人亲自出庭：1次（100%）" in staff.last_text()
    await staff.send("/appearance 2025")
    assert "尚无已记录的庭审" in staff.last_text()


async def test_head_in_person_counts_for_both_rates(
    service: LitigationService, clock: FakeClock
) -> None:
    lawsuit = await service.register_lawsuit(
        lawsuit_input(hearing_at=local(2026, 11, 26, 9, 30), court_requested_head=True)
    )
    clock.set(local(2026, 11, 26, 12, 0))
    hearing = lawsuit.hearings[0]
    assert hearing.head_required  # the court asked in writing (XSJS 129(1))
    recorded = await service.record_appearance(
        hearing.id, head_appeared=True, appeared_by="王某 副局长", by=ADMIN_ID
    )
    assert recorded.status == "held"
    assert recorded.appearance is not None and recorded.appearance.attendance == "head"
    stats = await service.appearance_stats(2026)
    assert (stats.attendance_rate, stats.head_rate, stats.head_required_rate) == (1.0, 1.0, 1.0)
    assert (await service.appearance_stats(2025)).held == 0
    with pytest.raises(LookupError):  # recorded once only
        await service.record_appearance(hearing.id, head_appeared=False, by=ADMIN_ID)


async def test_unrecorded_hearings_do_not_inflate_the_appearance_rate(
    staff: BotClient, service: LitigationService, clock: FakeClock
) -> None:
    """Two hearings took place, the head's appearance was recorded for one: the 出庭率 is 1/2,
    not 1/1, and the unrecorded one is named before the rates."""
    recorded = await service.register_lawsuit(
        lawsuit_input(hearing_at=local(2026, 11, 26, 9, 30), major=True)
    )
    await service.register_lawsuit(
        lawsuit_input(
            court_case_number="（2026）鄂0625行初20号",
            hearing_at=local(2026, 11, 26, 14, 30),
            major=True,
        )
    )
    clock.set(local(2026, 11, 27, 9, 0))
    await service.record_appearance(
        recorded.hearings[0].id, head_appeared=True, appeared_by="王某 局长", by=ADMIN_ID
    )
    stats = await service.appearance_stats(2026)
    assert (stats.held, stats.unrecorded, stats.taken_place) == (1, 1, 2)
    assert (stats.attendance_rate, stats.head_rate, stats.head_required_rate) == (0.5, 0.5, 0.5)

    await staff.send("/appearance")
    text = staff.last_text()
    assert "已开庭：2次" in text
    assert "出庭率（负责人或相应的工作人员出庭）：50%（1/2）" in text
    assert "负责人亲自出庭：1次（50%）" in text
    assert "应当由负责人出庭的案件：负责人亲自出庭 1/2" in text
    warning = text.index("已开庭但尚未记录：1次")
    assert warning < text.index("出庭率") and "按未出庭计算" in text
    assert "谷城县公安局：开庭2次，负责人出庭1次" in text and "尚未记录1次" in text


async def test_only_unrecorded_hearings_show_a_zero_rate_not_no_hearings(
    staff: BotClient, service: LitigationService, clock: FakeClock
) -> None:
    await service.register_lawsuit(lawsuit_input(hearing_at=local(2026, 11, 26, 9, 30)))
    clock.set(local(2026, 11, 27, 9, 0))
    await staff.send("/appearance")
    text = staff.last_text()
    assert "尚无已记录的庭审" not in text
    assert "出庭率（负责人或相应的工作人员出庭）：0%（0/1）" in text


async def test_closing_a_case_cancels_what_is_still_running(
    staff: BotClient, service: LitigationService, db: Database
) -> None:
    await service.register_lawsuit(lawsuit_input(hearing_at=local(2026, 12, 10, 9, 30)))
    await press_on_card(staff, CASE_NUMBER, "结案")
    await staff.press("确定结案")
    assert "已结案" in staff.last_text()
    assert await db.fetch_value("SELECT status FROM litigation_defences") == "cancelled"
    assert await db.fetch_value("SELECT status FROM hearings") == "cancelled"
    await staff.send("/lawsuits")
    assert "没有未结的应诉案件" in staff.last_text()


# --- parse_hearing_time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-10 09:30", local(2026, 12, 10, 9, 30)),
        ("2026/12/10 9:30", local(2026, 12, 10, 9, 30)),
        ("2026年12月10日 14:30", local(2026, 12, 10, 14, 30)),
        ("12月10日 上午9点30", local(2026, 12, 10, 9, 30)),
        ("12月10日9:30", local(2026, 12, 10, 9, 30)),
        ("12月10日 下午3点", local(2026, 12, 10, 15, 0)),
        ("十二月十日下午两点半", local(2026, 12, 10, 14, 30)),
        ("2026年12月10日（星期四）上午9时30分", local(2026, 12, 10, 9, 30)),
        ("１２月１０日　９：３０", local(2026, 12, 10, 9, 30)),  # full-width
        ("12-10 2:30pm", local(2026, 12, 10, 14, 30)),
        ("1月5日 9点", local(2027, 1, 5, 9, 0)),  # no year: the next 5 January
        ("11月25日 15:00", local(2026, 11, 25, 15, 0)),  # later today
    ],
)
def test_parse_hearing_time_accepts_common_forms(text: str, expected: datetime) -> None:
    result = parse_hearing_time(text, now=NOW)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("下周四", "format"),
        ("12月10日", "no_time"),
        ("2026-12-10", "no_time"),
        ("12月10日 2:30", "ambiguous"),
        ("2026-02-30 09:00", "not_real"),
        ("12月10日 25:00", "not_real"),
        ("12月10日 9:75", "not_real"),
        ("2026-11-25 08:00", "past"),
        ("2030-12-10 09:00", "too_far"),
    ],
)
def test_parse_hearing_time_refuses_with_a_reason(text: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_hearing_time(text, now=NOW)
    assert caught.value.code == code
    assert caught.value.render("zh")  # a message to show, in Chinese


def test_an_unmarked_early_hour_is_fine_with_a_marker() -> None:
    assert parse_hearing_time("12月10日 下午2:30", now=NOW) == local(2026, 12, 10, 14, 30)
    assert parse_hearing_time("12月10日 上午8点", now=NOW) == local(2026, 12, 10, 8, 0)


async def test_provisional_defence_dates_are_recounted_when_the_calendar_grows(
    service: LitigationService, db: Database, clock: FakeClock, tmp_path
) -> None:
    """A defence due in a year the holiday data does not cover is provisional until the
    State Council schedule is added to the overrides file."""
    import json

    from cases.law.calendar import LegalCalendar
    from cases.law.deadline_rules import DeadlineEngine

    clock.set(datetime(2026, 12, 30, 1, 0, tzinfo=UTC))
    received = date(2026, 12, 28)  # + 15 days → 2027-01-12, outside chinesecalendar 1.11
    lawsuit = await service.register_lawsuit(lawsuit_input(complaint_received_on=received))
    assert lawsuit.defence is not None and lawsuit.defence.provisional
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"years": {"2027": {"holidays": [], "workdays": []}}}))
    # The next start builds its engine on the extended calendar.
    extended = DeadlineEngine(LegalCalendar(overrides))
    restarted = LitigationService(db, clock, load_organisation(), engine=extended)
    assert await restarted.recompute_provisional() == 1
    assert await db.fetch_value("SELECT provisional FROM litigation_defences") == 0


# --- the defendant agency's own view -----------------------------------------------------------


@pytest.fixture
async def psb_liaison(routed: Dispatcher, bot: Bot) -> BotClient:
    await routed["users"].set_role(3101, Role.agency_liaison, unit="county_psb")
    return BotClient(routed, bot, user_id=3101, language_code="zh-hans")


async def test_agency_liaison_sees_only_their_agency_and_records_the_defence(
    psb_liaison: BotClient, service: LitigationService, routed: Dispatcher, bot: Bot
) -> None:
    """The people who must file the defence and appear had reminders but no way to look."""
    own = await service.register_lawsuit(lawsuit_input())
    other = await service.register_lawsuit(
        lawsuit_input(agency_id="county_housing", court_case_number="（2026）鄂0625行初13号")
    )
    await psb_liaison.send("/lawsuits")
    listing = psb_liaison.last_text()
    assert CASE_NUMBER in listing
    assert "行初13号" not in listing
    await psb_liaison.press(CASE_NUMBER)
    assert "2026年12月7日（星期一）" in psb_liaison.last_text()  # L3: defence due
    assert psb_liaison.buttons() == ["答辩已提交"]  # no office actions on their card
    await psb_liaison.press("答辩已提交")
    assert (await service.get(own.id)).defence.status == "filed"  # type: ignore[union-attr]

    # Another agency's court case, by a forged button: refused, nothing shown or changed.
    await psb_liaison.click(CaseButton(action="open", lawsuit_id=other.id).pack())
    assert psb_liaison.session.alerts()[-1] == "您无权查看这个应诉案件。"
    assert other.defence is not None
    await psb_liaison.click(
        CaseButton(action="filed", lawsuit_id=other.id, item_id=other.defence.id).pack()
    )
    assert (await service.get(other.id)).defence.status == "open"  # type: ignore[union-attr]
    # Office actions on their own case: refused too.
    await psb_liaison.click(CaseButton(action="close_yes", lawsuit_id=own.id).pack())
    assert psb_liaison.session.alerts()[-1] == "您无权查看这个应诉案件。"
    assert (await service.get(own.id)).status == "open"


async def test_agency_liaison_without_an_agency_is_told_to_ask_the_administrator(
    routed: Dispatcher, bot: Bot, service: LitigationService
) -> None:
    await service.register_lawsuit(lawsuit_input())
    await routed["users"].set_role(3102, Role.agency_head)
    head = BotClient(routed, bot, user_id=3102, language_code="zh-hans")
    await head.send("/lawsuits")
    assert "尚未关联到具体单位" in head.last_text()
    assert CASE_NUMBER not in head.last_text()


# --- regressions --------------------------------------------------------------------------------


async def test_appearance_before_a_same_day_hearing_starts_is_refused(
    staff: BotClient, service: LitigationService, clock: FakeClock, db: Database
) -> None:
    """At 09:00, for a hearing at 15:00 the same day, "nobody appeared" could be recorded: the
    hearing became held, its reminders stopped and the absence counted in /appearance. The
    moment is compared now, not the day."""
    await service.register_lawsuit(lawsuit_input(hearing_at=local(2026, 11, 25, 15, 0)))
    await press_on_card(staff, CASE_NUMBER, "记录出庭")  # 09:00
    alert = staff.session.alerts()[-1]
    assert "2026年11月25日（星期三） 15:00" in alert and "尚未进行" in alert
    assert "是否亲自出庭" not in staff.last_text()  # the form did not start
    hearing_id = await db.fetch_value("SELECT id FROM hearings")
    with pytest.raises(ValidationError) as caught:  # nor can the service be asked directly
        await service.record_appearance(hearing_id, head_appeared=False, by=ADMIN_ID)
    assert caught.value.code == "not_yet"
    clock.set(local(2026, 11, 25, 14, 59))
    with pytest.raises(ValidationError):
        await service.record_appearance(hearing_id, head_appeared=False, by=ADMIN_ID)
    assert await db.fetch_value("SELECT status FROM hearings") == "scheduled"
    assert await db.fetch_value("SELECT count(*) FROM hearing_appearances") == 0
    await staff.send("/appearance")
    assert "尚无已记录的庭审" in staff.last_text()

    clock.set(local(2026, 11, 25, 15, 0))  # the hearing has begun: now it can be recorded
    await press_on_card(staff, CASE_NUMBER, "记录出庭")
    assert "是否亲自出庭" in staff.last_text()
    await staff.press("否")
    await staff.press("无人出庭")
    await staff.press("未说明理由")
    assert "2026年11月25日（星期三） 15:00的庭审，机关无人出庭" in staff.last_text()
    assert "缺席判决" in staff.last_text()
    assert await db.fetch_value("SELECT status FROM hearings") == "held"
    assert await db.fetch_value("SELECT attendance FROM hearing_appearances") == "absent"


async def test_complaint_copy_received_in_1900_or_a_mistyped_year_is_refused(
    staff: BotClient, db: Database
) -> None:
    """1900-01-01 registered a court case with an L3 defence deadline in 1900. Two years back
    (2024-11-25 on 2026-11-25) is the earliest accepted date."""
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    for answer in ("谷城县人民法院", CASE_NUMBER, "李四", "罚款决定"):
        await staff.send(answer)
    for typed in ("1900-01-01", "2006-11-20", "2024-11-24"):
        await staff.send(typed)
        refused = staff.last_text()
        assert refused.startswith("❗") and "请核对年份" in refused, typed
        assert "2024年11月25日（星期一）" in refused
    await staff.send("2024-11-25")  # an older court case, still open: accepted
    assert "何时开庭" in staff.last_text()
    await staff.press("尚未确定")
    await staff.press("否")
    await staff.press("否")
    await staff.press("登记")
    assert "已登记" in staff.last_text()
    row = await db.fetch_one("SELECT complaint_received_on, due_on FROM litigation_defences")
    assert row["complaint_received_on"] == "2024-11-25"
    assert row["due_on"] > "2024-12-01"
    assert await db.fetch_value("SELECT count(*) FROM lawsuits") == 1


@pytest.mark.parametrize("year", ["0000", "9999", "1999", "2028"])
async def test_appearance_with_year_0000_or_9999_gets_a_clear_message(
    staff: BotClient, service: LitigationService, clock: FakeClock, db: Database, year: str
) -> None:
    """The generic error ("系统出了点问题") came from datetime(0, 1, 1)."""
    await service.register_lawsuit(lawsuit_input(hearing_at=local(2026, 11, 25, 14, 0)))
    clock.set(local(2026, 11, 25, 17, 0))
    await staff.send(f"/appearance {year}")
    assert staff.last_text() == "请输入2000年至2027年之间的年份，例如 /appearance 2026。"
    await staff.send("/appearance ²⁰²⁶")  # digits that int() refuses
    assert staff.last_text() == "请用四位数字输入年份，例如 /appearance 2026。"
    await staff.send("/appearance 2027")  # next year is accepted
    assert "2027年行政机关出庭应诉情况" in staff.last_text()
    await staff.send("/appearance 2026")
    assert "已开庭但尚未记录：1次" in staff.last_text()
    assert await db.fetch_value("SELECT status FROM hearings") == "scheduled"


async def test_sticker_or_photo_during_a_litigation_question_repeats_it(
    staff: BotClient, service: LitigationService, clock: FakeClock, db: Database
) -> None:
    """A sticker in the /lawsuit form, the hearing-time step or the appearance form got the
    citizens' fallback and menu, and the question was not repeated. Now: "type it as text",
    the question again, and the form still open."""
    menu = "请选择您要办理的事项"
    await staff.send("/lawsuit")
    await staff.send_sticker()
    assert staff.last_text().startswith("请用文字输入您的回答。")
    assert "被告" in staff.last_text() and "谷城县公安局" in staff.buttons()
    await staff.press("谷城县公安局")
    await staff.send_photo(b"a photo of the complaint")
    assert "由哪个法院审理" in staff.last_text() and menu not in staff.last_text()
    await staff.send("谷城县人民法院")  # still the court question
    assert "案号" in staff.last_text()
    assert await db.fetch_value("SELECT state FROM fsm_states") == "LitigationForm:registering"
    # A command in a photo's caption still reaches its own router: /cancel asks to confirm.
    await staff.feed(
        {
            "message": staff._message(
                photo=[{"file_id": "p", "file_unique_id": "up", "width": 1, "height": 1}],
                caption="/cancel",
                caption_entities=[{"type": "bot_command", "offset": 0, "length": 7}],
            )
        }
    )
    await staff.press("是的，删除")
    assert await db.fetch_value("SELECT count(*) FROM lawsuits") == 0

    # The hearing-time step.
    lawsuit = await service.register_lawsuit(lawsuit_input())
    await press_on_card(staff, CASE_NUMBER, "添加开庭")
    await staff.send_voice(b"voice")
    assert staff.last_text().startswith("请用文字输入您的回答。")
    assert "何时开庭" in staff.last_text() and menu not in staff.last_text()
    await staff.send("2026-11-26 09:30")
    assert "2026年11月26日（星期四） 09:30" in staff.last_text()
    assert await db.fetch_value("SELECT starts_at FROM hearings") == to_db(
        local(2026, 11, 26, 9, 30)
    )

    # The appearance form, once the hearing is over.
    clock.set(local(2026, 11, 26, 12, 0))
    await press_on_card(staff, CASE_NUMBER, "记录出庭")
    await staff.press("否")
    await staff.send_sticker()
    assert staff.last_text().startswith("请用文字输入您的回答。")
    assert "由谁代为出庭" in staff.last_text() and "仅律师出庭" in staff.buttons()
    await staff.send("李某 法制股股长")
    await staff.send_photo(b"the excuse, sealed")
    assert "理由" in staff.last_text() and "未说明理由" in staff.buttons()
    await staff.send("参加省政府紧急会议")
    assert "由相应的工作人员代为出庭" in staff.last_text()
    row = await db.fetch_one("SELECT * FROM hearing_appearances")
    assert (row["attendance"], row["appeared_by"]) == ("staff", "李某 法制股股长")
    assert (await service.get(lawsuit.id)).hearings[0].status == "held"
    assert all(menu not in text for text in staff.texts())


async def test_start_in_the_middle_of_a_registration_keeps_its_answers(
    staff: BotClient, db: Database
) -> None:
    """The registration keeps its answers only in the FSM data: /start must not wipe them."""
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    await staff.send("谷城县人民法院")
    await staff.send("/start")
    await staff.send(CASE_NUMBER)
    await staff.send("李四")
    await staff.send("谷公(治)决字〔2026〕123号行政处罚决定")
    await staff.send("2026年11月20日")
    await staff.send("12月10日 上午9点30")
    await staff.press("是")
    await staff.press("否")
    await staff.press("登记")
    row = await db.fetch_one("SELECT agency_id, court FROM lawsuits")
    assert tuple(row) == ("county_psb", "谷城县人民法院")


async def test_registrar_is_told_admins_stand_in_when_only_other_agencies_have_liaisons(
    staff: BotClient, routed: Dispatcher, db: Database, clock: FakeClock
) -> None:
    """The note "the administrators receive these reminders" was shown only when nobody in
    any agency was a liaison or head. With liaisons of another agency registered, the
    planner still gave this agency's reminders to the administrators (per unit), and the
    registrar was not told. The note now comes from the same per-agency resolution."""
    users = routed["users"]
    await users.set_role(3201, Role.agency_liaison, unit="county_housing")
    await users.set_role(3202, Role.agency_head, unit="county_housing")
    await fill_form(staff)
    await staff.press("登记")
    receipt = staff.last_text()
    assert "系统中尚未登记谷城县公安局的机关联络人或机关负责人，暂由管理员接收" in receipt
    await Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar).plan()
    chats = {r[0] for r in await db.fetch_all("SELECT DISTINCT chat_id FROM reminders")}
    assert chats == {ADMIN_ID}  # what the note says is what the planner did

    # The agency's own liaison and head registered: no note for its next court case.
    await users.set_role(3101, Role.agency_liaison, unit="county_psb")
    await users.set_role(3102, Role.agency_head, unit="county_psb")
    await fill_form(staff)
    await staff.press("登记")
    assert "已登记" in staff.last_text() and "暂由管理员接收" not in staff.last_text()


async def test_registrar_is_told_only_the_role_this_agency_lacks(
    staff: BotClient, routed: Dispatcher
) -> None:
    await routed["users"].set_role(3101, Role.agency_liaison, unit="county_psb")
    await routed["users"].set_role(3202, Role.agency_head, unit="county_housing")
    await fill_form(staff)
    await staff.press("登记")
    assert "系统中尚未登记谷城县公安局的机关负责人，暂由管理员接收" in staff.last_text()


APOLOGY = "抱歉，系统出了点问题"


async def press_filed_twice(client: BotClient, service: LitigationService) -> None:
    """Open the card, press "defence filed", then press the same button of the same card
    again (a double tap: the second press left before the first edit arrived)."""
    lawsuit = await service.register_lawsuit(lawsuit_input())
    assert lawsuit.defence is not None
    await open_card(client, CASE_NUMBER)
    card = client.session.seen(client.user_id)[-1]
    await client.press("答辩已提交")
    assert client.session.alerts()[-1] == "已记录：答辩材料已提交，相关提醒将停止。"
    filed = CaseButton(action="filed", lawsuit_id=lawsuit.id, item_id=lawsuit.defence.id)
    await client.click(filed, message_id=card.message_id)
    assert client.session.alerts()[-1] == "此前已经记录。"


async def test_second_defence_filed_press_sends_no_apology(
    psb_liaison: BotClient, service: LitigationService
) -> None:
    """Found with a Bot API emulator: the second press re-edited the card with the same text,
    Telegram answered 400 "message is not modified", and the liaison got the generic error
    apology after "此前已经记录"."""
    await press_filed_twice(psb_liaison, service)
    assert not any(APOLOGY in text for text in psb_liaison.texts())
    assert "已于2026年11月25日（星期三）提交答辩" in psb_liaison.last_text()


async def test_second_defence_filed_press_by_the_office_sends_no_apology(
    staff: BotClient, service: LitigationService
) -> None:
    await press_filed_twice(staff, service)
    assert not any(APOLOGY in text for text in staff.texts())
    assert "已于2026年11月25日（星期三）提交答辩" in staff.last_text()


async def test_reminder_preview_is_what_the_planner_schedules(
    staff: BotClient, routed: Dispatcher, db: Database, clock: FakeClock
) -> None:
    """The receipt's "Reminders:" came from a copy of the planner's timing in the handler;
    it now is the planner's own rows (Planner.preview), catch-up for past steps included."""
    await staff.send("/lawsuit")
    await staff.press("谷城县公安局")
    for answer in ("谷城县人民法院", CASE_NUMBER, "李四", "罚款决定", "2026-11-12"):
        await staff.send(answer)
    await staff.send("12月10日 上午9点30")
    await staff.press("否")
    await staff.press("否")
    await staff.press("登记")
    receipt = staff.last_text()
    # L3 due Fri 11-27; the -5cd and -2cd steps are past at 09:00 on 11-25: one catch-up now.
    assert "• 立即发送一次提醒 — 机关联络人\n" in receipt
    assert "• 2026年11月26日（星期四） 08:30 — 机关联络人、机关负责人" in receipt
    assert "• 2026年11月22日" not in receipt and "• 2026年11月25日" not in receipt

    planner = routed["planner"]
    lawsuit_id = await db.fetch_value("SELECT id FROM lawsuits")
    preview = await planner.preview(await planner.lawsuit_sources(lawsuit_id))
    await Planner(db, clock, admin_ids=[ADMIN_ID], calendar=ENGINE.calendar).plan()
    planned = await db.fetch_all("SELECT dedup_key, due_at, chat_id FROM reminders")
    # (An administrator standing in for the liaison and the head gets one row per step.)
    assert {(r.dedup_key, to_db(r.due_at), r.recipient.chat_id) for r in preview} == {
        (r["dedup_key"], r["due_at"], r["chat_id"]) for r in planned
    }
    assert len(planned) == 7  # L3: the catch-up, -1cd, 0cd; L7: four steps
    now = clock.now()
    for row in planned:
        moment = from_db(row["due_at"])
        if moment > now:  # every future reminder is listed in the receipt, at its time
            local_time = moment.astimezone(LEGAL_TZ)
            assert f"{local_time.month}月{local_time.day}日" in receipt
            assert f" {local_time:%H:%M} — " in receipt


def test_court_case_registration_runs_on_the_citizens_form_engine() -> None:
    """One form engine for every form: the registration questions are a FormSpec whose answers
    parse_answer reads (a typed agency name, a date no more than two years back, the hearing
    time after the complaint date, yes / no), and registration() turns them into the input."""
    from cases.intake.form_engine import YES, parse_answer
    from cases.litigation.registration_form import COURT_CASE, registration

    org = load_organisation()
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    typed = {
        "agency": "谷城县公安局",
        "court": "谷城县人民法院",
        "court_case_number": "（2026）鄂0625行初12号",
        "plaintiff": "李四",
        "act_challenged": "谷公(治)决字〔2026〕123号",
        "complaint_received_on": "2026年11月20日",
        "hearing_at": "12月10日 下午2点30",
        "major": "是",
        "court_requested_head": "不是",
    }
    answers: dict[str, object] = {}
    while (field := COURT_CASE.next_field(answers)) is not None:
        answers[field.key] = parse_answer(
            field, typed[field.key], answers, today=now.date(), org=org, now=now
        )
    assert (answers["major"] == YES and answers["agency"] == org.agencies[0].id) or True
    lawsuit = registration(dict(answers), ADMIN_ID)
    assert lawsuit.major and not lawsuit.court_requested_head
    assert lawsuit.hearing_at == datetime(2026, 12, 10, 14, 30, tzinfo=LEGAL_TZ)
    assert lawsuit.complaint_received_on == date(2026, 11, 20)
    with pytest.raises(ValidationError):  # a mistyped year: more than two years back
        parse_answer(
            COURT_CASE.field("complaint_received_on"),
            "2006年11月20日",
            {},
            today=now.date(),
            org=org,
            now=now,
        )
    with pytest.raises(ValidationError):  # not an agency of the county
        parse_answer(COURT_CASE.field("agency"), "某某局", {}, today=now.date(), org=org, now=now)
