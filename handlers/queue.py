"""/queue: my own open work across procedures, paged; /find: a case by number or name.

What "mine" is, and who may see what, is ``cases.procedures.worklist`` (on the same access
predicates as the case pages). Each line's button opens the case as this person may see it:
staff the staff case page (``handlers.staff``), an agency the petition page it acts on
(``handlers.petition_agency``, as /petitions and "Open case" do), the extract of the
application (``handlers.case_file``) or its court case card (``handlers.litigation``); each of
those
authorises the press again, so a forged or stale button is refused there.
"""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_, format_date
from cases.intake.forms import Procedure
from cases.law.deadline_rules import RULES
from cases.org.users import User
from cases.procedures.statuses import staff_status_text
from cases.procedures.worklist import (
    AGENCY_ROLES,
    MIN_QUERY,
    Source,
    WorkItem,
    find_work,
    work_page,
)
from cases.store.db import Database
from cases.store.time import Clock, legal_today
from handlers.case_file import CaseFileAction
from handlers.commands import MENU_ROLES
from handlers.filters import HasRole
from handlers.keyboards import button, grid
from handlers.litigation.shared import CaseButton
from handlers.petition_agency import AgencyStep, PetitionAgencyAction
from handlers.replies import edit_text
from handlers.staff import Nav, StaffAction
from handlers.texts import current_locale, t

PROCEDURE_SHORT: dict[str, str] = {
    Procedure.reconsideration.value: N_("reconsideration"),
    Procedure.petition.value: N_("petition"),
    Procedure.mediation.value: N_("mediation"),
    Source.lawsuit.value: N_("court case"),
}
LAWSUIT_STATUS: dict[str, str] = {"open": N_("open"), "closed": N_("closed")}


class QueuePage(CallbackData, prefix="queue"):
    page: int = Field(ge=0, lt=10_000)


def _open_button(item: WorkItem, user: User, label: str) -> InlineKeyboardButton:
    if item.source is Source.lawsuit:
        return button(label, CaseButton(action="open", lawsuit_id=item.id))
    if user.role in AGENCY_ROLES and item.procedure == Procedure.petition.value:
        return button(label, PetitionAgencyAction(step=AgencyStep.view, case_id=item.id))
    if user.role in AGENCY_ROLES:
        return button(label, CaseFileAction(action="full", case_id=item.id))
    return button(label, StaffAction(action=Nav.open, case_id=item.id))


def _line(item: WorkItem, today_overdue: bool) -> str:
    if item.source is Source.lawsuit:
        status = _(LAWSUIT_STATUS.get(item.status, item.status))
    else:
        status = _(staff_status_text(Procedure(item.procedure), item.status))
    kind = _(PROCEDURE_SHORT.get(item.procedure, item.procedure))
    mark = "⚠️ " if today_overdue else ""
    line = (
        f"{mark}<code>{html.escape(item.number)}</code> · {kind} · {status} · "
        f"{html.escape(item.subject)}"
    )
    if item.due_on is not None:
        rule = RULES.get(item.rule_id or "")
        what = _(rule.title) if rule else (item.rule_id or "")
        line += "\n   " + t("Next: {what}, by {date}", what=what, date=item.due_on)
        if today_overdue:
            line += " " + _("(overdue)")
        if item.provisional:
            line += " " + _("(provisional)")
    return line


def _label(item: WorkItem, overdue: bool) -> str:
    label = ("⚠️ " if overdue else "") + item.number
    if item.due_on is not None:
        label += " · " + format_date(item.due_on, current_locale())
    return label


async def _render(
    db: Database, user: User, clock: Clock, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    today = legal_today(clock)
    found = await work_page(db, user, today, page)
    if not found.total:
        return _("You have no open work."), None
    lines = [
        t(
            "My open work: {total}, of which {overdue} overdue. Overdue first, then by the "
            "nearest deadline (page {page}/{pages}).",
            total=found.total,
            overdue=found.overdue,
            page=found.page + 1,
            pages=found.pages,
        ),
        "",
    ]
    buttons = []
    for item in found.items:
        overdue = item.overdue(today)
        lines.append(_line(item, overdue))
        buttons.append([_open_button(item, user, _label(item, overdue))])
    paging = []
    if found.page > 0:
        paging.append(button(_("◀️ Previous"), QueuePage(page=found.page - 1)))
    if found.page + 1 < found.pages:
        paging.append(button(_("Next ▶️"), QueuePage(page=found.page + 1)))
    if paging:
        buttons.append(paging)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


async def command_queue(message: Message, user: User, db: Database, clock: Clock) -> None:
    text, markup = await _render(db, user, clock, 0)
    await message.answer(text, reply_markup=markup)


async def on_page(
    query: CallbackQuery, callback_data: QueuePage, user: User, db: Database, clock: Clock
) -> None:
    await query.answer()
    text, markup = await _render(db, user, clock, callback_data.page)
    if isinstance(query.message, Message):
        await edit_text(query.message, text, markup)


async def command_find(
    message: Message, command: CommandObject, user: User, db: Database, clock: Clock
) -> None:
    text = (command.args or "").strip()
    today = legal_today(clock)
    found = await find_work(db, user, text, today)
    if found is None:
        await message.answer(
            t(
                "Send /find and a case number or a name, at least {count} characters, for "
                "example: /find TJ-2026-000123 or /find 张三",
                count=MIN_QUERY,
            )
        )
        return
    if not found:
        await message.answer(
            t("Nothing found for “{text}” among the cases you may see.", text=html.escape(text))
        )
        return
    lines = [t("Found for “{text}”:", text=html.escape(text)), ""]
    buttons = []
    for item in found:
        overdue = item.overdue(today)
        lines.append(_line(item, overdue))
        buttons.append(_open_button(item, user, _label(item, overdue)))
    await message.answer("\n".join(lines), reply_markup=grid(buttons))


def build_router() -> Router:
    router = Router(name="queue")
    router.message.filter(HasRole(*MENU_ROLES))
    router.callback_query.filter(HasRole(*MENU_ROLES))
    router.message.register(command_queue, Command("queue"))
    router.message.register(command_find, Command("find"))
    router.callback_query.register(on_page, QueuePage.filter())
    return router
