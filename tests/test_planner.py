"""The planner: who is reminded of what, when; idempotent; cancels what no longer applies."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from cases.store.db import Database
from cases.store.time import LEGAL_TZ, FakeClock, from_db, to_db
from scheduling.outbox import AckOutcome, Outbox, acknowledge
from scheduling.planner import Planner
from scheduling.recipients import resolve_recipients
from scheduling.timing import after_quiet_hours
from tests.scheduling_helpers import (
    ADMIN,
    ADMIN_2,
    FakeTransport,
    add_case,
    add_deadline,
    add_hearing,
    add_reminder,
    add_user,
    local,
    reminders,
    set_deadline,
)
from tests.support import ENGINE

CITIZEN = 1001
DUE = date(2026, 12, 9)  # a Wednesday


def planner(db: Database, clock: FakeClock, **kw: object) -> Planner:
    return Planner(db, clock, admin_ids=[ADMIN, ADMIN_2], calendar=ENGINE.calendar, **kw)  # type: ignore[arg-type]


async def f10_case(db: Database) -> tuple[int, int]:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN)
    return case_id, await add_deadline(db, case_id, "F10", DUE)


def local_times(rows: list[dict], chat_id: int) -> list[tuple[str, str, str]]:
    return [
        (r["kind"], r["step"], from_db(r["due_at"]).astimezone(LEGAL_TZ).strftime("%m-%d %H:%M"))
        for r in rows
        if r["chat_id"] == chat_id
    ]


async def test_agency_reply_f10_reminds_liaison_then_chases_then_tells_admins(
    db: Database, clock: FakeClock
) -> None:
    case_id, deadline_id = await f10_case(db)
    report = await planner(db, clock).plan()
    rows = await reminders(db, "status = 'pending'")
    # No agency liaison or head is registered yet: the administrators stand in for them.
    assert local_times(rows, ADMIN) == [
        ("reminder", "-5wd", "12-02 08:30"),
        ("reminder", "-2wd", "12-07 08:30"),  # Monday: the weekend is skipped
        ("reminder", "-1wd", "12-08 08:30"),
        ("reminder", "0wd", "12-09 08:30"),
        ("chase", "+1wd", "12-10 08:30"),
        ("overdue", "+6wd", "12-17 08:30"),
    ]
    assert local_times(rows, ADMIN_2) == local_times(rows, ADMIN)
    assert report.inserted == 12
    keys = {r["dedup_key"] for r in rows}
    assert f"F10:{deadline_id}@2026-12-09:-5wd:{ADMIN}" in keys
    # A reminder before the deadline is useless after it; the chase lives 10 WD longer.
    pre = next(r for r in rows if r["step"] == "-1wd")
    assert from_db(pre["expires_at"]) == local(2026, 12, 10)
    assert all(r["case_id"] == case_id for r in rows)
    # The day itself and the chase are critical: unacknowledged, they escalate.
    assert {r["step"] for r in rows if r["critical"]} == {"0wd", "+1wd"}


async def test_planning_twice_plans_nothing_new(db: Database, clock: FakeClock) -> None:
    await f10_case(db)
    first = await planner(db, clock).plan()
    second = await planner(db, clock).plan()
    assert first.inserted == 12
    assert (second.inserted, second.cancelled, second.sources_planned) == (0, 0, 0)
    # Even when the planner forgets what it planned, the dedup keys stop a second copy.
    await db.execute("DELETE FROM reminder_plans")
    third = await planner(db, clock).plan()
    assert (third.sources_planned, third.inserted) == (1, 0)
    assert len(await reminders(db)) == 12


async def test_staff_roles_plug_in_through_the_resolver(db: Database, clock: FakeClock) -> None:
    await f10_case(db)
    await planner(db, clock).plan()
    liaison = await add_user(db, 3001, role="agency_liaison", locale="en")
    assert [
        (r.chat_id, r.locale)
        for r in await resolve_recipients(db, "agency_liaison", None, admin_ids=[ADMIN])
    ] == [(liaison, "en")]

    report = await planner(db, clock).plan()
    pending = await reminders(db, "status = 'pending'")
    assert [s for _, s, _ in local_times(pending, liaison)] == [
        "-5wd",
        "-2wd",
        "-1wd",
        "0wd",
        "+1wd",
    ]
    assert all(r["locale"] == "en" for r in pending if r["chat_id"] == liaison)
    # The admins no longer stand in for the liaison, but still for the head (chase) and
    # as administrators (the overdue report).
    assert [s for _, s, _ in local_times(pending, ADMIN)] == ["+1wd", "+6wd"]
    assert report.cancelled == 8


async def test_met_deadline_and_closed_case_cancel_pending_reminders(
    db: Database, clock: FakeClock
) -> None:
    _, deadline_id = await f10_case(db)
    other_case = await add_case(db, CITIZEN)
    await add_deadline(db, other_case, "F5", date(2026, 11, 30))
    await planner(db, clock).plan()
    sent = (await reminders(db, "step = '-5wd' AND chat_id = ?", (ADMIN,)))[0]["id"]
    await db.execute("UPDATE reminders SET status = 'sent' WHERE id = ?", (sent,))

    await set_deadline(db, deadline_id, status="met")
    await db.execute("UPDATE cases SET status = 'withdrawn' WHERE id = ?", (other_case,))
    report = await planner(db, clock).plan()

    statuses = {r["status"] for r in await reminders(db, "id != ?", (sent,))}
    assert statuses == {"cancelled"}
    assert (await reminders(db, "id = ?", (sent,)))[0]["status"] == "sent"  # history stays
    assert report.cancelled == len(await reminders(db)) - 1


async def test_moved_due_date_replaces_the_pending_reminders(
    db: Database, clock: FakeClock
) -> None:
    _, deadline_id = await f10_case(db)
    await planner(db, clock).plan()
    # F12-style extension or a pause that ended: the deadline now falls a week later.
    await set_deadline(db, deadline_id, due_on="2026-12-16")
    await planner(db, clock).plan()
    pending = await reminders(db, "status = 'pending' AND chat_id = ?", (ADMIN,))
    assert [(s, t) for _, s, t in local_times(pending, ADMIN)][:1] == [("-5wd", "12-09 08:30")]
    assert all("@2026-12-16" in r["dedup_key"] for r in pending)
    old = await reminders(db, "dedup_key LIKE '%@2026-12-09%'")
    assert {r["status"] for r in old} == {"cancelled"}


async def test_paused_deadline_is_silent_until_it_resumes(db: Database, clock: FakeClock) -> None:
    _, deadline_id = await f10_case(db)
    await planner(db, clock).plan()
    await set_deadline(db, deadline_id, status="paused", paused_since="2026-11-25")
    await planner(db, clock).plan()
    assert await reminders(db, "status = 'pending'") == []
    await set_deadline(db, deadline_id, status="open", paused_since=None, due_on="2026-12-11")
    await planner(db, clock).plan()
    assert len(await reminders(db, "status = 'pending'")) == 12


async def test_deadline_entered_late_gets_one_catch_up_not_a_burst(
    db: Database, clock: FakeClock
) -> None:
    await f10_case(db)
    clock.set(local(2026, 12, 8, 10, 0))  # after the -5wd, -2wd and -1wd moments
    await planner(db, clock).plan()
    rows = await reminders(db, "chat_id = ?", (ADMIN,))
    assert [r["step"] for r in rows] == ["-1wd", "0wd", "+1wd", "+6wd"]


async def test_expired_steps_are_not_planned(db: Database, clock: FakeClock) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN)
    await add_deadline(db, case_id, "F5", date(2026, 11, 20))  # long past, still open
    await planner(db, clock).plan()
    assert await reminders(db) == []  # F5 has no chase: nothing useful left to send


async def test_citizen_reminder_f7_in_the_citizens_language(
    db: Database, clock: FakeClock
) -> None:
    await add_user(db, CITIZEN, locale="en")
    case_id = await add_case(db, CITIZEN)
    await add_deadline(db, case_id, "F7", DUE, provisional=True)
    await planner(db, clock).plan()
    rows = await reminders(db)
    assert {r["chat_id"] for r in rows} == {CITIZEN}
    assert {r["locale"] for r in rows} == {"en"}
    assert {r["quiet"] for r in rows} == {"defer"}
    assert [s for _, s, _ in local_times(rows, CITIZEN)] == ["-5wd", "-2wd", "-1wd", "0wd"]
    assert all(r["critical"] == 0 for r in rows)


async def test_a_citizen_who_switches_language_gets_pending_reminders_in_it(
    db: Database, clock: FakeClock
) -> None:
    await add_user(db, CITIZEN, locale="zh")
    case_id = await add_case(db, CITIZEN)
    await add_deadline(db, case_id, "F7", DUE)
    await planner(db, clock).plan()
    first = (await reminders(db, "step = '-5wd'"))[0]
    await db.execute("UPDATE reminders SET status = 'sent' WHERE id = ?", (first["id"],))
    await add_user(db, CITIZEN, locale="en")  # /lang → English
    report = await planner(db, clock).plan()
    assert report.inserted == 3  # the three still pending, refreshed; no new rows
    rows = await reminders(db)
    assert [(r["step"], r["locale"]) for r in rows] == [
        ("-5wd", "zh"),  # already delivered in Chinese: history is not rewritten
        ("-2wd", "en"),
        ("-1wd", "en"),
        ("0wd", "en"),
    ]


async def test_court_hearing_l7_days_before_and_the_morning_expire_at_the_start(
    db: Database, clock: FakeClock
) -> None:
    starts = local(2026, 12, 10, 9, 0)
    await add_hearing(db, starts, major=True)
    await planner(db, clock).plan()
    rows = await reminders(db, "chat_id = ?", (ADMIN,))
    assert local_times(rows, ADMIN) == [
        ("reminder", "-7cd", "12-03 08:30"),
        ("reminder", "-3cd", "12-07 08:30"),
        ("reminder", "-1cd", "12-09 08:30"),
        ("reminder", "0cd", "12-10 07:30"),
    ]
    assert {from_db(r["expires_at"]) for r in rows} == {starts}


async def test_rescheduled_or_cancelled_hearing_cancels_its_reminders(
    db: Database, clock: FakeClock
) -> None:
    hearing = await add_hearing(db, local(2026, 12, 10, 9, 0))
    await planner(db, clock).plan()
    await db.execute(
        "UPDATE hearings SET starts_at = ? WHERE id = ?", (to_db(local(2026, 12, 17, 14)), hearing)
    )
    await planner(db, clock).plan()
    assert {r["status"] for r in await reminders(db, "dedup_key LIKE '%@20261210%'")} == {
        "cancelled"
    }
    assert len(await reminders(db, "status = 'pending'")) == 8
    await db.execute("UPDATE hearings SET status = 'cancelled' WHERE id = ?", (hearing,))
    await planner(db, clock).plan()
    assert await reminders(db, "status = 'pending'") == []


async def test_unacknowledged_critical_reminder_escalates_to_the_next_person_up(
    db: Database, clock: FakeClock
) -> None:
    liaison = await add_user(db, 3001, role="agency_liaison")
    head = await add_user(db, 3002, role="agency_head")
    await f10_case(db)
    p = planner(db, clock)
    await p.plan()
    clock.set(local(2026, 12, 9, 8, 30))  # the last day: the critical reminder goes out
    outbox = Outbox(db, FakeTransport(), clock, admin_ids=[ADMIN])
    await outbox.dispatch_due()
    day_of = (await reminders(db, "step = '0wd' AND chat_id = ?", (liaison,)))[0]
    assert day_of["status"] == "sent"

    clock.advance(timedelta(hours=3, minutes=59))
    assert await p.escalate() == 0
    clock.advance(timedelta(minutes=2))  # 4 hours on the last day without "received"
    assert await p.escalate() == 1
    assert await p.escalate() == 0  # once
    escalation = (await reminders(db, "kind = 'escalation'"))[0]
    assert (escalation["chat_id"], escalation["audience"]) == (head, "agency_head")
    assert escalation["escalated_from"] == day_of["id"]
    assert escalation["critical"] == 1
    # Earlier, non-critical reminders never escalate.
    assert {r["escalated_at"] is None for r in await reminders(db, "critical = 0")} == {True}


async def test_acknowledged_or_met_reminders_do_not_escalate(
    db: Database, clock: FakeClock
) -> None:
    liaison = await add_user(db, 3001, role="agency_liaison")
    await f10_case(db)
    other_case = await add_case(db, CITIZEN)
    await add_deadline(db, other_case, "F10", DUE)
    p = planner(db, clock)
    await p.plan()
    clock.set(local(2026, 12, 9, 8, 30))
    await Outbox(db, FakeTransport(), clock, admin_ids=[ADMIN]).dispatch_due()
    first, second = await reminders(db, "step = '0wd' AND chat_id = ?", (liaison,))
    assert (
        await acknowledge(db, first["id"], user_id=liaison, chat_id=liaison, now=clock.now())
        is AckOutcome.RECORDED
    )
    await set_deadline(db, second["source_id"], status="met")
    clock.advance(timedelta(hours=5))
    assert await p.escalate() == 0


async def sent_unacknowledged(
    db: Database,
    deadline_id: int,
    case_id: int,
    *,
    chat_id: int,
    kind: str,
    sent: datetime,
    expires_at: datetime | None = None,
) -> int:
    """A critical reminder about the F10 deadline, sent and not acknowledged."""
    rid = await add_reminder(
        db,
        chat_id=chat_id,
        due_at=sent,
        kind=kind,
        case_id=case_id,
        rule_id="F10",
        quiet="defer_unless_due_today",
        deadline_on=DUE,
        critical=True,
        status="sent",
        expires_at=expires_at,
        key=f"test:{kind}:{chat_id}",
    )
    await db.execute(
        "UPDATE reminders SET source_id = ?, sent_at = ?, escalate_after = ? WHERE id = ?",
        (deadline_id, to_db(sent), to_db(sent + timedelta(hours=1)), rid),
    )
    return rid


async def test_escalation_about_a_past_deadline_waits_for_the_morning(
    db: Database, clock: FakeClock
) -> None:
    """The chase of a missed F10 escalated at 22:30: the agency head is not woken up for it;
    it arrives at 08:00 like any staff reminder that is not due today."""
    liaison = await add_user(db, 3001, role="agency_liaison")
    head = await add_user(db, 3002, role="agency_head")
    case_id, deadline_id = await f10_case(db)
    await sent_unacknowledged(
        db, deadline_id, case_id, chat_id=liaison, kind="chase", sent=local(2026, 12, 10, 21, 0)
    )
    clock.set(local(2026, 12, 10, 22, 30))
    assert await planner(db, clock).escalate() == 1
    escalation = (await reminders(db, "kind = 'escalation'"))[0]
    assert escalation["chat_id"] == head
    assert escalation["quiet"] == "defer_unless_due_today"
    assert from_db(escalation["due_at"]) == local(2026, 12, 11, 8, 0)

    transport = FakeTransport()
    outbox = Outbox(db, transport, clock, admin_ids=[ADMIN])
    await outbox.dispatch_due()
    assert head not in transport.chats()  # not at night
    clock.set(local(2026, 12, 11, 8, 0))
    await outbox.dispatch_due()
    assert transport.chats() == [head]


async def test_escalation_about_a_deadline_ending_today_goes_out_at_night(
    db: Database, clock: FakeClock
) -> None:
    """The last day of F10 (FY 48): a late escalation is still sent at once."""
    liaison = await add_user(db, 3001, role="agency_liaison")
    head = await add_user(db, 3002, role="agency_head")
    case_id, deadline_id = await f10_case(db)
    await sent_unacknowledged(
        db,
        deadline_id,
        case_id,
        chat_id=liaison,
        kind="reminder",
        sent=local(2026, 12, 9, 20, 30),
        expires_at=local(2026, 12, 10, 0, 0),
    )
    clock.set(local(2026, 12, 9, 21, 45))
    assert await planner(db, clock).escalate() == 1
    escalation = (await reminders(db, "kind = 'escalation'"))[0]
    assert from_db(escalation["due_at"]) == clock.now()
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN]).dispatch_due()
    assert transport.chats() == [head]


async def test_escalation_about_an_early_hearing_is_not_deferred_past_it(
    db: Database, clock: FakeClock
) -> None:
    """L7: a hearing at 07:30 tomorrow; waiting for 08:00 would make the escalation useless."""
    liaison = await add_user(db, 3001, role="agency_liaison")
    head = await add_user(db, 3002, role="agency_head")
    starts = local(2026, 12, 11, 7, 30)
    hearing = await add_hearing(db, starts)
    rid = await add_reminder(
        db,
        chat_id=liaison,
        due_at=local(2026, 12, 10, 20, 0),
        rule_id="L7",
        quiet="defer_unless_due_today",
        deadline_on=date(2026, 12, 11),
        critical=True,
        status="sent",
        expires_at=starts,
        payload={"court_case_number": "(2026)鄂0625行初12号", "due_on": "2026-12-11"},
    )
    await db.execute(
        "UPDATE reminders SET source_kind = 'hearing', source_id = ?, sent_at = ?,"
        " escalate_after = ? WHERE id = ?",
        (hearing, to_db(local(2026, 12, 10, 20, 0)), to_db(local(2026, 12, 10, 22, 0)), rid),
    )
    clock.set(local(2026, 12, 10, 22, 0))
    assert await planner(db, clock).escalate() == 1
    transport = FakeTransport()
    await Outbox(db, transport, clock, admin_ids=[ADMIN]).dispatch_due()
    assert transport.chats() == [head]


def test_quiet_hours_move_to_eight_in_the_morning() -> None:
    assert after_quiet_hours(local(2026, 11, 25, 22, 15), LEGAL_TZ) == local(2026, 11, 26, 8)
    assert after_quiet_hours(local(2026, 11, 26, 3, 0), LEGAL_TZ) == local(2026, 11, 26, 8)
    assert after_quiet_hours(local(2026, 11, 26, 8, 0), LEGAL_TZ) == local(2026, 11, 26, 8)
    noon = local(2026, 11, 26, 12, 0)
    assert after_quiet_hours(noon, LEGAL_TZ) == noon
    assert isinstance(noon, datetime)


async def test_unit_staff_hear_only_of_their_own_units_cases(
    db: Database, clock: FakeClock
) -> None:
    """A mediator is reminded of the cases assigned to them; an agency liaison of applications
    against their agency; a case whose unit has nobody goes to the administrators."""
    import json

    from cases.org.users import Role, UserRepository
    from scheduling.recipients import RecipientDirectory

    users = UserRepository(db, clock)
    await users.set_role(501, Role.mediator, "room_chengguan")
    await users.set_role(502, Role.mediator, "room_shihua")
    await users.set_role(601, Role.agency_liaison, "county_psb")
    await add_user(db, 1001)
    ids = []
    for number, room, respondent in (
        ("TJ-2026-000001", "room:room_chengguan", None),
        ("TJ-2026-000002", "room:room_zijin", None),
        ("FY-2026-000001", "office:reconsideration_office", "county_psb"),
        ("FY-2026-000002", "office:reconsideration_office", "county_tax"),
    ):
        case_id = await add_case(db, 1001, number=number, status="submitted")
        await db.execute(
            "UPDATE cases SET routed_to = ?, answers = ? WHERE id = ?",
            (room, json.dumps({"respondent_id": respondent}), case_id),
        )
        ids.append(case_id)
    await db.execute("UPDATE cases SET mediator_id = 501 WHERE id = ?", (ids[0],))
    directory = RecipientDirectory(db, admin_ids=[ADMIN])
    chats = [
        [r.chat_id for r in await directory.resolve(role, case_id)]
        for role, case_id in (
            (Role.mediator, ids[0]),
            (Role.mediator, ids[1]),
            (Role.agency_liaison, ids[2]),
            (Role.agency_liaison, ids[3]),
        )
    ]
    assert chats == [[501], [ADMIN], [601], [ADMIN]]


async def test_court_reminders_reach_only_the_defendant_agencys_staff(
    db: Database, clock: FakeClock
) -> None:
    """Regression: a court case has no citizen case, so unit scoping was skipped and every
    agency's liaison got every court's reminders."""
    from cases.litigation.court_cases import LitigationService
    from cases.litigation.models import RegisterLawsuit
    from cases.org.organisation import load_organisation
    from cases.org.users import Role, UserRepository

    users = UserRepository(db, clock)
    await users.set_role(501, Role.agency_liaison, "county_psb")
    await users.set_role(502, Role.agency_liaison, "county_housing")
    service = LitigationService(db, clock, load_organisation(), engine=ENGINE)
    await service.register_lawsuit(
        RegisterLawsuit(
            agency_id="county_psb",
            court="谷城县人民法院",
            court_case_number="(2026)鄂0625行初12号",
            plaintiff="张三",
            act_challenged="谷公(治)决字〔2026〕123号",
            complaint_received_on=date(2026, 11, 20),
            major=False,
            court_requested_head=False,
            registered_by=ADMIN,
        )
    )
    planner = Planner(db, clock, admin_ids=[ADMIN], tz=LEGAL_TZ, calendar=ENGINE.calendar)
    await planner.plan()
    chats = {
        r[0]
        for r in await db.fetch_all(
            "SELECT chat_id FROM reminders WHERE rule_id = 'L3' AND audience = 'agency_liaison'"
        )
    }
    assert chats == {501}
