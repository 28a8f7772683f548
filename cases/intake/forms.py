"""The three intake forms as data: one question at a time, in the order a citizen can answer.

Fields follow domain.md §6: 6.1 行政复议申请书 (FYSS 19), 6.2 信访 record (XF 17-23, 30-31),
6.4 调解 request. Each field says how its answer is parsed and when it is asked, so the chat
handler is one generic loop and a change of the law or of the county's practice is a change of
this table.

Answers are stored JSON-ready: strings, ints, bools, ISO dates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cases.i18n import N_
from cases.intake import validation as v
from cases.intake.form_engine import YES, Answers, Choice, Field, FormSpec, Gate, Kind, Procedure
from cases.intake.identity import IdType
from cases.intake.timeliness import DECISION, F1_PASSED, INACTION, late_note
from cases.org.organisation import Organisation

PROVISIONAL_NOTE = N_(
    "This date is provisional: the official holiday calendar for that year is not published "
    "yet, so weekends only were taken into account."
)
"""Said beside any date counted in a year the holiday calendar does not cover yet."""


# --- shared pieces -----------------------------------------------------------------------

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
ELSEWHERE_RECONSIDERATION_MEDIATION = N_(
    "A dispute that a reconsideration body has already accepted can be mediated by that body "
    "within the reconsideration, lawfully and if both sides agree (Administrative "
    "Reconsideration Law, Art. 5). Please ask that body."
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
                # Not the 信访工作条例 (a mediation request is no petition) nor FY 29 (which
                # bars parallel suits, not mediation): a 复议机关 mediates inside its own
                # procedure (FY 5, 73). No national text governs 行政调解 of a dispute in court
                # or arbitration (domain §5): the county's practice, stated without a citation.
                {
                    "court": (ELSEWHERE_COURT, ""),
                    "arbitration": (ELSEWHERE_ARBITRATION, ""),
                    "reconsideration": (
                        ELSEWHERE_RECONSIDERATION_MEDIATION,
                        "《行政复议法》第五条",
                    ),
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
