"""The three intake forms as data: one question at a time, in the order a citizen can answer.

Fields follow domain.md §6: 6.1 行政复议申请书 (FYSS 19), 6.2 信访 record (XF 17-23, 30-31),
6.4 调解 request. Each field says how its answer is parsed and when it is asked, so the chat
handler is one generic loop and a change of the law or of the county's practice is a change of
this table.

Answers are stored JSON-ready: strings, ints, bools, ISO dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from cases.i18n import N_
from cases.intake import validation as v
from cases.intake.identity import IdType, parse_other_id, parse_resident_id
from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation

Answers = Mapping[str, Any]


class Procedure(StrEnum):
    reconsideration = "reconsideration"
    petition = "petition"
    mediation = "mediation"


CASE_NUMBER_PREFIX: dict[Procedure, str] = {
    Procedure.reconsideration: "FY",
    Procedure.petition: "XF",
    Procedure.mediation: "TJ",
}

PROCEDURE_NAMES: dict[Procedure, str] = {
    Procedure.reconsideration: N_("administrative reconsideration application"),
    Procedure.petition: N_("petition"),
    Procedure.mediation: N_("administrative mediation request"),
}


class Kind(StrEnum):
    text = "text"
    choice = "choice"  # fixed choices, as buttons
    yes_no = "yes_no"
    date = "date"
    id_number = "id_number"  # parsed by the id_type answered before
    phone = "phone"  # typed, or shared with Telegram's contact button
    agency = "agency"  # the configured agencies, or a typed name
    township = "township"
    category = "category"
    count = "count"
    names = "names"  # a list of names, e.g. group representatives
    evidence = "evidence"  # files; answered with "done"
    saved = "saved"  # "use these" / "change" for the citizen's saved details


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    key: str
    kind: Kind
    prompt: str
    label: str
    why: str | None = None
    optional: bool = False
    max_len: int = v.TextLimits.SHORT
    min_len: int = 1
    choices: tuple[Choice, ...] = ()
    when: Callable[[Answers], bool] | None = None
    not_before: str | None = None  # key of an earlier date field
    not_before_message: str | None = None
    minimum: int = 1
    maximum: int = 9999
    masked: bool = False
    gate: Callable[[Answers, Organisation], Gate | None] | None = None
    """After the answer: a reason this channel cannot take the matter (then the form ends)."""
    intro: Callable[[Answers, date, DeadlineEngine], Note | None] | None = None
    """Before the question: something the citizen must know first (e.g. they are late)."""
    clears: tuple[str, ...] = ()
    """Answers checked against this one; a changed answer asks them again."""
    default: Choice | None = None
    """The commonest answer, offered as a button beside the typed answer (e.g. "only me")."""
    contact_key: str | None = None
    """A phone number typed into this answer is stored apart under this key."""

    def asked(self, answers: Answers) -> bool:
        return self.when is None or self.when(answers)


@dataclass(frozen=True)
class Note:
    message: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Gate:
    """The form stops here: the matter belongs elsewhere; say where and why (never a bare no)."""

    message: str
    params: dict[str, str] = field(default_factory=dict)
    basis: str = ""


@dataclass(frozen=True)
class FormSpec:
    procedure: Procedure
    title: str
    fields: tuple[Field, ...]

    def field(self, key: str, answers: Answers | None = None) -> Field:
        """The field stored under ``key``; where branches ask it differently (a decision or
        an inaction), the variant asked for these answers."""
        variants = [item for item in self.fields if item.key == key]
        if not variants:
            raise KeyError(key)
        if answers is not None:
            for item in variants:
                if item.asked(answers):
                    return item
        return variants[0]

    def asked_fields(self, answers: Answers) -> list[Field]:
        return [f for f in self.fields if f.asked(answers)]

    def next_field(self, answers: Answers) -> Field | None:
        """The first question asked in this branch and not answered yet (None: complete)."""
        for item in self.fields:
            if item.asked(answers) and item.key not in answers:
                return item
        return None


# --- shared pieces -----------------------------------------------------------------------

YES = "yes"
NO = "no"
DECISION = "decision"
INACTION = "inaction"

ID_TYPES = tuple(Choice(t.value, t.label) for t in IdType)

ID_WHY = N_(
    "We ask for your ID number to identify you as the applicant: the law requires it in the "
    "application. It is stored securely and shown only masked."
)
PHONE_WHY = N_("So that the office can reach you about your case.")


def _is(key: str, value: object) -> Callable[[Answers], bool]:
    return lambda answers: answers.get(key) == value


def _not(key: str, value: object) -> Callable[[Answers], bool]:
    return lambda answers: key in answers and answers.get(key) != value


def _all(*conditions: Callable[[Answers], bool]) -> Callable[[Answers], bool]:
    return lambda answers: all(c(answers) for c in conditions)


def _answered(key: str) -> Callable[[Answers], bool]:
    """Never asked as such: shown once set by another answer, or kept from an older form."""
    return lambda answers: key in answers


NONE = "none"
SOME = "some"


def _f1_passed_or_answered(own: str) -> Callable[[Answers], bool]:
    return lambda answers: bool(answers.get(F1_PASSED)) or own in answers


def _is_or_answered(key: str, value: object, own: str) -> Callable[[Answers], bool]:
    """Asked in one branch; an answer given by an older version of the form stays shown."""
    return lambda answers: answers.get(key) == value or own in answers


SAVED_KEY = "_use_saved"
"""The answer to "use your saved details?": underscored, so it is never filed with the case
(staff never see whether details were saved or typed)."""
HAS_SAVED = "_has_saved"
OTHER_ID = "_other_id"
"""Set by the "not a resident ID card" button: the document type is asked, then the number."""
F1_PASSED = "_f1_passed"
"""Set by the service with every answer: the 60-day window (F1) from the day the citizen
learned of the decision has passed as of today (only then do the F2 questions matter)."""
RESIDENT_ID = IdType.resident_id.value
USE_SAVED = "use"
CHANGE_SAVED = "change"

SAVED_DETAILS = Field(
    SAVED_KEY,
    Kind.saved,
    N_(
        "We kept your details from your last filing:\n{details}\n\nUse them for this one "
        "(you apply for yourself)?"
    ),
    N_("Saved details"),
    choices=(
        Choice(USE_SAVED, N_("Use these details")),
        Choice(CHANGE_SAVED, N_("Enter other details")),
    ),
    when=lambda answers: bool(answers.get(HAS_SAVED)),
)


def _not_using_saved(answers: Answers) -> bool:
    return answers.get(SAVED_KEY) != USE_SAVED


def _elsewhere_gate(messages: Mapping[str, tuple[str, str]]) -> Callable[..., Gate | None]:
    def gate(answers: Answers, org: Organisation) -> Gate | None:
        found = messages.get(str(answers.get("elsewhere")))
        return Gate(found[0], basis=found[1]) if found else None

    return gate


ELSEWHERE_COURT = N_(
    "A matter that a court has already accepted is handled by that court, not through this "
    "channel. Please follow it up with the court; the court's hotline or 12368 can help."
)
ELSEWHERE_ARBITRATION = N_(
    "A matter that an arbitration body has already accepted is handled by that body. Please "
    "follow it up there."
)
ELSEWHERE_RECONSIDERATION = N_(
    "A matter that another reconsideration body has already accepted cannot be filed again "
    "here. Please follow it up with that body."
)
ELSEWHERE_PETITION_LEGAL = N_(
    "Matters that are already before a court, an arbitration body or a reconsideration body "
    "are handled in that procedure, not as a petition (信访). Please follow them up there; for "
    "questions about court cases the county's political-legal departments can help."
)

ELSEWHERE_CHOICES = (
    Choice("none", N_("No, nowhere else")),
    Choice("court", N_("Yes, a court")),
    Choice("arbitration", N_("Yes, an arbitration body")),
    Choice("reconsideration", N_("Yes, a reconsideration body")),
)


def applicant_fields(*, id_optional: Callable[[Answers], bool] | None = None) -> list[Field]:
    """Name, ID, phone, address (FYSS 19(1); XF 19; domain §6). A returning citizen who
    kept them is offered them first (SAVED_DETAILS, before these)."""
    return [
        Field(
            "applicant_name",
            Kind.text,
            N_("What is your full name (as on your ID card)?"),
            N_("Name"),
            max_len=v.TextLimits.NAME,
        ),
        Field(
            "id_type",
            Kind.choice,
            N_("Which identity document do you have?"),
            N_("Identity document"),
            choices=ID_TYPES,
            why=ID_WHY,
            clears=("id_number",),
            # The type follows from a resident ID number; asked only after the "not a
            # resident ID card" button (shown, once known, on the summary).
            when=lambda answers: bool(answers.get(OTHER_ID)) or "id_type" in answers,
        ),
        Field(
            "id_number",
            Kind.id_number,
            N_(
                "Please type your ID number (18 characters on your resident ID card). For "
                "another document, press the button below."
            ),
            N_("Document number"),
            why=ID_WHY,
            masked=True,
            when=lambda answers: answers.get("id_type", RESIDENT_ID) == RESIDENT_ID,
        ),
        Field(
            "id_number",
            Kind.id_number,
            N_("Please type the number of your identity document."),
            N_("Document number"),
            why=ID_WHY,
            masked=True,
            when=lambda answers: answers.get("id_type", RESIDENT_ID) != RESIDENT_ID,
        ),
        Field(
            "phone",
            Kind.phone,
            N_(
                "What phone number can we reach you on? Press the button below to share this "
                "Telegram account's number, or type another one."
            ),
            N_("Phone"),
            why=PHONE_WHY,
            masked=True,
        ),
        Field(
            "address",
            Kind.text,
            N_("What is your address (where letters can reach you)?"),
            N_("Address"),
            max_len=v.TextLimits.ADDRESS,
        ),
    ]


EVIDENCE = Field(
    "evidence",
    Kind.evidence,
    N_(
        "You can now send evidence: photos, documents (PDF, Word, Excel, pictures) or voice "
        "messages, one or several. Press “Done” when you have sent everything, or if you have "
        "nothing to add."
    ),
    N_("Evidence"),
    # Files are taken at every step and the summary invites more; this question is no
    # longer asked, but a draft or case from before still shows its answer.
    when=_answered("evidence"),
)


# --- 6.1 行政复议 ---------------------------------------------------------------------------

HOW_RECEIVED = (
    Choice("on_the_spot", N_("Made on the spot")),
    Choice("direct", N_("Handed to me (I signed for it)")),
    Choice("mail", N_("By post")),
    Choice("notice", N_("By public notice")),
    Choice("electronic", N_("Electronically (SMS, app, e-mail)")),
    Choice("not_served", N_("I was never given it")),
)


def _respondent_gate(answers: Answers, org: Organisation) -> Gate | None:
    """FY 24/27/28: an application the county's office cannot decide is not filed here."""
    from cases.org.routing import RECONSIDERATION_ELSEWHERE, reconsideration_body_for

    agency_id = str(answers.get("respondent_id") or "")
    if not agency_id or agency_id.startswith("text:"):
        return None  # a typed name: the office checks who decides during its review (F5)
    body = reconsideration_body_for(org, agency_id)
    if body.is_local or any(alternative.local for alternative in body.alternatives):
        # FY 24 last para.: a city department's branch may also be reviewed by the county.
        return None
    return Gate(
        RECONSIDERATION_ELSEWHERE,
        params={"agency": body.agency.name, "body": body.body.name},
        basis=body.basis,
    )


