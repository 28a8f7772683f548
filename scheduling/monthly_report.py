"""The monthly report: last month's figures, sent by itself to every administrator on the first
working day of the month (legal calendar: 2026-10-08 after National Day, the Sunday make-up
day 2026-01-04 after New Year).

Queued with the morning digest (and by the catch-up after a start, in the daytime) from the
first working day until the month ends; three outbox rows per administrator — the chart, the
key figures, the XLSX — each with its own ``dedup_key`` (``monthly:<YYYY-MM>:<chat>:<part>``),
so a restart, a second queueing or a re-run sends nothing twice. The figures are computed once
when queued and stored in the row's payload; the chart and the workbook are drawn from them
when the row is sent (scheduling/sender.py, in a thread), so what arrives is what was counted.
No aiogram here: the sender does the sending.

A month before the county had anything on record (no case received, no reception day, no
court case by its last day) has no report: a bot installed on 6 December does not greet its
administrators with a November of zeros. This also keeps a freshly started bot (the process
tests) from sending a report depending on the hour it starts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cases.i18n import N_, translate
from cases.law.calendar import LegalCalendar
from cases.org.users import Role
from cases.reports.charts import render_png
from cases.reports.export import file_stem, to_xlsx
from cases.reports.figures import Report, StatsService
from cases.reports.periods import first_working_day, month_of, previous_month
from cases.reports.summary import summary_text
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock, to_db
from scheduling.recipients import RecipientDirectory

log = logging.getLogger(__name__)

PAYLOAD_KEY = "monthly_report"


class Part(StrEnum):
    chart = "chart"
    text = "text"
    xlsx = "xlsx"


@dataclass(frozen=True)
class RenderedPart:
    """What the sender sends for one outbox row: a photo, a message or a document."""

    part: Part
    text: str
    """The message, or the caption of the photo or document."""
    data: bytes = b""
    filename: str = ""


def report_month(today: date, calendar: LegalCalendar) -> str | None:
    """The month (YYYY-MM) whose report is due on ``today``: last month's, from this month's
    first working day on; None before it."""
    if today < first_working_day(today.year, today.month, calendar):
        return None
    return previous_month(today).first.strftime("%Y-%m")


async def anything_on_record(db: Database, last: date) -> bool:
    """Whether any case, reception day or court case dates from ``last`` or before."""
    day = last.isoformat()
    found = await db.fetch_value(
        "SELECT EXISTS(SELECT 1 FROM cases WHERE received_on <= ?)"
        " OR EXISTS(SELECT 1 FROM reception_sessions WHERE day <= ?)"
        " OR EXISTS(SELECT 1 FROM lawsuits WHERE complaint_received_on <= ?)",
        (day, day, day),
    )
    return bool(found)


def heading(report: Report, locale: str) -> str:
    month = report.period.first
    if locale == "en":
        return translate(locale, N_("Monthly report: {month}")).format(
            month=month.strftime("%B %Y")
        )
    return translate(locale, N_("Monthly report: {month}")).format(
        month=f"{month.year}年{month.month}月"
    )


async def queue_monthly_reports(
    db: Database,
    clock: Clock,
    stats: StatsService,
    calendar: LegalCalendar,
    *,
    admin_ids: list[int],
    tz: ZoneInfo = LEGAL_TZ,
) -> int:
    """Queue last month's report for every administrator once; returns the rows added."""
    now = clock.now()
    today = now.astimezone(tz).date()
    month = report_month(today, calendar)
    if month is None:
        return 0
    period = previous_month(today)
    if not await anything_on_record(db, period.last):
        return 0
    admins = await RecipientDirectory(db, admin_ids=admin_ids).resolve(Role.admin, None)
    if not admins:
        return 0
    keys = [f"monthly:{month}:{person.chat_id}:{part.value}" for person in admins for part in Part]
    marks = ",".join("?" for _ in keys)
    done = await db.fetch_value(
        f"SELECT count(*) FROM reminders WHERE dedup_key IN ({marks})", tuple(keys)
    )
    if done == len(keys):
        return 0  # the common case on every later morning of the month: no counting
    report = await stats.report(period)
    figures = report.model_dump(mode="json")
    stamp = to_db(now)
    expires = to_db(datetime.combine(month_of(today).last + timedelta(days=1), time.min, tz))
    queued = 0
    async with db.transaction() as conn:
        for person in admins:
            for part in Part:
                payload = {PAYLOAD_KEY: month, "part": part.value, "report": figures}
                cursor = await conn.execute(
                    "INSERT INTO reminders(dedup_key, kind, source_kind, step, audience, chat_id,"
                    " locale, payload, due_at, expires_at, created_at, updated_at)"
                    " VALUES (?, 'notice', 'notice', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(dedup_key) DO NOTHING",
                    (
                        f"monthly:{month}:{person.chat_id}:{part.value}",
                        f"monthly_report:{month}:{part.value}",
                        Role.admin.value,
                        person.chat_id,
                        person.locale,
                        json.dumps(payload, ensure_ascii=False),
                        stamp,
                        expires,
                        stamp,
                        stamp,
                    ),
                )
                queued += cursor.rowcount
    if queued:
        log.info("monthly report %s queued: %d messages", month, queued)
    return queued


def is_report_row(payload: dict[str, Any]) -> bool:
    return bool(payload.get(PAYLOAD_KEY))


def render_part(payload: dict[str, Any], locale: str) -> RenderedPart:
    """Draw one part from the stored figures. CPU-bound (matplotlib, openpyxl): the sender
    runs it in a thread."""
    report = Report.model_validate(payload["report"])
    part = Part(payload["part"])
    title = heading(report, locale)
    if part is Part.chart:
        return RenderedPart(part, title, render_png(report, locale), file_stem(report) + ".png")
    if part is Part.xlsx:
        return RenderedPart(part, title, to_xlsx(report, locale), file_stem(report) + ".xlsx")
    return RenderedPart(part, summary_text(report, locale, heading=title))
