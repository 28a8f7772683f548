"""The statistics figures against a county counted by hand (tests/reports_support.py): every
number below was counted from the fixture's comments, not by running the query."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from aiogram import Dispatcher

from cases.intake.forms import Procedure
from cases.litigation.court_cases import LitigationService
from cases.org.organisation import load_organisation
from cases.reports.figures import (
    OTHER_AGENCY,
    StatsService,
    median,
    percentile_nearest_rank,
)
from cases.reports.periods import (
    Period,
    PeriodError,
    PeriodKind,
    first_working_day,
    parse_custom,
    preset,
)
from cases.store.db import Database
from cases.store.time import FakeClock
from settings import Settings
from tests.reports_support import HRSS, NOVEMBER, PSB, TOWN, build_county
from tests.support import ENGINE

NOV = Period(first=NOVEMBER[0], last=NOVEMBER[1])


@pytest.fixture
async def stats(db: Database, clock: FakeClock) -> StatsService:
    org = load_organisation(Settings(bot_token="1:x", _env_file=None).organisation_path)
    await build_county(db)
    return StatsService(db, clock, org, LitigationService(db, clock, org, engine=ENGINE))


async def test_totals_for_november_match_the_hand_count(stats: StatsService) -> None:
    report = await stats.report(NOV)
    total = report.total
    # Received in November: R1 R2 R5 P1 P3 M1 M2 M4 (R3, R4, P2, M3 earlier).
    assert total.received == 8
    # Open today: R2 R3 P2 M4; overdue: R3 (F12 11-20), P2 (X4 09-30).
    assert (total.open_now, total.overdue_now) == (4, 2)
    # Closed in November: R1 R4 R5 P1 P3 M1 M2; late: R4 (F5 met late), M2 (MA met late).
    # R1's missed F10 is the respondent's reply, not the handling: R1 is on time.
    assert (total.closed, total.closed_on_time) == (7, 5)
    assert total.on_time_share == pytest.approx(5 / 7)
    # Days 18 6 2 23 1 14 5 → sorted 1 2 5 6 14 18 23: median 6, P90 = 7th of 7 = 23.
    assert sorted(total.handling_days) == [1, 2, 5, 6, 14, 18, 23]
    assert (total.median_days, total.p90_days) == (6.0, 23)
    assert total.deemed_accepted == 1  # R2, accepted as of 11-10
    assert (total.mediation_closed, total.agreements) == (2, 1)  # M1 agreed, M2 not
    # Follow-ups: M3 00:30 on 11-01 kept, M1 11-20 not kept; M3 23:30 on 10-31 is October.
    assert (total.followups_checked, total.followups_kept) == (2, 1)


async def test_per_procedure_rows_match_the_hand_count(stats: StatsService) -> None:
    rows = {r.key: r for r in (await stats.report(NOV)).by_procedure}
    recon, petition, mediation = rows["reconsideration"], rows["petition"], rows["mediation"]
    assert (recon.received, recon.open_now, recon.overdue_now) == (3, 2, 1)
    assert (recon.closed, recon.closed_on_time, recon.deemed_accepted) == (3, 2, 1)
    assert (recon.median_days, recon.p90_days) == (6.0, 18)  # 2 6 18
    assert (petition.received, petition.open_now, petition.overdue_now) == (2, 1, 1)
    assert (petition.closed, petition.closed_on_time) == (2, 2)
    assert (petition.median_days, petition.p90_days) == (12.0, 23)  # 1 23
    assert (mediation.received, mediation.open_now, mediation.closed) == (3, 1, 2)
    assert mediation.agreement_share == pytest.approx(0.5)
    assert (mediation.median_days, mediation.p90_days) == (9.5, 14)  # 5 14
    assert recon.name_zh == "行政复议" and mediation.name_en == "Administrative mediation"


async def test_per_agency_rows_match_the_hand_count(stats: StatsService) -> None:
    rows = {r.key: r for r in (await stats.report(NOV)).by_agency}
    assert set(rows) == {PSB, HRSS, TOWN, OTHER_AGENCY}
    psb = rows[PSB]  # R1 R2 R3 R4
    assert (psb.received, psb.open_now, psb.overdue_now, psb.closed, psb.closed_on_time) == (
        2,
        2,
        1,
        2,
        1,
    )
    assert psb.name_zh == "谷城县公安局"
    hrss = rows[HRSS]  # P1 P2
    assert (hrss.received, hrss.open_now, hrss.overdue_now, hrss.closed) == (1, 1, 1, 1)
    town = rows[TOWN]  # the mediation room's township government: M1-M4
    assert (town.received, town.closed, town.agreements, town.followups_kept) == (3, 2, 1, 1)
    other = rows[OTHER_AGENCY]  # R5 (typed respondent), P3 (none named)
    assert (other.received, other.closed, other.closed_on_time) == (2, 2, 2)
    assert other.name_zh == "其他或未注明"


async def test_reception_and_appearance_figures_match_the_hand_count(stats: StatsService) -> None:
    report = await stats.report(NOV)
    total = report.reception_total
    # PSB 11-10: attended ×2, no-show, cancelled, expired (waitlist); HRSS 11-17: attended,
    # released; PSB 12-08 is December.
    assert (total.booked, total.attended, total.no_show, total.cancelled) == (4, 3, 1, 2)
    assert (total.settled, total.petition, total.referred) == (1, 1, 1)
    assert total.attendance_share == pytest.approx(3 / 4)
    psb = next(r for r in report.reception if r.key == PSB)
    assert (psb.booked, psb.attended, psb.no_show, psb.cancelled) == (3, 2, 1, 1)
    appearance = report.appearance
    assert appearance is not None
    # 11-12 head, 11-18 staff, 11-20 unrecorded; 10-30 and 12-03 outside.
    assert (appearance.taken_place, appearance.attended, appearance.head) == (3, 2, 1)
    assert appearance.attendance_rate == pytest.approx(2 / 3)
    assert appearance.head_rate == pytest.approx(1 / 3)
    assert (appearance.head_required_held, appearance.head_required_head) == (1, 1)


async def test_filters_narrow_every_table(stats: StatsService) -> None:
    report = await stats.report(NOV, procedure=Procedure.mediation)
    assert report.total.received == 3 and [r.key for r in report.by_procedure] == ["mediation"]
    assert report.appearance is None and report.reception == []  # not a procedure's figures
    report = await stats.report(NOV, agency=HRSS)
    assert (report.total.received, report.total.open_now) == (1, 1)
    assert [r.key for r in report.reception] == [HRSS]
    assert report.appearance is not None and report.appearance.taken_place == 0
    report = await stats.report(NOV, agency=PSB)
    assert report.appearance is not None and report.appearance.taken_place == 3


async def test_the_agency_buttons_list_the_busiest_agencies_first(stats: StatsService) -> None:
    # PSB: 4 cases + 6 bookings + 1 lawsuit = 11; HRSS: 2 cases + 2 bookings = 4; the town:
    # 4 cases = 4 (a tie: by id). R5's typed respondent and P3 name no agency.
    assert await stats.agencies_with_cases() == [PSB, HRSS, TOWN]


def test_median_and_nearest_rank_percentile() -> None:
    assert median([]) is None and percentile_nearest_rank([], 0.9) is None
    assert median([3, 1, 2, 10]) == 2.5
    assert percentile_nearest_rank(list(range(1, 11)), 0.9) == 9  # ⌈9⌉ = 9th of 10
    assert percentile_nearest_rank(list(range(1, 12)), 0.9) == 10  # ⌈9.9⌉ = 10th of 11
    assert percentile_nearest_rank([5], 0.9) == 5


def test_period_presets_and_typed_periods() -> None:
    today = date(2026, 11, 25)
    assert preset(PeriodKind.this_month, today).last == date(2026, 11, 30)
    last = preset(PeriodKind.last_month, today)
    assert (last.first, last.last) == (date(2026, 10, 1), date(2026, 10, 31))
    quarter = preset(PeriodKind.quarter, today)
    assert (quarter.first, quarter.last) == (date(2026, 10, 1), date(2026, 12, 31))
    assert preset(PeriodKind.last_month, date(2026, 1, 5)).first == date(2025, 12, 1)
    typed = parse_custom("2026年1月1日至2026年3月31日", today)
    assert (typed.first, typed.last) == (date(2026, 1, 1), date(2026, 3, 31))
    assert parse_custom("2026.2.3", today).days == 1
    for text, reason in (
        ("last spring", "unreadable"),
        ("2026-02-30 2026-03-01", "unreadable"),
        ("2026-03-01 2026-01-01", "reversed"),
        ("2010-01-01 2026-01-01", "too_long"),
        ("1999-01-01 1999-02-01", "out_of_range"),
    ):
        with pytest.raises(PeriodError) as caught:
            parse_custom(text, today)
        assert caught.value.reason == reason, text


def test_first_working_day_follows_the_legal_calendar() -> None:
    from tests.support import ENGINE

    calendar = ENGINE.calendar
    # National Day 1-7 October 2026; 8 October is the first working day.
    assert first_working_day(2026, 10, calendar) == date(2026, 10, 8)
    # 4 January 2026 is a Sunday worked in exchange for the New Year holiday (调休).
    assert first_working_day(2026, 1, calendar) == date(2026, 1, 4)
    assert first_working_day(2026, 5, calendar) == date(2026, 5, 6)  # Labour Day 1-5 May
    assert first_working_day(2026, 12, calendar) == date(2026, 12, 1)


async def test_two_follow_ups_of_one_agreement_counted_as_two_agreements(
    db: Database, stats: StatsService
) -> None:
    """M1 (not kept at the follow-up of 11-20) is visited again on 11-24 and now kept: one
    agreement, kept as last seen; with M3 (kept on 11-01) that is 2 checked, 2 kept — not 3
    checked, 2 kept."""
    from tests.reports_support import add_event, local

    m1 = await db.fetch_value("SELECT id FROM cases WHERE number = 'TJ-2026-000001'")
    await add_event(db, m1, "mediation_followup", local("2026-11-24"), {"kept": True})
    total = (await stats.report(NOV)).total
    assert (total.followups_checked, total.followups_kept) == (2, 2)


async def test_court_hearings_of_a_renamed_agency_were_missing_from_its_filter(
    db: Database, stats: StatsService
) -> None:
    """Hearings keep the agency's name of the day the court case was registered; the filter
    compared it with today's name from the organisation file, so after a renaming the PSB's
    three hearings of November (11-12 head, 11-18 staff, 11-20 unrecorded) disappeared."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE hearings SET agency = '谷城县公安局（原名）'")
    appearance = (await stats.report(NOV, agency=PSB)).appearance
    assert appearance is not None
    assert (appearance.taken_place, appearance.head) == (3, 1)