LATE_NOTE = N_(
    "By the dates you gave, the time limit for applying ended on {date} ({basis}). You can "
    "still apply: if something you could not control kept you from applying in time, the "
    "period is extended by that time (《行政复议法》第二十条第二款)."
)
PROVISIONAL_NOTE = N_(
    "This date is provisional: the official holiday calendar for that year is not published "
    "yet, so weekends only were taken into account."
)


LONG_STOP_NOTE = N_(
    "By the dates you gave, the decision was made more than five years ago: the time limit "
    "ended on {date} ({basis}), and this limit cannot be extended. You can still submit the "
    "application; the office will decide whether it can accept it."
)


def late_note(answers: Answers, today: date, engine: DeadlineEngine) -> Note | None:
    window = timeliness(answers, today, engine)
    if not window.late or window.window_end is None:
        return None
    message = LATE_NOTE if window.extendable else LONG_STOP_NOTE
    return Note(message, {"date": window.window_end, "basis": window.basis})


@dataclass(frozen=True)
class Timeliness:
    """F1/F2/F3/F4 at intake: the window, and whether the application is already outside it."""

    window_end: date | None
    rule_id: str | None
    basis: str
    late: bool
    provisional: bool = False

    @property
    def extendable(self) -> bool:
        """FY 20(2) resumes the F1/F2 period after an obstacle; the FY 21 long stop is final."""
        return self.rule_id != "F3"


