"""Texts, keyboards and replies of mediation assignment (handlers/assignment.py): the
profile page, the offer refusals and the typed-reason state, apart from the steps.
"""

from __future__ import annotations

import html

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.mediation.assignment import (
    AssignmentService,
    DeclineReason,
    Outcome,
    Result,
)
from cases.mediation.common import MediationSettings
from cases.mediation.profiles import (
    LOAD_CHOICES,
    MAX_SHOWN_NAME,
    MediatorProfile,
    MediatorProfiles,
)
from cases.org.organisation import Organisation, UnknownId
from cases.org.users import Role, User
from handlers.assignment_callbacks import (
    ProfileAction,
    ProfileOp,
)
from handlers.keyboards import button
from handlers.texts import current_locale, t

DECLINE_LABELS: dict[DeclineReason, str] = {
    DeclineReason.busy: N_("Too many cases now"),
    DeclineReason.absent: N_("I am away"),
    DeclineReason.conflict: N_("Conflict of interest (回避)"),
    DeclineReason.other: N_("Another reason (type it)"),
}
NOT_YOURS = N_("This offer is not yours.")
STALE_OFFER = N_("This offer is no longer open: it was answered, ran out or was withdrawn.")
AWAY_USAGE = N_(
    "To declare an absence, send the first and last day, e.g. /away 2026-12-20 2026-12-31"
)
BAD_DATE = N_("I could not read the dates. Please write them like 2026-12-20 2026-12-31.")
LEADS_ONLY = N_("Only the lead of a mediation room sees its unassigned cases.")
CONFLICT_USAGE = N_(
    "To step aside from a case because of a conflict of interest (回避), send its number and "
    "the reason, e.g. /conflict TJ-2026-000012 the applicant is my relative"
)


UNASSIGNED_SHOWN = 15
"""Cases listed at once by /unassigned (one message; the oldest first)."""


class DeclineText(StatesGroup):
    reason = State()


# -- rendering ---------------------------------------------------------------------------


def item_name(org: Organisation, kind: str, item_id: str | None) -> str:
    if not item_id:
        return "—"
    try:
        return str(getattr(org, kind)(item_id).display_name(current_locale()))
    except UnknownId:
        return item_id


def person_name(user: User | None, profile: MediatorProfile | None = None) -> str:
    if profile is not None and profile.shown_name:
        return profile.shown_name
    if user is not None and user.display_name:
        return user.display_name
    return str(user.telegram_id) if user else "—"


def masked_phone(phone: str | None) -> str:
    if not phone:
        return _("not given")
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def profile_text(
    profile: MediatorProfile, org: Organisation, settings: MediationSettings, load: int
) -> str:
    room = item_name(org, "room", profile.room_id)
    skills = (
        "、".join(item_name(org, "category", c) for c in profile.skills)
        if profile.skills
        else _("every kind of dispute of the room")
    )
    max_load = (
        str(profile.max_load)
        if profile.max_load
        else t("{count} (the room's default)", count=settings.default_max_load)
    )
    lines = [
        "<b>"
        + html.escape(t("Mediator profile: {name}", name=profile.display_name or "—"))
        + "</b>",
        t("Mediation room: {room}", room=html.escape(room)),
        t(
            "Name shown to applicants: {name}",
            name=html.escape(profile.shown_name or profile.display_name or "—"),
        ),
        t(
            "Real name (only for conflict-of-interest checks, never shown to applicants): {name}",
            name=html.escape(profile.real_name or _("not given")),
        ),
        t(
            "Phone (only for conflict-of-interest checks): {phone}",
            phone=masked_phone(profile.phone),
        ),
        t("Kinds of dispute: {skills}", skills=html.escape(skills)),
        t("Maximum open cases: {max}; open now: {load}", max=max_load, load=load),
    ]
    if profile.leads_room:
        lines.append(_("Leads the room (调解室负责人)."))
    if profile.absences:
        lines.append(_("Absences:"))
        lines += [
            f"• {a.starts_on.isoformat()} – {a.ends_on.isoformat()}" for a in profile.absences
        ]
    else:
        lines.append(_("No absences declared."))
    lines += [
        "",
        t(
            "Change your shown name: /profile name 王调解员 (at most {n} characters); phone: "
            "/profile phone 13800001234; absences: /away 2026-12-20 2026-12-31. Tap a kind of "
            "dispute to take or drop it (none chosen: every kind of the room).",
            n=MAX_SHOWN_NAME,
        ),
        _("Real name, checked against the parties: /profile realname 王明"),
    ]
    return "\n".join(lines)


def profile_keyboard(
    profile: MediatorProfile, categories: tuple[str, ...], org: Organisation, actor: User
) -> InlineKeyboardMarkup:
    m = profile.user_id
    rows: list[list[InlineKeyboardButton]] = []
    for index, category in enumerate(categories):
        mark = "✅ " if category in profile.skills else "▫️ "
        rows.append(
            [
                button(
                    mark + item_name(org, "category", category),
                    ProfileAction(op=ProfileOp.skill, mediator_id=m, value=index),
                )
            ]
        )
    loads = [
        button(
            ("• " if (profile.max_load or 0) == value else "")
            + (str(value) if value else _("default")),
            ProfileAction(op=ProfileOp.load, mediator_id=m, value=value),
        )
        for value in (0, *LOAD_CHOICES)
    ]
    rows += [loads[:4], loads[4:]]
    for absence in profile.absences:
        rows.append(
            [
                button(
                    t(
                        "🗑 Absence {start} – {end}",
                        start=absence.starts_on.isoformat(),
                        end=absence.ends_on.isoformat(),
                    ),
                    ProfileAction(op=ProfileOp.unaway, mediator_id=m, value=absence.id),
                )
            ]
        )
    if actor.role is Role.admin:
        label = _("Stop leading the room") if profile.leads_room else _("Make room lead")
        rows.append(
            [
                button(
                    label,
                    ProfileAction(
                        op=ProfileOp.lead, mediator_id=m, value=0 if profile.leads_room else 1
                    ),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def profile_reply(
    actor: User,
    profile: MediatorProfile,
    mediators: MediatorProfiles,
    assignment: AssignmentService,
    org: Organisation,
    settings: MediationSettings,
) -> tuple[str, InlineKeyboardMarkup]:
    load = (await assignment.open_load([profile.user_id]))[profile.user_id]
    categories = mediators.room_categories(profile)
    return (
        profile_text(profile, org, settings, load),
        profile_keyboard(profile, categories, org, actor),
    )


def offer_refusal(result: Result) -> str:
    if result.outcome is Outcome.refused:
        return _(NOT_YOURS)
    return _(STALE_OFFER)
