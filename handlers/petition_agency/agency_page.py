"""The petition as the agency sees it: the page, its buttons, and opening it."""

from __future__ import annotations

import html

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.i18n import format_date
from cases.law.deadline_rules import DeadlineEngine
from cases.org.users import User
from cases.petitions.handover import (
    AGENCY_ROLES,
    AgencyPetitionView,
    PetitionHandover,
)
from cases.procedures.access import (
    extension_left,
    may_approve_extension,
)
from handlers.keyboards import button, grid
from handlers.petition_agency.common import (
    AgencyStep,
    PetitionAgencyAction,
    query_message,
)
from handlers.texts import current_locale, t

# -- the agency ---------------------------------------------------------------------------------


def agency_page(view: AgencyPetitionView) -> str:
    colon = "：" if current_locale() == "zh" else ": "
    lines = [
        t("<b>Petition {number}</b>", number=f"<code>{html.escape(view.number)}</code>"),
        _("Received") + colon + format_date(view.received_on, current_locale()),
    ]
    if view.sensitive:
        lines.append(
            _(
                "Report (检举控告): the reporter's identity is kept by the petition office "
                "(《信访工作条例》第三十条)."
            )
        )
    elif view.petitioner:
        lines.append(_("Petitioner") + colon + html.escape(view.petitioner))
    if view.place:
        lines.append(_("Where") + colon + html.escape(view.place))
    lines += [
        _("Request") + colon + html.escape(view.request),
        _("Facts and reasons") + colon + html.escape(view.facts),
        _("Reason for the assignment") + colon + html.escape(view.handover.reason),
        _("Petition office") + colon + html.escape(view.office_contact),
    ]
    for deadline in view.deadlines:
        lines.append(
            "• "
            + t(
                "{what}: by {date} ({basis}).",
                what=_(deadline.title),
                date=deadline.due_on,
                basis=deadline.basis,
            )
        )
    if view.objection_due is not None and view.may_object:
        lines.append(
            "• "
            + t(
                "Object if the matter is not within your agency's competence: by {date} "
                "(《信访工作条例》第二十三条第三款); after it your agency must handle it.",
                date=view.objection_due,
            )
        )
    if view.handover.objection_pending:
        lines.append(_("Objection sent: waiting for the petition office's answer."))
    elif view.handover.objection_refused and view.handover.status == "assigned":
        lines.append(
            _("The petition office did not agree with the objection: your agency must handle it.")
        )
    if view.pending_extension is not None:
        lines.append(
            t(
                "Extension requested: {days} days. Reason: {reason}",
                days=view.pending_extension.days,
                reason=html.escape(view.pending_extension.reason),
            )
        )
    if view.opinion_sent:
        lines.append(_("The handling opinion was sent to the petitioner."))
    return "\n".join(lines)


def agency_keyboard(
    view: AgencyPetitionView, user: User, engine: DeadlineEngine
) -> InlineKeyboardMarkup:
    case_id = view.id
    buttons = []
    agency = user.role in AGENCY_ROLES  # an administrator only decides an extension
    if agency and view.handover.status == "assigned":
        buttons.append(
            button(
                _("✅ Accept and tell the petitioner (受理)"),
                PetitionAgencyAction(step=AgencyStep.accept, case_id=case_id),
            )
        )
        if view.may_object:  # X3a: five working days (XF 23(3))
            buttons.append(
                button(
                    _("↩️ Not within our competence (提出异议)"),
                    PetitionAgencyAction(step=AgencyStep.object, case_id=case_id),
                )
            )
    x4 = view.running("X4")
    if agency and view.handover.status == "accepted":
        buttons.append(
            button(
                _("📄 Send the handling opinion (出具处理意见)"),
                PetitionAgencyAction(step=AgencyStep.opinion, case_id=case_id),
            )
        )
        if (
            x4 is not None
            and view.pending_extension is None
            and extension_left(x4, engine) != 0
            and not view.period_ended
        ):
            buttons.append(
                button(
                    _("⏳ Ask for an extension (申请延期)"),
                    PetitionAgencyAction(step=AgencyStep.extend, case_id=case_id),
                )
            )
    pending = view.pending_extension
    if (
        view.handover.status == "accepted"
        and pending is not None
        and x4 is not None
        and may_approve_extension(x4, user, engine)
    ):
        buttons += [
            button(
                t("Approve the extension ({days} days)", days=pending.days),
                PetitionAgencyAction(step=AgencyStep.approve, case_id=case_id, n=pending.id),
            ),
            button(
                _("Refuse the extension"),
                PetitionAgencyAction(step=AgencyStep.refuse, case_id=case_id, n=pending.id),
            ),
        ]
    buttons.append(
        button(_("🔄 Refresh"), PetitionAgencyAction(step=AgencyStep.view, case_id=case_id))
    )
    return grid(buttons)


async def show_agency_petition(
    message: Message, case_id: int, user: User, handover: PetitionHandover, note: str = ""
) -> bool:
    """The petition as this agency person may see it; False when it is not theirs."""
    view = await handover.page_view(case_id, user)
    if view is None:
        return False
    text = agency_page(view)
    await message.answer(
        f"{note}\n\n{text}" if note else text,
        reply_markup=agency_keyboard(view, user, handover.engine),
    )
    return True


async def open_for_agency(
    query: CallbackQuery, case_id: int, user: User, handover: PetitionHandover
) -> bool:
    """ "Open case" from a notice or reminder, for agency staff (handlers.staff.open_staff_case
    asks here first): True when it was their petition and it is shown."""
    message = query_message(query)
    if message is None or user.role not in AGENCY_ROLES:
        return False
    if await handover.agency_view(case_id, user) is None:
        return False
    await query.answer()
    return await show_agency_petition(message, case_id, user, handover)