def timeliness(answers: Answers, today: date, engine: DeadlineEngine) -> Timeliness:
    if answers.get("act_kind") == INACTION:
        return _inaction_window(answers, today, engine)
    known = answers.get("known_date")
    if not known:
        return Timeliness(None, None, "", False)
    # F1 (FY 20(1)): 60 days from knowing. F2 (FY 20(3)): not told of the right, the body and
    # the period → at most one year from knowing the act (⚠ the 60 days then run from learning
    # of the right, which the form does not ask; the cap is what the bot can check). The
    # question is asked only once F1 has passed (within it F2 changes nothing), so an
    # unanswered question means F1.
    rule_id = "F2" if answers.get("rights_notified") == NO else "F1"
    window = engine.compute(rule_id, date.fromisoformat(str(known)))
    result = Timeliness(window.due, rule_id, window.basis, today > window.due, window.provisional)
    made = answers.get("act_date")
    if made:
        # F3 (FY 21): the long stop from the day the act was made caps every other window.
        long_stop = engine.compute("F3", date.fromisoformat(str(made)))
        if long_stop.due < window.due:
            result = Timeliness(
                long_stop.due, "F3", long_stop.basis, today > long_stop.due, long_stop.provisional
            )
    return result


def f1_passed(answers: Answers, today: date, engine: DeadlineEngine) -> bool:
    """The 60 days of F1 from the day the citizen learned of the decision are over: only then
    can F2 (rights not notified) or the manner of service (C12) change the outcome."""
    known = answers.get("known_date")
    if answers.get("act_kind") == INACTION or not known:
        return False
    return today > engine.compute("F1", date.fromisoformat(str(known))).due


