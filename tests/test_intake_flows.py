"""Citizens filing through the chat: the three forms end to end, bad input, forged buttons,
double submits, restarts."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from aiogram import Bot

from cases.store.db import Database
from cases.store.time import FakeClock
from settings import Settings
from tests.fakes.telegram import BotClient
from tests.support import (
    OTHER_VALID_ID,
    VALID_ID,
    begin_reconsideration,
    fill_mediation,
    fill_reconsideration,
)


async def test_reconsideration_end_to_end_in_chinese(client: BotClient, db: Database) -> None:
    await fill_reconsideration(client)
    summary = client.last_text()
    assert "请核对" in summary
    assert "420625********0018" in summary
    assert "138****1234" in summary
    assert "谷城县公安局" in summary
    # F1: 60 days from 2026-11-03 is Sat 2027-01-02; 2027 is not in the holiday data yet, so
    # the date rolls to Monday and is marked provisional.
    assert "申请期限：2027年1月4日（星期一）前" in summary
    assert "暂定" in summary
    await client.press("提交")
    receipt = client.last_text()
    assert "<code>FY-2026-000001</code>" in receipt
    assert "谷城县司法局" in receipt
    # F5 (FY 30): 5 working days after Wed 2026-11-25 → Wed 2026-12-02.
    assert "2026年12月2日（星期三）" in receipt
    assert "依据《行政复议法》第三十条" in receipt
    row = await db.fetch_one("SELECT * FROM cases")
    assert row["number"] == "FY-2026-000001"
    assert row["respondent"] == "谷城县公安局"
    answers = json.loads(row["answers"])
    assert answers["act_date"] == "2026-11-01"
    assert answers["known_date"] == "2026-11-03"
    party = await db.fetch_one("SELECT * FROM parties WHERE role = 'applicant'")
    assert party["id_number"] == VALID_ID
    assert party["phone"] == "13800001234"
    file = await db.fetch_one("SELECT * FROM attachments")
    assert file["case_id"] == row["id"]
    assert len(file["sha256"]) == 64
    deadline = await db.fetch_one("SELECT rule_id, due_on FROM case_deadlines")
    assert tuple(deadline) == ("F5", "2026-12-02")


async def test_no_message_ever_repeats_a_full_id_number(client: BotClient) -> None:
    await fill_reconsideration(client)
    await client.press("提交")
    await client.send("/mycases")
    assert not any(VALID_ID in text for text in client.texts())


async def test_invalid_id_is_explained_and_nothing_is_lost(
    client: BotClient, db: Database
) -> None:
    await client.send("/reconsider")
    await client.press("没有")
    await client.press("为本人申请")
    await client.send("张三")
    await client.send("420625198503120019")  # wrong check digit
    assert client.last_text().startswith("❗")
    await client.send("42062519850312001")  # too short
    assert client.last_text().startswith("❗")
    await client.send(VALID_ID)
    assert "电话" in client.last_text()
    draft = await db.fetch_one("SELECT answers FROM drafts")
    answers = json.loads(draft[0])
    assert answers["applicant_name"] == "张三"
    assert answers["id_number"] == VALID_ID


async def test_future_and_inconsistent_dates_are_refused(client: BotClient) -> None:
    await begin_reconsideration(client)
    await client.press("谷城县公安局")
    await client.press("作出的决定")
    await client.send("谷公决字〔2026〕1号")
    await client.send("2026-12-20")  # after today (2026-11-25)
    assert client.last_text().startswith("❗")
    await client.send("2026-11-10")
    await client.send("2026-11-01")  # learned before the decision was made
    assert client.last_text().startswith("❗")
    assert "2026年11月10日" in client.last_text()
    await client.send("2026-11-12")
    # Within the 60 days of F1: neither how it was served nor whether the rights were told
    # can change anything, so the next question is the request.
    assert "您请求复议机关做什么" in client.last_text()


async def test_oversize_text_is_refused_with_the_limit(client: BotClient) -> None:
    await client.send("/petition")
    await client.press("没有")
    await client.press("建议")
    await client.send("李" * 60)
    assert client.last_text().startswith("❗")
    assert "50" in client.last_text()


async def test_late_application_asks_for_the_reason_with_the_basis(
    client: BotClient, db: Database
) -> None:
    await begin_reconsideration(client)
    await client.press("谷城县公安局")
    await client.press("作出的决定")
    await client.send("谷公决字〔2026〕1号")
    await client.send("2026-08-01")
    await client.send("2026-08-02")
    await client.press("当面送达")
    await client.press("是")  # told of the right: F1, 60 days from 2026-08-02 → 2026-10-01
    question = client.last_text()
    assert "申请期限已经" in question
    # 2026-10-01 is in the National Day holiday: rolled forward to 2026-10-08 (C4).
    assert "2026年10月8日" in question
    assert "《行政复议法》第二十条" in question
    await client.send("住院治疗，无法申请")
    draft = json.loads((await db.fetch_one("SELECT answers FROM drafts"))[0])
    assert draft["late_reason"] == "住院治疗，无法申请"


async def test_double_submit_creates_one_case(client: BotClient, db: Database) -> None:
    await fill_reconsideration(client)
    summary_keyboard = client.session.seen(client.user_id)[-1]
    submit = next(
        b.callback_data
        for row in summary_keyboard.markup.inline_keyboard
        for b in row
        if "提交" in b.text
    )
    await client.click(submit)
    await client.click(submit)
    assert await db.fetch_value("SELECT count(*) FROM cases") == 1
    assert "已经提交" in client.last_text()
    assert "FY-2026-000001" in client.last_text()


async def test_forged_button_for_someone_elses_draft_is_refused(
    client: BotClient, english_client: BotClient, db: Database
) -> None:
    await client.send("/petition")
    draft_id = await db.fetch_value("SELECT id FROM drafts")
    await english_client.click(f"f:{draft_id}:pick:elsewhere:0")
    await english_client.click(f"f:{draft_id}:submit::0")
    assert english_client.session.alerts()[-2:] == [
        "This form is not open any more (or is not yours).",
        "This form is not open any more (or is not yours).",
    ]
    draft = json.loads((await db.fetch_one("SELECT answers FROM drafts"))[0])
    assert draft == {}


async def test_button_of_an_answered_question_does_not_change_it(
    client: BotClient, db: Database
) -> None:
    await client.send("/petition")
    await client.press("没有")
    draft_id = await db.fetch_value("SELECT id FROM drafts")
    await client.click(f"f:{draft_id}:pick:elsewhere:1")  # the old "yes, a court" button
    assert "这个问题已经回答过" in client.session.alerts()[-1]
    draft = json.loads((await db.fetch_one("SELECT answers, status FROM drafts"))[0])
    assert draft["elsewhere"] == "none"


async def test_matter_already_in_court_is_redirected_not_filed(
    client: BotClient, db: Database
) -> None:
    await client.send("/petition")
    await client.press("是，法院")
    text = client.last_text()
    assert "《信访工作条例》第三十一条" in text
    assert "没有提交任何内容" in text
    assert await db.fetch_value("SELECT count(*) FROM drafts WHERE status = 'open'") == 0


async def test_respondent_outside_the_county_is_sent_to_the_right_body(
    client: BotClient,
) -> None:
    await begin_reconsideration(client)
    await client.press("税务局")
    text = client.last_text()
    assert "国家税务总局襄阳市税务局" in text
    assert "没有提交任何内容" in text


async def test_petition_in_english_with_group_representatives(
    english_client: BotClient, db: Database
) -> None:
    c = english_client
    await c.send("/petition")
    await c.press("No, nowhere else")
    await c.press("complaint or request")
    await c.send("Alice Wang")
    await c.send(OTHER_VALID_ID)
    await c.send("0710-7221234")
    await c.send("Chengguan, Gucheng")
    assert "Your address names Chengguan Town" in c.last_text()
    await c.press("✅ Chengguan")  # the township the address names, confirmed
    await c.send("Repair the village road")
    await c.send("The road has been broken for a year. Children walk to school on it.")
    await c.press("Yes, one or more")  # speaks for a group
    await c.press("Skip")  # no particular agency
    await c.press("No")  # not raised before
    await c.send("12")
    assert "at most 5 representatives" in c.last_text()
    await c.send("A, B, C, D, E, F")
    assert c.last_text().startswith("❗")
    await c.send("Alice Wang, Bob Li")
    assert "Please check your answers" in c.last_text()
    await c.press("Submit")
    receipt = c.last_text()
    assert "<code>XF-2026-000001</code>" in receipt
    # X1 (XF 22): 15 days after 2026-11-25 → 2026-12-10 (Thursday).
    assert "Thu 10 Dec 2026" in receipt
    reps = await db.fetch_all("SELECT name FROM parties WHERE role = 'representative'")
    assert [r[0] for r in reps] == ["Alice Wang", "Bob Li"]


async def test_report_of_misconduct_is_marked_sensitive(client: BotClient, db: Database) -> None:
    await client.send("/petition")
    await client.press("没有")
    await client.press("检举")
    await client.send("匿名群众")
    await client.send(VALID_ID)
    await client.send("13800001234")
    await client.send("城关镇")
    await client.press("城关镇")
    await client.send("查处某干部收受贿赂")
    await client.send("某干部收受红包，违反廉洁纪律")
    await client.press("以上都没有")
    await client.press("提交")
    assert await db.fetch_value("SELECT sensitive FROM cases") == 1


async def test_mediation_is_routed_to_the_specialised_room(
    client: BotClient, db: Database
) -> None:
    await fill_mediation(client)
    await client.press("提交")
    receipt = client.last_text()
    assert "<code>TJ-2026-000001</code>" in receipt
    routed = await db.fetch_value("SELECT routed_to FROM cases")
    assert routed.startswith("room:")
    assert "公安" in await db.fetch_value("SELECT routed_to_name FROM cases")


async def test_mediation_refused_by_the_other_side_is_explained(client: BotClient) -> None:
    await client.send("/mediation")
    await client.press("没有")
    await client.press("拒绝")
    assert "人民调解法" not in client.last_text()  # 行政调解 (domain §5)


async def test_second_filing_on_the_same_matter_is_linked(client: BotClient, db: Database) -> None:
    await fill_mediation(client)
    await client.press("提交")
    await fill_mediation(client)
    await client.press("提交")
    receipt = client.last_text()
    assert "TJ-2026-000002" in receipt
    assert "TJ-2026-000001" in receipt
    assert "《信访工作条例》第十九条" in receipt
    linked = await db.fetch_value(
        "SELECT linked_case_id FROM cases WHERE number = ?", ("TJ-2026-000002",)
    )
    assert linked == await db.fetch_value("SELECT id FROM cases WHERE number = 'TJ-2026-000001'")


async def test_edit_from_the_summary_changes_one_answer(client: BotClient, db: Database) -> None:
    await fill_mediation(client)
    await client.press("修改")
    await client.press("对方联系方式")
    await client.send("谷城县城关镇西街2号")
    assert "请核对" in client.last_text()
    assert "西街2号" in client.last_text()


async def test_unsupported_and_oversize_files_are_refused(client: BotClient, db: Database) -> None:
    await fill_mediation(client)  # files are sent at any step, here on the summary
    await client.send_document("virus.exe", "application/x-msdownload", b"MZ")
    assert "不能接收这种类型" in client.last_text()
    await client.send_document("big.pdf", "application/pdf", b"%PDF", size=25 * 1024 * 1024)
    assert "20 MB" in client.last_text() or "20MB" in client.last_text()
    await client.send_document("ok.pdf", "application/pdf", b"%PDF-1.4 ok")
    await client.send_document("ok.pdf", "application/pdf", b"%PDF-1.4 ok")
    assert "只保存一份" in client.last_text()
    assert await db.fetch_value("SELECT count(*) FROM attachments") == 1


async def test_cancel_inside_a_form_asks_then_discards(client: BotClient, db: Database) -> None:
    await client.send("/petition")
    await client.press("没有")
    await client.send("/cancel")
    await client.press("是的，删除")
    assert await db.fetch_value("SELECT status FROM drafts") == "discarded"
    await client.send("张三")  # no form open any more: the menu, not an answer
    assert client.last_text() == "请选择您要办理的事项："


async def test_restart_mid_form_continues_where_the_citizen_stopped(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot, client: BotClient
) -> None:
    from bot import create_dispatcher

    await client.send("/mediation")
    await client.press("没有")
    await client.press("同意")
    # A new Dispatcher on the same database: what a restart of the process does.
    restarted = BotClient(create_dispatcher(settings, db, clock), bot, user_id=client.user_id)
    await restarted.press("交通事故")
    assert "哪个乡镇" in restarted.last_text()
    await restarted.send("/mediation")
    assert "接着填写" in restarted.last_text()
    assert "哪个乡镇" in restarted.last_text()


async def test_concurrent_submissions_get_distinct_numbers(
    dispatcher, bot: Bot, db: Database
) -> None:
    clients = [BotClient(dispatcher, bot, user_id=5000 + i) for i in range(6)]
    for c in clients:
        await fill_mediation(c, other=f"对方{c.user_id}")
    await asyncio.gather(*(c.press("提交") for c in clients))
    numbers = [r[0] for r in await db.fetch_all("SELECT number FROM cases")]
    assert len(numbers) == 6
    assert len(set(numbers)) == 6
    assert sorted(numbers) == [f"TJ-2026-{i:06d}" for i in range(1, 7)]


async def test_mycases_shows_only_the_citizens_own_cases(
    client: BotClient, english_client: BotClient, db: Database
) -> None:
    await fill_mediation(client)
    await client.press("提交")
    case_id = await db.fetch_value("SELECT id FROM cases")
    await client.send("/mycases")
    assert "TJ-2026-000001" in client.last_text()
    await client.press("TJ-2026-000001")
    page = client.last_text()
    assert "办理经过" in page
    assert "420625********0018" in page
    # Someone else forging the button sees nothing.
    await english_client.click(f"case:view:{case_id}")
    assert english_client.session.alerts()[-1] == "This case is not available to you."
    await english_client.send("/mycases")
    assert "TJ-2026-000001" not in english_client.last_text()


async def test_withdrawal_is_confirmed_and_cancels_the_clock(
    client: BotClient, db: Database
) -> None:
    await fill_reconsideration(client)
    await client.press("提交")
    await client.send("/mycases")
    await client.press("FY-2026-000001")
    await client.press("撤回")
    assert "《行政复议法》第七十四条" in client.last_text()
    [confirm] = [
        button.callback_data
        for sent in client.session.seen(client.user_id)[-1:]
        for row in (sent.markup.inline_keyboard if sent.markup else [])
        for button in row
        if button.text == "是的，撤回"
    ]
    await client.press("是的，撤回")
    assert await db.fetch_value("SELECT status FROM cases") == "withdrawn"
    assert await db.fetch_value("SELECT status FROM case_deadlines") == "cancelled"
    assert confirm is not None
    await client.click(confirm)  # pressed twice: said plainly, not "can no longer"
    assert client.last_text() == "案件 <code>FY-2026-000001</code> 已经撤回。"


async def test_material_for_a_case_closed_meanwhile_says_closed_not_unavailable(
    client: BotClient, db: Database
) -> None:
    """Regression: the citizen's own case, refused while they were adding material, was
    answered "您无权查看这个案件", as if it were someone else's."""
    await fill_mediation(client)
    await client.press("提交")
    await client.send("/mycases")
    await client.press("TJ-2026-000001")
    await client.press("补充材料")
    await db.execute("UPDATE cases SET status = 'closed'")
    await client.send("补充说明：对方已承认责任。")
    assert client.last_text().startswith("这个案件已经办结，不能再补充材料")
    added = "SELECT count(*) FROM case_events WHERE kind = 'material_added'"
    assert await db.fetch_value(added) == 0


