"""Where features built apart meet (integration of issues #8-#14): a mediation from filing to
the agreement's PDF and the statistics; a proxy petition (no citizen account) through the
petition office's handover, the agency, the webhooks and the statistics. Through the
production routers, on a real SQLite file."""

from __future__ import annotations

import json
import re

import pymupdf
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.mediation_callbacks import MedAction, MediationButton
from tests.assignment_support import deliver, file_mediation, make_mediator, tick
from tests.support import ADMIN_ID, PacedClient, staff_client

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
    shows them, the follow-up visit, and /stats counting the agreement and that it was kept."""
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