def _inaction_window(answers: Answers, today: date, engine: DeadlineEngine) -> Timeliness:
    """F4 (FYSS 16): without a statutory performance period the agency has 60 days from the
    request; the F1 window of 60 days runs from the end of that period."""
    requested = answers.get("act_date")
    if not requested:
        return Timeliness(None, None, "", False)
    performance = engine.compute("F4", date.fromisoformat(str(requested)))
    window = engine.compute("F1", performance.due)
    basis = f"{performance.basis}、{window.basis}"
    return Timeliness(
        window.due,
        "F4",
        basis,
        today > window.due,
        performance.provisional or window.provisional,
    )


RECONSIDERATION = FormSpec(
    Procedure.reconsideration,
    N_("Application for administrative reconsideration"),
    (
        Field(
            "elsewhere",
            Kind.choice,
            N_(
                "Before we start: has a court or another reconsideration body already accepted "
                "this matter?"
            ),
            N_("Already elsewhere"),
            choices=(ELSEWHERE_CHOICES[0], ELSEWHERE_CHOICES[1], ELSEWHERE_CHOICES[3]),
            gate=_elsewhere_gate(
                {
                    "court": (ELSEWHERE_COURT, "《行政复议法》第二十九条"),
                    "reconsideration": (
                        ELSEWHERE_RECONSIDERATION,
                        "《行政复议法》第三十条第一款第（七）项",
                    ),
                }
            ),
        ),
        SAVED_DETAILS,
        Field(
            "applicant_kind",
            Kind.choice,
            N_("Are you applying for yourself or for an organisation?"),
            N_("Applicant"),
            choices=(
                Choice("person", N_("For myself")),
                Choice("organisation", N_("For a company or organisation")),
            ),
        ),
        Field(
            "organisation_name",
            Kind.text,
            N_("What is the full name of the company or organisation?"),
            N_("Organisation"),
            when=_is("applicant_kind", "organisation"),
        ),
        Field(
            "representative",
            Kind.text,
            N_("Name and post of its legal representative or principal head?"),
            N_("Legal representative"),
            when=_is("applicant_kind", "organisation"),
        ),
        *applicant_fields(),
        Field(
            "respondent_id",
            Kind.agency,
            N_(
                "Which government agency made the decision (or failed to act)? Choose it below, "
                "or type its name."
            ),
            N_("Respondent agency"),
            gate=_respondent_gate,
        ),
        Field(
            "act_kind",
            Kind.choice,
            N_("Is it about a decision the agency made, or about the agency not acting?"),
            N_("Kind of act"),
            choices=(
                Choice(DECISION, N_("A decision (for example a fine or a refusal)")),
                Choice(INACTION, N_("The agency did not act on my request")),
            ),
            clears=("act_title", "act_date", "known_date"),
        ),
        Field(
            "act_title",
            Kind.text,
            N_(
                "What is the decision? Type its title or document number, for example "
                "“谷公(治)决字〔2026〕123号”."
            ),
            N_("Decision"),
            when=_not("act_kind", INACTION),
        ),
        Field(
            "act_title",
            Kind.text,
            N_("What did you ask the agency to do?"),
            N_("Your request to the agency"),
            when=_is("act_kind", INACTION),
        ),
        Field(
            "act_date",
            Kind.date,
            N_("On what date was the decision made? (for example 2026-11-20 or 11月20日)"),
            N_("Date of the decision"),
            when=_not("act_kind", INACTION),
            clears=("known_date",),
        ),
        Field(
            "act_date",
            Kind.date,
            N_("On what date did the agency receive your request?"),
            N_("Date of your request"),
            when=_is("act_kind", INACTION),
        ),
        Field(
            "known_date",
            Kind.date,
            N_("On what date did you learn of the decision?"),
            N_("Date you learned of it"),
            not_before="act_date",
            not_before_message=v.DATE_KNOWN_BEFORE_DECISION,
            when=_not("act_kind", INACTION),
            clears=("how_received", "rights_notified"),
        ),
        Field(
            "how_received",
            Kind.choice,
            N_("How did you receive the decision?"),
            N_("How received"),
            choices=HOW_RECEIVED,
            # C12: how it was served moves the day counted from; that matters only when the
            # day the citizen gives is already outside the 60 days (F1).
            when=_all(_not("act_kind", INACTION), _f1_passed_or_answered("how_received")),
        ),
        Field(
            "rights_notified",
            Kind.yes_no,
            N_(
                "Did the decision tell you that you can apply for reconsideration, to which body "
                "and within what time?"
            ),
            N_("Told of the right to apply"),
            # F2 (FY 20(3)) only lengthens the window: within the 60 days of F1 the answer
            # changes nothing, so it is asked only once they have passed.
            when=_all(_not("act_kind", INACTION), _f1_passed_or_answered("rights_notified")),
        ),
        Field(
            "late_reason",
            Kind.text,
            N_(
                "Please explain why you could not apply earlier (for example illness, a "
                "natural disaster or another reason you could not control)."
            ),
            N_("Reason for applying late"),
            max_len=v.TextLimits.REQUEST,
            # Asked only when the application is outside the window (F1/F2/F3); the service
            # stores that as "_late" with each answer, since it depends on today's date.
            when=lambda answers: bool(answers.get("_late")),
            intro=late_note,
        ),
        Field(
            "request",
            Kind.text,
            N_(
                "What do you ask the reconsideration body to do? For example: revoke the "
                "decision, change the fine, order the agency to act."
            ),
            N_("Request"),
            max_len=v.TextLimits.REQUEST,
        ),
        Field(
            "facts",
            Kind.text,
            N_("Please describe the main facts and your reasons."),
            N_("Facts and reasons"),
            max_len=v.TextLimits.FACTS,
        ),
        Field(
            "extras",
            Kind.choice,
            N_(
                "Does any of this apply?\n• You also claim compensation for damage the "
                "decision caused you.\n• Someone else is directly affected by the decision (a "
                "third party).\n• Someone acts for you (an agent)."
            ),
            N_("Compensation, third party or agent"),
            choices=(
                Choice(NONE, N_("None of these")),
                Choice(SOME, N_("Yes, one or more")),
            ),
            clears=("compensation", "compensation_details", "third_parties", "agent"),
        ),
        Field(
            "compensation",
            Kind.yes_no,
            N_("Do you also claim compensation for damage the decision caused you?"),
            N_("Compensation claimed"),
            when=_is_or_answered("extras", SOME, "compensation"),
        ),
        Field(
            "compensation_details",
            Kind.text,
            N_("What damage did you suffer, and how much do you claim?"),
            N_("Compensation details"),
            max_len=v.TextLimits.REQUEST,
            when=_is("compensation", YES),
        ),
        Field(
            "third_parties",
            Kind.text,
            N_(
                "Is anyone else directly affected by the decision (a third party)? Type their "
                "names, or press “Skip”."
            ),
            N_("Third parties"),
            optional=True,
            max_len=v.TextLimits.ADDRESS,
            when=_is_or_answered("extras", SOME, "third_parties"),
        ),
        Field(
            "agent",
            Kind.text,
            N_(
                "Does someone act for you (an agent, at most two)? Type name and phone, or "
                "press “Skip”. An agent needs a signed power of attorney: please send it as "
                "evidence."
            ),
            N_("Agent"),
            optional=True,
            max_len=v.TextLimits.ADDRESS,
            when=_is_or_answered("extras", SOME, "agent"),
        ),
        EVIDENCE,
        Field(
            "electronic_service",
            Kind.yes_no,
            N_(
                "Do you agree that documents of this case are served to you electronically, "
                "through this chat?"
            ),
            N_("Electronic service"),
        ),
    ),
)


