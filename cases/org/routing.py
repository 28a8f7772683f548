"""Where a matter goes: the reconsideration body, the mediation room, and which procedure.

All three are tables. Who decides a reconsideration is data in the organisation file (FY 24,
27, 28); mediation routing is an ordered list of room selectors; triage is an ordered list of
yes/no questions, each with the outcome a "yes" leads to (XF 29-31, FY 29-30).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Literal

from cases.i18n import N_
from cases.org.organisation import (
    Agency,
    MediationRoom,
    Office,
    Organisation,
    ReconsiderationBodyConfig,
)

# ---------------------------------------------------------------------------------------------
# Reconsideration: who decides (FY 24, 27, 28)


@dataclass(frozen=True)
class ReconsiderationBody:
    """Who decides an application against ``agency``, and who handles it.

    ``is_local``: this county's office (``office``) receives the application. Otherwise the
    bot does not file it: it tells the citizen to apply to ``body`` (FY 27, 28); FY 30(2)
    would make a wrong body refuse it and name the right one, which costs the citizen days of
    the 60-day window (F1).
    """

    agency: Agency
    body: ReconsiderationBodyConfig
    office: Office | None
    alternatives: tuple[ReconsiderationBodyConfig, ...]
    basis: str
    note: str | None

    @property
    def is_local(self) -> bool:
        return self.body.local

    @property
    def citizen_must_apply_elsewhere(self) -> bool:
        return not self.body.local


RECONSIDERATION_ELSEWHERE = N_(
    "Applications against {agency} are decided by {body}, not by this county's reconsideration "
    "office. Please apply to {body} directly, within 60 days of learning of the decision."
)
RECONSIDERATION_CHOICE = N_(
    "You may apply either to {body} or to {alternative}. Please choose one of them."
)


def reconsideration_body_for(org: Organisation, agency_id: str) -> ReconsiderationBody:
    """The 复议机关 for acts of an agency, as configured (raises ``UnknownId``)."""
    agency = org.agency(agency_id)
    rule = agency.reconsideration
    body = org.reconsideration_body(rule.body_id)
    office = org.office(body.office_id) if body.local and body.office_id else None
    return ReconsiderationBody(
        agency=agency,
        body=body,
        office=office,
        alternatives=tuple(org.reconsideration_body(b) for b in rule.alternative_body_ids),
        basis=rule.basis,
        note=rule.note,
    )


# ---------------------------------------------------------------------------------------------
# Mediation room (domain §5, §6.4)

MediationSelector = Callable[[Organisation, str, str | None], MediationRoom | None]


def _departmental_specialty(
    org: Organisation, category_id: str, township_id: str | None
) -> MediationRoom | None:
    """A department's room takes every case of its specialty, wherever it arose."""
    return next(
        (r for r in org.mediation_rooms if r.specialty and category_id in r.categories), None
    )


def _township_room(
    org: Organisation, category_id: str, township_id: str | None
) -> MediationRoom | None:
    if township_id is None:
        return None
    return next(
        (
            r
            for r in org.mediation_rooms
            if r.township_id == township_id and category_id in r.categories
        ),
        None,
    )


def _county_default(
    org: Organisation, category_id: str, township_id: str | None
) -> MediationRoom | None:
    return org.default_room  # the loader guarantees it takes every category


MEDIATION_RULES: tuple[tuple[str, MediationSelector], ...] = (
    ("departmental_specialty", _departmental_specialty),
    ("township_room", _township_room),
    ("county_default", _county_default),
)
"""Tried in order; the first room found wins."""

MEDIATION_NOTICE = N_(
    "Mediation needs both sides to agree. An agreement reached here cannot itself be "
    "challenged by reconsideration; if mediation fails, you can still go to court or to "
    "arbitration."
)
"""Shown before a mediation request (mediation is voluntary; FY 12(4))."""


