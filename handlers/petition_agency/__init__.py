"""Petitions between the petition office and the agencies (XF 22-23, 32-35): the chat side of
``cases.petitions.handover``.

- The petition office, on the staff page of a petition still at the office: "Assign to an
  agency (交办)" lists the agencies of the organisation file as buttons, asks the reason, shows
  it back and assigns on confirmation; "Transfer to another body (转送)" asks the receiving
  body's name and the reason, then transfers and closes the case here.
- The agency's liaison or head, from the notice or a reminder ("Open case") or /petitions: the
  petition as their role may see it, and "Accept (受理)", "Send the handling opinion" (text and
  files, kept with their SHA-256 as the respondent's reply is), "Ask for an extension" (reason,
  then days), and for the head "Approve" / "Refuse" a pending extension.
- The citizen, under the opinion notice: its documents.

Buttons carry ids only; every press goes to the service, which authorises it again against the
stored case and handover (a forged button for another agency's petition is refused), and every
change is a compare-and-set there (a double press acts once). Typed text waits in the FSM state
until its button; the button carries the text's fingerprint, so an older button cannot act on a
newer text.

One module per side: ``common`` (refusal texts, callback data, typed-input states),
``office`` (the petition office's steps and the staff page's buttons and statuses),
``agency_page`` and ``agency`` (the petition as the agency sees it; the agency's steps),
``citizen`` (the opinion's documents); the router is here.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from cases.org.users import Role
from cases.petitions.handover import AGENCY_ROLES, OFFICE_ROLES
from handlers.callbacks import OpinionFiles
from handlers.filters import HasRole, NotCommand, When
from handlers.petition_agency.agency import (
    command_petitions,
    draft_other,
    extension_text,
    objection_text,
    on_accept,
    on_agency_view,
    on_days,
    on_decide,
    on_drop,
    on_extend,
    on_object,
    on_opinion,
    on_returned,
    on_send,
    opinion_file,
    opinion_text,
)
from handlers.petition_agency.agency_page import (
    open_for_agency,
)
from handlers.petition_agency.citizen import (
    on_opinion_files,
)
from handlers.petition_agency.common import (
    AgencyInput,
    AgencyStep,
    HandoverAction,
    HandoverInput,
    HandoverStep,
    PetitionAgencyAction,
)
from handlers.petition_agency.office import (
    handover_buttons,
    handover_status,
    list_status,
    office_text,
    on_assign,
    on_confirm,
    on_objection,
    on_pick,
    on_read,
    on_transfer,
)

# -- the router ---------------------------------------------------------------------------------


def build_router() -> Router:
    """A new Router per call (a router belongs to one Dispatcher; tests build many)."""
    router = Router(name="petition-agency")
    office = HasRole(*OFFICE_ROLES)
    agency = HasRole(*AGENCY_ROLES)
    decider = HasRole(*AGENCY_ROLES, Role.admin)  # an administrator stands in for a head
    cb = router.callback_query
    cb.register(on_read, office, HandoverAction.filter(F.step == HandoverStep.read))
    cb.register(on_assign, office, HandoverAction.filter(F.step == HandoverStep.assign))
    cb.register(on_pick, office, HandoverAction.filter(F.step == HandoverStep.pick))
    cb.register(on_transfer, office, HandoverAction.filter(F.step == HandoverStep.transfer))
    cb.register(on_confirm, office, HandoverAction.filter(F.step == HandoverStep.confirm))
    cb.register(
        on_objection,
        office,
        HandoverAction.filter(F.step.in_({HandoverStep.agree, HandoverStep.disagree})),
    )
    cb.register(on_agency_view, decider, PetitionAgencyAction.filter(F.step == AgencyStep.view))
    cb.register(on_accept, agency, PetitionAgencyAction.filter(F.step == AgencyStep.accept))
    cb.register(on_opinion, agency, PetitionAgencyAction.filter(F.step == AgencyStep.opinion))
    cb.register(on_send, agency, PetitionAgencyAction.filter(F.step == AgencyStep.send))
    cb.register(on_drop, agency, PetitionAgencyAction.filter(F.step == AgencyStep.drop))
    cb.register(on_extend, agency, PetitionAgencyAction.filter(F.step == AgencyStep.extend))
    cb.register(on_days, agency, PetitionAgencyAction.filter(F.step == AgencyStep.days))
    cb.register(
        on_decide,
        decider,
        PetitionAgencyAction.filter(F.step.in_({AgencyStep.approve, AgencyStep.refuse})),
    )
    cb.register(on_object, agency, PetitionAgencyAction.filter(F.step == AgencyStep.object))
    cb.register(on_returned, agency, PetitionAgencyAction.filter(F.step == AgencyStep.returned))
    cb.register(on_opinion_files, HasRole(Role.citizen), OpinionFiles.filter())
    text = When(F.text & ~F.text.startswith("/"))
    router.message.register(command_petitions, agency, Command("petitions"))
    router.message.register(
        office_text, office, StateFilter(HandoverInput.body, HandoverInput.reason), text
    )
    drafting = StateFilter(AgencyInput.opinion)
    router.message.register(opinion_text, agency, drafting, text)
    router.message.register(opinion_file, agency, drafting, When(F.photo | F.document | F.voice))
    router.message.register(draft_other, agency, drafting, NotCommand())
    router.message.register(extension_text, agency, StateFilter(AgencyInput.extension), text)
    router.message.register(objection_text, agency, StateFilter(AgencyInput.objection), text)
    return router


__all__ = [
    "AgencyStep",
    "HandoverAction",
    "HandoverStep",
    "PetitionAgencyAction",
    "build_router",
    "handover_buttons",
    "handover_status",
    "list_status",
    "open_for_agency",
]
