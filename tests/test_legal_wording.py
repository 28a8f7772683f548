"""Legal review of what users are told (review r3): each test is named after a defect found in
the wording and asserts, through the production routers, the article a user now reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from scheduling.outbox import Outbox
from scheduling.sender import render_text
from tests.fakes.telegram import BotClient
from tests.scheduling_helpers import FakeTransport
from tests.support import (
    ADMIN_ID,
    PacedClient,
    compute,
    file_petition,
    file_reconsideration,
    staff_client,
)

CITIZEN = 1001
OFFICE = 7001


@pytest.fixture
def citizen(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return PacedClient(dispatcher, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)


@pytest.fixture
async def office(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dispatcher, bot, clock, OFFICE, Role.office_staff)


async def _start_booking(client: BotClient) -> None:
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("拆迁补偿")
    await client.send("补偿到位")
    await client.send("王小明")


async def test_representatives_limit_cited_xf_20_item_3_though_it_is_paragraph_3(
    client: BotClient,
) -> None:
    """XF 20 has four paragraphs (款) and no items (项): the five-representative rule is
    第二十条第三款."""
    await _start_booking(client)
    await client.press("5人以上")
    text = client.last_text()
    assert "《信访工作条例》第二十条第三款" in text and "第三项" not in text
    assert "不得超过5人" in text


async def test_booking_refused_for_a_matter_in_court_gave_no_article(
    client: BotClient, db: Database
) -> None:
    """XF 20(2): a visit about litigation remedies goes to the political-legal departments;
    XF 31: court, arbitration and reconsideration matters keep their procedure. The refusal
    to book now names both."""
    await _start_booking(client)
    await client.press("3")
    await client.press("法院")
    text = client.last_text()
    assert "《信访工作条例》第二十条第二款、第三十一条" in text and "没有预约" in text
    assert await db.fetch_value("SELECT count(*) FROM bookings") == 0


async def test_refusal_prompt_did_not_ask_for_the_competent_body_of_fy_30_2(
    citizen: PacedClient, office: PacedClient, db: Database
) -> None:
    """FY 30(2): a refusal for want of jurisdiction must name the competent 复议机关; the
    prompt for the reason now says so."""
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("不予受理")
    prompt = office.last_text()
    assert "第三十条第二款" in prompt and "有管辖权的行政复议机关" in prompt


async def test_transfer_was_labelled_outside_the_county_though_it_serves_the_county_jiwei(
    citizen: PacedClient, office: PacedClient, db: Database
) -> None:
    """The transfer goes to any body not in the organisation file: the next level, or the
    纪检监察机关 for a report (XF 22(2), 30), which may be the county's own 纪委监委. The
    button said 转送县外机关 and its prompt gave 谷城县纪委监委 as an example of one."""
    case_id = await file_petition(citizen, db, request="反映某站所工作人员吃拿卡要")
    await office.click(f"staff:view:{case_id}::0:0::")
    assert not any("县外" in b for b in office.buttons())
    await office.press("转送其他机关")
    prompt = office.last_text()
    assert "县外" not in prompt and "纪检监察机关" in prompt and "组织名录以外" in prompt


async def test_mediation_request_for_a_dispute_in_reconsideration_cited_fy_29_and_xf_31(
    client: BotClient,
) -> None:
    """A mediation request is no petition and FY 29 bars parallel suits, not mediation: the
    form cited XF 31 / FY 29 and said the matter "cannot be filed again here". The 复议机关
    may mediate within its procedure (FY 5)."""
    await client.send("/mediation")
    await client.press("复议机关已受理")
    text = client.last_text()
    assert "信访工作条例" not in text and "第二十九条" not in text
    assert "《行政复议法》第五条" in text and "自愿" in text


async def test_mediation_request_for_a_dispute_in_court_cited_the_petition_regulations(
    client: BotClient,
) -> None:
    await client.send("/mediation")
    await client.press("法院")
    text = client.last_text()
    assert "信访工作条例" not in text and "法院" in text


async def test_acceptance_after_the_review_period_told_accepted_not_deemed_accepted(
    citizen: PacedClient, office: PacedClient, db: Database, clock: FakeClock
) -> None:
    """FY 30(3): when the 5 working days end without a refusal the application is 视为受理
    from that day; the notice of an acceptance recorded afterwards said 自该日起受理."""
    case_id = await file_reconsideration(citizen, db)
    clock.advance(timedelta(days=8))  # F5 (filed Wed 11-25) ended on Wed 12-02
    await office.click(f"case:view:{case_id}")
    await office.press("受理")
    await office.press("普通程序")
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN_ID]).dispatch_due()
    told = [render_text(r) for r in transport.delivered if r.chat_id == CITIZEN]
    assert any("自该日起视为受理（《行政复议法》第三十条第三款）" in text for text in told), told


async def test_reception_day_petition_did_not_say_the_answer_is_written_and_on_the_spot(
    client: BotClient, dispatcher: Dispatcher, bot: Bot, clock: FakeClock
) -> None:
    """XF 23(2): a matter raised in person is answered in writing on the spot where possible,
    else within the period from receipt (the reception day). The head was told only that "the
    time counts from the reception day"."""
    await client.send("/book")
    await client.press("公安局")
    await client.press("11月30日")
    await client.press("09:00")
    await client.send("邻居长期噪音扰民")
    await client.send("请派出所依法处理")
    await client.send("王小明")
    await client.press("2")
    await client.press("没有")
    await client.press("确认预约")
    await dispatcher["users"].set_role(7102, Role.agency_head, "county_psb")
    head = BotClient(dispatcher, bot, user_id=7102, language_code="zh-hans")
    clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))  # the reception day, 09:30
    await head.send("/roster")
    await head.press("来了")
    await head.press("登记为信访事项")
    await head.press("申诉、求决")
    said = "\n".join(head.texts()[-3:])
    assert "当场书面告知" in said and "《信访工作条例》第二十三条第二款" in said


