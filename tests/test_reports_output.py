"""What leadership receives: the chart (its bars and its Chinese glyphs), the XLSX read back
with openpyxl, the CSV parsed back, and the key figures as text."""

from __future__ import annotations

import csv
import io
import logging
import warnings
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from cases.reports.charts import build_chart, cjk_font_family, render_png
from cases.reports.export import file_stem, tables, to_csv, to_xlsx
from cases.reports.figures import Report
from cases.reports.periods import Period
from cases.reports.summary import summary_text
from cases.store.db import Database
from cases.store.time import FakeClock
from tests.reports_support import NOVEMBER, county_stats

NOV = Period(first=NOVEMBER[0], last=NOVEMBER[1])
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def report(db: Database, clock: FakeClock) -> Report:
    stats = await county_stats(db, clock)
    return await stats.report(NOV)


def test_the_chart_shows_the_hand_counted_bars_per_procedure(report: Report) -> None:
    figure = build_chart(report, "zh")
    ax = figure.axes[0]
    series = {c.get_label(): [bar.get_height() for bar in c] for c in ax.containers}
    # Reconsideration, petitions, mediation (tests/reports_support.py).
    assert series == {
        "收案数": [3, 2, 3],
        "办结数": [3, 2, 2],
        "按期办结": [2, 2, 1],
        "当前逾期": [1, 1, 0],
    }
    assert [label.get_text() for label in ax.get_xticklabels()] == ["行政复议", "信访", "行政调解"]
    assert "2026-11-01 – 2026-11-30" in ax.get_title()


def test_chinese_labels_render_as_glyphs_not_boxes(
    report: Report, caplog: pytest.LogCaptureFixture
) -> None:
    """matplotlib warns "Glyph … missing from font(s)" for every character its font lacks and
    logs "findfont: Font family … not found" when the family is absent: neither may happen."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        png = render_png(report, "zh")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    glyphs = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert glyphs == []
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    assert cjk_font_family() == "Noto Sans SC"


def test_the_missing_glyph_check_would_catch_boxes() -> None:
    """The check above can fail: DejaVu Sans alone has no Chinese, and says so."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    figure.add_subplot().set_title("行政复议", fontfamily="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_english_chart_has_english_labels(report: Report) -> None:
    ax = build_chart(report, "en").axes[0]
    assert next(c.get_label() for c in ax.containers) == "Cases received"
    assert ax.get_xticklabels()[2].get_text() == "Administrative mediation"


def test_xlsx_reads_back_with_numbers_dates_and_frozen_headers(report: Report) -> None:
    book = load_workbook(io.BytesIO(to_xlsx(report, "zh")))
    assert book.sheetnames == ["统计期间", "按程序", "按单位", "局长接待日", "出庭应诉"]
    period = book["统计期间"]
    assert period["B2"].value == datetime(2026, 11, 1)  # a date cell, not text
    assert period["B2"].number_format == "yyyy-mm-dd"
    sheet = book["按程序"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("程序", "收案数", "当前在办", "办结数")
    total = rows[-1]
    assert total[0] == "合计"
    assert total[1:6] == (8, 4, 7, 2, 5)  # received, open, closed, overdue, on time
    assert total[6] == pytest.approx(5 / 7) and sheet.cell(len(rows), 7).number_format == "0.0%"
    assert total[7:9] == (6, 23)  # median, P90
    assert rows[3][0] == "行政调解" and rows[3][12] == pytest.approx(0.5)
    reception = list(book["局长接待日"].iter_rows(values_only=True))
    assert reception[-1][:5] == ("合计", 4, 3, 1, 2)
    appearance = list(book["出庭应诉"].iter_rows(values_only=True))
    assert appearance[-1][:2] == ("合计", 3)
    assert appearance[-1][7] == pytest.approx(2 / 3)
    # Empty figures are empty cells, not text: the other agencies closed nothing late...
    agencies = list(book["按单位"].iter_rows(values_only=True))
    assert all(isinstance(v, int | float) or v is None for row in agencies[1:] for v in row[1:])


def test_csv_has_a_bom_and_parses_back_to_the_same_tables(report: Report) -> None:
    data = to_csv(report, "zh")
    assert data.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8 Chinese
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    expected = tables(report, "zh")
    sections: list[list[list[str]]] = [[]]
    for line in lines:
        if line:
            sections[-1].append(line)
        else:
            sections.append([])
    sections = [s for s in sections if s]
    assert [s[0][0] for s in sections] == [t.title for t in expected]
    by_procedure = sections[1]
    assert by_procedure[1] == expected[1].headers
    assert by_procedure[-1][:9] == ["合计", "8", "4", "7", "2", "5", "0.7143", "6.0", "23"]
    assert sections[0][2] == ["首日", "2026-11-01"]
    assert file_stem(report) == "stats-2026-11-01_2026-11-30"


def test_the_key_figures_text(report: Report) -> None:
    text = summary_text(report, "zh")
    assert "收到8件，办结7件，当前在办4件，当前逾期2件。" in text
    assert "按期办结：7件中5件（71%）。" in text
    assert "办理天数：中位数6，第90百分位23。" in text
    assert "出庭率67%" in text and "负责人出庭33%" in text
    assert len(text) < 4096
    english = summary_text(report, "en")
    assert "Received 8, closed 7, open now 4, overdue now 2." in english


def test_a_period_without_cases_still_renders(db: Database, clock: FakeClock) -> None:
    from cases.reports.figures import CaseFigures, ReceptionFigures

    empty = Report(
        period=Period(first=date(2020, 1, 1), last=date(2020, 1, 31)),
        today=date(2026, 11, 25),
        total=CaseFigures(key="total"),
        by_procedure=[],
        by_agency=[],
        reception=[],
        reception_total=ReceptionFigures(key="total"),
    )
    assert render_png(empty, "zh").startswith(PNG_SIGNATURE)
    assert "本期间没有案件" in summary_text(empty, "zh")
    assert load_workbook(io.BytesIO(to_xlsx(empty, "zh"))).sheetnames[0] == "统计期间"


def test_heads_in_person_for_major_cases_were_missing_from_stats(report: Report) -> None:
    """The plan's figure "heads in person for major cases" (XSJS 129(1)) was only in
    /appearance. Hand count: PSB's hearing of 11-12 had to have the head and had (1 of 1);
    11-18 (staff) and 11-20 (unrecorded) did not need the head."""
    book = load_workbook(io.BytesIO(to_xlsx(report, "zh")))
    header, psb, total = list(book["出庭应诉"].iter_rows(values_only=True))
    assert header[-2:] == ("应由负责人出庭", "应出庭案件负责人出庭率")
    assert psb[0] == "谷城县公安局" and psb[-2:] == (1, 1)
    assert total[0] == "合计" and total[-2:] == (1, 1)
    assert book["出庭应诉"].cell(row=3, column=len(header)).number_format == "0.0%"
    assert "应当由负责人出庭的案件：负责人亲自出庭 1/1" in summary_text(report, "zh")
