"""Registering a court case (/lawsuit) as a form spec, run by the form engine the citizens'
forms use (cases/intake/form_engine.py): one question at a time, each answer parsed by its
kind or by a parser of its own (the defendant must be one of the county's agencies; the
hearing time is read as staff type it and checked against the complaint date).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cases.i18n import N_
from cases.intake.form_engine import YES, AnswerContext, Answers, Field, FormSpec, Kind
from cases.intake.validation import ValidationError
from cases.litigation.hearing_times import (
    UNKNOWN_AGENCY,
    check_hearing_time,
    find_agency,
    parse_hearing_time,
)
from cases.litigation.models import LIMITS, RegisterLawsuit
from cases.store.time import from_db, to_db

COMPLAINT_MAX_AGE_DAYS = 2 * 365
"""Two years back: a court case still open that long after the complaint copy came (first
instance, extensions, an appeal) can still be registered for its hearings, while a mistyped
year (1900, 2006) is refused instead of giving an L3 deadline decades ago."""

COMPLAINT_TOO_OLD = N_(
    "Please check the year: a court case can be registered only if its complaint copy was "
    "received in the last two years, on or after {date}."
)


def _known_agency(text: str, answers: Answers, context: AnswerContext) -> str:
    """A typed name counts when it names one agency of the organisation file."""
    agency = find_agency(context.org, text)
    if agency is None:
        raise ValidationError(UNKNOWN_AGENCY)
    return agency.id


def _hearing_time(text: str, answers: Answers, context: AnswerContext) -> str:
    """The hearing's date and time as staff type it (12月10日 上午9点30, 2026-12-10 09:30)."""
    assert context.now is not None, "the hearing time is read relative to now"
    moment = parse_hearing_time(text, now=context.now)
    received = answers.get("complaint_received_on")
    check_hearing_time(
        moment, date.fromisoformat(str(received)) if received else None, now=context.now
    )
    return to_db(moment)


COURT_CASE = FormSpec(
    None,
    N_("New court case (行政应诉)"),
    (
        Field(
            "agency",
            Kind.agency,
            N_("Which agency is the defendant? Press its button, or type its name."),
            N_("Defendant agency"),
            parse=_known_agency,
        ),
        Field(
            "court",
            Kind.text,
            N_("Which court is hearing the case? For example: 谷城县人民法院."),
            N_("Court"),
            max_len=LIMITS["court"],
        ),
        Field(
            "court_case_number",
            Kind.text,
            N_(
                "What is the court's case number, as written on the complaint copy? For "
                "example: （2026）鄂0625行初12号."
            ),
            N_("Court case number"),
            max_len=LIMITS["court_case_number"],
        ),
        Field(
            "plaintiff",
            Kind.text,
            N_(
                "Who is the plaintiff? The name of the person or organisation; for several, "
                "for example: 张三等3人."
            ),
            N_("Plaintiff"),
            max_len=LIMITS["plaintiff"],
        ),
        Field(
            "act_challenged",
            Kind.text,
            N_(
                "Which administrative act is challenged? For example the decision and its "
                "document number."
            ),
            N_("Act challenged"),
            max_len=LIMITS["act_challenged"],
        ),
        Field(
            "complaint_received_on",
            Kind.date,
            N_(
                "On which date did the agency receive the copy of the complaint? The 15 days "
                "for filing the evidence and the defence run from that date "
                "(《行政诉讼法》第六十七条)."
            ),
            N_("Complaint copy received on"),
            max_age_days=COMPLAINT_MAX_AGE_DAYS,
            not_before_message=COMPLAINT_TOO_OLD,
        ),
        Field(
            "hearing_at",
            Kind.moment,
            N_(
                "When is the hearing? Type the date and time, for example {example}. If the "
                "court has not set it yet, press “Not set yet”."
            ),
            N_("Court hearing"),
            optional=True,
            parse=_hearing_time,
        ),
        Field(
            "major",
            Kind.yes_no,
            N_(
                "Is this a major case: one touching a major public interest, of high public "
                "concern, or liable to cause a mass incident (群体性事件)? In such cases the "
                "agency head must appear in court in person (最高人民法院关于适用《行政诉讼法》"
                "的解释 第一百二十九条)."
            ),
            N_("Major case"),
        ),
        Field(
            "court_requested_head",
            Kind.yes_no,
            N_("Has the court suggested in writing that the agency head appear in court?"),
            N_("Court asked for the head in writing"),
        ),
    ),
)


def registration(answers: dict[str, Any], registered_by: int) -> RegisterLawsuit:
    """The completed form as the service's input."""
    return RegisterLawsuit(
        agency_id=answers["agency"],
        court=answers["court"],
        court_case_number=answers["court_case_number"],
        plaintiff=answers["plaintiff"],
        act_challenged=answers["act_challenged"],
        complaint_received_on=date.fromisoformat(answers["complaint_received_on"]),
        hearing_at=from_db(answers["hearing_at"]) if answers.get("hearing_at") else None,
        major=answers["major"] == YES,
        court_requested_head=answers["court_requested_head"] == YES,
        registered_by=registered_by,
    )
