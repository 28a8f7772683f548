"""The buttons of a staff case page and of each step of an action (callback data from
handlers/staff/callbacks.py)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.intake.form_engine import Procedure
from cases.org.users import User
from cases.procedures.access import StaffCaseView
from cases.procedures.actions import Action
from cases.procedures.transitions import PETITION_COMPLAINT
from handlers.case_file import application_button
from handlers.keyboards import button, grid
from handlers.petition_agency import handover_buttons
from handlers.staff.callbacks import Nav, StaffAction, Step, nav
from handlers.staff.texts import ACTION_LABELS, PETITION_ACCEPT, PETITION_ACCEPT_BY_KIND
from handlers.texts import t

EXTENSION_CHOICES = (5, 10, 15, 30)
SUPPLY_EXTENSION_CHOICES = (3, 5, 10)
"""Working days added to the 补正 period (F7 is counted in working days, FY 31(2), 88(2))."""


def _accept_label(view: StaffCaseView) -> str:
    kind = view.petition_kind or PETITION_COMPLAINT
    return PETITION_ACCEPT_BY_KIND.get(kind, PETITION_ACCEPT)


def staff_case_keyboard(
    view: StaffCaseView, offered: tuple[Action, ...], user: User
) -> InlineKeyboardMarkup:
    """The actions ``offered`` (``CaseActions.available``), a petition's hand-over buttons,
    then open, refresh and the list."""
    buttons = []
    for action in offered:
        label = (
            _accept_label(view)
            if action is Action.accept and view.procedure is Procedure.petition
            else ACTION_LABELS[action]
        )
        buttons.append(button(_(label), StaffAction(action=action, case_id=view.id)))
    buttons += handover_buttons(view, user)  # a petition assigned or transferred (XF 22)
    buttons.append(application_button(view.id))
    buttons.append(button(_("🔄 Refresh"), nav(view.id)))
    buttons.append(button(_("📋 Open cases"), nav(0, Nav.list)))
    return grid(buttons)


def procedure_keyboard(case_id: int) -> InlineKeyboardMarkup:
    """受理 of a reconsideration: the ordinary or the simplified procedure (FY 53)."""
    return grid(
        [
            button(
                _("Ordinary procedure (60 days)"),
                StaffAction(action=Action.accept, case_id=case_id, step=Step.ordinary),
            ),
            button(
                _("Simplified procedure (30 days)"),
                StaffAction(action=Action.accept, case_id=case_id, step=Step.simplified),
            ),
            button(_("Cancel"), nav(case_id)),
        ]
    )


def confirm_keyboard(case_id: int, action: Action, fingerprint: str = "") -> InlineKeyboardMarkup:
    return grid(
        [
            button(
                _("Yes, confirm"),
                StaffAction(action=action, case_id=case_id, step=Step.confirm, h=fingerprint),
            ),
            button(_("Cancel"), nav(case_id)),
        ],
        width=2,
    )


def fingerprint(reason: str) -> str:
    """A button shown under a typed reason carries a short fingerprint of that reason: the
    prompt stays open, a later text replaces the stored reason, and the older button must then
    not act on the newer text."""
    return hashlib.sha256(reason.encode()).hexdigest()[:8]


def ground_keyboard(case_id: int, reason: str) -> InlineKeyboardMarkup:
    """中止: the ground decides whether F17 (FY 39(1) 1, 2, 4 → 终止 after 60 days) applies."""
    return grid(
        [
            button(
                _("Death, incapacity or end of an organisation"),
                StaffAction(
                    action=Action.suspend,
                    case_id=case_id,
                    step=Step.terminating,
                    h=fingerprint(reason),
                ),
            ),
            button(
                _("Another ground (mediation, awaiting another case …)"),
                StaffAction(
                    action=Action.suspend,
                    case_id=case_id,
                    step=Step.other_ground,
                    h=fingerprint(reason),
                ),
            ),
            button(_("Cancel"), nav(case_id)),
        ]
    )


def days_keyboard(
    case_id: int, left: int | None, total: int, action: Action, reason: str
) -> InlineKeyboardMarkup:
    supply = action is Action.extend_supply
    offered = SUPPLY_EXTENSION_CHOICES if supply else EXTENSION_CHOICES
    limit = left if left is not None else max(offered)
    choices = sorted({d for d in offered if d <= limit} | {limit})
    label = N_("{days} working days") if supply else N_("{days} days")
    shown_for = fingerprint(reason)
    return grid(
        [
            button(
                t(label, days=d),
                StaffAction(
                    action=action,
                    case_id=case_id,
                    step=Step.confirm,
                    days=d,
                    v=total,
                    h=shown_for,
                ),
            )
            for d in choices
            if d > 0
        ]
        + [button(_("Cancel"), nav(case_id))],
        width=2,
    )


def copy_sent_keyboard(view: StaffCaseView, today: date) -> InlineKeyboardMarkup:
    """今天 / 昨天 carry the date they stand for when shown (a press after midnight keeps it)."""
    choices = [(N_("Today"), today), (N_("Yesterday"), today - timedelta(days=1))]
    return grid(
        [
            button(
                _(label),
                StaffAction(
                    action=Action.copy_sent, case_id=view.id, step=Step.confirm, on=day.isoformat()
                ),
            )
            for label, day in choices
            if view.accepted_on is None or day >= view.accepted_on
        ]
        + [button(_("Cancel"), nav(view.id))],
        width=2,
    )