def mediation_room_for(
    org: Organisation, category_id: str, township_id: str | None
) -> MediationRoom:
    """The room for a dispute of ``category_id`` that arose in ``township_id`` (or unknown /
    a functional zone: None). Raises ``UnknownId`` for ids not in the organisation data."""
    org.category(category_id)
    if township_id is not None:
        org.township(township_id)
    for _name, selector in MEDIATION_RULES:
        room = selector(org, category_id, township_id)
        if room is not None:
            return room
    raise AssertionError("the county default rule always returns a room")


# ---------------------------------------------------------------------------------------------
# Petition kinds (XF 29-31)


class PetitionKind(StrEnum):
    suggestion = "suggestion"  # 建议意见类 (XF 29)
    report = "report"  # 检举控告类 (XF 30): restricted access, never shown to the accused
    appeal = "appeal"  # 申诉求决类 (XF 31): only item (6) gets the 60-day clock (X4)

    @property
    def label(self) -> str:
        return PETITION_KIND_LABELS[self]

    @property
    def basis(self) -> str:
        return _PETITION_KIND_BASIS[self]

    @property
    def sensitive(self) -> bool:
        """Materials must not reach the person or unit reported (XF 30(3), 46(5))."""
        return self is PetitionKind.report


PETITION_KIND_LABELS: dict[PetitionKind, str] = {
    PetitionKind.suggestion: N_("Suggestion or opinion"),
    PetitionKind.report: N_("Report of misconduct by an official"),
    PetitionKind.appeal: N_("Complaint or request to solve a problem"),
}
_PETITION_KIND_BASIS: dict[PetitionKind, str] = {
    PetitionKind.suggestion: "XF 29",
    PetitionKind.report: "XF 30",
    PetitionKind.appeal: "XF 31",
}


# ---------------------------------------------------------------------------------------------
# Triage: which procedure fits (XF 22(2), 28(2), 29-31; FY 29, 30(1)(7))

Procedure = Literal["reconsideration", "mediation", "petition"]


@dataclass(frozen=True)
class TriageAnswers:
    """One field per question; None = not asked yet."""

    already_in_court: bool | None = None
    already_in_arbitration: bool | None = None
    already_in_other_reconsideration: bool | None = None
    reports_misconduct: bool | None = None
    challenges_agency_act: bool | None = None
    dispute_with_person_or_company: bool | None = None
    complaint_or_suggestion: bool | None = None


@dataclass(frozen=True)
class Redirect:
    """Where a matter belongs when this service cannot take it, and why."""

    target: Literal["court", "arbitration", "reconsideration_body", "hotline"]
    message: str  # N_ msgid
    basis: str


@dataclass(frozen=True)
class TriageOutcome:
    procedure: Procedure | None
    complete: bool = True
    sensitive: bool = False
    petition_kind: PetitionKind | None = None
    redirect: Redirect | None = None
    notice: str | None = None  # N_ msgid shown with the outcome
    basis: str = ""


@dataclass(frozen=True)
class TriageQuestion:
    id: str  # the TriageAnswers field
    text: str  # N_ msgid
    if_yes: TriageOutcome


_IN_COURT = Redirect(
    "court",
    N_(
        "A matter that a court has accepted or decided is handled by the court, so this "
        "service cannot take it. Please contact the court that has your case. If you disagree "
        "with a court decision, you can appeal or apply for a retrial there, or ask the "
        "procuratorate to review it."
    ),
    "XF 31(1); XF 28(2); FY 29(2)",
)
_IN_ARBITRATION = Redirect(
    "arbitration",
    N_(
        "A matter that an arbitration body has accepted is decided in arbitration. Please "
        "contact the arbitration body that has your case."
    ),
    "XF 31(2)",
)
_IN_RECONSIDERATION = Redirect(
    "reconsideration_body",
    N_(
        "An application for reconsideration that has been accepted is decided by the body that "
        "accepted it, and the same application cannot be made again elsewhere. Please ask that "
        "body about its progress."
    ),
    "FY 30(1)(7); XF 31(1)",
)
_NOTHING_FITS = Redirect(
    "hotline",
    N_(
        "None of the procedures offered here seems to fit your matter. Please call the 12345 "
        "hotline; they will tell you which office can help."
    ),
    "",
)