async def test_material_added_after_submission_is_recorded(
    client: BotClient, db: Database
) -> None:
    await fill_mediation(client)
    await client.press("提交")
    await client.send("/mycases")
    await client.press("TJ-2026-000001")
    await client.press("补充材料")
    await client.send("补充说明：对方已承认责任。")
    await client.send_document("receipt.pdf", "application/pdf", b"%PDF-1.4 receipt")
    await client.press("完成")
    kinds = [r[0] for r in await db.fetch_all("SELECT kind FROM case_events ORDER BY id")]
    assert kinds.count("material_added") == 2
    assert await db.fetch_value("SELECT count(*) FROM attachments WHERE case_id IS NOT NULL") == 1


async def test_triage_leads_to_the_right_form(client: BotClient) -> None:
    await client.send("/start")
    await client.press("不知道选哪个")
    for _ in range(4):
        await client.press("否")  # not in court, arbitration, reconsideration; no report
    await client.press("是")  # disagrees with an agency's decision
    assert "行政复议" in " ".join(client.buttons())
    assert re.search(r"《行政复议法》第", client.last_text())


async def test_typing_a_button_label_counts_as_pressing_it(
    client: BotClient, db: Database
) -> None:
    """Regression: typed Chinese labels were compared with the English msgids only."""
    await client.send("/mediation")
    await client.send("没有，其他地方都没有受理")
    await client.send("是的，对方同意")
    assert "是哪一类纠纷" in client.last_text()
    draft = json.loads((await db.fetch_one("SELECT answers FROM drafts"))[0])
    assert draft == {"elsewhere": "none", "other_side_agrees": "yes"}


