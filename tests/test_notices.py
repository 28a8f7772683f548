"""Citizen notices as outbox rows: once per key, in the citizen's language, never at night;
recalculated dates told to the citizen and to whoever must act; deemed acceptance repaired
after a crash between its two units of work."""

from __future__ import annotations

from datetime import date, timedelta

from cases.law.deadline_rules import DeadlineEngine
from cases.procedures.actions import Notice
from cases.procedures.deadline_records import ChangedDeadline
from cases.store.db import Database
from cases.store.time import FakeClock, from_db
from scheduling.notices import deem_accepted, notify_recomputed, queue_case_notice
from scheduling.outbox import Outbox
from scheduling.sender import render_markup, render_text
from tests.scheduling_helpers import (
    ADMIN,
    FakeTransport,
    add_case,
    add_deadline,
    add_user,
    local,
    reminders,
)
from tests.support import ENGINE

CITIZEN = 1001
OFFICE = 7001


async def dispatch(db: Database, clock: FakeClock) -> FakeTransport:
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN]).dispatch_due()
    return transport


async def test_a_notice_is_queued_once_and_rendered_in_the_citizens_language(
    db: Database, clock: FakeClock
) -> None:
    await add_user(db, CITIZEN, locale="en")
    case_id = await add_case(db, CITIZEN, number="FY-2026-000007", status="submitted")
    params = {
        "accepted_on": "2026-12-02",
        "decision_due": "2027-02-01",
        "basis_zh": "《行政复议法》第三十条第三款",
        "basis_en": "Administrative Reconsideration Law, Art. 30(3)",
    }
    key = f"notice:deemed_accepted:{case_id}"
    assert await queue_case_notice(db, case_id, Notice.deemed_accepted, params, key, clock=clock)
    assert not await queue_case_notice(
        db, case_id, Notice.deemed_accepted, params, key, clock=clock
    )
    transport = await dispatch(db, clock)
    [row] = transport.delivered
    assert row.chat_id == CITIZEN and row.locale == "en"
    text = render_text(row)
    assert "deemed accepted as of Wed 2 Dec 2026" in text
    assert "Art. 30(3)" in text and "Mon 1 Feb 2027" in text
    assert "<code>FY-2026-000007</code>" in text
    markup = render_markup(row)
    assert markup is not None
    assert markup.inline_keyboard[0][0].callback_data == f"case:view:{case_id}"
    assert (await dispatch(db, clock)).delivered == []  # sent once


async def test_text_typed_by_staff_is_escaped(db: Database, clock: FakeClock) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, status="submitted")
    await queue_case_notice(
        db,
        case_id,
        Notice.refused,
        {"reason": "<b>不属于</b>本机关管辖", "basis_zh": "《行政复议法》第三十条第二款"},
        "k",
        clock=clock,
    )
    [row] = (await dispatch(db, clock)).delivered
    text = render_text(row)
    assert "&lt;b&gt;不属于&lt;/b&gt;本机关管辖" in text
    assert "不予受理" in text


async def test_citizens_are_not_written_to_at_night(db: Database, clock: FakeClock) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, status="accepted")
    clock.set(local(2026, 11, 25, 22, 30))
    await queue_case_notice(
        db,
        case_id,
        Notice.resumed,
        {"resumed_on": "2026-11-25", "decision_due": "2027-01-27"},
        "notice:resumed:x",
        clock=clock,
    )
    [row] = await reminders(db, "kind = 'notice'")
    assert from_db(row["due_at"]) == local(2026, 11, 26, 8, 0)
    assert (await dispatch(db, clock)).delivered == []
    clock.set(local(2026, 11, 26, 8, 0))
    assert [r.chat_id for r in (await dispatch(db, clock)).delivered] == [CITIZEN]