async def test_deemed_withdrawal_was_offered_before_ten_working_days_from_receipt_of_the_notice(
    citizen: PacedClient, office: PacedClient, db: Database, clock: FakeClock
) -> None:
    """FY 31(2): the applicant has 10 working days "自收到补正通知之日起". F7 was counted from
    the request day, so a notice delivered days later (the chat unreachable) let the office
    deem the application abandoned before the applicant's time was up."""
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("通知补正")
    await office.send("请提交处罚决定书复印件。")
    await office.press("确认")
    clock.advance(timedelta(days=3))  # delivered on Sat 2026-11-28
    await Outbox(db, FakeTransport(), clock, admin_ids=[ADMIN_ID]).dispatch_due()
    stored = compute("F7", date(2026, 11, 25)).due
    from_receipt = compute("F7", date(2026, 11, 28)).due
    assert (stored, from_receipt) == (date(2026, 12, 9), date(2026, 12, 11))

    clock.set(datetime.combine(date(2026, 12, 10), time(2, 0), tzinfo=UTC))  # 10:00 in Gucheng
    await office.click(f"case:view:{case_id}")
    assert not any("视为放弃" in b for b in office.buttons())

    clock.set(datetime.combine(date(2026, 12, 14), time(2, 0), tzinfo=UTC))
    await office.click(f"case:view:{case_id}")
    await office.press("视为放弃")
    assert "2026-12-11" in office.last_text() or "2026年12月11日" in office.last_text()


async def test_deemed_withdrawal_not_offered_while_the_correction_notice_waits_in_the_outbox(
    citizen: PacedClient, office: PacedClient, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("通知补正")
    await office.send("请提交处罚决定书复印件。")
    await office.press("确认")
    clock.set(datetime.combine(date(2026, 12, 14), time(2, 0), tzinfo=UTC))  # never delivered
    await office.click(f"case:view:{case_id}")
    assert not any("视为放弃" in b for b in office.buttons())