async def test_a_configured_local_mediation_period_appears_on_the_receipt(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot
) -> None:
    from bot import create_dispatcher
    from cases.law.deadline_rules import AdminMediationPeriod, DeadlineEngine, LocalPeriods

    engine = DeadlineEngine(
        local_periods=LocalPeriods(
            admin_mediation=AdminMediationPeriod(count=10, basis="《谷城县行政调解办法》第十条")
        )
    )
    client = BotClient(
        create_dispatcher(settings, db, clock, engine=engine),
        bot,
        user_id=1001,
        language_code="zh-hans",
    )
    await fill_mediation(client)
    await client.press("提交")
    receipt = client.last_text()
    # 10 working days after Wed 2026-11-25 → Wed 2026-12-09.
    assert "2026年12月9日（星期三）" in receipt
    assert "《谷城县行政调解办法》第十条" in receipt
    assert await db.fetch_value("SELECT rule_id FROM case_deadlines") == "MA"


async def test_without_a_local_mediation_period_no_deadline_is_invented(
    settings: Settings, db: Database, clock: FakeClock, bot: Bot
) -> None:
    from bot import create_dispatcher
    from cases.law.deadline_rules import DeadlineEngine, LocalPeriods

    engine = DeadlineEngine(local_periods=LocalPeriods(admin_mediation=None))
    client = BotClient(
        create_dispatcher(settings, db, clock, engine=engine),
        bot,
        user_id=1001,
        language_code="zh-hans",
    )
    await fill_mediation(client)
    await client.press("提交")
    assert "TJ-2026-000001" in client.last_text()
    assert await db.fetch_value("SELECT count(*) FROM case_deadlines") == 0