async def test_recomputed_dates_are_told_to_the_citizen_and_the_office_once(
    db: Database, clock: FakeClock
) -> None:
    await add_user(db, CITIZEN)
    await add_user(db, OFFICE, role="office_staff")
    case_id = await add_case(db, CITIZEN, number="FY-2026-000009")
    closed_case = await add_case(db, CITIZEN, status="withdrawn")
    deadline_id = await add_deadline(db, case_id, "F12", date(2027, 1, 25), provisional=True)
    other_id = await add_deadline(db, closed_case, "F12", date(2027, 1, 25), provisional=True)
    changed = [
        ChangedDeadline(
            deadline_id=deadline_id,
            case_id=case_id,
            rule_id="F12",
            old_due=date(2027, 1, 25),
            new_due=date(2027, 1, 26),
            provisional=False,
        ),
        ChangedDeadline(
            deadline_id=other_id,
            case_id=closed_case,
            rule_id="F12",
            old_due=date(2027, 1, 25),
            new_due=date(2027, 1, 26),
            provisional=False,
        ),
    ]
    assert await notify_recomputed(db, changed, clock, admin_ids=[ADMIN]) == 2
    assert await notify_recomputed(db, changed, clock, admin_ids=[ADMIN]) == 0
    transport = await dispatch(db, clock)
    by_chat = {row.chat_id: render_text(row) for row in transport.delivered}
    assert set(by_chat) == {CITIZEN, OFFICE}  # F12 is the reconsideration office's to meet
    for text in by_chat.values():
        assert "2027年1月26日（星期二）" in text and "2027年1月25日（星期一）" in text
        assert "“作出行政复议决定”" in text


async def test_deemed_acceptance_is_completed_after_a_crash_between_its_units(
    db: Database, clock: FakeClock
) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, status="submitted")
    # The clocks' unit ran (F5 missed, F12 opened), then the process died before the status.
    await add_deadline(db, case_id, "F5", date(2026, 11, 24), status="missed")
    await add_deadline(db, case_id, "F12", date(2027, 1, 25))
    assert await deem_accepted(db, clock, ENGINE) == [case_id]
    assert await deem_accepted(db, clock, ENGINE) == []
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (case_id,)) == "accepted"
    [row] = await reminders(db, "kind = 'notice'")
    assert row["dedup_key"] == f"notice:deemed_accepted:{case_id}"
    [sent] = (await dispatch(db, clock)).delivered
    assert "2027年1月25日" in render_text(sent)


async def test_an_f5_still_running_is_not_deemed_accepted(db: Database, clock: FakeClock) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, status="submitted")
    today = date(2026, 11, 25)
    await add_deadline(db, case_id, "F5", today)  # last day today: still running
    await add_deadline(db, case_id, "F7", today + timedelta(days=5))
    assert await deem_accepted(db, clock, ENGINE) == []
    assert await db.fetch_value("SELECT status FROM cases WHERE id = ?", (case_id,)) == "submitted"


async def test_an_undeliverable_citizen_notice_is_reported_to_staff(
    db: Database, clock: FakeClock
) -> None:
    """Regression: a refusal notice to a citizen who blocked the bot went unreported."""
    from scheduling.outbox import Undeliverable

    await add_user(db, CITIZEN, locale="zh")
    case_id = await add_case(db, CITIZEN, number="FY-2026-000009", status="refused")
    key = f"notice:refused:{case_id}"
    assert await queue_case_notice(
        db, case_id, Notice.refused, {"reason": "超过申请期限"}, key, clock=clock
    )
    transport = FakeTransport()
    transport.fail(CITIZEN, Undeliverable("Forbidden: bot was blocked by the user"))
    outbox = Outbox(db, transport, clock, admin_ids=[ADMIN])
    await outbox.dispatch_due()
    await outbox.dispatch_due()
    assert CITIZEN not in transport.chats()
    staff_rows = [row for row in transport.delivered if row.chat_id == ADMIN]
    assert staff_rows, "someone must be told to reach the citizen another way"
    assert "FY-2026-000009" in render_text(staff_rows[0])