TRIAGE_QUESTIONS: tuple[TriageQuestion, ...] = (
    TriageQuestion(
        "already_in_court",
        N_("Has a court already accepted or decided this matter?"),
        TriageOutcome(None, redirect=_IN_COURT, basis=_IN_COURT.basis),
    ),
    TriageQuestion(
        "already_in_arbitration",
        N_(
            "Has an arbitration body (for example the labour dispute arbitration committee) "
            "already accepted this matter?"
        ),
        TriageOutcome(None, redirect=_IN_ARBITRATION, basis=_IN_ARBITRATION.basis),
    ),
    TriageQuestion(
        "already_in_other_reconsideration",
        N_("Have you already applied for reconsideration of this matter, and was it accepted?"),
        TriageOutcome(None, redirect=_IN_RECONSIDERATION, basis=_IN_RECONSIDERATION.basis),
    ),
    # Asked before the agency question: someone reporting an official's wrongdoing may also
    # say "yes" to "an agency's act", but a report must take the confidential route (XF 30).
    TriageQuestion(
        "reports_misconduct",
        N_(
            "Do you want to report wrongdoing by an official or a public employee (for example "
            "taking bribes or abusing power)?"
        ),
        TriageOutcome(
            "petition",
            sensitive=True,
            petition_kind=PetitionKind.report,
            notice=N_(
                "Reports of wrongdoing by officials are handled by the discipline inspection "
                "and supervision bodies. Your report is kept confidential and is never passed "
                "to the person or unit you report."
            ),
            basis="XF 30",
        ),
    ),
    TriageQuestion(
        "challenges_agency_act",
        N_(
            "Do you disagree with a specific decision of a government agency (for example a "
            "fine or a refusal), or has an agency not acted on your request?"
        ),
        TriageOutcome(
            "reconsideration",
            notice=N_(
                "An application for reconsideration must usually be made within 60 days of the "
                "day you learned of the decision."
            ),
            basis="XF 31(4); FY 2; FY 11; FY 20",
        ),
    ),
    TriageQuestion(
        "dispute_with_person_or_company",
        N_(
            "Is this a dispute with another person or a company (for example a neighbour, an "
            "employer or a shop)?"
        ),
        # 行政调解, not 人民调解: no 人民调解法 article as its basis (domain §5).
        TriageOutcome("mediation", notice=MEDIATION_NOTICE, basis="XF 37"),
    ),
    TriageQuestion(
        "complaint_or_suggestion",
        N_("Do you want to make a complaint, a request or a suggestion to the government?"),
        TriageOutcome("petition", basis="XF 29; XF 31(6)"),
    ),
)

_ANSWER_FIELDS = {f.name for f in fields(TriageAnswers)}
assert {q.id for q in TRIAGE_QUESTIONS} == _ANSWER_FIELDS, "every answer has one question"

_UNDECIDED = TriageOutcome(None, complete=False)
_NO_FIT = TriageOutcome(None, redirect=_NOTHING_FITS)


def triage(answers: TriageAnswers) -> TriageOutcome:
    """The outcome so far: the first "yes" in question order decides; an unanswered question
    before any "yes" leaves it open (``complete=False``); all "no" → the 12345 hotline."""
    for question in TRIAGE_QUESTIONS:
        answer = getattr(answers, question.id)
        if answer is None:
            return _UNDECIDED
        if answer:
            return question.if_yes
    return _NO_FIT


def next_triage_question(answers: TriageAnswers) -> TriageQuestion | None:
    """The next question to ask, or None once :func:`triage` has an outcome. Questions after
    the first "yes" are skipped."""
    for question in TRIAGE_QUESTIONS:
        answer = getattr(answers, question.id)
        if answer is None:
            return question
        if answer:
            return None
    return None
