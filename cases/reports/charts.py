"""The /stats chart: cases per procedure, as grouped bars, labelled in the reader's language.

matplotlib with the Agg backend only (no display, no pyplot state shared between threads): a
``Figure`` is built, drawn on its own ``FigureCanvasAgg`` and saved as PNG. Rendering takes
tens of milliseconds of CPU, so callers run :func:`render_png` in a thread.

Chinese labels need a font with CJK glyphs, and a fresh server has none: Noto Sans SC comes
with the PyPI package ``pylopdf-fonts-zh-cn`` (SIL Open Font License, in requirements.txt) and
is registered with matplotlib's font manager here, first in the sans-serif list (DejaVu Sans,
matplotlib's own, stays as the fallback).
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cases.i18n import N_, translate
from cases.reports.figures import Report

SERIES: tuple[tuple[str, str], ...] = (
    ("received", N_("Cases received")),
    ("closed", N_("Cases closed")),
    ("closed_on_time", N_("Closed on time")),
    ("overdue_now", N_("Overdue now")),
)
"""The bars of each procedure: the attribute of CaseFigures and its legend label."""
COLOURS = ("#1f5fa8", "#5a9e3a", "#9fcf7c", "#c0392b")


_FONT_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def cjk_font_family() -> str:
    """Register Noto Sans SC with matplotlib (once) and return its family name. Charts are
    drawn in worker threads: the lock keeps two first charts from registering it together."""
    import pylopdf_fonts_zh_cn

    with _FONT_LOCK:
        path = str(pylopdf_fonts_zh_cn.sans_path())
        family = font_manager.FontProperties(fname=path).get_name()
        if family not in {entry.name for entry in font_manager.fontManager.ttflist}:
            font_manager.fontManager.addfont(path)
        sans = [f for f in matplotlib.rcParams["font.sans-serif"] if f != family]
        matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["font.sans-serif"] = [family, *sans]
        return family


def build_chart(report: Report, locale: str) -> Figure:
    """The figure (not yet drawn): tests read the bars' heights from it."""
    cjk_font_family()

    def t(msgid: str) -> str:
        return translate(locale, msgid)

    rows = report.by_procedure
    fig = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    title = t(N_("Cases, {period}")).format(period=report.period.label())
    if report.agency is not None:
        name = report.agency_name_en if locale == "en" else report.agency_name_zh
        title += f"\n{name}"
    ax.set_title(title)
    if not rows:
        ax.text(0.5, 0.5, t(N_("No cases in this period")), ha="center", va="center")
        ax.set_axis_off()
        return fig
    width = 0.8 / len(SERIES)
    positions = range(len(rows))
    for index, ((field, label), colour) in enumerate(zip(SERIES, COLOURS, strict=True)):
        heights = [getattr(row, field) for row in rows]
        bars = ax.bar(
            [p + (index - (len(SERIES) - 1) / 2) * width for p in positions],
            heights,
            width,
            label=t(label),
            color=colour,
        )
        ax.bar_label(bars, padding=2, fontsize=8)
    ax.set_xticks(list(positions))
    ax.set_xticklabels([row.name_en if locale == "en" else row.name_zh for row in rows])
    ax.set_ylabel(t(N_("Cases")))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.15)
    ax.legend(loc="upper right", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def render_png(report: Report, locale: str) -> bytes:
    fig = build_chart(report, locale)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