async def test_admins_are_told_once_a_day_when_the_holiday_calendar_is_missing(
    db: Database, clock: FakeClock
) -> None:
    from scheduling.notices import alert_calendar_gap

    await add_user(db, ADMIN, locale="zh")
    assert await alert_calendar_gap(db, [2027], clock, admin_ids=[ADMIN]) == 1
    assert await alert_calendar_gap(db, [2027], clock, admin_ids=[ADMIN]) == 0  # a restart
    transport = await dispatch(db, clock)
    [row] = transport.delivered
    assert row.chat_id == ADMIN
    text = render_text(row)
    assert "2027" in text and "暂定" in text
    clock.advance(timedelta(days=1))
    assert await alert_calendar_gap(db, [2027], clock, admin_ids=[ADMIN]) == 1


async def test_provisional_dates_in_notices_carry_the_provisional_note(
    db: Database, clock: FakeClock
) -> None:
    """LOW: a date in a year the holiday calendar does not cover was shown as final."""
    await add_user(db, CITIZEN, locale="en")
    await add_user(db, CITIZEN + 1, locale="zh")
    english = await add_case(db, CITIZEN, number="FY-2026-000011", status="accepted")
    chinese = await add_case(db, CITIZEN + 1, number="FY-2026-000012", status="accepted")
    params = {"resumed_on": "2026-11-25", "decision_due": "2027-01-27"}
    for case_id in (english, chinese):
        await queue_case_notice(
            db,
            case_id,
            Notice.resumed,
            {**params, "provisional": True},
            f"notice:resumed:{case_id}",
            clock=clock,
        )
    await queue_case_notice(
        db, english, Notice.resumed, {**params, "provisional": False}, "final", clock=clock
    )
    texts = {
        (row.chat_id, row.payload["params"]["provisional"]): render_text(row)
        for row in (await dispatch(db, clock)).delivered
    }
    assert "This date is provisional" in texts[(CITIZEN, True)]
    assert "True" not in texts[(CITIZEN, True)]
    assert "这个日期是暂定的" in texts[(CITIZEN + 1, True)]
    assert "provisional" not in texts[(CITIZEN, False)]


async def test_recomputed_dates_still_provisional_say_so(db: Database, clock: FakeClock) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, number="FY-2026-000013")
    deadline_id = await add_deadline(db, case_id, "F12", date(2028, 1, 25), provisional=True)
    change = ChangedDeadline(
        deadline_id=deadline_id,
        case_id=case_id,
        rule_id="F12",
        old_due=date(2028, 1, 25),
        new_due=date(2028, 1, 26),
        provisional=True,
    )
    assert await notify_recomputed(db, [change], clock, admin_ids=[ADMIN]) == 2  # + the office
    delivered = (await dispatch(db, clock)).delivered
    assert {row.chat_id for row in delivered} == {CITIZEN, ADMIN}
    assert all("暂定" in render_text(row) for row in delivered)


async def test_moved_deadlines_are_told_even_after_a_crash_before_telling(
    db: Database, clock: FakeClock, tmp_path
) -> None:
    """The move and the telling are separate units: a restart re-reads the recorded moves, and
    the notices are queued once however often it runs."""
    import json as _json

    from cases.law.calendar import LegalCalendar
    from cases.procedures.deadline_recount import recent_recomputations, recompute_provisional

    await add_user(db, CITIZEN, locale="zh")
    case_id = await add_case(db, CITIZEN, number="FY-2026-000011", status="accepted")
    from cases.procedures.case_clocks import open_deadline

    async with db.transaction() as conn:  # F12 from 2026-11-20: 2027-01-19, provisional
        await open_deadline(conn, case_id, "F12", date(2026, 11, 20), clock=clock)
    overrides = tmp_path / "o.json"
    overrides.write_text(_json.dumps({"years": {"2027": {"holidays": ["2027-01-19"]}}}))
    moved = await recompute_provisional(db, DeadlineEngine(LegalCalendar(overrides)), clock)
    assert len(moved) == 1
    # ... the process dies here, before notify_recomputed ran ...
    again = await recent_recomputations(db, clock.now() - timedelta(days=7))
    assert again == moved
    assert await notify_recomputed(db, again, clock, admin_ids=[ADMIN]) >= 1
    assert await notify_recomputed(db, again, clock, admin_ids=[ADMIN]) == 0