async def test_dates_can_be_picked_with_buttons(client: BotClient, db: Database) -> None:
    await begin_reconsideration(client)
    await client.press("谷城县公安局")
    await client.press("作出的决定")
    await client.send("谷公决字〔2026〕1号")
    await client.press("昨天")  # the decision: 2026-11-24
    await client.press("今天")  # learned of it: 2026-11-25
    answers = json.loads((await db.fetch_one("SELECT answers FROM drafts"))[0])
    assert (answers["act_date"], answers["known_date"]) == ("2026-11-24", "2026-11-25")


async def test_reconsideration_end_to_end_in_english(
    english_client: BotClient, db: Database
) -> None:
    c = english_client
    await c.send("/reconsider")
    await c.press("No, nowhere else")
    await c.press("For myself")
    await c.send("Alice Wang")
    await c.press("Not a resident ID card")
    await c.press("Passport")
    await c.send("E12345678")
    await c.send("13800001234")
    await c.send("Chengguan, Gucheng")
    await c.press("Public Security")
    await c.press("A decision")
    await c.send("Fine notice 2026-123")
    await c.send("2026-11-01")
    await c.send("2026-11-03")  # within the 60 days: no questions about service or rights
    await c.send("Revoke the fine")
    await c.send("I was not there.")
    await c.press("Yes, one or more")
    await c.press("No")  # no compensation
    await c.press("Skip")  # third parties
    await c.press("Skip")  # agent
    await c.press("Yes")
    summary = c.last_text()
    assert "E1*****78" in summary
    assert "E12345678" not in summary
    await c.press("Submit")
    receipt = c.last_text()
    assert "<code>FY-2026-000001</code>" in receipt
    assert "Wed 2 Dec 2026" in receipt
    assert "Administrative Reconsideration Law, Art. 30" in receipt


