"""Routers and middlewares of the bot, assembled in one place.

Router order matters: aiogram offers an update to routers in the order they are included and
the first matching handler wins; every router passed on the way costs a filter pass.

1. ``form-answers`` – messages while a form is open (the commonest update). Its root filter
                      lets commands through, so it shadows nothing below.
2. ``cancel``     – /cancel must work inside every form and every staff input.
   ``mediation-link`` – ``/start op_<token>``: the other party of a mediation joins (before
                    ``start``, which takes every other /start).
   ``invitations`` – /start inv_<token> (a staff invitation link, before ``start``); for
                    administrators /invite and /staff (members, pending invitations, removal).
3. ``start``      – /start and /menu (leave any form; its draft stays saved), /help, /lang.
4. ``intake``     – /petition, /mediation, /reconsider, the menu buttons and form buttons.
5. ``mycases``    – /mycases, case pages, "add material" (its own state).
   ``booking``    – /book, the menu's book button, booking buttons and the flow's texts
                    (its own states).
   ``roster``     – /roster and /sessions for agencies and administrators (the day's
                    bookings, outcomes; reception sessions).
6. ``reminders``  – the "received / 已收到" button on reminders (callback data only).
7. ``staff``      – /cases, staff case pages and actions; router-level HasRole filter.
   ``case-file``  – the application in full and its evidence files (staff and the respondent
                    agency; callback data only).
   ``documents``  – PDFs: the application, the office's notices, the mediation agreement,
                    the dossier for 案卷评查 (callback data only).
   ``queue``      – /queue (my open work, paged) and /find for every staff role; its lines open
                    the pages above, which authorise again.
   ``agency-reply`` – the respondent agency's written reply and evidence (FY 48; its state).
   ``petition-agency`` – petitions handed over: the office assigns or transfers, the agency
                    accepts, answers, asks for an extension (XF 22-23, 34; its states).
   ``mediation``  – /mediate, the mediation page: the other party, sessions and answers,
                    outcome, follow-up visit, the period's extension (its states).
   ``assignment`` – mediators: offers (accept / decline), /profile, /away, /conflict; room
                    leads /unassigned and /mediators (its state: a typed decline reason).
8. ``triage``     – "help me choose" questions (callback data only).
9. ``litigation`` – staff: court cases against agencies (行政应诉), L3/L7 data entry; one
                     sub-router per flow (handlers/litigation/: registration, cards,
                     appearance, statistics).
   ``admin``      – administrators: /grant roles and units.
   ``stats``      – /stats for administrators and the reconsideration office's head: the
                    period/procedure/agency picker (its buttons, and one state for typed
                    dates), the chart, the XLSX and CSV export.
   ``webhooks``   – administrators: /webhooks (deliveries to county systems, dead letters).
10. ``errors``    – error handlers only; position does not matter for messages.
11. ``fallback``  – last: unknown text, stickers, edits, stale buttons.
"""

from __future__ import annotations

from aiogram import Dispatcher, Router
from aiogram.utils.i18n import I18n

from cases.org.users import UserRepository
from cases.store.processed_updates import ProcessedUpdates
from handlers import (
    admin,
    agency_reply,
    assignment,
    booking,
    case_file,
    common,
    documents,
    errors,
    intake,
    invitations,
    litigation,
    mediation,
    mycases,
    petition_agency,
    queue,
    reminders,
    roster,
    staff,
    start,
    stats,
    triage,
    webhooks,
)
from handlers.middlewares import (
    FloodMiddleware,
    LocaleMiddleware,
    UpdateDedupMiddleware,
    UserMiddleware,
)


def get_routers() -> list[Router]:
    """Fresh routers each call: a router belongs to one Dispatcher (tests build many)."""
    return [
        intake.build_answers_router(),
        common.build_cancel_router(),
        mediation.build_link_router(),
        invitations.build_router(),
        start.build_router(),
        intake.build_router(),
        mycases.build_router(),
        booking.build_router(),
        roster.build_router(),
        reminders.build_router(),
        staff.build_router(),
        case_file.build_router(),
        documents.build_router(),
        queue.build_router(),
        agency_reply.build_router(),
        petition_agency.build_router(),
        mediation.build_router(),
        assignment.build_router(),
        triage.build_router(),
        litigation.build_router(),
        admin.build_router(),
        stats.build_router(),
        webhooks.build_router(),
        errors.build_router(),
        common.build_fallback_router(),
    ]


def setup_middlewares(
    dp: Dispatcher,
    *,
    processed: ProcessedUpdates,
    users: UserRepository,
    i18n: I18n,
    flood_limit: int = 20,
) -> None:
    """Outer middlewares on ``update`` run after aiogram's own (user context, errors)."""
    dp.update.outer_middleware(UpdateDedupMiddleware(processed))
    dp.update.outer_middleware(UserMiddleware(users))
    dp.update.outer_middleware(LocaleMiddleware(i18n))
    dp.update.outer_middleware(FloodMiddleware(limit=flood_limit))
