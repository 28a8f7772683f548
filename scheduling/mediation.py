"""Mediation messages in the outbox: their texts and buttons, rendered at send time.

cases/mediation writes rows whose payload names the message (``mediation``), its facts
(``params``) and its buttons (label msgid, action, id, version); this module turns them into
text in the reader's language and into callback data (handlers/mediation_callbacks.py) when the
outbox sends them (scheduling/sender.py).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date
from typing import Any

from cases.i18n import N_, format_date, translate
from cases.law.deadline_rules import citation
from cases.procedures.followup import MEDIATION_ROUTES
from cases.store.time import LEGAL_TZ, from_db
from handlers.mediation_callbacks import MedAction, MediationButton

COURT_CONFIRMATION = citation("MS", "205")
"""民事诉讼法 Art 205: the joint application for court confirmation within 30 days (rule M1,
domain §5 "Which law to cite": not 人民调解法 for the county's 行政调解 rooms)."""

MEDIATION_TEXTS: dict[str, str] = {
    "link": N_(
        "The mediator of case {number} asks you to forward this link to the other party of "
        "the dispute. Whoever opens it joins the mediation as the other party, once; it is "
        "valid until {expires_at}:\n{link}"
    ),
    "other_party_joined": N_(
        "The other party joined the mediation of case {number} and agrees to mediation."
    ),
    "consent_applicant": N_(
        "The other party agreed to the mediation of case {number}. The mediator will arrange "
        "a session and tell you its date, time and place here."
    ),
    "refused": N_(
        "The other party does not agree to mediation, and mediation needs both sides: the "
        "mediation of case {number} ended on {ended_on}."
    ),
    "refused_staff": N_(
        "The other party of case {number} does not agree to mediation: the case was closed "
        "on {ended_on} and the applicant was told the routes that remain."
    ),
    "session_new": N_("📅 Mediation session for case {number}: {when}, {place}."),
    "session_moved": N_(
        "📅 The mediation session for case {number} was moved from {before} to {when}, {place}."
    ),
    "session_cancelled": N_(
        "The mediation session for case {number} on {when} ({place}) was cancelled."
    ),
    "reminder_day": N_(
        "⏰ Reminder: the mediation session for case {number} is tomorrow, {when}, {place}."
    ),
    "reminder_2h": N_(
        "⏰ Reminder: the mediation session for case {number} starts at {when}, {place}."
    ),
    "cannot_come": N_(
        "The {side} of case {number} cannot come to the mediation session on {when}, {place}. "
        "You may move the session."
    ),
    "agreed": N_(
        "The mediation of case {number} ended with an agreement on {ended_on}. Both parties "
        "may apply together to the people's court for judicial confirmation within 30 days "
        "after the agreement takes effect, by {confirm_due} ({basis}); whether an agreement "
        "reached in administrative mediation can be confirmed is for the court to decide. "
        "We will remind you before that day."
    ),
    "confirm_reminder": N_(
        "⏰ Reminder: if the parties wish to apply to the people's court for judicial "
        "confirmation of the mediation agreement of case {number}, they apply jointly by "
        "{confirm_due} ({basis}). Applying is their choice; whether an agreement reached in "
        "administrative mediation can be confirmed is for the court to decide."
    ),
    "failed": N_("The mediation of case {number} ended on {ended_on} without an agreement."),
    "withdrawn": N_("The applicant withdrew case {number}: the mediation ended on {ended_on}."),
    "withdrawn_staff": N_(
        "The applicant withdrew case {number} on {ended_on}: the mediation ended, the sessions "
        "still to come are cancelled and the other party is told."
    ),
    "ended": N_("The mediation of case {number} ended on {ended_on}."),
    "followup_due": N_(
        "🔔 The follow-up visit (回访) for the mediation agreement of case {number} is due "
        "({due_on}). Ask the parties whether the agreement is being kept, then record it below."
    ),
    "extension_requested": N_(
        "The mediator of case {number} asks to extend the mediation period once, by {days} "
        "days (it now ends on {due_on}). Reason: {reason}\nThe period is the county's own "
        "rule, not a statute; only the room lead decides."
    ),
    "ext_refused": N_(
        "The room lead did not approve extending the mediation period of case {number}."
    ),
    "ext_lapsed": N_(
        "The mediation period of case {number} ended before the room lead decided, so it can "
        "no longer be extended. Please record the outcome of the mediation."
    ),
    "period_extended": N_(
        "The mediation period of case {number} was extended with the room lead's approval: "
        "it now ends on {due_on} (a period set by the county, not by statute)."
    ),
}

CALLED_OFF = N_("The sessions that were still planned will not take place.")
PARTY_ASK = N_("Please tell us below whether you will come.")
SIDES: dict[str, str] = {
    "applicant": N_("applicant"),
    "other_party": N_("other party"),
    "mediator": N_("mediator"),
}
WITH_ROUTES = frozenset({"refused", "failed", "withdrawn", "ended"})
"""The applicant (and the other party) are told the routes that remain."""


def _when(value: str | None, locale: str) -> str:
    if not value:
        return "—"
    moment = from_db(value).astimezone(LEGAL_TZ)
    return f"{format_date(moment.date(), locale)} {moment.strftime('%H:%M')}"


def _day(value: Any, locale: str) -> str:
    if not value:
        return "—"
    try:
        return format_date(date.fromisoformat(str(value)), locale)
    except ValueError:
        return html.escape(str(value))


def render_mediation(locale: str, payload: Mapping[str, Any], *, citizen: bool) -> str:
    key = str(payload.get("mediation"))
    template = MEDIATION_TEXTS.get(key)
    if template is None:
        return translate(locale, N_("📣 Notice"))
    p: dict[str, Any] = dict(payload.get("params") or {})
    en = locale == "en"
    values = {
        "number": f"<code>{html.escape(str(payload.get('case_number', '')))}</code>",
        "when": _when(p.get("starts_at"), locale),
        "before": _when(p.get("before"), locale),
        "place": html.escape(str(p.get("place", ""))),
        "expires_at": _when(p.get("expires_at"), locale),
        "link": html.escape(str(p.get("link", ""))),
        "ended_on": _day(p.get("ended_on"), locale),
        "confirm_due": _day(p.get("confirm_due"), locale),
        "due_on": _day(p.get("due_on"), locale),
        "days": html.escape(str(p.get("days", ""))),
        "reason": html.escape(str(p.get("reason", ""))),
        "side": html.escape(translate(locale, SIDES.get(str(p.get("side")), N_("party")))),
        "basis": html.escape(COURT_CONFIRMATION[1] if en else COURT_CONFIRMATION[0]),
    }
    lines = [translate(locale, template).format(**values)]
    if key in ("session_new", "session_moved") and citizen:
        lines.append(translate(locale, PARTY_ASK))
    if p.get("called_off") is True and citizen:
        lines.append(translate(locale, CALLED_OFF))
    if key in WITH_ROUTES and citizen:
        lines.append(html.escape(translate(locale, MEDIATION_ROUTES)))
    if p.get("provisional") is True:
        lines.append(
            "<i>"
            + html.escape(
                translate(
                    locale,
                    N_(
                        "This date is provisional: the official holiday calendar for that year "
                        "is not published yet."
                    ),
                )
            )
            + "</i>"
        )
    return "\n".join(lines)


def mediation_buttons(locale: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) pairs, one per row."""
    out = []
    for item in payload.get("buttons") or []:
        label, action, item_id, version = [*list(item), 0, 0, 0, 0][:4]
        try:
            data = MediationButton(
                action=MedAction(str(action)), item_id=int(item_id), version=int(version)
            ).pack()
        except ValueError:
            continue
        out.append((translate(locale, str(label)), data))
    return out