async def test_mediation_end_to_end_in_english(english_client: BotClient, db: Database) -> None:
    c = english_client
    await c.send("/mediation")
    await c.press("No, nowhere else")
    await c.press("Yes, they agree")
    await c.press("neighbours")
    await c.press("Shihua")
    await c.send("Alice Wang")
    await c.send(OTHER_VALID_ID)
    await c.send("13800001234")
    await c.send("Shihua Town")
    await c.send("Bob Li")
    await c.send("His tree fell on my roof. I ask for repair costs of 2,000 yuan.")
    await c.press("Skip")
    await c.press("Submit")
    assert "<code>TJ-2026-000001</code>" in c.last_text()
    assert await db.fetch_value("SELECT count(*) FROM parties WHERE role = 'other_party'") == 1


async def test_typed_respondent_name_is_accepted_not_a_crash(
    client: BotClient, db: Database
) -> None:
    """Regression: typing the agency instead of pressing its button raised UnknownId."""
    await begin_reconsideration(client)
    await client.send("谷城县某某管理站")
    assert "部门作出的决定" in client.last_text()
    answers = json.loads((await db.fetch_one("SELECT answers FROM drafts"))[0])
    assert answers["respondent_id"] == "text:谷城县某某管理站"


async def test_city_branch_in_the_county_may_be_filed_here(client: BotClient) -> None:
    """FY 24 (last paragraph): the county government may also review a city department's
    branch in the county, so the traffic police brigade is not sent away."""
    await begin_reconsideration(client)
    await client.press("交通警察")
    assert "部门作出的决定" in client.last_text()


