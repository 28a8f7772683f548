"""The form engine: forms as data, one question at a time.

A :class:`FormSpec` is a tuple of :class:`Field` s; each says what it asks, how its answer is
parsed (its :class:`Kind`, or a parser of its own), when it is asked and whether it ends the
form (a gate). :func:`parse_answer` turns what was typed into the stored value or raises
``ValidationError`` with what to type instead; :func:`display_value` shows an answer back;
:func:`choices_for` gives a field's buttons. The citizens' three forms (cases/intake/forms.py)
and staff's court-case registration (cases/litigation/registration_form.py) run on it.

Answers are stored JSON-ready: strings, ints, bools, ISO dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from cases.i18n import N_, format_date
from cases.intake import validation as v
from cases.intake.identity import IdType, parse_other_id, parse_resident_id
from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation
from cases.store.time import LEGAL_TZ, from_db

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
    moment = "moment"  # a date and time, stored as UTC text (a court hearing); own parser


@dataclass(frozen=True)
class AnswerContext:
    """What a field's own parser may need besides the answers given so far."""

    today: date
    now: datetime | None
    org: Organisation


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
    parse: Callable[[str, Answers, AnswerContext], Any] | None = None
    """A parser of its own, for an answer the kind alone does not decide (a court hearing's
    time, an agency that must be one of the list); raises ValidationError like the others."""
    max_age_days: int | None = None
    """A date no further back than this (``not_before_message`` says so): a mistyped year is
    refused instead of giving a period that ended decades ago."""

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
    procedure: Procedure | None
    """The citizen's procedure the form files; None for a staff form (court cases)."""
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


YES = "yes"
NO = "no"


# --- parsing one answer ---------------------------------------------------------------------


def parse_answer(
    spec_field: Field,
    text: str,
    answers: Answers,
    *,
    today: date,
    org: Organisation,
    translate: Callable[[str], str] = str,
    now: datetime | None = None,
) -> Any:
    """Turn what was typed into the stored value, or raise ValidationError."""
    if spec_field.parse is not None:
        return spec_field.parse(text, answers, AnswerContext(today, now, org))
    kind = spec_field.kind
    if kind is Kind.text:
        return v.clean_text(text, max_len=spec_field.max_len, min_len=spec_field.min_len)
    if kind is Kind.yes_no:
        return YES if v.parse_yes_no(text) else NO
    if kind is Kind.date:
        not_before = answers.get(spec_field.not_before) if spec_field.not_before else None
        earliest = date.fromisoformat(not_before) if not_before else None
        if spec_field.max_age_days is not None:
            earliest = today - timedelta(days=spec_field.max_age_days)
        return v.parse_date(
            text,
            today=today,
            not_before=earliest,
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
        return format_date(date.fromisoformat(str(value)), locale)
    if spec_field.kind is Kind.moment:
        local = from_db(str(value)).astimezone(LEGAL_TZ)
        return f"{format_date(local.date(), locale)} {local:%H:%M}"

    return str(value)
