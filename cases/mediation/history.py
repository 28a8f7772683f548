"""How the mediation's own events read in the case history (cases/intake/service.py merges
these into the citizen's and the staff's wording). Follow-up visits, extension requests and
attendance answers are for staff only."""

from __future__ import annotations

from cases.i18n import N_

CITIZEN_EVENT_TEXTS: dict[str, str] = {
    "mediation_consent": N_("The other party agreed to mediation."),
    "mediation_link_sent": N_("You were sent a link for the other party."),
    "other_party_joined": N_("The other party joined the mediation."),
    "mediation_refused": N_("The other party did not agree to mediation; the mediation ended."),
    "mediation_session": N_("A mediation session was scheduled."),
    "mediation_session_moved": N_("A mediation session was moved."),
    "mediation_session_cancelled": N_("A mediation session was cancelled."),
    "mediation_terms": N_("The main terms of the agreement were recorded."),
}

STAFF_EVENT_TEXTS: dict[str, str] = {
    **CITIZEN_EVENT_TEXTS,
    "mediation_link_sent": N_("The applicant was sent a link for the other party."),
    "mediation_attendance": N_("A party answered whether they will come to a session."),
    "mediation_followup": N_("The follow-up visit (回访) was recorded."),
    "mediation_extension_requested": N_("An extension of the mediation period was requested."),
    "mediation_extension_refused": N_("The room lead refused to extend the mediation period."),
}