# --- 6.2 信访 ----------------------------------------------------------------------------

PETITION_KINDS = (
    Choice("complaint", N_("A complaint or request about my own matter (申诉求决)")),
    Choice("suggestion", N_("A suggestion or opinion (建议意见)")),
    Choice("report", N_("A report of misconduct by an official or agency (检举控告)")),
)


def _too_many_representatives(answers: Answers) -> bool:
    return int(answers.get("group_size") or 1) > 1


PETITION = FormSpec(
    Procedure.petition,
    N_("Petition (信访)"),
    (
        Field(
            "review_of",
            Kind.text,
            N_("Which handling opinion do you ask to have reviewed?"),
            N_("Review (复查) of the handling opinion in"),
            # Never asked: set when the citizen asks for the 复查 (X5) from a closed petition.
            when=_answered("review_of"),
        ),
        Field(
            "elsewhere",
            Kind.choice,
            N_(
                "Before we start: is this matter already before a court, an arbitration body "
                "or a reconsideration body?"
            ),
            N_("Already elsewhere"),
            choices=ELSEWHERE_CHOICES,
            gate=_elsewhere_gate(
                {
                    "court": (ELSEWHERE_PETITION_LEGAL, "《信访工作条例》第三十一条"),
                    "arbitration": (ELSEWHERE_PETITION_LEGAL, "《信访工作条例》第三十一条"),
                    "reconsideration": (ELSEWHERE_PETITION_LEGAL, "《信访工作条例》第三十一条"),
                }
            ),
        ),
        Field(
            "petition_kind",
            Kind.choice,
            N_("What kind of matter is it?"),
            N_("Kind of matter"),
            choices=PETITION_KINDS,
        ),
        SAVED_DETAILS,
        *applicant_fields(),
        Field(
            "township_id",
            Kind.township,
            N_("Where did the problem arise? Choose the town or township."),
            N_("Where"),
        ),
        Field(
            "request",
            Kind.text,
            N_("What do you ask for? (your request)"),
            N_("Request"),
            max_len=v.TextLimits.REQUEST,
        ),
        Field(
            "facts",
            Kind.text,
            N_(
                "What happened, and why do you ask for this? Please describe the facts and "
                "your reasons."
            ),
            N_("Facts and reasons"),
            max_len=v.TextLimits.FACTS,
            # XF 19 asks for facts and reasons; one answer holds both (an older case may
            # still carry them apart, below).
            when=lambda answers: "reasons" not in answers,
        ),
        Field(
            "facts",
            Kind.text,
            N_("What happened? Please describe the facts."),
            N_("Facts"),
            max_len=v.TextLimits.FACTS,
            when=_answered("reasons"),
        ),
        Field(
            "reasons",
            Kind.text,
            N_("Why do you ask for this? (your reasons)"),
            N_("Reasons"),
            max_len=v.TextLimits.FACTS,
            when=_answered("reasons"),
        ),
        Field(
            "extras",
            Kind.choice,
            N_(
                "Does any of this apply?\n• The matter concerns a particular agency or "
                "official.\n• You have raised it with an office before.\n• You speak for "
                "more people than yourself."
            ),
            N_("Agency concerned, raised before or a group"),
            choices=(
                Choice(NONE, N_("None of these")),
                Choice(SOME, N_("Yes, one or more")),
            ),
            clears=("body_concerned", "raised_before", "raised_with", "group_size"),
        ),
        Field(
            "body_concerned",
            Kind.agency,
            N_("Which agency or official does it concern? Choose below, type a name, or skip."),
            N_("Agency concerned"),
            optional=True,
            when=_is_or_answered("extras", SOME, "body_concerned"),
        ),
        Field(
            "raised_before",
            Kind.yes_no,
            N_("Have you raised this matter with any office before?"),
            N_("Raised before"),
            when=_is_or_answered("extras", SOME, "raised_before"),
        ),
        Field(
            "raised_with",
            Kind.text,
            N_("With which office, and when? Is there a written reply?"),
            N_("Raised with"),
            max_len=v.TextLimits.REQUEST,
            when=_is("raised_before", YES),
        ),
        Field(
            "group_size",
            Kind.count,
            N_("How many people does this petition speak for? Type a number, or press “Only me”."),
            N_("People"),
            minimum=1,
            maximum=100_000,
            default=Choice("1", N_("Only me")),
            when=_is_or_answered("extras", SOME, "group_size"),
        ),
        Field(
            "representatives",
            Kind.names,
            N_(
                "A group chooses at most 5 representatives. Type their names, separated by commas."
            ),
            N_("Representatives"),
            when=_too_many_representatives,
            maximum=5,
            max_len=v.TextLimits.ADDRESS,
        ),
        EVIDENCE,
    ),
)


