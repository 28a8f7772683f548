"""The petition office hands a petition to the agency that must answer it; the agency answers.

The law, step by step (domain.md §2):

- X1, XF 22: the 信访部门 forwards (转送) or assigns (交办) a matter within 15 days of receipt.
  :meth:`PetitionHandover.assign` hands it to an agency of the organisation file, with a reason;
  :meth:`PetitionHandover.transfer` sends it to a body outside the county, named as typed, with
  a reason, tells the citizen where it went, and closes the case here. Nothing is closed as "not
  ours" any other way: the transition table no longer forwards a suggestion or a report without
  naming the body and the reason (``Guard.office_handles``).
- X3, XF 23(3): the agency that receives an assigned matter tells the petitioner in writing,
  within 15 days, that it was received and how it will be handled. The agency does the telling,
  so the acceptance notice goes out when the agency presses "accept" (:meth:`accept`), in the
  agency's name.
- X4, XF 34: the agency concludes within 60 days of acceptance with a written 处理意见书; an
  extension of at most 30 days is approved by the head of the body (本机关、单位负责人) and the
  petitioner is told the reason. The liaison asks (:meth:`request_extension`); the approver
  rules are the X4 row's (``cases.law.deadline_rules``: the agency head or an administrator),
  checked by ``may_approve_extension`` as for F12.
- X5, XF 35: the opinion (text and files, each with its SHA-256, as the respondent's reply in
  reconsideration) reaches the citizen with the 30-day 复查 window and the 复查 offer
  (``cases.procedures.followup``: the closing notice ``concluded``).
- XF 30(3): 检举控告 materials are never passed to the persons or bodies reported. A report is
  assigned only by a deliberate, confirmed choice, and never to the agency it concerns.

Personal data for the agency (PIPL 6: the minimum the purpose needs): the petitioner's name (the
opinion is addressed to them, XF 32) and, once the agency accepted the matter, the phone number
(its handling means checking facts with the petitioner and may mean mediation, XF 33); never the
ID number or the address. For a 检举控告 the agency sees neither name nor phone: contact goes
through the petition office.

Units of work as in ``cases.procedures.actions``: clock steps that keep their own transaction
(met, extend) run first and tolerate "already done"; then one unit with the compare-and-set on
the handover row and the case status, the clocks started or stopped, the event and the notices."""

from __future__ import annotations

from cases.petitions.agency_steps import AgencySteps
from cases.petitions.office_steps import OfficeSteps
from cases.petitions.records import (
    AGENCY_ROLES,
    EXTENSION_PENDING,
    HISTORY_CITIZEN,
    HISTORY_STAFF,
    MAX_OPINION_TEXT,
    NOTICE_TEXTS,
    OBJECTION_ENDED,
    OFFICE_ROLES,
    PERIOD_ENDED,
    AgencyNotices,
    AgencyPetitionView,
    HandoverNotice,
    Outcome,
    Result,
    handed_to_agency,
    live_handovers,
)


class PetitionHandover(OfficeSteps, AgencySteps):
    """Assign, transfer, accept, conclude and extend a petition between the petition office
    and the agencies (one service; handlers/petition_agency/ renders it)."""


__all__ = [
    "AGENCY_ROLES",
    "EXTENSION_PENDING",
    "HISTORY_CITIZEN",
    "HISTORY_STAFF",
    "MAX_OPINION_TEXT",
    "NOTICE_TEXTS",
    "OBJECTION_ENDED",
    "OFFICE_ROLES",
    "PERIOD_ENDED",
    "AgencyNotices",
    "AgencyPetitionView",
    "HandoverNotice",
    "Outcome",
    "PetitionHandover",
    "Result",
    "handed_to_agency",
    "live_handovers",
]
