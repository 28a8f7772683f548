"""After a case closes (issue 11): the citizen is asked once to rate the handling; a petition's
handling opinion offers the 复查 (X5) in one press within its window; a failed mediation names
the routes that remain (TJ 26) with the command that starts each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.procedures.followup import CLOSING_NOTICES, rating_statistics
from cases.procedures.transitions import Action
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.staff.callbacks import Nav, StaffAction, Step
from scheduling.outbox import Outbox
from scheduling.sender import CaseFollowUp, render_markup, render_text
from tests.scheduling_helpers import FakeTransport
from tests.support import ADMIN_ID, PacedClient, file_petition, fill_mediation, staff_client

CITIZEN = 1001
STAFF = 7001


@pytest.fixture
def dp(dispatcher: Dispatcher) -> Dispatcher:
    return dispatcher


@pytest.fixture
def citizen(dp: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return PacedClient(dp, bot, user_id=CITIZEN, language_code="zh-hans", clock=clock)


@pytest.fixture
async def admin(dp: Dispatcher, bot: Bot, clock: FakeClock) -> PacedClient:
    return await staff_client(dp, bot, clock, ADMIN_ID, Role.admin)


async def closure_notice(db: Database, clock: FakeClock):  # type: ignore[no-untyped-def]
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN_ID]).dispatch_due()
    [row] = [
        r
        for r in transport.delivered
        if r.chat_id == CITIZEN and r.payload.get("notice") in CLOSING_NOTICES
    ]
    return row


def labels(markup) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.text for line in markup.inline_keyboard for b in line]


def data_of(markup, label: str) -> str:  # type: ignore[no-untyped-def]
    return next(
        b.callback_data for line in markup.inline_keyboard for b in line if label in b.text
    )


async def test_failed_mediation_names_the_routes_and_asks_once_for_a_rating(
    citizen: PacedClient, admin: PacedClient, db: Database, clock: FakeClock
) -> None:
    await fill_mediation(citizen)
    await citizen.press("提交")
    case_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    await admin.click(StaffAction(action=Action.failed, case_id=case_id, step=Step.confirm))
    row = await closure_notice(db, clock)
    text = render_text(row)
    assert "人民调解法" not in text  # 行政调解 is not 人民调解 (domain §5)
    assert "/petition" in text and "/reconsider" in text and "仲裁" in text and "12368" in text
    markup = render_markup(row)
    assert "⭐ 评价办理情况" in labels(markup) and "查看案件" in labels(markup)

    await citizen.click(data_of(markup, "评价"))
    assert "是否满意" in citizen.last_text()
    await citizen.click(CaseFollowUp(action="score", case_id=case_id, value=4))
    await citizen.send("调解员很耐心")
    assert "意见已记录" in citizen.last_text()
    rating = await db.fetch_one("SELECT score, comment FROM case_ratings")
    assert tuple(rating) == (4, "调解员很耐心")
    assert await rating_statistics(db) == {"mediation": (1, 4.0)}

    # Asked once: the old button and a forged score change nothing.
    await citizen.click(data_of(markup, "评价"))
    await citizen.click(CaseFollowUp(action="score", case_id=case_id, value=1))
    assert citizen.session.alerts()[-1] == "您已经评价过这个案件，谢谢。"
    assert await db.fetch_value("SELECT score FROM case_ratings") == 4

    # Staff never see the rating: the case page the administrator opens does not carry it.
    admin.clear()
    await admin.click(StaffAction(action=Nav.view, case_id=case_id))
    assert not any("调解员很耐心" in t or "⭐" in t for t in admin.texts())


async def test_someone_else_cannot_rate_a_case_nor_an_open_one(
    dp: Dispatcher, bot: Bot, citizen: PacedClient, db: Database, clock: FakeClock
) -> None:
    await fill_mediation(citizen)
    await citizen.press("提交")
    case_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    await citizen.click(CaseFollowUp(action="rate", case_id=case_id))
    assert "尚未办结" in citizen.session.alerts()[-1]
    await db.execute("UPDATE cases SET status = 'closed'")
    other = PacedClient(dp, bot, user_id=CITIZEN + 50, clock=clock)
    await other.click(CaseFollowUp(action="score", case_id=case_id, value=5))
    assert await db.fetch_value("SELECT count(*) FROM case_ratings") == 0


async def test_withdrawal_offers_the_rating(citizen: PacedClient, db: Database) -> None:
    await fill_mediation(citizen)
    await citizen.press("提交")
    await citizen.send("/mycases")
    await citizen.press("TJ-2026-000001")
    await citizen.press("撤回")
    await citizen.press("是的，撤回")
    assert "已撤回" in citizen.last_text()
    await citizen.press("评价办理情况")
    await citizen.press("⭐⭐⭐⭐⭐")
    await citizen.press("不填写意见")
    assert await db.fetch_value("SELECT score FROM case_ratings") == 5


async def conclude_petition(
    dp: Dispatcher, bot: Bot, citizen: PacedClient, admin: PacedClient, db: Database, clock
) -> int:  # type: ignore[no-untyped-def]
    case_id = await file_petition(citizen, db)
    office = await staff_client(dp, bot, clock, STAFF, Role.office_staff)
    await office.click(StaffAction(action=Nav.view, case_id=case_id))
    await office.press("受理·转送")
    await admin.click(StaffAction(action=Nav.view, case_id=case_id))
    await admin.press("已出具处理意见")
    await admin.press("确认")
    return case_id


async def test_handling_opinion_offers_the_review_in_one_press_within_x5(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    case_id = await conclude_petition(dp, bot, citizen, admin, db, clock)
    row = await closure_notice(db, clock)
    # X5 (XF 35): 30 days from 2026-11-25 → Fri 2026-12-25, shown in the notice.
    assert "2026年12月25日（星期五）" in render_text(row)
    markup = render_markup(row)
    assert labels(markup)[0] == "申请复查"
    await citizen.click(data_of(markup, "申请复查"))
    receipt = citizen.last_text()
    assert "复查申请已经提交" in receipt and "XF-2026-000002" in receipt
    review = await db.fetch_one("SELECT * FROM cases WHERE number = 'XF-2026-000002'")
    assert (review["linked_case_id"], review["link_reason"]) == (case_id, "review")
    assert review["citizen_id"] == CITIZEN and review["status"] == "submitted"
    # X6 (XF 35): the review body's 30 days run from receipt of the request.
    deadline = await db.fetch_one(
        "SELECT rule_id, due_on FROM case_deadlines WHERE case_id = ?", (review["id"],)
    )
    assert tuple(deadline) == ("X6", "2026-12-25")
    await citizen.click(data_of(markup, "申请复查"))  # pressed twice: one request
    assert "XF-2026-000002" in citizen.session.alerts()[-1]
    assert await db.fetch_value("SELECT count(*) FROM cases") == 2


async def test_review_after_the_x5_window_is_refused_with_the_date(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    await conclude_petition(dp, bot, citizen, admin, db, clock)
    markup = render_markup(await closure_notice(db, clock))
    clock.advance(timedelta(days=31))
    await citizen.click(data_of(markup, "申请复查"))
    assert "2026年12月25日" in citizen.session.alerts()[-1]
    assert await db.fetch_value("SELECT count(*) FROM cases") == 1


async def test_a_rating_given_in_the_middle_of_a_form_leaves_the_form_open(
    citizen: PacedClient, db: Database
) -> None:
    await fill_mediation(citizen)
    await citizen.press("提交")
    case_id = int(await db.fetch_value("SELECT max(id) FROM cases"))
    await db.execute("UPDATE cases SET status = 'closed'")
    await citizen.send("/petition")
    await citizen.click(CaseFollowUp(action="score", case_id=case_id, value=3))
    assert await db.fetch_value("SELECT score FROM case_ratings") == 3
    await citizen.send("没有，其他地方都没有受理")  # still an answer to the form
    answers = await db.fetch_value("SELECT answers FROM drafts WHERE status = 'open'")
    assert '"elsewhere": "none"' in answers
    assert await db.fetch_value("SELECT comment FROM case_ratings") is None


async def test_x5_counted_from_issue_day_refused_a_review_within_30_days_of_receipt(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """XF 35: 30 days "自收到书面答复之日起". The opinion issued on 2026-11-25 reached the
    citizen only on 11-28 (the outbox sent it then): on 12-27, 32 days after the issue and 29
    after receipt, the review is still filed (X5 from receipt: Mon 2026-12-28)."""
    await conclude_petition(dp, bot, citizen, admin, db, clock)
    clock.advance(timedelta(days=3))
    row = await closure_notice(db, clock)
    delivered = await db.fetch_value(
        "SELECT delivered_at FROM reminders WHERE step = 'concluded' AND status = 'sent'"
    )
    assert str(delivered).startswith("2026-11-28")
    clock.advance(timedelta(days=29))
    await citizen.click(data_of(render_markup(row), "申请复查"))
    assert "复查申请已经提交" in citizen.last_text()
    assert await db.fetch_value("SELECT count(*) FROM cases") == 2


async def test_x5_window_has_not_started_while_the_opinion_notice_waits_in_the_outbox(
    dp: Dispatcher,
    bot: Bot,
    citizen: PacedClient,
    admin: PacedClient,
    db: Database,
    clock: FakeClock,
) -> None:
    """Still pending in the outbox: not received, so the review cannot be "late" yet."""
    case_id = await conclude_petition(dp, bot, citizen, admin, db, clock)
    status = await db.fetch_value("SELECT status FROM reminders WHERE step = 'concluded'")
    assert status == "pending"
    clock.advance(timedelta(days=40))
    review = await dp["intake"].request_review(case_id, user_id=CITIZEN)
    assert review.outcome == "filed"
