"""/stats: the figures for leadership, with a chart, and their export as XLSX and CSV.

Who: administrators (the whole county) and the head of the reconsideration office (office
staff flagged ``heads_reconsideration``, the 行政复议机构负责人 who also approves extensions
under FY 62(1)): the "office heads" of issue 13. Other office staff, agencies, mediators and
citizens are told whose command it is. Every press is authorised again.

One message is the picker: the period (this month, last month, this quarter, this year, or
dates typed), the procedure and the agency, each a row of buttons; the current choice is
ticked, and every button carries the whole choice (no state on the server, so an old picker
still works). "Show" sends the chart and the key figures; "Export" the same figures as XLSX
and CSV. Charts and files are rendered in a thread: matplotlib holds the CPU for tens of
milliseconds, which the event loop must not wait for.
"""

from __future__ import annotations

import asyncio
import html
from datetime import date
from enum import StrEnum

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_
from cases.intake.forms import Procedure
from cases.org.users import Role, User
from cases.reports.charts import render_png
from cases.reports.export import file_stem, to_csv, to_xlsx
from cases.reports.figures import PROCEDURE_LABELS, Report, StatsService
from cases.reports.periods import (
    Period,
    PeriodError,
    PeriodKind,
    custom_period,
    parse_custom,
    preset,
)
from cases.reports.summary import summary_text
from handlers.filters import NotCommand
from handlers.keyboards import button
from handlers.replies import edit_text
from handlers.texts import current_locale, t

AGENCY_BUTTONS = 8
"""The busiest agencies get a button each; the export has every agency."""
AGENCY_ID_MAX = 36
"""Telegram allows 64 bytes of callback data; the rest of a button takes 28. An agency whose
id is longer (the organisation file allows 64) gets no button, only its rows in the export."""


def may_see_stats(user: User | None) -> bool:
    """Administrators, and office staff heading the reconsideration office."""
    if user is None:
        return False
    return user.role is Role.admin or (
        user.role is Role.office_staff and user.heads_reconsideration
    )


class StatsStep(StrEnum):
    pick = "p"  # a choice changed: the picker is edited
    custom = "c"  # "type dates": ask for them
    show = "s"  # the chart and the key figures
    export = "x"  # XLSX and CSV


class ProcedureFilter(StrEnum):
    all = "a"
    reconsideration = "r"
    petition = "p"
    mediation = "m"

    @property
    def procedure(self) -> Procedure | None:
        return _FILTER_PROCEDURES.get(self)


_FILTER_PROCEDURES = {
    ProcedureFilter.reconsideration: Procedure.reconsideration,
    ProcedureFilter.petition: Procedure.petition,
    ProcedureFilter.mediation: Procedure.mediation,
}


class StatsButton(CallbackData, prefix="st"):
    """``st:<step>:<period>:<first>:<last>:<procedure>:<agency>`` (at most 56 bytes): the whole
    choice travels with each button. ``first``/``last`` (YYYYMMDD) only for typed periods."""

    step: StatsStep
    period: PeriodKind = PeriodKind.this_month
    first: str = Field(default="", pattern=r"^(\d{8})?$")
    last: str = Field(default="", pattern=r"^(\d{8})?$")
    procedure: ProcedureFilter = ProcedureFilter.all
    agency: str = Field(default="", pattern=rf"^[a-z0-9_]{{0,{AGENCY_ID_MAX}}}$")

    def resolved(self, today: date) -> Period | None:
        """The period this button stands for, or None for a typed one that does not parse or
        is beyond what can be typed (a forged button: year 9999 overflowed the counting)."""
        if self.period is not PeriodKind.custom:
            return preset(self.period, today)
        try:
            first = date(int(self.first[:4]), int(self.first[4:6]), int(self.first[6:]))
            last = date(int(self.last[:4]), int(self.last[4:6]), int(self.last[6:]))
            return custom_period(first, last, today)
        except ValueError:  # PeriodError is one
            return None

    def choose(self, **changes: object) -> StatsButton:
        return self.model_copy(update={"step": StatsStep.pick, **changes})


class StatsInput(StatesGroup):
    dates = State()


