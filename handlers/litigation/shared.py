"""What every litigation flow shares: who may act, the FSM states, the callback data (buttons
carry ids only), and how times, errors and the planner's reminders are written.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_, format_date
from cases.intake.validation import ValidationError
from cases.litigation.court_cases import LitigationService
from cases.org.users import Role
from cases.store.time import LEGAL_TZ
from handlers.filters import HasRole
from handlers.texts import current_locale
from scheduling.sources import PlannedRow

STAFF = HasRole(Role.admin, Role.office_staff)
"""The office: every court case, every action (the command menus say the same)."""
AGENCY = HasRole(Role.agency_liaison, Role.agency_head)
"""The defendant agency's own people: their agency's cards, and "defence filed"."""


RowId = Annotated[int, Field(ge=0, lt=2**63)]
"""An id SQLite can hold: a forged button with a larger number fails the filter (the polite
stale-button answer) instead of making SQLite raise OverflowError."""


class LitigationForm(StatesGroup):
    registering = State()
    appearance = State()
    hearing = State()


class FormButton(CallbackData, prefix="lsf"):
    """A button of the registration form: ``step`` is the question it answers."""

    step: str
    action: str  # pick | yes | no | skip | register | cancel
    value: RowId = 0


class CaseButton(CallbackData, prefix="lsc"):
    """A button of a court case: open (its card, from /lawsuits), filed (item: defence id),
    appear (item: hearing id), hearing (add one), close, close_yes."""

    action: str
    lawsuit_id: RowId
    item_id: RowId = 0


class AppearanceButton(CallbackData, prefix="lsa"):
    hearing_id: RowId
    step: str  # head | who | excuse
    action: str  # yes | no | lawyer | nobody | skip


def local_time(moment: datetime) -> str:
    """2026年12月10日（星期四）09:30, in Gucheng time."""
    local = moment.astimezone(LEGAL_TZ)
    return f"{format_date(local.date(), current_locale())} {local:%H:%M}"


def example_time(service: LitigationService) -> str:
    """A hearing time two weeks ahead, as an example that is never in the past."""
    return f"{(service.today() + timedelta(days=14)).isoformat()} 09:30"


def error_text(error: ValidationError) -> str:
    return "❗ " + error.render(current_locale())


ROLE_NAMES: dict[Role, str] = {
    Role.agency_liaison: N_("agency liaison"),
    Role.agency_head: N_("agency head"),
}


def reminder_lines(rows: list[PlannedRow], now: datetime) -> list[str]:
    """The planner's own rows for one source (Planner.preview), a line per moment: what will
    be sent and to which role. A step already past is the one catch-up sent right away."""
    moments: dict[datetime, list[Role]] = {}
    for row in sorted(rows, key=lambda r: r.due_at):
        roles = moments.setdefault(row.due_at, [])
        if row.audience not in roles:
            roles.append(row.audience)
    sep = ", " if current_locale() == "en" else "、"
    lines = []
    for moment, roles in moments.items():
        who = html.escape(sep.join(_(ROLE_NAMES.get(role, role.value)) for role in roles))
        when = _("• one reminder right away") if moment <= now else f"• {local_time(moment)}"
        lines.append(f"{when} — {who}")
    return lines or [_("• none")]  # e.g. a defence period already over: nothing is sent


def hearing_rows(planned: list[PlannedRow], hearing_id: int) -> list[PlannedRow]:
    return [r for r in planned if r.source.kind == "hearing" and r.source.id == hearing_id]


def head_rule(head_required: bool) -> str:
    if head_required:
        return _(
            "The agency head must appear in person (最高人民法院关于适用《行政诉讼法》的解释 "
            "第一百二十九条)."
        )
    return _(
        "The agency head should appear; if the head cannot, a competent staff member must "
        "appear. Sending only a lawyer is not permitted."
    )


TYPE_AS_TEXT = N_("Please type your answer as a text message.")
"""Said before repeating a question that got a sticker, photo, file or voice message: the
state stays, so the next text answers that question (the fallback would answer with the
citizens' menu and the question be lost)."""