async def test_a_case_closed_just_after_local_midnight_belongs_to_the_new_month(
    db: Database, stats: StatsService
) -> None:
    """Instants are stored in UTC, periods are Gucheng days: 00:30 on 1 December is still
    30 November in UTC (16:30), and 23:30 on 30 November is 15:30 UTC the same day."""
    from tests.reports_support import add_case, add_event, local

    late = await add_case(db, "TJ-2026-000005", "mediation", "closed", "2026-11-26")
    await add_event(db, late, "mediation_failed", local("2026-12-01", 0, 30))
    just = await add_case(db, "TJ-2026-000006", "mediation", "closed", "2026-11-26")
    await add_event(db, just, "mediation_failed", local("2026-11-30", 23, 30))
    november = (await stats.report(NOV)).total
    assert november.closed == 7 + 1  # the hand count plus TJ-6
    assert sorted(november.handling_days)[-1] == 23 and 4 in november.handling_days
    december = await stats.report(Period(first=date(2026, 12, 1), last=date(2026, 12, 31)))
    assert december.total.closed == 1 and december.total.handling_days == [5]


async def test_a_petition_taken_up_on_the_reception_day_counted_as_other_agency(
    db: Database, stats: StatsService
) -> None:
    """A petition registered at the PSB's reception day (cases/reception/booking.py) names
    no "agency concerned": it is routed to the agency's id. It was counted under "other"."""
    from tests.reports_support import add_case

    await add_case(
        db,
        "XF-2026-000004",
        "petition",
        "submitted",
        "2026-11-10",
        answers={"petition_kind": "request", "channel": "reception_day"},
        routed_to=PSB,
    )
    rows = {r.key: r for r in (await stats.report(NOV)).by_agency}
    assert (rows[PSB].received, rows[PSB].open_now) == (2 + 1, 2 + 1)
    assert rows[OTHER_AGENCY].received == 2  # R5 and P3, as before
    assert await stats.agencies_with_cases() == [PSB, HRSS, TOWN]