# --- 6.4 调解 ----------------------------------------------------------------------------

MEDIATION = FormSpec(
    Procedure.mediation,
    N_("Request for administrative mediation"),
    (
        Field(
            "elsewhere",
            Kind.choice,
            N_(
                "Before we start: is this dispute already before a court, an arbitration body "
                "or a reconsideration body?"
            ),
            N_("Already elsewhere"),
            choices=ELSEWHERE_CHOICES,
            gate=_elsewhere_gate(
                {
                    "court": (ELSEWHERE_COURT, "《信访工作条例》第三十一条"),
                    "arbitration": (ELSEWHERE_ARBITRATION, "《信访工作条例》第三十一条"),
                    "reconsideration": (ELSEWHERE_RECONSIDERATION, "《行政复议法》第二十九条"),
                }
            ),
        ),
        Field(
            "other_side_agrees",
            Kind.choice,
            N_("Mediation needs both sides to take part. Does the other side agree to mediation?"),
            N_("Other side agrees"),
            choices=(
                Choice("yes", N_("Yes, they agree")),
                Choice("unknown", N_("I have not asked / I do not know")),
                Choice("no", N_("No, they refuse")),
            ),
            gate=lambda answers, org: (
                Gate(
                    N_(
                        "Mediation is voluntary: if the other side clearly refuses, it cannot "
                        "take place. You can still file a petition, apply for reconsideration "
                        "if an agency's decision is involved, or go to court. Use /start to "
                        "choose."
                    ),
                )
                if answers.get("other_side_agrees") == "no"
                else None
            ),
        ),
        Field(
            "category_id",
            Kind.category,
            N_("What kind of dispute is it?"),
            N_("Kind of dispute"),
        ),
        Field(
            "township_id",
            Kind.township,
            N_("Where did the dispute arise? Choose the town or township."),
            N_("Where"),
        ),
        SAVED_DETAILS,
        *applicant_fields(),
        Field(
            "other_party_name",
            Kind.text,
            N_(
                "Who is the other side? Type the name of the person, company or agency, and a "
                "phone number to reach them if you know it."
            ),
            N_("Other side"),
            max_len=v.TextLimits.ADDRESS,
            contact_key="other_party_contact",
        ),
        Field(
            "other_party_contact",
            Kind.text,
            N_("How can the other side be reached (phone or address)? Or press “Skip”."),
            N_("Other side's contact"),
            optional=True,
            max_len=v.TextLimits.ADDRESS,
            # Taken from the answer above (a phone number in it); shown, and changeable, on
            # the summary.
            when=_answered("other_party_contact"),
        ),
        Field(
            "facts",
            Kind.text,
            N_(
                "What happened, and what do you ask for? Please describe the dispute and your "
                "claims."
            ),
            N_("Facts and claims"),
            max_len=v.TextLimits.FACTS,
            when=lambda answers: "claims" not in answers,
        ),
        Field(
            "facts",
            Kind.text,
            N_("What happened? Please describe the dispute."),
            N_("Facts"),
            max_len=v.TextLimits.FACTS,
            when=_answered("claims"),
        ),
        Field(
            "claims",
            Kind.text,
            N_("What do you ask for? (your claims)"),
            N_("Claims"),
            max_len=v.TextLimits.REQUEST,
            when=_answered("claims"),
        ),
        Field(
            "preferred_time",
            Kind.text,
            N_("When would suit you for a mediation session? Or press “Skip”."),
            N_("Preferred time"),
            optional=True,
            max_len=v.TextLimits.SHORT,
        ),
        EVIDENCE,
    ),
)

