"""The figures as tables, written as XLSX (a sheet per table) and CSV (the tables one after
another, for Excel: UTF-8 with a byte order mark so that Chinese opens correctly).

One definition of the tables (:func:`tables`) serves both files, so they cannot disagree.
Numbers are numbers (shares as fractions, shown as percentages in the XLSX), dates are dates;
a figure that does not exist (a share of nothing, the median of no case) is an empty cell.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cases.i18n import N_, translate
from cases.litigation.court_cases import AppearanceStats
from cases.reports.figures import PROCEDURE_LABELS, CaseFigures, ReceptionFigures, Report

Cell = str | int | float | date | None


class Format(StrEnum):
    text = "text"
    count = "count"
    share = "share"
    days = "days"
    day = "day"


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: list[str]
    formats: list[Format]
    rows: list[list[Cell]]


CASE_COLUMNS: tuple[tuple[str, Format], ...] = (
    (N_("Cases received"), Format.count),
    (N_("Open now"), Format.count),
    (N_("Cases closed"), Format.count),
    (N_("Overdue now"), Format.count),
    (N_("Closed on time"), Format.count),
    (N_("On-time share"), Format.share),
    (N_("Median handling days"), Format.days),
    (N_("90th percentile handling days"), Format.days),
    (N_("Deemed acceptances"), Format.count),
    (N_("Mediations closed"), Format.count),
    (N_("Mediation agreements"), Format.count),
    (N_("Agreement share"), Format.share),
    (N_("Follow-ups"), Format.count),
    (N_("Agreements kept"), Format.count),
)
RECEPTION_COLUMNS: tuple[tuple[str, Format], ...] = (
    (N_("Bookings"), Format.count),
    (N_("Attended"), Format.count),
    (N_("No-show"), Format.count),
    (N_("Cancelled or released"), Format.count),
    (N_("Attendance share"), Format.share),
    (N_("Settled on the day"), Format.count),
    (N_("Taken up as a petition"), Format.count),
    (N_("Referred"), Format.count),
)
APPEARANCE_COLUMNS: tuple[tuple[str, Format], ...] = (
    (N_("Hearings taken place"), Format.count),
    (N_("Head in person"), Format.count),
    (N_("Staff member"), Format.count),
    (N_("Lawyer only"), Format.count),
    (N_("Nobody"), Format.count),
    (N_("Not recorded yet"), Format.count),
    (N_("Appearance rate"), Format.share),
    (N_("Head-in-person rate"), Format.share),
    (N_("Head had to appear"), Format.count),
    (N_("Head in person where required"), Format.share),
)
TOTAL = N_("Total")


def _case_row(name: str, f: CaseFigures) -> list[Cell]:
    return [
        name,
        f.received,
        f.open_now,
        f.closed,
        f.overdue_now,
        f.closed_on_time,
        f.on_time_share,
        f.median_days,
        f.p90_days,
        f.deemed_accepted,
        f.mediation_closed,
        f.agreements,
        f.agreement_share,
        f.followups_checked,
        f.followups_kept,
    ]


def _reception_row(name: str, f: ReceptionFigures) -> list[Cell]:
    return [
        name,
        f.booked,
        f.attended,
        f.no_show,
        f.cancelled,
        f.attendance_share,
        f.settled,
        f.petition,
        f.referred,
    ]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _appearance_rows(stats: AppearanceStats, total: str) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for a in stats.by_agency:
        taken = a.held + a.unrecorded
        rows.append(
            [
                a.agency,
                taken,
                a.head,
                a.staff,
                a.lawyer_only,
                a.absent,
                a.unrecorded,
                _rate(a.head + a.staff, taken),
                _rate(a.head, taken),
                a.head_required,
                _rate(a.head_required_head, a.head_required),
            ]
        )
    rows.append(
        [
            total,
            stats.taken_place,
            stats.head,
            stats.staff,
            stats.lawyer_only,
            stats.absent,
            stats.unrecorded,
            stats.attendance_rate,
            stats.head_rate,
            stats.head_required_taken_place,
            stats.head_required_rate,
        ]
    )
    return rows


def tables(report: Report, locale: str) -> list[Table]:
    def t(msgid: str) -> str:
        return translate(locale, msgid)

    def name(row: CaseFigures | ReceptionFigures) -> str:
        return row.name_en if locale == "en" else row.name_zh

    def heads(
        first: str, columns: tuple[tuple[str, Format], ...]
    ) -> tuple[list[str], list[Format]]:
        return [t(first), *(t(c) for c, _ in columns)], [Format.text, *(f for _, f in columns)]

    filters = t(N_("All procedures"))
    if report.procedure is not None:
        filters = t(PROCEDURE_LABELS[report.procedure.value])
    agency = (
        (report.agency_name_en if locale == "en" else report.agency_name_zh)
        if report.agency is not None
        else t(N_("All agencies"))
    )
    out = [
        Table(
            "period",
            t(N_("Period")),
            [t(N_("Item")), t(N_("Value"))],
            [Format.text, Format.text],
            [
                [t(N_("First day")), report.period.first],
                [t(N_("Last day")), report.period.last],
                [t(N_("Procedure")), filters],
                [t(N_("Agency")), agency],
                [t(N_("Figures as of")), report.today],
            ],
        )
    ]
    headers, formats = heads(N_("Procedure"), CASE_COLUMNS)
    out.append(
        Table(
            "procedures",
            t(N_("By procedure")),
            headers,
            formats,
            [_case_row(name(r), r) for r in report.by_procedure]
            + [_case_row(t(TOTAL), report.total)],
        )
    )
    headers, formats = heads(N_("Agency"), CASE_COLUMNS)
    out.append(
        Table(
            "agencies",
            t(N_("By agency")),
            headers,
            formats,
            [_case_row(name(r), r) for r in report.by_agency],
        )
    )
    if report.procedure is None:
        headers, formats = heads(N_("Agency"), RECEPTION_COLUMNS)
        out.append(
            Table(
                "reception",
                t(N_("Reception days")),
                headers,
                formats,
                [_reception_row(name(r), r) for r in report.reception]
                + [_reception_row(t(TOTAL), report.reception_total)],
            )
        )
    if report.appearance is not None:
        headers, formats = heads(N_("Agency"), APPEARANCE_COLUMNS)
        out.append(
            Table(
                "appearance",
                t(N_("Court appearances")),
                headers,
                formats,
                _appearance_rows(report.appearance, t(TOTAL)),
            )
        )
    return out


_NUMBER_FORMATS = {
    Format.share: "0.0%",
    Format.days: "0.0",
    Format.count: "0",
    Format.day: "yyyy-mm-dd",
}
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def to_xlsx(report: Report, locale: str) -> bytes:
    """A sheet per table, the header row frozen and bold."""
    book = Workbook()
    book.remove(book.active)
    for table in tables(report, locale):
        sheet = book.create_sheet(table.title.translate(_SHEET_FORBIDDEN)[:31])
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        for row_cells in sheet.iter_rows(min_row=2):
            for cell, fmt in zip(row_cells, table.formats, strict=False):
                if isinstance(cell.value, date):
                    cell.number_format = _NUMBER_FORMATS[Format.day]
                elif fmt in _NUMBER_FORMATS and isinstance(cell.value, int | float):
                    cell.number_format = _NUMBER_FORMATS[fmt]
        sheet.freeze_panes = "A2"
        for index, header in enumerate(table.headers, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, len(header) * 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv_cell(value: Cell, fmt: Format) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if fmt is Format.share and isinstance(value, float):
        return round(value, 4)
    return value


def to_csv(report: Report, locale: str) -> bytes:
    """The tables one after another: a title line, the header, the rows, an empty line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for table in tables(report, locale):
        writer.writerow([table.title])
        writer.writerow(table.headers)
        for row in table.rows:
            writer.writerow([_csv_cell(v, f) for v, f in zip(row, table.formats, strict=True)])
        writer.writerow([])
    return buffer.getvalue().encode("utf-8-sig")


def file_stem(report: Report) -> str:
    """stats-2026-11-01_2026-11-30, then the procedure and the agency id when filtered
    (stats-2026-11-01_2026-11-30-mediation-county_psb): readable in any language, and two
    exports of one period with different filters no longer share a name."""
    parts = [f"stats-{report.period.first.isoformat()}_{report.period.last.isoformat()}"]
    if report.procedure is not None:
        parts.append(report.procedure.value)
    if report.agency is not None:
        parts.append(report.agency or "other")
    return "-".join(parts)