async def test_inaction_window_runs_from_the_end_of_the_agencys_60_days(
    client: BotClient, db: Database
) -> None:
    """F4 (FYSS 16): request received 2026-08-20 → the agency had until 2026-10-19 → the
    60-day window (F1) ends 2026-12-18: not late on 2026-11-25."""
    await begin_reconsideration(client)
    await client.press("谷城县公安局")
    await client.press("没有履行")
    await client.send("为我办理户口迁移")
    await client.send("2026-08-20")
    assert "您请求复议机关做什么" in client.last_text()  # no decision questions, not late
    for answer in ("责令履行职责", "我提出申请后三个月没有答复。"):
        await client.send(answer)
    await client.press("以上都没有")
    await client.press("是")
    assert "申请期限：2026年12月18日（星期五）前" in client.last_text()


async def test_five_year_long_stop_caps_the_window(client: BotClient) -> None:
    """F3 (FY 21): a decision of 2021-12-01 learned of on 2026-11-20 can be challenged only
    until 2026-12-01, not 60 days after learning of it."""
    await begin_reconsideration(client)
    await client.press("谷城县公安局")
    await client.press("作出的决定")
    await client.send("谷公决字〔2021〕9号")
    await client.send("2021-12-01")
    await client.send("2026-11-20")
    # Within F1's 60 days (the F3 long stop is not extendable, so no F2 question either).
    for answer in ("撤销决定", "理由"):
        await client.send(answer)
    await client.press("以上都没有")
    await client.press("是")
    assert "申请期限：2026年12月1日（星期二）前" in client.last_text()


