"""The key figures as a Telegram message (HTML), in the reader's language.

Used by /stats (under the chart) and by the monthly report; the full tables are in the XLSX.
Kept well under Telegram's 4,096 characters: totals, one line per procedure, the five
busiest agencies, reception days and court appearances.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from cases.i18n import N_, translate
from cases.reports.figures import PROCEDURE_LABELS, CaseFigures, Report

AGENCY_LINES = 5


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def days(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def summary_text(report: Report, locale: str, *, heading: str | None = None) -> str:
    def t(msgid: str, **params: object) -> str:
        text = translate(locale, msgid)
        return text.format(**params) if params else text

    def name(row: CaseFigures) -> str:
        return html.escape(row.name_en if locale == "en" else row.name_zh)

    title = heading or t(N_("Statistics {period}"), period=report.period.label())
    lines = [f"<b>{html.escape(title)}</b>"]
    scope = [
        t(PROCEDURE_LABELS[report.procedure.value])
        if report.procedure is not None
        else t(N_("All procedures")),
        (report.agency_name_en if locale == "en" else report.agency_name_zh)
        if report.agency is not None
        else t(N_("All agencies")),
    ]
    lines.append(html.escape(" · ".join(scope)))
    total = report.total
    lines += [
        "",
        t(
            N_("Received {received}, closed {closed}, open now {open}, overdue now {overdue}."),
            received=total.received,
            closed=total.closed,
            open=total.open_now,
            overdue=total.overdue_now,
        ),
        t(
            N_("Closed on time: {count} of {closed} ({share})."),
            count=total.closed_on_time,
            closed=total.closed,
            share=percent(total.on_time_share),
        ),
        t(
            N_("Handling days: median {median}, 90th percentile {p90}."),
            median=days(total.median_days),
            p90=days(total.p90_days),
        ),
    ]
    if total.deemed_accepted:
        lines.append(
            t(
                N_("Deemed acceptances (Administrative Reconsideration Law, Art. 30(3)): {count}"),
                count=total.deemed_accepted,
            )
        )
    if total.mediation_closed or total.followups_checked:
        lines.append(
            t(
                N_(
                    "Mediation agreements: {count} of {closed} ({share}); kept at the "
                    "follow-up: {kept} of {checked}."
                ),
                count=total.agreements,
                closed=total.mediation_closed,
                share=percent(total.agreement_share),
                kept=total.followups_kept,
                checked=total.followups_checked,
            )
        )
    if len(report.by_procedure) > 1:
        lines += ["", f"<b>{html.escape(t(N_('By procedure')))}</b>"]
        lines += [_row_line(t, name(row), row) for row in report.by_procedure]
    if report.by_agency and report.agency is None:
        lines += ["", f"<b>{html.escape(t(N_('By agency')))}</b>"]
        lines += [_row_line(t, name(row), row) for row in report.by_agency[:AGENCY_LINES]]
        if len(report.by_agency) > AGENCY_LINES:
            lines.append(
                t(
                    N_("… and {count} more in the export"),
                    count=len(report.by_agency) - AGENCY_LINES,
                )
            )
    reception = report.reception_total
    if report.procedure is None and (reception.booked or reception.cancelled):
        lines += [
            "",
            f"<b>{html.escape(t(N_('Reception days')))}</b>",
            t(
                N_(
                    "Bookings {booked}, attended {attended} ({share}), no-show {no_show}; "
                    "settled on the day {settled}, taken up as a petition {petition}, "
                    "referred {referred}."
                ),
                booked=reception.booked,
                attended=reception.attended,
                share=percent(reception.attendance_share),
                no_show=reception.no_show,
                settled=reception.settled,
                petition=reception.petition,
                referred=reception.referred,
            ),
        ]
    appearance = report.appearance
    if appearance is not None and appearance.taken_place:
        lines += [
            "",
            f"<b>{html.escape(t(N_('Court appearances')))}</b>",
            t(
                N_(
                    "Hearings {count}: appearance rate {rate}, head in person {head_rate}"
                    " (not recorded yet: {unrecorded})."
                ),
                count=appearance.taken_place,
                rate=percent(appearance.attendance_rate),
                head_rate=percent(appearance.head_rate),
                unrecorded=appearance.unrecorded,
            ),
        ]
        # The plan's second figure: heads in person where the law requires them (XSJS 129(1)),
        # and the lawyer-only appearances it forbids (XSJS 128), as /appearance shows them.
        if appearance.head_required_taken_place:
            lines.append(
                t(
                    N_("Cases where the head had to appear: head in person {part}/{whole}"),
                    part=appearance.head_required_head,
                    whole=appearance.head_required_taken_place,
                )
            )
        if appearance.lawyer_only:
            lines.append(
                t(N_("Only a lawyer (not permitted): {count}"), count=appearance.lawyer_only)
            )
    if not total.received and not total.closed and not total.open_now:
        lines += ["", t(N_("No cases in this period"))]
    return "\n".join(lines)


def _row_line(t: Callable[..., str], name: str, row: CaseFigures) -> str:
    return "• " + t(
        N_(
            "{name}: received {received}, closed {closed} (on time {share}), overdue now {overdue}"
        ),
        name=name,
        received=row.received,
        closed=row.closed,
        share=percent(row.on_time_share),
        overdue=row.overdue_now,
    )