async def test_an_accepted_reception_day_petition_stayed_overdue_on_its_x2(
    dispatcher: Dispatcher, db: Database, clock: FakeClock
) -> None:
    """XF 23 (X2): the agency tells the petitioner within 15 days whether the petition is
    accepted; accepting it does that. The accept action met only X1, so X2 stayed open: the
    case showed as overdue once X2's day had passed, and would close "not on time"."""
    from cases.org.users import Role
    from cases.procedures.actions import Action
    from tests.reports_support import add_case, add_deadline

    case_id = await add_case(
        db,
        "XF-2026-000009",
        "petition",
        "submitted",
        "2026-11-02",
        answers={"petition_kind": "complaint", "channel": "reception_day"},
        routed_to=PSB,
    )
    await add_deadline(db, case_id, "X2", "2026-11-02", "2026-11-17")
    await dispatcher["users"].set_role(9500, Role.admin)
    admin = await dispatcher["users"].get(9500)
    clock.set(datetime(2026, 11, 10, 2, tzinfo=UTC))  # 10:00 on 10 November, in time
    result = await dispatcher["actions"].run(Action.accept, case_id, admin)
    assert result.outcome.value == "done"
    x2 = await db.fetch_one(
        "SELECT status, closed_on FROM case_deadlines WHERE case_id = ? AND rule_id = 'X2'",
        (case_id,),
    )
    assert tuple(x2) == ("met", "2026-11-10")
    clock.set(datetime(2026, 11, 25, 1, tzinfo=UTC))
    rows = {r.key: r for r in (await dispatcher["stats"].report(NOV)).by_agency}
    assert (rows[PSB].open_now, rows[PSB].overdue_now) == (1, 0)