async def test_changing_the_document_type_asks_for_the_number_again(
    client: BotClient, db: Database
) -> None:
    """Regression: a resident ID number stayed filed under a passport after an edit."""
    await fill_mediation(client)
    await client.press("修改")
    await client.press("证件类型")
    await client.press("护照")
    assert "证件号码" in client.last_text()
    await client.send("E12345678")
    answers = json.loads((await db.fetch_one("SELECT answers FROM drafts"))[0])
    assert (answers["id_type"], answers["id_number"]) == ("passport", "E12345678")
    assert "请核对" in client.last_text()


async def test_an_old_discard_button_does_not_discard_a_later_form(
    client: BotClient, db: Database
) -> None:
    """Regression: "yes, discard" from an earlier /cancel discarded whatever was open now."""
    await client.send("/petition")
    await client.send("/cancel")
    old_yes = client.session.seen(client.user_id)[-1].markup.inline_keyboard[0][0].callback_data
    await client.press("不，继续填写")
    await client.send("/mediation")
    await client.click(old_yes)
    statuses = {r[0]: r[1] for r in await db.fetch_all("SELECT procedure, status FROM drafts")}
    assert statuses == {"petition": "open", "mediation": "open"}


async def test_no_material_can_be_added_to_a_withdrawn_case(
    client: BotClient, db: Database
) -> None:
    await fill_mediation(client)
    await client.press("提交")
    await client.send("/mycases")
    await client.press("TJ-2026-000001")
    await client.press("补充材料")
    await client.send("/mycases")
    await client.press("TJ-2026-000001")
    await client.press("撤回")
    await client.press("是的，撤回")
    await client.send("这是撤回以后补充的说明")
    kinds = [r[0] for r in await db.fetch_all("SELECT kind FROM case_events")]
    assert "material_added" not in kinds


async def test_a_photo_captioned_with_a_command_starts_the_form(client: BotClient) -> None:
    """Regression: aiogram's Command filter also matches captions; the handler read .text."""
    await client.feed(
        {
            "message": client._message(
                photo=[{"file_id": "p", "file_unique_id": "up", "width": 1, "height": 1}],
                caption="/petition",
                caption_entities=[{"type": "bot_command", "offset": 0, "length": 9}],
            )
        }
    )
    assert "这件事是否已经由法院" in client.last_text()


async def test_a_file_telegram_will_not_hand_over_gets_the_size_answer(
    client: BotClient,
) -> None:
    from aiogram.methods import GetFile

    await fill_mediation(client)
    client.session.fail_next(GetFile, 400, "Bad Request: file is too big")
    await client.send_document("scan.pdf", "application/pdf", b"%PDF", size=0)
    assert "20 MB" in client.last_text()


async def test_forged_huge_ids_get_the_stale_button_answer(client: BotClient) -> None:
    await client.click("case:view:99999999999999999999")
    await client.click("f:99999999999999999999:skip::0")
    assert client.session.alerts() == ["这个按钮已经失效，请使用下面的菜单。"] * 2


async def test_a_phone_number_typed_into_the_request_is_masked_in_lists(
    client: BotClient, db: Database
) -> None:
    await client.send("/petition")
    await client.press("没有")
    await client.press("建议")
    await client.send("张三")
    await client.send(VALID_ID)
    await client.send("13800001234")
    await client.send("城关镇")
    await client.press("城关镇")
    await client.send("请回电13912345678商量修路")
    await client.send("路坏了，影响出行")
    await client.press("以上都没有")
    await client.press("提交")
    assert await db.fetch_value("SELECT subject FROM cases") == "请回电139****5678商量修路"


