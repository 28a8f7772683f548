"""行政应诉 records as models: a court case (lawsuit), its defence period (L3), hearings (L7) and
who appeared, and the year's appearance figures (domain §4, §6.5)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from cases.i18n import N_
from cases.law.deadline_rules import RULES

Attendance = Literal["head", "staff", "lawyer_only", "absent"]

# Longest answers accepted, in characters (a court case number such as （2026）鄂0625行初12号
# is short; the act challenged may name a decision and its document number).
LIMITS: dict[str, int] = {
    "court": 100,
    "court_case_number": 100,
    "plaintiff": 100,
    "act_challenged": 300,
    "appeared_by": 100,
    "excuse": 500,
}

HEARING_NOT_STARTED = N_(
    "The hearing of {date} {time} has not started yet. Please record the appearance once it "
    "has begun."
)
"""Said when someone tries to record who appeared before the hearing's start time."""

ATTENDANCE_NAMES: dict[str, str] = {
    "head": N_("the agency head in person"),
    "staff": N_("staff member instead of the head"),
    "lawyer_only": N_("only a lawyer (not permitted)"),
    "absent": N_("nobody appeared for the agency"),
}


class LawsuitNotFound(LookupError):
    """No open court case with this id (stale or forged button, or closed meanwhile)."""


class DefenceNotFound(LookupError):
    """No defence period with this id."""


class HearingNotFound(LookupError):
    """No hearing with this id that is still awaiting its record."""


# --- models -----------------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class RegisterLawsuit(BaseModel):
    """What staff enter when the agency receives the complaint copy (domain §6.5)."""

    model_config = ConfigDict(frozen=True)

    agency_id: str
    court: Annotated[Text, StringConstraints(max_length=LIMITS["court"])]
    court_case_number: Annotated[Text, StringConstraints(max_length=LIMITS["court_case_number"])]
    plaintiff: Annotated[Text, StringConstraints(max_length=LIMITS["plaintiff"])]
    act_challenged: Annotated[Text, StringConstraints(max_length=LIMITS["act_challenged"])]
    complaint_received_on: date
    hearing_at: datetime | None = None
    major: bool = False
    court_requested_head: bool = False
    registered_by: int


class Defence(BaseModel):
    """The L3 period: evidence, normative documents and 答辩状 within 15 CD (XS 67(1))."""

    id: int
    due_on: date
    provisional: bool
    status: str  # open | filed | cancelled
    filed_on: date | None = None
    basis: str = RULES["L3"].basis
    basis_en: str = RULES["L3"].basis_en


class Appearance(BaseModel):
    attendance: Attendance
    appeared_by: str | None
    excuse: str | None
    recorded_at: datetime


class Hearing(BaseModel):
    id: int
    starts_at: datetime  # UTC
    head_required: bool
    status: str  # scheduled | held | adjourned | cancelled
    appearance: Appearance | None = None


class Lawsuit(BaseModel):
    id: int
    agency_id: str
    agency: str
    court: str
    court_case_number: str
    plaintiff: str
    act_challenged: str
    complaint_received_on: date
    major: bool
    court_requested_head: bool
    status: str
    defence: Defence | None
    hearings: list[Hearing]
    created: bool = True
    """False when this court case was already registered for this agency (a second press)."""

    @property
    def head_required(self) -> bool:
        """XSJS 129(1): the head must appear in major cases and when the court asked in
        writing."""
        return self.major or self.court_requested_head

    def next_hearing(self, now: datetime) -> Hearing | None:
        return next(
            (h for h in self.hearings if h.status == "scheduled" and h.starts_at > now), None
        )

    def hearings_to_record(self, now: datetime) -> list[Hearing]:
        """Hearings that have started but whose appearance is not recorded yet."""
        return [h for h in self.hearings if h.status == "scheduled" and h.starts_at <= now]


class AgencyAppearances(BaseModel):
    agency: str
    held: int
    """Hearings with an appearance record."""
    head: int
    staff: int
    lawyer_only: int
    absent: int
    unrecorded: int = 0
    """Hearings that took place but have no record yet."""
    head_required: int = 0
    """Hearings that took place where the head had to appear (XSJS 129(1)), recorded or not."""
    head_required_head: int = 0


class AppearanceStats(BaseModel):
    """The hearings of a period (a year for /appearance) that took place, by the local date of
    the hearing, and who appeared.

    The rates count every hearing that has taken place, recorded or not: a hearing nobody
    recorded is not (yet) an attended one. Leaving it out would inflate the 出庭率 exactly
    where the follow-up is weakest.
    """

    year: int
    held: int
    """Hearings with an appearance record."""
    head: int
    staff: int
    lawyer_only: int
    absent: int
    head_required_held: int
    """Recorded hearings of cases where the head had to appear (XSJS 129(1))."""
    head_required_head: int
    unrecorded: int
    """Hearings of the year that have taken place but have no appearance record yet."""
    head_required_unrecorded: int = 0
    by_agency: list[AgencyAppearances]

    @property
    def taken_place(self) -> int:
        """Every hearing of the year that has started: the denominator of the rates."""
        return self.held + self.unrecorded

    @property
    def attended(self) -> int:
        """Head in person or 相应的工作人员: what the 2013 plan's 出庭率 counts (XS 3(3))."""
        return self.head + self.staff

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def attendance_rate(self) -> float | None:
        return self._rate(self.attended, self.taken_place)

    @property
    def head_rate(self) -> float | None:
        return self._rate(self.head, self.taken_place)

    @property
    def head_required_taken_place(self) -> int:
        return self.head_required_held + self.head_required_unrecorded

    @property
    def head_required_rate(self) -> float | None:
        return self._rate(self.head_required_head, self.head_required_taken_place)