PERIOD_LABELS: dict[PeriodKind, str] = {
    PeriodKind.this_month: N_("This month"),
    PeriodKind.last_month: N_("Last month"),
    PeriodKind.quarter: N_("This quarter"),
    PeriodKind.year: N_("This year"),
    PeriodKind.custom: N_("Dates…"),
}
NOT_YOURS = N_(
    "The /stats command is for administrators and the head of the reconsideration office."
)
ASK_DATES = N_(
    "Type the first and the last day of the period, for example 2026-01-01 2026-03-31 "
    "(or 2026年1月1日至2026年3月31日). /cancel stops."
)
OTHER_FORM_OPEN = N_("Another form is open. Finish it or send /cancel, then press “Dates…” again.")
PERIOD_ERRORS: dict[str, str] = {
    "unreadable": N_(
        "I could not read two dates in that. Please type them like 2026-01-01 2026-03-31."
    ),
    "reversed": N_("The last day comes before the first. Please type the earlier date first."),
    "too_long": N_("A period can be at most five years long. Please choose a shorter one."),
    "out_of_range": N_("Please choose dates from the year 2000 to next year."),
}


def _tick(selected: bool, text: str) -> str:
    return f"✓ {text}" if selected else text


def _packed(day: date) -> str:
    return day.strftime("%Y%m%d")


