"""Mediation assignment in time: its outbox rows, their text and buttons, and the tick.

:class:`AssignmentMailer` is the :class:`cases.mediation.assignment.Mailer`: one ``reminders``
row of kind ``notice`` per message (``dedup_key``: each message once), holding facts, not text;
:func:`render_assignment` words it in the reader's language when the outbox sends it and
:func:`assignment_buttons` gives an offer its accept / decline buttons. :class:`AssignmentJobs`
runs on every scheduler tick (before the outbox sends), so a new case's offer reaches the
mediator within one tick, and an offer left unanswered passes on even after a restart.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cases.i18n import N_, format_date, translate
from cases.mediation.assignment import AssignmentService, Outgoing, Statement
from cases.store.time import LEGAL_TZ, from_db, to_db
from handlers.assignment_callbacks import OfferAnswer, OfferOp
from scheduling.policy import Quiet

log = logging.getLogger(__name__)

ASSIGNMENT_TEXTS: dict[str, str] = {
    "offer": N_(
        "📨 A mediation case is offered to you: {number}\nKind of dispute: {category}\n"
        "Where: {township}\n{first}\nPlease answer by {until}; without an answer it passes to "
        "the next mediator."
    ),
    "assigned": N_(
        "📨 The room lead assigned mediation case {number} to you.\nKind of dispute: "
        "{category}\nWhere: {township}\nPlease contact the applicant by {contact_due}."
    ),
    "nobody": N_(
        "⚠️ No mediator of {room} can take mediation case {number} ({category}, {township}) "
        "now. Please assign it by hand: /unassigned"
    ),
    "nobody_no_lead": N_(
        "⚠️ No mediator of {room} can take mediation case {number} ({category}, {township}) "
        "now, and the room has no lead to assign it by hand. Please make one of its mediators "
        "the room lead (/mediators) or register mediators for the room (/grant); the lead then "
        "assigns the case with /unassigned."
    ),
    "offer_expired": N_(
        "The offer of mediation case {number} ran out without an answer and has passed to "
        "another mediator."
    ),
    "offer_withdrawn": N_(
        "The room lead assigned mediation case {number} to another mediator; the offer to you "
        "is withdrawn."
    ),
    "offer_closed": N_(
        "Mediation case {number} has been closed (withdrawn by the applicant, say); the offer "
        "to you is withdrawn and needs no answer."
    ),
    "citizen_moved": N_(
        "Your mediation request {number}: the other side is the body {from_room} belongs to, "
        "so to avoid a conflict of interest (回避) {room} handles it instead. You will be told "
        "who mediates."
    ),
    "citizen_moved_recused": N_(
        "Your mediation request {number}: every mediator of {from_room} must step aside in it "
        "(回避, a conflict of interest), so {room} handles it instead. You will be told who "
        "mediates."
    ),
    "citizen_assigned": N_(
        "Your mediation request {number}: {mediator} of {room} will mediate. They will "
        "contact you by {contact_due}."
    ),
}
FIRST_DUE = N_("First deadline: {due}")
NO_FIRST_DUE = N_(
    "No mediation period is set for this case; please contact the applicant by {contact_due}."
)
A_MEDIATOR = N_("a mediator")
PROVISIONAL = N_(
    "This date is provisional: the official holiday calendar for that year is not published yet."
)
ACCEPT = N_("✅ Accept")
DECLINE = N_("Decline")


class AssignmentMailer:
    """Outbox rows for :mod:`cases.mediation.assignment`; night messages wait for morning."""

    def __init__(self, tz: ZoneInfo = LEGAL_TZ) -> None:
        self.tz = tz

    def queue(self, message: Outgoing, now: datetime) -> list[Statement]:
        payload = {
            "assignment": message.key,
            # What a "could not deliver" notice to staff names (scheduling.outbox).
            "case_number": message.params.get("number"),
            "params": dict(message.params),
        }
        stamp = to_db(now)
        return [
            (
                "INSERT INTO reminders(dedup_key, kind, rule_id, source_kind, source_id,"
                " case_id, step, audience, chat_id, locale, critical, quiet, payload, due_at,"
                " created_at, updated_at)"
                " VALUES (?, 'notice', NULL, 'notice', ?, NULL, ?, ?, ?,"
                " coalesce((SELECT locale FROM users WHERE telegram_id = ?), 'zh'),"
                " 0, ?, ?, ?, ?, ?) ON CONFLICT(dedup_key) DO NOTHING",
                (
                    message.dedup_key,
                    message.params.get("case_id"),
                    "assignment:" + message.key,
                    message.audience.value,
                    message.chat_id,
                    message.chat_id,
                    Quiet.DEFER.value,
                    json.dumps(payload, ensure_ascii=False),
                    stamp,
                    stamp,
                    stamp,
                ),
            )
        ]


def _day(value: object, locale: str) -> str:
    try:
        return format_date(date.fromisoformat(str(value)), locale)
    except ValueError:
        return "—"


def render_assignment(locale: str, payload: Mapping[str, Any]) -> str:
    key = str(payload.get("assignment"))
    params: dict[str, Any] = dict(payload.get("params") or {})
    template = ASSIGNMENT_TEXTS.get(key)
    if template is None:
        return translate(locale, N_("📣 Notice"))
    lang = "en" if locale == "en" else "zh"
    contact_due = _day(params.get("contact_due"), locale)
    until = "—"
    if params.get("until"):
        moment = from_db(str(params["until"])).astimezone(LEGAL_TZ)
        until = f"{format_date(moment.date(), locale)} {moment.strftime('%H:%M')}"
    first = (
        translate(locale, FIRST_DUE).format(due=_day(params["first_due"], locale))
        if params.get("first_due")
        else translate(locale, NO_FIRST_DUE).format(contact_due=contact_due)
    )
    values = {
        "number": f"<code>{html.escape(str(params.get('number', '')))}</code>",
        "category": html.escape(str(params.get(f"category_{lang}") or "—")),
        "township": html.escape(str(params.get(f"township_{lang}") or "—")),
        "room": html.escape(str(params.get(f"room_{lang}") or "—")),
        "from_room": html.escape(str(params.get(f"from_room_{lang}") or "—")),
        "mediator": html.escape(str(params.get("mediator") or translate(locale, A_MEDIATOR))),
        "contact_due": contact_due,
        "until": until,
        "first": first,
    }
    text = translate(locale, template).format(**values)
    if params.get("provisional"):
        text += "\n<i>" + html.escape(translate(locale, PROVISIONAL)) + "</i>"
    return text


def assignment_buttons(locale: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) pairs: an offer's accept and decline."""
    if payload.get("assignment") != "offer":
        return []
    offer_id = int((payload.get("params") or {}).get("offer_id", 0))
    return [
        (translate(locale, ACCEPT), OfferAnswer(op=OfferOp.accept, offer_id=offer_id).pack()),
        (translate(locale, DECLINE), OfferAnswer(op=OfferOp.decline, offer_id=offer_id).pack()),
    ]


class AssignmentJobs:
    """What the scheduler runs for assignment on every tick; each step is idempotent."""

    def __init__(self, service: AssignmentService) -> None:
        self.service = service

    async def tick(self) -> None:
        for step in (
            self.service.withdraw_closed,
            self.service.release_departed,
            self.service.expire_due,
            self.service.offer_unassigned,
        ):
            try:
                await step()
            except Exception:
                log.exception("assignment step %s failed", step.__name__)
