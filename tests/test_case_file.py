"""The office, the mediator and the respondent agency read what the citizen filed: every answer
with the form's labels, the timeliness check, the linked case and the evidence, each file sent
back as it was received; hostile text is shown as written and never breaks a message."""

from __future__ import annotations

import hashlib
import html
import io
import json
from datetime import timedelta

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument, SendPhoto, SendVoice

from cases.intake.case_file import reveal_invisible
from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.callbacks import CaseAction
from handlers.case_file import CaseFileAction
from tests.case_file_support import (
    CITIZEN,
    HOSTILE,
    LIAISON,
    MEDIATOR,
    NOT_AVAILABLE,
    OFFICE,
    PDF,
    PHOTO,
    VALID_ID,
    VOICE,
    assert_telegram_accepts,
    file_buttons,
    file_reconsideration,
    open_from_list,
    person,
    visible,
)
from tests.support import ENGINE


async def test_office_reads_the_whole_reconsideration_as_filed(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    await file_reconsideration(citizen, db)
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    office.clear()
    await open_from_list(office)
    texts = office.texts()
    shown = visible(texts)
    # Every answer with its label, in the order of the form.
    order = [
        "申请人：为单位申请",
        "单位名称",
        "法定代表人",
        "姓名：张三<b>",
        "证件号码：" + VALID_ID,  # the office identifies the applicant: in full
        "联系电话：13800001234",
        "城关镇东街1号 <楼>",
        "被申请人：谷城县公安局",
        "谷公(治)决字〔2026〕123号 <x>",
        "2026年11月1日",
        "2026年11月3日",
        "撤销 " + reveal_invisible(HOSTILE),
        "赔偿 <800> 元 & 利息",
        "王五 <第三人>",
        "赵六 13912345678 & 代理",
    ]
    start = shown.index("行政复议申请书")
    positions = [shown.find(item, start) for item in order]
    assert -1 not in positions, [item for item, at in zip(order, positions, strict=True) if at < 0]
    assert positions == sorted(positions)
    # The zero-width isolate is shown, not applied.
    assert "⟦U+2066⟧" in shown and "\u2066" not in shown
    # Escaped, never applied: the raw HTML sent carries entities, not tags.
    assert "&lt;script&gt;" in "".join(texts)
    assert "<script>" not in "".join(texts)
    # The timeliness check and its basis (F1: 60 days from 11-03, FY 20(1)).
    assert "在申请期限内" in shown and "F1" in shown and "《行政复议法》第二十条" in shown
    # The evidence list: name or kind, size, date received, SHA-256.
    for content in (PDF, PHOTO, VOICE):
        assert hashlib.sha256(content).hexdigest() in shown
    assert "1. 合同<1>.pdf · 文件 · 27 B · 2026年11月25日" in shown
    assert "2. 照片 · 28 B" in shown and "3. 语音 · 20 B" in shown
    assert "2026年11月25日" in shown
    # The page with its actions follows, and offers the file again.
    assert "受理" in " ".join(office.buttons())
    assert any("申请内容" in b for b in office.buttons())
    assert_telegram_accepts(bot)


async def test_each_evidence_file_comes_back_as_it_was_received(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    await open_from_list(office)
    await office.press("申请内容")  # the page's button sends the file again
    buttons = file_buttons(office)
    assert len(buttons) == 3
    before = len(bot.session.requests)
    for label in buttons:
        await office.press(label)
    sent = [
        r
        for r in bot.session.requests[before:]
        if isinstance(r, SendDocument | SendPhoto | SendVoice)
    ]
    assert [type(r) for r in sent] == [SendDocument, SendPhoto, SendVoice]
    stored = await db.fetch_all(
        "SELECT kind, sha256 FROM attachments WHERE case_id = ? ORDER BY id", (case_id,)
    )
    for request, row in zip(sent, stored, strict=True):
        assert request.chat_id == OFFICE
        file_id = getattr(request, {"photo": "photo", "voice": "voice"}.get(row[0], "document"))
        buffer = io.BytesIO()
        await bot.download(file_id, destination=buffer)
        assert hashlib.sha256(buffer.getvalue()).hexdigest() == row[1]
        assert row[1] in (request.caption or "")
    assert_telegram_accepts(bot)


async def test_a_long_application_is_split_and_nothing_is_cut(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    # 3,000 characters (the limit) of facts that grow when escaped (& becomes &amp;).
    facts = ("事实<&>" * 600)[:3000]
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    await file_reconsideration(citizen, db, facts=facts)
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    office.clear()
    await open_from_list(office)
    parts = [t for t in office.texts() if "FY-2026-000001" in t and "(" in t.split("\n")[0]]
    assert len(parts) >= 2
    assert "(1/" in parts[0] and f"({len(parts)}/{len(parts)})" in parts[-1]
    # The facts appear whole once the parts are read in order (headers and continuation
    # labels aside).
    bodies = [visible([part]).split("\n", 2)[2] for part in parts]
    joined = "".join(bodies).replace("\n", "").replace("事实和理由（续）：", "")
    assert facts in joined
    assert_telegram_accepts(bot)


async def test_mediator_reads_the_request_of_a_case_of_their_own_room_only(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    await citizen.send("/mediation")
    await citizen.press("没有")
    await citizen.press("同意")
    await citizen.press("交通事故")
    await citizen.press("城关镇")
    await citizen.send("张三")
    await citizen.send(VALID_ID)
    await citizen.send("13800001234")
    await citizen.send("城关镇东街1号")
    await citizen.send("李四 <对方>")
    await citizen.send("对方驾车撞坏了我的电动车 <b>粗</b>。赔偿修车费800元 &amp;")
    await citizen.press("跳过")
    await citizen.send_photo(PHOTO)
    await citizen.press("修改")
    await citizen.press("对方联系方式")
    await citizen.send("电话 13900002222，身份证 " + VALID_ID)  # other side's contact
    await citizen.press("提交")
    case_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    room = str(await db.fetch_value("SELECT routed_to FROM cases WHERE id = ?", (case_id,)))
    mediator = await person(
        dispatcher, bot, clock, MEDIATOR, Role.mediator, room.removeprefix("room:"), lead=True
    )
    mediator.clear()
    await mediator.send("/cases")
    await mediator.press("TJ-")
    shown = visible(mediator.texts())
    assert "李四 <对方>" in shown
    # A mediator calls the parties: phones in full; ID numbers masked, typed ones too.
    assert "13900002222" in shown and "13800001234" in shown
    assert VALID_ID not in shown and "420625********0018" in shown
    assert "对方驾车撞坏了我的电动车 <b>粗</b>。" in shown
    assert "赔偿修车费800元 &amp;" in shown
    assert hashlib.sha256(PHOTO).hexdigest() in shown
    assert_telegram_accepts(bot)

    other = await person(dispatcher, bot, clock, MEDIATOR + 1, Role.mediator, "no-such-room")
    other.clear()
    await other.click(CaseFileAction(action="full", case_id=case_id))
    await other.click(CaseFileAction(action="file", case_id=case_id, file=1))
    assert bot.session.alerts()[-2:] == [NOT_AVAILABLE] * 2
    assert not [r for r in bot.session.requests if isinstance(r, SendPhoto)]


async def test_respondent_agency_sees_only_what_its_reply_needs_once_the_copy_is_sent(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    answers = json.loads(
        await db.fetch_value("SELECT answers FROM cases WHERE id = ?", (case_id,))
    )
    liaison = await person(
        dispatcher, bot, clock, LIAISON, Role.agency_liaison, answers["respondent_id"]
    )
    # Before the office sends the copy (FY 48) the agency has no part in the case.
    liaison.clear()
    await liaison.click(CaseAction(action="view", case_id=case_id))
    assert bot.session.alerts()[-1] == NOT_AVAILABLE
    assert liaison.texts() == []

    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    await open_from_list(office)
    await office.press("✅ 受理")
    await office.press("普通程序")
    await office.press("申请书副本已发送")
    await office.press("今天")

    liaison.clear()
    await liaison.click(CaseAction(action="view", case_id=case_id))
    shown = visible(liaison.texts())
    assert "谷公(治)决字〔2026〕123号 <x>" in shown  # the act challenged
    assert "撤销 " + reveal_invisible(HOSTILE) in shown  # the request
    assert "赔偿 <800> 元 & 利息" in shown
    assert reveal_invisible(HOSTILE) in shown  # facts and reasons
    # Nothing else: no ID number, phone, address, agent, evidence or actions.
    for private in (VALID_ID, "420625", "138", "城关镇东街1号", "赵六", "SHA-256", "申请期限"):
        assert private not in shown, private
    # The only action: the reply (FY 48), no evidence buttons.
    assert liaison.buttons() == ["✍️ 提交书面答复"]
    await liaison.click(CaseFileAction(action="file", case_id=case_id, file=1))
    assert bot.session.alerts()[-1] == NOT_AVAILABLE
    assert_telegram_accepts(bot)


async def test_sensitive_report_is_read_by_the_office_only(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    await citizen.send("/petition")
    await citizen.press("没有")
    await citizen.press("检举")
    await citizen.send("张三")
    await citizen.send(VALID_ID)
    await citizen.send("13800001234")
    await citizen.send("城关镇东街1号")
    await citizen.press("城关镇")
    await citizen.send("查处 <某某> 的违纪行为")
    await citizen.send("某某收受好处 & 拖延办事，违反纪律")
    await citizen.press("有，一项或几项")
    await citizen.press("谷城县公安局")  # the agency concerned
    await citizen.press("否")  # not raised before
    await citizen.press("只有我本人")
    await citizen.press("提交")
    case_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    agency = json.loads(await db.fetch_value("SELECT answers FROM cases"))["body_concerned"]

    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff, "petition_office")
    office.clear()
    await office.send("/cases")
    await office.press("XF-")
    shown = visible(office.texts())
    assert "查处 <某某> 的违纪行为" in shown and "某某收受好处 & 拖延办事" in shown
    assert "检举、控告" in shown

    for user_id, role, unit in (
        (LIAISON, Role.agency_liaison, agency),
        (LIAISON + 1, Role.agency_head, agency),
        (MEDIATOR, Role.mediator, "any"),
    ):
        reader = await person(dispatcher, bot, clock, user_id, role, unit)
        reader.clear()
        await reader.click(CaseFileAction(action="full", case_id=case_id))
        await reader.click(CaseAction(action="view", case_id=case_id))
        assert reader.texts() == [], role
        assert bot.session.alerts()[-1] == NOT_AVAILABLE


async def test_citizen_cannot_use_a_case_file_button(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    citizen.clear()
    await citizen.click(CaseFileAction(action="file", case_id=case_id, file=1))
    await citizen.click(CaseFileAction(action="full", case_id=case_id))
    assert not [
        r for r in bot.session.requests if isinstance(r, SendDocument | SendPhoto | SendVoice)
    ]
    assert all("合同" not in t for t in citizen.texts())


async def test_forged_attachment_id_of_another_case_sends_nothing(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    first = await person(dispatcher, bot, clock, CITIZEN)
    await file_reconsideration(first, db)
    second = await person(dispatcher, bot, clock, CITIZEN + 1)
    await second.send("/mediation")
    await second.press("没有")
    await second.press("同意")
    await second.press("交通事故")
    await second.press("城关镇")
    await second.send("钱七")
    await second.send(VALID_ID)
    await second.send("13800005678")
    await second.send("城关镇西街2号")
    await second.send("孙八")
    await second.send("纠纷经过；要求赔偿")
    await second.press("跳过")
    await second.press("提交")
    mediation_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    pdf_id = int(await db.fetch_value("SELECT min(id) FROM attachments"))
    room = str(await db.fetch_value("SELECT routed_to FROM cases WHERE id = ?", (mediation_id,)))
    mediator = await person(
        dispatcher, bot, clock, MEDIATOR, Role.mediator, room.removeprefix("room:"), lead=True
    )
    mediator.clear()
    # The mediator may read the mediation case, but the file belongs to the reconsideration.
    await mediator.click(CaseFileAction(action="file", case_id=mediation_id, file=pdf_id))
    assert bot.session.alerts()[-1] == NOT_AVAILABLE
    # Ids no database row can have, or that would overflow SQLite, are refused as stale.
    answered = len(bot.session.alerts())
    for forged in (f"cf:file:{mediation_id}:-1", f"cf:file:{mediation_id}:{2**64}", "cf:x:1:0"):
        await mediator.click(forged)
    assert len(bot.session.alerts()) == answered + 3  # each press answered, as stale
    assert not [r for r in bot.session.requests if isinstance(r, SendDocument)]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("付款\u202e0001\u202c元", "付款⟦U+202E⟧0001⟦U+202C⟧元"),
        ("a\u200bb\u2060c\ufeffd", "a⟦U+200B⟧b⟦U+2060⟧c⟦U+FEFF⟧d"),
        ("x\u2066y\u2069", "x⟦U+2066⟧y⟦U+2069⟧"),
        ("行一\n行二", "行一\n行二"),
        ("家庭👨\u200d👩\u200d👧", "家庭👨\u200d👩\u200d👧"),  # an emoji keeps its joiners
        ("名\u200d字", "名⟦U+200D⟧字"),
    ],
)
def test_invisible_characters_are_made_visible(raw: str, shown: str) -> None:
    assert reveal_invisible(raw) == shown
    assert html.escape(reveal_invisible(raw)) == html.escape(shown)


async def test_mediator_page_masks_an_id_number_typed_into_the_other_sides_contact(
    db: Database, clock: FakeClock
) -> None:
    """The staff page showed the other side's contact unmasked to a mediator because mediators
    see phone numbers; an ID number typed there was shown in full too."""
    from cases.org.users import User
    from cases.procedures.access import staff_case_view
    from cases.store.time import to_db

    now = to_db(clock.now())
    await db.execute(
        "INSERT INTO users(telegram_id, role, first_seen, last_seen) VALUES (1, 'citizen', ?, ?)",
        (now, now),
    )
    await db.execute(
        "INSERT INTO cases(id, number, procedure, status, citizen_id, subject, received_on,"
        " routed_to, created_at, updated_at) VALUES (1, 'TJ-2026-000001', 'mediation',"
        " 'submitted', 1, '纠纷', '2026-11-25', 'room:r1', ?, ?)",
        (now, now),
    )
    await db.execute(
        "INSERT INTO parties(case_id, role, name, details) VALUES (1, 'other_party', ?, ?)",
        ("李四 " + VALID_ID, json.dumps({"contact": f"13900002222 身份证{VALID_ID}"})),
    )
    mediator = User(telegram_id=2, locale="zh", role=Role.mediator, unit="r1", leads_room=True)
    view = await staff_case_view(db, 1, mediator, ENGINE)
    assert view is not None
    page = " ".join(view.parties)
    assert VALID_ID not in page
    assert "13900002222" in page and "420625********0018" in page


async def test_timeliness_is_judged_on_the_day_of_filing_not_the_day_staff_read_it(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    await file_reconsideration(citizen, db)
    clock.advance(timedelta(days=70))  # F1 (60 days from 11-03) has passed by now
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    office.clear()
    await office.click(CaseFileAction(action="full", case_id=1))
    shown = visible(office.texts())
    assert "在申请期限内，期限至2027年1月4日" in shown
    assert "已超过" not in shown


def test_long_stop_is_shown_as_final_and_names_the_real_property_rule() -> None:
    from datetime import date

    from cases.intake.case_file import LATE_LONG_STOP, NO_LATE_REASON, timeliness_check

    answers = {
        "act_kind": "decision",
        "act_date": "2020-01-02",
        "known_date": "2026-10-01",
        "rights_notified": "yes",
    }
    check = timeliness_check(answers, date(2026, 11, 25), ENGINE)
    assert check is not None
    assert check.rule_id == "F3" and check.late
    assert check.verdict == LATE_LONG_STOP and "F3R" in check.verdict
    assert check.notes == [NO_LATE_REASON]
    assert "第二十一条" in check.basis_zh


def test_f2_window_is_said_to_be_only_the_one_year_cap() -> None:
    from datetime import date

    from cases.intake.case_file import F2_CAP, ON_TIME, timeliness_check

    answers = {
        "act_kind": "decision",
        "act_date": "2026-11-01",
        "known_date": "2026-11-03",
        "rights_notified": "no",
    }
    check = timeliness_check(answers, date(2026, 11, 25), ENGINE)
    assert check is not None
    assert (check.rule_id, check.verdict, check.notes) == ("F2", ON_TIME, [F2_CAP])


async def test_material_added_after_filing_is_shown_to_the_office(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    await dispatcher["intake"].add_note(
        case_id, user_id=CITIZEN, text="补正：附上缴款凭证 <说明> & 收据"
    )
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    office.clear()
    await office.click(CaseFileAction(action="full", case_id=case_id))
    shown = visible(office.texts())
    assert "申请人于2026年11月25日（星期三）补充：" in shown
    assert "补正：附上缴款凭证 <说明> & 收据" in shown


async def test_file_names_are_masked_like_other_free_text(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    await citizen.send("/mediation")
    for answer in ("没有", "同意", "交通事故", "城关镇"):
        await citizen.press(answer)
    await citizen.send("张三")
    for answer in (VALID_ID, "13800001234", "城关镇东街1号", "李四"):
        await citizen.send(answer)
    await citizen.send("纠纷经过。要求赔偿")  # facts and claims
    await citizen.press("跳过")
    await citizen.send_document(f"身份证{VALID_ID}.pdf", "application/pdf", PDF)
    await citizen.press("修改")
    await citizen.press("对方联系方式")
    await citizen.send("电话 7654321")
    await citizen.press("提交")
    room = str(await db.fetch_value("SELECT routed_to FROM cases"))
    mediator = await person(
        dispatcher, bot, clock, MEDIATOR, Role.mediator, room.removeprefix("room:"), lead=True
    )
    mediator.clear()
    await mediator.click(CaseFileAction(action="full", case_id=1))
    await mediator.press("📎 1")
    shown = visible(mediator.texts())
    captions = [r.caption for r in bot.session.requests if isinstance(r, SendDocument)]
    assert VALID_ID not in shown and "身份证420625********0018.pdf" in shown
    assert captions and VALID_ID not in captions[0]
    # A landline typed after a word stays callable for the mediator.
    assert "电话 7654321" in shown


async def test_another_agencys_liaison_reads_nothing(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    case_id = await file_reconsideration(citizen, db)
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    await open_from_list(office)
    await office.press("✅ 受理")
    await office.press("普通程序")
    await office.press("申请书副本已发送")
    await office.press("今天")
    others = [
        a.id
        for a in dispatcher["org"].agencies
        if a.id != json.loads(await db.fetch_value("SELECT answers FROM cases"))["respondent_id"]
    ]
    liaison = await person(dispatcher, bot, clock, LIAISON, Role.agency_liaison, others[0])
    liaison.clear()
    await liaison.click(CaseAction(action="view", case_id=case_id))
    await liaison.click(CaseFileAction(action="full", case_id=case_id))
    assert liaison.texts() == []
    assert bot.session.alerts()[-2:] == [NOT_AVAILABLE] * 2


async def test_a_linked_case_of_another_room_is_not_named_to_the_mediator(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    citizen = await person(dispatcher, bot, clock, CITIZEN)
    for township in ("城关镇", "石花镇"):
        await citizen.send("/mediation")
        for answer in ("没有", "同意", "邻里纠纷", township):
            await citizen.press(answer)
        await citizen.send("张三")
        if "使用这些信息" in " ".join(citizen.buttons()):  # saved after the first filing
            await citizen.press("填写其他信息")
            await citizen.send("张三")
        for answer in (VALID_ID, "13800001234", "城关镇东街1号", "李四"):
            await citizen.send(answer)
        await citizen.send("纠纷经过。要求赔偿")
        await citizen.press("跳过")
        await citizen.press("提交")
    rows = await db.fetch_all("SELECT id, number, routed_to, linked_case_id FROM cases")
    assert rows[1]["linked_case_id"] == rows[0]["id"]
    assert rows[0]["routed_to"] != rows[1]["routed_to"]
    mediator = await person(
        dispatcher, bot, clock, MEDIATOR, Role.mediator, rows[1]["routed_to"][5:], lead=True
    )
    mediator.clear()
    await mediator.click(CaseFileAction(action="full", case_id=rows[1]["id"]))
    shown = visible(mediator.texts())
    assert rows[0]["number"] not in shown
    assert "一件不在您权限范围内的此前案件（同一对方当事人）" in shown
    office = await person(dispatcher, bot, clock, OFFICE, Role.office_staff)
    office.clear()
    await office.click(CaseFileAction(action="full", case_id=rows[1]["id"]))
    assert f"{rows[0]['number']}（同一对方当事人）" in visible(office.texts())
    assert any(rows[0]["number"] in b for b in office.buttons())