async def _picker(
    stats: StatsService, choice: StatsButton
) -> tuple[str, InlineKeyboardMarkup] | None:
    locale = current_locale()
    period = choice.resolved(stats.today())
    if period is None:
        return None
    agency_name = ""
    if choice.agency:
        zh, en = stats.agency_names(choice.agency)
        agency_name = en if locale == "en" else zh
    procedure = choice.procedure.procedure
    lines = [
        f"<b>{html.escape(_('Statistics'))}</b>",
        t("Period: {period}", period=period.label()),
        t(
            "Procedure: {procedure}",
            procedure=_(PROCEDURE_LABELS[procedure.value]) if procedure else _("All procedures"),
        ),
        t("Agency: {agency}", agency=html.escape(agency_name or _("All agencies"))),
        "",
        _("Choose, then press “Show” for the chart or “Export” for the tables."),
    ]
    periods = [
        button(
            _tick(choice.period is kind, _(label)), choice.choose(period=kind, first="", last="")
        )
        for kind, label in PERIOD_LABELS.items()
        if kind is not PeriodKind.custom
    ]
    custom = button(
        _tick(choice.period is PeriodKind.custom, _(PERIOD_LABELS[PeriodKind.custom])),
        choice.model_copy(update={"step": StatsStep.custom}),
    )
    procedures = [
        button(
            _tick(
                choice.procedure is f,
                _(PROCEDURE_LABELS[f.procedure.value]) if f.procedure else _("All procedures"),
            ),
            choice.choose(procedure=f),
        )
        for f in ProcedureFilter
    ]
    agencies = [button(_tick(not choice.agency, _("All agencies")), choice.choose(agency=""))]
    listed = [a for a in await stats.agencies_with_cases() if len(a) <= AGENCY_ID_MAX]
    listed = listed[:AGENCY_BUTTONS]
    if choice.agency and choice.agency not in listed:
        listed.append(choice.agency)
    for agency_id in listed:
        zh, en = stats.agency_names(agency_id)
        agencies.append(
            button(
                _tick(choice.agency == agency_id, en if locale == "en" else zh),
                choice.choose(agency=agency_id),
            )
        )
    rows: list[list[InlineKeyboardButton]] = [
        periods,
        [custom],
        procedures[:2],
        procedures[2:],
        *[agencies[i : i + 2] for i in range(0, len(agencies), 2)],
        [
            button(_("📊 Show"), choice.model_copy(update={"step": StatsStep.show})),
            button(_("📥 Export"), choice.model_copy(update={"step": StatsStep.export})),
        ],
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def stats_command(
    message: Message, state: FSMContext, stats: StatsService, user: User | None = None
) -> None:
    if not may_see_stats(user):
        await message.answer(_(NOT_YOURS))
        return
    if await state.get_state() == StatsInput.dates.state:
        await state.clear()  # typed dates abandoned; any other form stays as it was
    picked = await _picker(stats, StatsButton(step=StatsStep.pick))
    assert picked is not None
    text, markup = picked
    await message.answer(text, reply_markup=markup)


async def stats_button(
    query: CallbackQuery,
    callback_data: StatsButton,
    state: FSMContext,
    stats: StatsService,
    user: User | None = None,
) -> None:
    if not may_see_stats(user):
        await query.answer(_(NOT_YOURS), show_alert=True)
        return
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if callback_data.agency and not stats.is_agency(callback_data.agency):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    period = callback_data.resolved(stats.today())
    if period is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    step = callback_data.step
    if step is StatsStep.pick:
        await query.answer()
        picked = await _picker(stats, callback_data)
        assert picked is not None
        await edit_text(query.message, *picked)
        return
    if step is StatsStep.custom:
        if await state.get_state() not in (None, StatsInput.dates.state):
            # Another form is open (a court case being registered keeps its answers only
            # there): taking its place, and clearing it after the dates, lost those answers.
            await query.answer(_(OTHER_FORM_OPEN), show_alert=True)
            return
        await query.answer()
        await state.set_state(StatsInput.dates)
        await state.update_data(
            stats_procedure=callback_data.procedure.value, stats_agency=callback_data.agency
        )
        await query.message.answer(_(ASK_DATES))
        return
    press = (query.message.chat.id, query.message.message_id, query.data)
    if stats.is_repeat(press):
        await query.answer(_("Already sent above."))
        return
    await query.answer(_("Counting…"))
    locale = current_locale()
    report = await stats.report(
        period, procedure=callback_data.procedure.procedure, agency=callback_data.agency or None
    )
    if step is StatsStep.show:
        await _send_chart(query.message, report, locale)
    else:
        await _send_exports(query.message, report, locale)
    stats.answered(press)


async def _send_chart(message: Message, report: Report, locale: str) -> None:
    png = await asyncio.to_thread(render_png, report, locale)
    await message.answer_photo(
        BufferedInputFile(png, filename=file_stem(report) + ".png"),
        caption=t("Statistics {period}", period=report.period.label()),
    )
    await message.answer(summary_text(report, locale))


async def _send_exports(message: Message, report: Report, locale: str) -> None:
    xlsx, csv_bytes = await asyncio.gather(
        asyncio.to_thread(to_xlsx, report, locale), asyncio.to_thread(to_csv, report, locale)
    )
    stem = file_stem(report)
    await message.answer_document(
        BufferedInputFile(xlsx, filename=stem + ".xlsx"),
        caption=t("Statistics {period}", period=report.period.label()),
    )
    await message.answer_document(
        BufferedInputFile(csv_bytes, filename=stem + ".csv"),
        caption=_("The same tables as CSV (UTF-8, opens in Excel)."),
    )


async def typed_dates(
    message: Message, state: FSMContext, stats: StatsService, user: User | None = None
) -> None:
    if not may_see_stats(user):  # the role was taken away while typing
        await state.clear()
        await message.answer(_(NOT_YOURS))
        return
    try:
        period = parse_custom(message.text or "", stats.today())
    except PeriodError as error:
        await message.answer(_(PERIOD_ERRORS[error.reason]) + "\n" + _(ASK_DATES))
        return
    data = await state.get_data()
    await state.clear()
    procedure = data.get("stats_procedure", ProcedureFilter.all.value)
    agency = data.get("stats_agency", "")
    choice = StatsButton(
        step=StatsStep.pick,
        period=PeriodKind.custom,
        first=_packed(period.first),
        last=_packed(period.last),
        procedure=ProcedureFilter(procedure)
        if procedure in ProcedureFilter._value2member_map_
        else ProcedureFilter.all,
        agency=agency if isinstance(agency, str) and stats.is_agency(agency) else "",
    )
    picked = await _picker(stats, choice)
    assert picked is not None
    await message.answer(*picked[:1], reply_markup=picked[1])


def build_router() -> Router:
    router = Router(name="stats")
    router.message.register(stats_command, Command("stats"))
    router.message.register(typed_dates, StateFilter(StatsInput.dates), NotCommand())
    router.callback_query.register(stats_button, StatsButton.filter())
    return router
