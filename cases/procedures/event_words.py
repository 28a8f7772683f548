"""One history line in words, in a given language: the case page, the citizen's history and
the PDF dossier say the same thing about the same event."""

from __future__ import annotations

from datetime import date
from typing import Any

from cases.i18n import N_, format_date, translate
from cases.law.deadline_rules import RULES
from cases.procedures.history import describe_clock_event
from cases.procedures.transitions import history_text


def _title_of(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    return rule.title if rule else rule_id


def event_words(
    kind: str, detail: dict[str, Any], audience: str, texts: dict[str, str], locale: str
) -> str:
    """Clock events name their deadline (``cases.procedures.history``); the others come from
    ``texts`` (the citizen's or the staff's wording) or the transition table's history text."""

    def fill(msgid: str, **params: Any) -> str:
        text = translate(locale, msgid)
        values = {
            k: format_date(v, locale) if isinstance(v, date) else v for k, v in params.items()
        }
        return text.format(**values) if values else text

    line = describe_clock_event(kind, detail, audience, _title_of)
    if line is None:
        text = translate(locale, history_text(kind, detail, audience) or texts.get(kind, kind))
        if "{" not in text:
            return text
        # Placeholders name what the event recorded (the agency, the reason, the number).
        return text.format_map(_Detail({k: str(v) for k, v in detail.items()}))
    sep = "、" if locale == "zh" else "; "
    what = sep.join(translate(locale, title) for title in line.titles) or "—"
    return fill(line.msgid, what=what, **line.params)


class _Detail(dict[str, str]):
    """An event detail the history line reads; a missing key reads as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


ACTOR_NAMES: dict[str, str] = {
    # The same msgids as the reminder texts (scheduling.sender), so one translation serves both.
    "citizen": N_("applicant"),
    "other_party": N_("other party"),
    "mediator": N_("mediator"),
    "office_staff": N_("office staff"),
    "agency_liaison": N_("agency liaison"),
    "agency_head": N_("agency head"),
    "admin": N_("administrator"),
    "system": N_("system"),
    # /roster wrote this for a reception-day petition before it recorded the actor's role.
    "agency": N_("receiving agency"),
}
"""Who acted, by ``case_events.actor_role`` (also the audience of an outbox row)."""

PARTY_ROLES: dict[str, str] = {
    "applicant": N_("applicant"),
    "respondent": N_("respondent"),
    "third_party": N_("third party"),
    "agent": N_("agent"),
    "other_party": N_("other party"),
    "representative": N_("representative"),
}
"""A case's parties by ``parties.role``, as the staff page and the dossier name them."""
