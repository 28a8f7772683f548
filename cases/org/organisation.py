"""The county's organisation as data: places, offices, agencies, mediation rooms, schedules.

Nothing about a particular county is hard-coded in the logic (gucheng.md): a deployment edits
``cases/data/gucheng.json`` (or points to its own file). The file is validated as a whole on
load, and every problem is reported with where it is, so an administrator can fix the file
without reading code.

Names of agencies and places are Chinese proper nouns: ``name`` is the official Chinese name,
``name_en`` a short English rendering for the English interface. They are data, not gettext.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import time
from pathlib import Path
from typing import Annotated, Literal

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

DEFAULT_ORGANISATION_FILE = Path(__file__).resolve().parent.parent / "data" / "gucheng.json"

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

AgencyKind = Literal[
    "county_government",  # the county government itself (its acts: the city government, FY 24)
    "county_department",  # 县政府工作部门 (FY 24(1)(1))
    "township_government",  # 乡镇人民政府 (FY 24(1)(2))
    "zone_committee",  # 开发区/度假区管委会 set up by the county (FY 24(1)(3)), see its note
    "vertical",  # vertically led systems: tax, customs, finance... (FY 27)
    "city_branch",  # a city department's branch in the county (FY 24, last paragraph)
]


class OrganisationError(ValueError):
    """The organisation file cannot be used; the message lists every problem found."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Named(_Model):
    id: Slug
    name: NonEmpty
    name_en: NonEmpty

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name


class Township(Named):
    kind: Literal["town", "township"]  # 镇 / 乡


class FunctionalZone(Named):
    """A zone with its own management committee (管委会); it is not a township."""


class Office(Named):
    """A county office citizens deal with: the 复议机构, the 信访 office, the 12345 hotline."""

    role: Literal["reconsideration", "petition", "hotline"]
    agency_id: Slug | None = None
    address: str | None = None
    phone: str | None = None
    hours: str | None = None
    note: str | None = None


class ReconsiderationBodyConfig(Named):
    """A 行政复议机关. ``local`` bodies are handled by an office of this deployment; for the
    others the bot only tells the citizen where to apply (FY 27, 28)."""

    local: bool
    office_id: Slug | None = None  # required when local
    handled_by: str | None = None  # the body's 复议机构, for bodies outside the county
    handled_by_en: str | None = None
    address: str | None = None
    phone: str | None = None
    note: str | None = None


class ReconsiderationRule(_Model):
    """Who decides applications against an agency: ``body_id`` first, ``alternative_body_ids``
    where the law lets the applicant choose or where the agency's legal form is in doubt."""

    body_id: Slug
    alternative_body_ids: tuple[Slug, ...] = ()
    basis: NonEmpty
    note: str | None = None


class Agency(Named):
    kind: AgencyKind
    township_id: Slug | None = None  # for township governments
    reconsideration: ReconsiderationRule
    note: str | None = None


class DisputeCategory(Named):
    """A type of dispute for 行政调解 (domain §5). ``civil``: a civil dispute linked to
    administration; ``administrative``: a dispute with an agency (compensation, discretion),
    the typical mediable kinds in 复议 and in court (FYSS 50, XS 60)."""

    kind: Literal["civil", "administrative"]


class MediationRoom(Named):
    """A 行政调解室. ``specialty`` rooms (departments) take every case of their categories,
    wherever it arose; the ``default`` room takes what no other room takes."""

    township_id: Slug | None = None
    agency_id: Slug | None = None
    categories: tuple[Slug, ...] = Field(min_length=1)
    specialty: bool = False
    default: bool = False
    address: str | None = None
    phone: str | None = None
    note: str | None = None


class ReceptionDay(_Model):
    """A regular 局长接待日 (XF 18(2)). ``confirmed`` stays false until the county confirms
    the weekday, hours and place; the sample file contains examples only."""

    agency_id: Slug
    weekday: int = Field(ge=1, le=7)  # ISO: 1 = Monday
    start: time
    end: time
    place: NonEmpty
    place_en: NonEmpty
    confirmed: bool = False
    note: str | None = None


