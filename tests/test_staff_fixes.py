"""Regression tests for the "Found while testing the staff side, to fix" list of issue 10."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from cases.clock import LEGAL_TZ, FakeClock, from_db
from cases.db import Database
from scheduling.planner import Planner
from scheduling.policy import QUIET_END, QUIET_START
from tests.scheduling_helpers import ADMIN, add_case, add_deadline, add_user, reminders

ROOT = Path(__file__).resolve().parent.parent
CITIZEN = 1001


async def test_staff_reminders_never_fall_on_a_weekend(db: Database, clock: FakeClock) -> None:
    """F12 ends on Wednesday 16 December: its 10-calendar-day reminder fell on Sunday the 6th
    at 08:30; it goes out on Friday the 4th instead, the working day before."""
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN)
    await add_deadline(db, case_id, "F12", date(2026, 12, 16))
    await Planner(db, clock, admin_ids=[ADMIN]).plan()
    rows = await reminders(db, "status = 'pending' AND chat_id = ?", (ADMIN,))
    moments = {r["step"]: from_db(r["due_at"]).astimezone(LEGAL_TZ) for r in rows}
    assert moments["-10cd"].strftime("%Y-%m-%d %H:%M") == "2026-12-04 08:30"
    assert all(m.weekday() < 5 for m in moments.values()), moments


async def test_citizen_reminders_keep_their_calendar_day(db: Database, clock: FakeClock) -> None:
    """Only staff reminders move: a citizen's M1 reminder may come on a Sunday."""
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, procedure="mediation")
    await add_deadline(db, case_id, "M1", date(2026, 12, 16))
    await Planner(db, clock, admin_ids=[ADMIN]).plan()
    rows = await reminders(db, "status = 'pending' AND chat_id = ? AND step = '-10cd'", (CITIZEN,))
    assert [from_db(r["due_at"]).astimezone(LEGAL_TZ).date() for r in rows] == [date(2026, 12, 6)]


def test_quiet_hours_one_value_in_settings_and_code() -> None:
    """.env.example said 22:00-08:00 while the code deferred from 21:00."""
    expected = f"{QUIET_START:%H:%M}-{QUIET_END:%H:%M}"
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    stated = re.findall(r"quiet hours \((\d\d:\d\d)-(\d\d:\d\d)\)", text)
    assert stated and all(f"{a}-{b}" == expected for a, b in stated)
    for path in ("scheduling/policy.py", "scheduling/outbox.py"):
        source = (ROOT / path).read_text(encoding="utf-8")
        for a, b in re.findall(r"(\d\d:\d\d)–(\d\d:\d\d)", source):
            assert f"{a}-{b}" == expected, path
