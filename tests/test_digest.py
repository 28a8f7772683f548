"""The 08:00 staff digest: always sendable (≤ 4,096 characters), and only what still matters."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from scheduling.digest import (
    MAX_CHARS,
    DigestData,
    DueItem,
    Problem,
    collect,
    queue_digests,
    render,
    telegram_length,
)
from tests.scheduling_helpers import (
    ADMIN,
    add_case,
    add_deadline,
    add_reminder,
    add_user,
    local,
    reminders,
)

TODAY = date(2026, 11, 25)
CITIZEN = 1001
TELEGRAM_LIMIT = 4096
LONG_NUMBER = "（2026）鄂0625行初" + "9" * 80 + "号"  # court case numbers may be 100 characters


def crowded_day(count: int = 150) -> DigestData:
    """A bad morning: many deadlines today, a long overdue list, many failed deliveries."""
    return DigestData(
        today=[
            DueItem("F12", f"谷复〔2026〕{n}号", TODAY)
            if n % 3
            else DueItem("L7", LONG_NUMBER, TODAY, local(2026, 11, 25, 9, 30))
            for n in range(count)
        ],
        overdue=[
            DueItem("F10", f"谷复〔2026〕{1000 + n}号", TODAY - timedelta(days=1 + n % 30))
            for n in range(count * 2)
        ],
        problems=[
            Problem("failed" if n % 2 else "unknown", f"谷复〔2026〕{5000 + n}号", "F10", "admin")
            for n in range(count)
        ],
    )


def more_counts(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"(?:另有|and) (\d+) ", text)]


@pytest.mark.parametrize(
    ("locale", "headings"),
    [
        ("zh", ("今日到期（150）", "已逾期（300）", "（150）")),
        ("en", ("Due today (150)", "Overdue (300)", "need a phone call (150)")),
    ],
)
def test_digest_longer_than_telegram_allows_is_cut_with_and_n_more(
    locale: str, headings: tuple[str, ...]
) -> None:
    text = render(crowded_day(), Role.admin, locale, TODAY)
    assert text is not None
    assert telegram_length(text) <= MAX_CHARS < TELEGRAM_LIMIT
    for heading in headings:  # every section is announced with its full count
        assert heading in text
    # Each section ends with "… and N more", N being what was left out.
    shown = text.count("\n• ")
    left_out = more_counts(text)
    assert len(left_out) == 3
    assert shown + sum(left_out) == 150 + 300 + 150
    assert ("……另有" if locale == "zh" else "… and") in text
    # The characters are shared: a long overdue list does not crowd out the other sections.
    assert all("\n• " in part for part in text.split("\n\n")[1:])


def test_digest_with_few_items_lists_them_all() -> None:
    text = render(crowded_day(count=3), Role.admin, "en", TODAY)
    assert text is not None
    assert text.count("\n• ") == 3 + 6 + 3
    assert more_counts(text) == []


async def test_digest_from_hundreds_of_overdue_cases_stays_sendable(
    db: Database, clock: FakeClock
) -> None:
    await add_user(db, CITIZEN)
    await add_user(db, ADMIN, role="admin", locale="zh")
    await add_user(db, ADMIN + 1, role="office_staff", locale="en")
    for n in range(250):
        case_id = await add_case(db, CITIZEN, status="accepted")
        await add_deadline(db, case_id, "F12" if n % 2 else "F10", TODAY - timedelta(days=n % 9))
    for n in range(60):
        await add_reminder(db, chat_id=7000 + n, due_at=clock.now(), status="failed")
    assert await queue_digests(db, clock, admin_ids=[ADMIN]) == 2
    for row in await reminders(db, "kind = 'digest'"):
        text = json.loads(row["payload"])["text"]
        assert telegram_length(text) <= TELEGRAM_LIMIT
        assert "另有" in text or "more" in text


async def test_missed_f5_of_an_accepted_case_leaves_the_digest(db: Database) -> None:
    await add_user(db, CITIZEN)
    yesterday = TODAY - timedelta(days=1)
    week_ago = TODAY - timedelta(days=7)
    # Deemed accepted (FY 30(3)): F5 missed, F9 and F12 opened, the status moved on.
    deemed = await add_case(db, CITIZEN, status="accepted", number="谷复〔2026〕1号")
    await add_deadline(db, deemed, "F5", week_ago, status="missed")
    await add_deadline(db, deemed, "F9", TODAY + timedelta(days=5))
    await add_deadline(db, deemed, "F12", TODAY + timedelta(days=50))
    # Between the two steps of deemed acceptance: F9/F12 exist, the status not yet updated.
    halfway = await add_case(db, CITIZEN, status="submitted", number="谷复〔2026〕2号")
    await add_deadline(db, halfway, "F5", yesterday, status="missed")
    await add_deadline(db, halfway, "F9", TODAY + timedelta(days=6))
    # Missed and nothing happened yet: the office must act, so it is listed.
    pending = await add_case(db, CITIZEN, status="submitted", number="谷复〔2026〕3号")
    await add_deadline(db, pending, "F5", yesterday, status="missed")
    # An overdue 补正 period of a case that has since been accepted: stale.
    corrected = await add_case(db, CITIZEN, status="accepted", number="谷复〔2026〕4号")
    await add_deadline(db, corrected, "F7", week_ago)
    # An overdue decision of a running case: listed.
    running = await add_case(db, CITIZEN, status="accepted", number="谷复〔2026〕5号")
    await add_deadline(db, running, "F12", yesterday)

    data = await collect(db, TODAY)
    assert sorted((i.label, i.rule_id) for i in data.overdue) == [
        ("谷复〔2026〕3号", "F5"),
        ("谷复〔2026〕5号", "F12"),
    ]
    text = render(data, Role.admin, "zh", TODAY)
    assert text is not None and "已逾期（2）" in text
    assert "谷复〔2026〕1号" not in text and "谷复〔2026〕4号" not in text


async def test_deadline_due_today_is_listed_whatever_the_case_status(db: Database) -> None:
    """A clock still open on its last day is always worth a line; only the overdue are
    filtered by the case's stage."""
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN, status="accepted", number="谷复〔2026〕9号")
    await add_deadline(db, case_id, "F5", TODAY)
    data = await collect(db, TODAY)
    assert [i.label for i in data.today] == ["谷复〔2026〕9号"]


def test_telegram_length_counts_emoji_twice() -> None:
    assert telegram_length("已逾期") == 3
    assert telegram_length("⏰") == 1 and telegram_length("\U0001f4c5") == 2