class Organisation(_Model):
    schema_version: Literal[1]
    id: Slug
    name: NonEmpty
    name_en: NonEmpty
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    postcode: str | None = None
    phone_area_code: Annotated[str, StringConstraints(pattern=r"^0\d{2,3}$")] | None = None
    hotline: str | None = None
    data_note: str | None = None
    townships: tuple[Township, ...] = Field(min_length=1)
    functional_zones: tuple[FunctionalZone, ...] = ()
    offices: tuple[Office, ...]
    reconsideration_bodies: tuple[ReconsiderationBodyConfig, ...] = Field(min_length=1)
    agencies: tuple[Agency, ...] = Field(min_length=1)
    dispute_categories: tuple[DisputeCategory, ...] = Field(min_length=1)
    mediation_rooms: tuple[MediationRoom, ...] = Field(min_length=1)
    reception_days: tuple[ReceptionDay, ...] = ()

    _index: dict[str, dict[str, Named]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_references(self) -> Organisation:
        problems = _problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def model_post_init(self, context: object, /) -> None:
        self._index = {
            "township": {t.id: t for t in self.townships},
            "zone": {z.id: z for z in self.functional_zones},
            "office": {o.id: o for o in self.offices},
            "body": {b.id: b for b in self.reconsideration_bodies},
            "agency": {a.id: a for a in self.agencies},
            "category": {c.id: c for c in self.dispute_categories},
            "room": {r.id: r for r in self.mediation_rooms},
        }

    def _get(self, kind: str, item_id: str) -> Named:
        try:
            return self._index[kind][item_id]
        except KeyError:
            raise UnknownId(kind, item_id) from None

    def township(self, township_id: str) -> Township:
        return self._get("township", township_id)  # type: ignore[return-value]

    def office(self, office_id: str) -> Office:
        return self._get("office", office_id)  # type: ignore[return-value]

    def reconsideration_body(self, body_id: str) -> ReconsiderationBodyConfig:
        return self._get("body", body_id)  # type: ignore[return-value]

    def agency(self, agency_id: str) -> Agency:
        return self._get("agency", agency_id)  # type: ignore[return-value]

    def category(self, category_id: str) -> DisputeCategory:
        return self._get("category", category_id)  # type: ignore[return-value]

    def room(self, room_id: str) -> MediationRoom:
        return self._get("room", room_id)  # type: ignore[return-value]

    def office_for_role(self, role: str) -> Office | None:
        return next((office for office in self.offices if office.role == role), None)

    @property
    def default_room(self) -> MediationRoom:
        return next(room for room in self.mediation_rooms if room.default)

    def reception_days_of(self, agency_id: str) -> tuple[ReceptionDay, ...]:
        return tuple(day for day in self.reception_days if day.agency_id == agency_id)


class UnknownId(LookupError):
    """An id that is not in the organisation data (stale button, edited file)."""

    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(f"unknown {kind} id {item_id!r}")
        self.kind = kind
        self.item_id = item_id


def _duplicates(items: tuple[Named, ...], where: str) -> list[str]:
    counts = Counter(item.id for item in items)
    return [f"{where}: id {key!r} is used {n} times" for key, n in counts.items() if n > 1]


def _problems(org: Organisation) -> list[str]:
    """Every cross-reference problem in the file, each naming its place."""
    problems: list[str] = []
    for where in (
        "townships",
        "functional_zones",
        "offices",
        "reconsideration_bodies",
        "agencies",
        "dispute_categories",
        "mediation_rooms",
    ):
        problems += _duplicates(getattr(org, where), where)
    townships = {t.id for t in org.townships}
    offices = {o.id for o in org.offices}
    bodies = {b.id for b in org.reconsideration_bodies}
    agencies = {a.id for a in org.agencies}
    categories = {c.id for c in org.dispute_categories}

    for office in org.offices:
        if office.agency_id is not None and office.agency_id not in agencies:
            problems.append(f"offices {office.id!r}: agency {office.agency_id!r} is not listed")
    for body in org.reconsideration_bodies:
        if body.local and body.office_id is None:
            problems.append(f"reconsideration_bodies {body.id!r}: a local body needs office_id")
        if body.office_id is not None and body.office_id not in offices:
            problems.append(
                f"reconsideration_bodies {body.id!r}: office {body.office_id!r} is not listed"
            )
    for agency in org.agencies:
        rule = agency.reconsideration
        for body_id in (rule.body_id, *rule.alternative_body_ids):
            if body_id not in bodies:
                problems.append(
                    f"agencies {agency.id!r}: reconsideration body {body_id!r} is not listed "
                    "in reconsideration_bodies"
                )
        if agency.township_id is not None and agency.township_id not in townships:
            problems.append(f"agencies {agency.id!r}: township {agency.township_id!r} is unknown")
        if agency.kind == "township_government" and agency.township_id is None:
            problems.append(f"agencies {agency.id!r}: a township government needs township_id")

    specialties: dict[str, str] = {}
    township_rooms: Counter[str] = Counter()
    for room in org.mediation_rooms:
        for category in room.categories:
            if category not in categories:
                problems.append(
                    f"mediation_rooms {room.id!r}: category {category!r} is not listed in "
                    "dispute_categories"
                )
            if room.specialty:
                if category in specialties:
                    problems.append(
                        f"mediation_rooms {room.id!r}: category {category!r} is already the "
                        f"specialty of {specialties[category]!r}"
                    )
                specialties.setdefault(category, room.id)
        if room.township_id is not None:
            township_rooms[room.township_id] += 1
            if room.township_id not in townships:
                problems.append(
                    f"mediation_rooms {room.id!r}: township {room.township_id!r} is unknown"
                )
        if room.agency_id is not None and room.agency_id not in agencies:
            problems.append(f"mediation_rooms {room.id!r}: agency {room.agency_id!r} is unknown")
        if room.township_id is None and room.agency_id is None:
            problems.append(f"mediation_rooms {room.id!r}: needs a township_id or an agency_id")
    problems += [
        f"mediation_rooms: township {township!r} has {n} rooms (at most one)"
        for township, n in township_rooms.items()
        if n > 1
    ]
    defaults = [room for room in org.mediation_rooms if room.default]
    if len(defaults) != 1:
        problems.append(
            f'mediation_rooms: exactly one room needs "default": true, not {len(defaults)}'
        )
    elif set(defaults[0].categories) != categories:
        missing = sorted(categories - set(defaults[0].categories))
        problems.append(
            f"mediation_rooms {defaults[0].id!r}: the default room must take every category "
            f"(missing {missing})"
        )
    for n, day in enumerate(org.reception_days):
        if day.agency_id not in agencies:
            problems.append(f"reception_days[{n}]: agency {day.agency_id!r} is unknown")
        if day.start >= day.end:
            problems.append(f"reception_days[{n}]: start {day.start} is not before end {day.end}")
    return problems


def _describe(error: pydantic.ValidationError) -> list[str]:
    """One line per problem: field errors with their path, cross-reference problems as is."""
    lines: list[str] = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        lines += [f"{where}: {line}" if where else line for line in message.splitlines()]
    return lines


def load_organisation(path: Path | None = None) -> Organisation:
    """Read and check the organisation file (default: the bundled Gucheng sample)."""
    path = path or DEFAULT_ORGANISATION_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OrganisationError(f"organisation file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise OrganisationError(
            f"organisation file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None
    try:
        return Organisation.model_validate(raw)
    except pydantic.ValidationError as exc:
        lines = _describe(exc)
        listing = "\n".join(f"  - {line}" for line in lines)
        raise OrganisationError(
            f"organisation file {path} has {len(lines)} problem(s):\n{listing}"
        ) from None