FORMS: dict[Procedure, FormSpec] = {
    Procedure.reconsideration: RECONSIDERATION,
    Procedure.petition: PETITION,
    Procedure.mediation: MEDIATION,
}


# --- parsing one answer ---------------------------------------------------------------------


def parse_answer(
    spec_field: Field,
    text: str,
    answers: Answers,
    *,
    today: date,
    org: Organisation,
    translate: Callable[[str], str] = str,
) -> Any:
    """Turn what the citizen typed into the stored value, or raise ValidationError."""
    kind = spec_field.kind
    if kind is Kind.text:
        return v.clean_text(text, max_len=spec_field.max_len, min_len=spec_field.min_len)
    if kind is Kind.yes_no:
        return YES if v.parse_yes_no(text) else NO
    if kind is Kind.date:
        not_before = answers.get(spec_field.not_before) if spec_field.not_before else None
        return v.parse_date(
            text,
            today=today,
            not_before=date.fromisoformat(not_before) if not_before else None,
            not_before_message=spec_field.not_before_message or v.DATE_NOT_BEFORE,
        ).isoformat()
    if kind is Kind.id_number:
        id_type = IdType(answers.get("id_type", IdType.resident_id))
        if id_type is IdType.resident_id:
            return parse_resident_id(text, today=today).number
        return parse_other_id(id_type, text)
    if kind is Kind.phone:
        return v.parse_phone(text, default_area_code=org.phone_area_code)
    if kind is Kind.count:
        if spec_field.default is not None and match_choice(spec_field, text, org, translate):
            return int(spec_field.default.value)
        return v.parse_count(text, minimum=spec_field.minimum, maximum=spec_field.maximum)
    if kind is Kind.names:
        return parse_names(text, maximum=spec_field.maximum, max_len=spec_field.max_len)
    if kind in (Kind.choice, Kind.township, Kind.category, Kind.agency, Kind.saved):
        match = match_choice(spec_field, text, org, translate)
        if match is not None:
            return match
        if kind is Kind.agency:
            return "text:" + v.clean_text(text, max_len=v.TextLimits.SHORT)
        raise v.ValidationError(N_("Please choose one of the buttons below."))
    raise v.ValidationError(N_("Please use the buttons below to answer."))