@pytest.mark.slow  # files 40 cases through the chat: seconds
async def test_long_case_lists_fit_in_one_message(client: BotClient) -> None:
    for index in range(40):
        await fill_mediation(client, other=f"对方当事人第{index}号，住城关镇东街很长很长的地址")
        await client.press("提交")
    await client.send("/mycases")
    text = client.last_text()
    assert len(text) <= 4096
    assert "另有" in text


async def test_commands_inside_a_form_are_commands_not_answers(
    client: BotClient, db: Database
) -> None:
    """The form-answers router sees every message first; it must let every command through."""
    await client.send("/mediation")
    await client.press("没有")
    await client.press("同意")
    await client.press("交通事故")
    await client.press("城关镇")
    await client.send("/help")
    assert "/reconsider" in client.last_text()
    await client.send("/frobnicate")
    assert client.last_text().startswith("没有这个命令")
    await client.feed(
        {
            "message": client._message(
                document={"file_id": "d", "file_unique_id": "ud", "file_name": "a.pdf"},
                caption="/cancel",
                caption_entities=[{"type": "bot_command", "offset": 0, "length": 7}],
            )
        }
    )
    assert client.last_text() == "您要停止填写，并删除这份表单里已经填写的内容吗？"
    answers = await db.fetch_value("SELECT answers FROM drafts")
    assert "/" not in answers
    await client.send("张三")  # the form is still open and asks the same question
    assert await db.fetch_value("SELECT step FROM drafts") == "id_number"


async def test_a_file_captioned_with_a_path_is_kept_as_evidence(
    client: BotClient, db: Database
) -> None:
    """Only a caption that is a command leaves the form; "/home/…" is just a caption."""
    await fill_mediation(client)  # ends at the summary, where files are still taken
    await client.send_document(
        "scan.pdf", "application/pdf", b"%PDF-1.4 scan", caption="/home/zhang/scan.pdf"
    )
    assert await db.fetch_value("SELECT count(*) FROM attachments") == 1


async def test_start_ends_adding_material_so_a_later_text_is_not_filed(
    client: BotClient, db: Database
) -> None:
    """Regression: after /start the "add material" prompt stayed open off screen, and the
    citizen's next question was filed into the case as material."""
    await fill_mediation(client)
    await client.press("提交")
    await client.send("/mycases")
    await client.press("TJ-2026-000001")
    await client.press("补充材料")
    await client.send("/start")
    await client.send("你好，我想问一下怎么预约局长接待日")
    added = "SELECT count(*) FROM case_events WHERE kind = 'material_added'"
    assert await db.fetch_value(added) == 0
    assert client.last_text() == "请选择您要办理的事项："


async def test_answers_with_html_characters_are_shown_as_typed(client: BotClient) -> None:
    """Every reply is parse_mode HTML: a citizen's "<" or "&" echoed unescaped would make
    Telegram refuse the summary (400 "can't parse entities") and the form could not be sent."""
    await client.send("/mediation")
    await client.press("没有")
    await client.press("同意")
    await client.press("交通事故")
    await client.press("城关镇")
    await client.send("张<三>")
    await client.send(VALID_ID)
    await client.send("13800001234")
    await client.send("城关镇<东街>1号 & 2号")
    await client.send("李<b>四 13900002222")
    await client.send("对方<驾车>撞坏了我的电动车 & <i>。赔偿<修车费>800元 &amp;")
    await client.press("跳过")
    summary = client.last_text()
    assert "李&lt;b&gt;四" in summary and "&amp;amp;" in summary
    await client.press("提交")
    assert "TJ-2026-000001" in client.last_text()
    await client.send("/mycases")
    assert client.session.refused == {}
