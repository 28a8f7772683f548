"""Assigning mediation cases to mediators: offers, answers, time-outs, conflicts, the lead.

A submitted mediation case without a mediator is offered to ONE eligible mediator of its room
(``cases.routed_to = 'room:<id>'``): one who serves the dispute category (no skills declared =
every category of the room), is not absent today, carries fewer open cases than their maximum,
and has no conflict of interest (回避): their name or phone matches a party, they declared a
conflict on this case, they belong to the agency the dispute is with, or they already declined
the case or let its offer run out. Among them: the fewest open cases (pending offers count),
ties to the one idle longest (the oldest last assignment; never assigned first).

Everything is in the database (``mediation_offers``; at most one pending offer per case by a
unique index), so a restart loses nothing: the scheduler's tick (:meth:`tick`) expires offers
left unanswered for the set number of working hours (the legal calendar's working days, office
hours only) and offers every unassigned case again. Answers are compare-and-set updates, so a
double press or a stale button acts once. Every step is an event in the case history
(``cases.procedures.history.ASSIGNMENT_EVENT_TEXTS`` words it).

The service is one object (workflow data ``assignment``), assembled from one part per concern:

- ``assignment_records``     – models, row helpers, the shared state, office time;
- ``assignment_eligibility`` – who may take a case, conflicts of interest, room moves;
- ``assignment_offers``      – offers, their time-outs and withdrawals, the tick;
- ``assignment_answers``     – accept, decline, declared conflicts;
- ``assignment_lead``        – the room lead's unassigned list and assignment by hand.
"""

from __future__ import annotations

from cases.mediation.assignment_answers import Answers
from cases.mediation.assignment_lead import LeadActions
from cases.mediation.assignment_records import (
    MAX_REASON,
    DeclineReason,
    Mailer,
    OfferStatus,
    Outcome,
    Outgoing,
    Result,
    Statement,
    UnassignedCase,
)


class AssignmentService(Answers, LeadActions):
    """Assignment of mediation cases (each part keeps to its own concern)."""


__all__ = [
    "MAX_REASON",
    "AssignmentService",
    "DeclineReason",
    "Mailer",
    "OfferStatus",
    "Outcome",
    "Outgoing",
    "Result",
    "Statement",
    "UnassignedCase",
]