REPRESENTATIVES_TOO_MANY = N_(
    "A group may choose at most {maximum} representatives (《信访工作条例》第二十条). "
    "Please type at most {maximum} names."
)


_PHONE_IN_TEXT = re.compile(
    r"(?<![\d+])(?:\+?86[\s-]?)?(?:1[3-9]\d(?:[\s-]?\d{4}){2}|0\d{2,3}[\s-]?\d{7,8})(?!\d)"
)


def split_contact(text: str) -> tuple[str, str | None]:
    """ "李四 13900002222" → ("李四", "13900002222"): the name, and a phone number if one was
    typed with it. Without a name beside the number, the whole answer is the name."""
    numbers = [m.group(0).strip() for m in _PHONE_IN_TEXT.finditer(text)]
    if not numbers:
        return text, None
    rest = _PHONE_IN_TEXT.sub(" ", text)
    rest = re.sub(r"(电话|手机|联系方式|phone|tel\.?)\s*[:：]?\s*$", "", rest.strip(), flags=re.I)
    name = re.sub(r"\s+", " ", rest).strip(" ,，;；:：、/（）()")
    if not name:
        return text, None
    return name, "、".join(numbers)


def parse_names(text: str, *, maximum: int, max_len: int) -> list[str]:
    cleaned = v.clean_text(text, max_len=max_len)
    for separator in ("，", "、", ";", "；", "\n"):
        cleaned = cleaned.replace(separator, ",")
    names = [name.strip() for name in cleaned.split(",") if name.strip()]
    if not names:
        raise v.ValidationError(N_("Please type at least one name."))
    if len(names) > maximum:
        raise v.ValidationError(REPRESENTATIVES_TOO_MANY, {"maximum": maximum})
    return names


def township_from_address(answers: Answers, org: Organisation) -> str | None:
    """The one town or township the citizen's address names (offered first, to confirm with
    one press), or None when it names none or several."""
    address = str(answers.get("address") or "").lower()
    if not address:
        return None
    found = {
        place.id
        for place in org.townships
        if place.name in address or place.name_en.split()[0].lower() in address
    }
    return found.pop() if len(found) == 1 else None


def choices_for(spec_field: Field, org: Organisation, locale: str) -> list[tuple[str, str]]:
    """(value, label) pairs for the buttons; fixed labels are msgids, org names are not."""
    if spec_field.kind is Kind.agency:
        return [(a.id, a.display_name(locale)) for a in org.agencies]
    if spec_field.kind is Kind.township:
        places = [*org.townships, *org.functional_zones]
        return [(p.id, p.display_name(locale)) for p in places]
    if spec_field.kind is Kind.category:
        return [(c.id, c.display_name(locale)) for c in org.dispute_categories]
    if spec_field.default is not None:
        return [(spec_field.default.value, spec_field.default.label)]
    return [(c.value, c.label) for c in spec_field.choices]


def match_choice(
    spec_field: Field, text: str, org: Organisation, translate: Callable[[str], str] = str
) -> str | None:
    """A typed answer that names one of the choices (as shown, in either language) counts as
    pressing its button."""
    typed = text.strip().lower()
    for locale in ("zh", "en"):
        for value, label in choices_for(spec_field, org, locale):
            if typed in (value.lower(), label.lower(), translate(label).lower()):
                return value
    return None


def display_value(
    spec_field: Field, value: Any, org: Organisation, translate: Callable[[str], str], locale: str
) -> str:
    """How an answer is shown back (summary, case page); ID and phone numbers masked."""
    if value is None:
        return translate(N_("(skipped)"))
    if spec_field.kind is Kind.id_number:
        return v.mask_id_number(str(value))
    if spec_field.kind is Kind.phone:
        return v.mask_phone(str(value))
    if spec_field.kind is Kind.yes_no:
        return translate(N_("Yes")) if value == YES else translate(N_("No"))
    if spec_field.kind is Kind.evidence:
        return translate(N_("{count} file(s)")).format(count=value)
    if spec_field.kind is Kind.names:
        return "、".join(value)
    if spec_field.kind in (Kind.agency, Kind.township, Kind.category, Kind.choice):
        text = str(value)
        if text.startswith("text:"):
            return text[5:]
        for option, label in choices_for(spec_field, org, locale):
            if option == text:
                return translate(label) if spec_field.kind is Kind.choice else label
    if spec_field.kind is Kind.date:
        from cases.i18n import format_date

        return format_date(date.fromisoformat(str(value)), locale)
    return str(value)
