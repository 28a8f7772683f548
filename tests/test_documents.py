"""Documents as PDF (issue 13): the application the citizen may print and sign, the office's
受理通知书, 补正通知书 and 不予受理决定书, and the dossier for 案卷评查. Each PDF is read back
with MuPDF and checked for what a reader needs: the case number on every page, page numbers,
Chinese text, the facts of the case."""

from __future__ import annotations

import re

import pymupdf
import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument

from cases.documents.generated import TEMPLATE_OF, DocumentKind
from cases.documents.templates import load_dossier_template, load_template
from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.callbacks import DocumentList, DocumentRequest
from scheduling.outbox import Outbox
from scheduling.sender import render_markup
from tests.scheduling_helpers import FakeTransport
from tests.support import ADMIN_ID, VALID_ID, PacedClient, file_reconsideration, staff_client

CITIZEN = 1001
OTHER_CITIZEN = 1002
OFFICE = 7001
LIAISON = 7003
NUMBER = "FY-2026-000001"


@pytest.fixture
def citizen(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return PacedClient(dispatcher, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)


@pytest.fixture
async def office(dispatcher: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dispatcher, bot, clock, OFFICE, Role.office_staff)


def sent_pdfs(bot: Bot, chat_id: int, since: int = 0) -> list[SendDocument]:
    return [
        r
        for r in bot.session.requests[since:]  # type: ignore[attr-defined]
        if isinstance(r, SendDocument) and r.chat_id == chat_id
    ]


def pages(request: SendDocument) -> list[str]:
    """Each page's text as a reader copies it (whitespace removed: lines wrap anywhere)."""
    data = request.document.data  # type: ignore[union-attr]
    assert data.startswith(b"%PDF")
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        return [re.sub(r"\s+", "", page.get_text()) for page in pdf]


async def get_document(client: PacedClient, case_id: int, label: str) -> None:
    await client.click(DocumentList(case_id=case_id).pack())
    await client.press(label)


async def test_citizen_gets_the_application_as_filed_to_print_and_sign(
    citizen: PacedClient, bot: Bot, db: Database
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await citizen.send("/mycases")
    await citizen.press(NUMBER)
    assert "📄 文书（PDF）" in citizen.buttons()
    await citizen.press("文书")
    assert "行政复议申请书（PDF）" in citizen.buttons()
    assert not any("案卷" in b for b in citizen.buttons())  # the dossier is for the office
    await citizen.press("行政复议申请书")
    [request] = sent_pdfs(bot, CITIZEN)
    assert request.document.filename == f"{NUMBER}-application.pdf"  # type: ignore[union-attr]
    text = "".join(pages(request))
    assert "行政复议申请书" in text and NUMBER in text
    # Their own copy, to sign: the ID number and the phone in full.
    assert VALID_ID in text and "13800001234" in text
    assert "谷城县公安局" in text and "撤销罚款决定" in text
    assert "此致" in text and "谷城县人民政府" in text and "申请人（签名）" in text
    [sha] = [
        r[0]
        for r in await db.fetch_all("SELECT sha256 FROM attachments WHERE case_id = ?", (case_id,))
    ]
    assert sha in text


async def test_acceptance_notice_comes_with_its_document_and_states_the_decision_date(
    citizen: PacedClient, office: PacedClient, bot: Bot, db: Database, clock: FakeClock
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("受理")
    await office.press("普通程序")
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN_ID]).dispatch_due()
    [notice] = [row for row in transport.delivered if row.chat_id == CITIZEN]
    markup = render_markup(notice)
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert DocumentRequest(kind=DocumentKind.acceptance, case_id=case_id).pack() in data

    await citizen.click(DocumentRequest(kind=DocumentKind.acceptance, case_id=case_id).pack())
    [request] = sent_pdfs(bot, CITIZEN)
    text = "".join(pages(request))
    assert "行政复议受理通知书" in text and NUMBER in text
    # Accepted on the filing day, Wed 2026-11-25; F12 is 60 days (FY 62(1)).
    assert "2026年11月25日起予以受理" in text
    due = await db.fetch_value(
        "SELECT due_on FROM case_deadlines WHERE case_id = ? AND rule_id = 'F12'", (case_id,)
    )
    year, month, day = (int(x) for x in str(due).split("-"))
    assert f"{year}年{month}月{day}日前作出行政复议决定" in text
    assert "第六十二条" in text and "普通程序" in text
    assert "{" not in text  # every placeholder filled


async def test_acceptance_notice_promised_the_decision_date_without_extension_suspension_or_fy_29(
    citizen: PacedClient, office: PacedClient, bot: Bot, db: Database
) -> None:
    """FY 62(1) allows an extension of up to 30 days and FY 39 a suspension, each told in
    writing; FY 29(1) bars a lawsuit while the reconsideration runs. The notice said only
    本机关将于…前作出, as if the date could not move."""
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("受理")
    await office.press("普通程序")
    await citizen.click(DocumentRequest(kind=DocumentKind.acceptance, case_id=case_id).pack())
    [request] = sent_pdfs(bot, CITIZEN)
    text = "".join(pages(request))
    assert "本机关将于" not in text and "本机关应当于" in text
    assert "延长行政复议期限或者中止行政复议的，本机关将另行书面告知你" in text
    assert "第三十九条、第六十二条" in text
    assert "不得就该行政行为向人民法院提起行政诉讼" in text and "第二十九条第一款" in text


async def test_refusal_decision_gives_the_reason_and_the_article(
    citizen: PacedClient, office: PacedClient, bot: Bot, db: Database
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("不予受理")
    await office.send("申请人与被申请的行政行为没有利害关系。")
    await office.press("确认")
    await get_document(citizen, case_id, "不予受理决定书")
    [request] = sent_pdfs(bot, CITIZEN)
    text = "".join(pages(request))
    assert "不予受理行政复议申请决定书" in text
    assert "没有利害关系" in text and "第三十条第二款" in text and "行政诉讼" in text


async def test_correction_notice_lists_what_is_missing_and_the_supply_date(
    citizen: PacedClient, office: PacedClient, bot: Bot, db: Database
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("通知补正")
    await office.send("请提交处罚决定书复印件。")
    await office.press("确认")
    await get_document(citizen, case_id, "补正通知书")
    [request] = sent_pdfs(bot, CITIZEN)
    text = "".join(pages(request))
    # F7: 10 working days after 2026-11-25 → 2026-12-09 (FY 31(2)).
    assert "处罚决定书复印件" in text and "补正期限至2026年12月9日届满" in text
    assert "第三十一条" in text and "视为你放弃" in text


async def test_correction_notice_said_the_acceptance_review_is_paused_though_fy_31_3_restarts_it(
    citizen: PacedClient, office: PacedClient, bot: Bot, db: Database
) -> None:
    """FY 31(3): once the material arrives the application is reviewed under Art 30 again (the
    F5 review restarts); the notice said 受理审查期限中止计算. The 10 working days run from
    receipt of the notice (FY 31(2)): the date given is the one for receipt on the issue day."""
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("通知补正")
    await office.send("请提交处罚决定书复印件。")
    await office.press("确认")
    await get_document(citizen, case_id, "补正通知书")
    [request] = sent_pdfs(bot, CITIZEN)
    text = "".join(pages(request))
    assert "中止计算" not in text
    assert "第三十一条第三款、第三十条的规定进行审查" in text
    assert "自收到本通知之日起十个工作日内补正" in text
    assert "本通知于2026年11月25日送达的" in text


async def test_dossier_has_the_case_number_and_page_numbers_on_every_page_and_the_timeline(
    citizen: PacedClient, office: PacedClient, bot: Bot, db: Database
) -> None:
    case_id = await file_reconsideration(citizen, db)
    await office.click(f"case:view:{case_id}")
    await office.press("受理")
    await office.press("普通程序")
    await office.press("申请内容")  # the application in full: its last part has the button
    assert "📑 案卷（供案卷评查，PDF）" in office.buttons()
    await office.press("案卷")
    [request] = sent_pdfs(bot, OFFICE)
    texts = pages(request)
    assert len(texts) >= 2
    for number, page in enumerate(texts, start=1):
        assert f"案件编号{NUMBER}" in page
        assert f"第{number}页共{len(texts)}页" in page
    text = "".join(texts)
    words = load_dossier_template()
    for heading in words.headings.values():
        assert re.sub(r"\s+", "", heading) in text
    # Who did what: the applicant filed, the office (by name) accepted.
    assert "王科长（办案人员）" in text or "王科长" in text
    assert "受理" in text
    # Every time limit with its outcome and basis: F5 met on acceptance, F12 running.
    assert "F5" in text and "按期完成" in text and "F12" in text and "进行中" in text
    assert "第三十条" in text
    # Proof of service: the acceptance notice to the applicant, not yet sent.
    assert "案件通知：受理通知" in text and "待发送" in text
    [sha] = [
        r[0]
        for r in await db.fetch_all("SELECT sha256 FROM attachments WHERE case_id = ?", (case_id,))
    ]
    assert sha in text
    # The office sees the ID number in full (its role needs it), as on the case page.
    assert VALID_ID in text


async def test_forged_document_buttons_send_nothing(
    citizen: PacedClient,
    office: PacedClient,
    dispatcher: Dispatcher,
    bot: Bot,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await file_reconsideration(citizen, db)
    stranger = PacedClient(
        dispatcher, bot, user_id=OTHER_CITIZEN, language_code="zh-hans", clock=clock
    )
    liaison = await staff_client(
        dispatcher, bot, clock, LIAISON, Role.agency_liaison, "county_public_security"
    )
    forged = [
        (stranger, DocumentRequest(kind=DocumentKind.application, case_id=case_id)),
        (citizen, DocumentRequest(kind=DocumentKind.dossier, case_id=case_id)),
        (liaison, DocumentRequest(kind=DocumentKind.dossier, case_id=case_id)),
        (liaison, DocumentRequest(kind=DocumentKind.application, case_id=case_id)),
        (office, DocumentRequest(kind=DocumentKind.refusal, case_id=case_id)),  # not refused
        (office, DocumentRequest(kind=DocumentKind.application, case_id=case_id + 999)),
    ]
    before = len(bot.session.requests)  # type: ignore[attr-defined]
    for client, data in forged:
        await client.click(data.pack())
    for chat in (OTHER_CITIZEN, CITIZEN, LIAISON, OFFICE):
        assert sent_pdfs(bot, chat, before) == []
    await stranger.click(DocumentList(case_id=case_id).pack())
    assert sent_pdfs(bot, OTHER_CITIZEN, before) == []


@pytest.mark.parametrize("kind", list(TEMPLATE_OF))
def test_every_template_loads_and_names_only_facts_the_builder_gives(kind: DocumentKind) -> None:
    template = load_template(TEMPLATE_OF[kind])
    given = {
        "number", "applicant_name", "received_on", "respondent", "body_name", "subject",
        "provisional", "issued_on", "accepted_on", "track", "decision_due", "basis", "missing",
        "supply_due", "reason", "room", "other_party", "terms", "agreed_on", "mediator",
    }  # fmt: skip
    assert template.placeholders() <= given, template.placeholders() - given


def test_the_font_is_simplified_chinese() -> None:
    """Noto's CJK fonts exist per region and draw many characters differently: the documents
    must use the Simplified Chinese one (a package update must not switch it)."""
    from fontTools.ttLib import TTFont
    from pylopdf_fonts_zh_cn import serif_path

    assert TTFont(str(serif_path()))["name"].getDebugName(4) == "Noto Serif SC"
