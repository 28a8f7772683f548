"""Who is reminded of which deadline, and when: the reminder policy as data.

``cases/`` records what the law requires and by when; this table decides who hears about it
(DESIGN.md, "Legal facts vs notification policy"). Each policy is keyed by the rule id of
domain.md (F5, F7, F10, F12, L3, L7, TJ33...). Changing who is reminded is an edit here, not in
the planner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from cases.i18n import N_
from cases.org.users import Role  # staff roles fall back to the administrators for now
from cases.procedures.statuses import ENDED_STATUSES

STAFF_ROLES: frozenset[Role] = frozenset(Role) - {Role.citizen, Role.community_worker}


class Unit(StrEnum):
    WORKING_DAYS = "wd"  # C6: 工作日, counted on the legal calendar (C5 make-up days count)
    CALENDAR_DAYS = "cd"
    HOURS = "h"


class Kind(StrEnum):
    """Kinds of outbox row; they are rendered differently."""

    REMINDER = "reminder"  # before or on the day of the deadline
    CHASE = "chase"  # 催办: the day after a missed deadline
    OVERDUE = "overdue"  # a report to the administrators that a deadline is long overdue
    ESCALATION = "escalation"  # an unacknowledged critical reminder, to the next person up
    NOTICE = "notice"  # a delivery problem staff must handle by other means
    DIGEST = "digest"  # the morning summary


class Quiet(StrEnum):
    """Quiet-hours behaviour (the ``QUIET_HOURS`` setting, :class:`QuietHours`)."""

    NONE = "none"
    DEFER = "defer"  # citizens: never at night, moved to the end of the quiet hours
    DEFER_UNLESS_DUE_TODAY = "defer_unless_due_today"  # staff: a deadline today goes out now


class QuietHours(BaseModel):
    """The night in which nobody is written to unless it cannot wait (the ``QUIET_HOURS``
    setting, ``21:00-08:00`` by default, in the office time zone). One value for the planner,
    the outbox, case notices, bookings and the digest: :func:`quiet_hours`."""

    model_config = ConfigDict(frozen=True)

    start: time = time(21, 0)
    end: time = time(8, 0)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """``"21:00-08:00"`` as written in .env."""
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
            if match is None:
                raise ValueError("quiet hours must look like 21:00-08:00")
            h1, m1, h2, m2 = (int(part) for part in match.groups())
            if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                raise ValueError("quiet hours must look like 21:00-08:00")
            return {"start": time(h1, m1), "end": time(h2, m2)}
        return value

    @model_validator(mode="after")
    def _a_night(self) -> QuietHours:
        # A night crosses midnight; an empty or day-time window would silence the day.
        if not self.end < self.start:
            raise ValueError("quiet hours run from an evening time to a morning time")
        return self

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


_quiet_hours = QuietHours()


def quiet_hours() -> QuietHours:
    """This deployment's quiet hours (set once at start from the settings)."""
    return _quiet_hours


def set_quiet_hours(value: QuietHours) -> None:
    """Called by bot.create_dispatcher with ``settings.quiet_hours`` before anything is
    scheduled; every scheduling module reads the value through :func:`quiet_hours`."""
    global _quiet_hours
    _quiet_hours = value


MORNING = time(8, 30)
"""Day-based reminders go out at 08:30 Asia/Shanghai, after the digest (and the quiet hours,
when they end by then; later, they wait for the end)."""
DIGEST_AT = time(8, 0)

QUIET_BY_AUDIENCE: dict[Role, Quiet] = {
    Role.citizen: Quiet.DEFER,
    **{role: Quiet.DEFER_UNLESS_DUE_TODAY for role in STAFF_ROLES},
}

ESCALATION_NEXT: dict[Role, Role] = {
    # The next person up when a critical reminder is not acknowledged in time.
    Role.agency_liaison: Role.agency_head,
    Role.agency_head: Role.admin,
    Role.office_staff: Role.admin,
    Role.mediator: Role.admin,
}

CLOSED_CASE_STATUSES: frozenset[str] = frozenset(ENDED_STATUSES)
"""A case in one of these statuses gets no more reminders (its pending ones are cancelled)."""


@dataclass(frozen=True)
class Offset:
    """When, relative to the deadline day (or the hearing start for hours).

    ``amount`` < 0 is before, 0 is the day itself, > 0 after. ``at`` is the local time of day
    for day-based offsets.
    """

    amount: int
    unit: Unit
    at: time = MORNING

    @property
    def label(self) -> str:
        """Stable text used in the dedup key, e.g. ``-5wd``, ``0cd``, ``+1wd``."""
        sign = "+" if self.amount > 0 else ""
        return f"{sign}{self.amount}{self.unit.value}"


@dataclass(frozen=True)
class Step:
    offset: Offset
    audiences: tuple[Role, ...]
    kind: Kind = Kind.REMINDER
    critical: bool = False
    escalate_after_hours: float | None = None
    """Overrides the configured ``escalation_hours`` for this step (a hearing cannot wait)."""


@dataclass(frozen=True)
class RuleTexts:
    """What to tell people about a rule the deadline engine does not describe (L7: a hearing
    is an event, not a period). Rules in ``cases.law.deadline_rules.RULES`` use the engine's
    texts."""

    title: str
    effect_when_missed: str
    basis_zh: str
    basis_en: str


@dataclass(frozen=True)
class ReminderPolicy:
    rule_id: str
    steps: tuple[Step, ...]
    texts: RuleTexts | None = None
    expire_after_due: Offset | None = None
    """Reminders of kind REMINDER expire at the end of the due day; CHASE/OVERDUE rows expire
    this long after the due day (None: never)."""
    tags: tuple[str, ...] = field(default=())


def _wd(n: int) -> Offset:
    return Offset(n, Unit.WORKING_DAYS)


def _cd(n: int, at: time = MORNING) -> Offset:
    return Offset(n, Unit.CALENDAR_DAYS, at)


_OFFICE = (Role.office_staff,)
_AGENCY = (Role.agency_liaison,)
_AGENCY_BOTH = (Role.agency_liaison, Role.agency_head)
_MEDIATOR = (Role.mediator,)
_SAME_DAY = 4.0
"""A reminder on the last day escalates within the day: the next morning is too late."""

POLICIES: dict[str, ReminderPolicy] = {
    p.rule_id: p
    for p in (
        # F5 (FY 30): 5 WD acceptance review; missed → deemed accepted.
        ReminderPolicy(
            "F5",
            (
                Step(_wd(-2), _OFFICE),
                Step(_wd(-1), _OFFICE),
                Step(_wd(0), _OFFICE, critical=True, escalate_after_hours=_SAME_DAY),
            ),
        ),
        # F6 (FY 31(1)): 5 WD to send the one 补正 notice.
        ReminderPolicy("F6", (Step(_wd(-1), _OFFICE), Step(_wd(0), _OFFICE))),
        # F7 (FY 31(2)): the citizen's 10 WD to supply the 补正 materials; else deemed withdrawn.
        ReminderPolicy(
            "F7",
            (
                Step(_wd(-5), (Role.citizen,)),
                Step(_wd(-2), (Role.citizen,)),
                Step(_wd(-1), (Role.citizen,)),
                Step(_wd(0), (Role.citizen,)),
            ),
        ),
        # F9 (FY 48, 54): send the application copy to the respondent.
        ReminderPolicy("F9", (Step(_wd(-1), _OFFICE), Step(_wd(0), _OFFICE))),
        # F10 (FY 48, 54): the respondent's written reply; missed → act deemed without evidence
        # (FY 70) and discipline (FY 82). Chase the day after, tell the administrators 5 WD on.
        ReminderPolicy(
            "F10",
            (
                Step(_wd(-5), _AGENCY),
                Step(_wd(-2), _AGENCY),
                Step(_wd(-1), _AGENCY),
                Step(_wd(0), _AGENCY, critical=True, escalate_after_hours=_SAME_DAY),
                Step(_wd(1), _AGENCY_BOTH, kind=Kind.CHASE, critical=True),
                Step(_wd(6), (Role.admin,), kind=Kind.OVERDUE),
            ),
            expire_after_due=_wd(10),
        ),
        # F12 / F13 (FY 62): the decision, 60 CD ordinary / 30 CD simplified.
        ReminderPolicy(
            "F12",
            (
                Step(_cd(-10), _OFFICE),
                Step(_wd(-5), _OFFICE),
                Step(_wd(-1), _OFFICE),
                Step(_wd(0), _OFFICE, critical=True, escalate_after_hours=_SAME_DAY),
            ),
        ),
        ReminderPolicy(
            "F13",
            (
                Step(_wd(-5), _OFFICE),
                Step(_wd(-1), _OFFICE),
                Step(_wd(0), _OFFICE, critical=True, escalate_after_hours=_SAME_DAY),
            ),
        ),
        # L3 (XS 67(1), 34(2)): the defence and evidence within 15 CD; missed → deemed no evidence.
        ReminderPolicy(
            "L3",
            (
                Step(_cd(-5), _AGENCY),
                Step(_cd(-2), _AGENCY),
                Step(_cd(-1), _AGENCY_BOTH, critical=True, escalate_after_hours=6),
                Step(_cd(0), _AGENCY_BOTH, critical=True, escalate_after_hours=3),
            ),
        ),
        # L7 (XS 3(3); XSJS 128–132): the agency head appears at the hearing, or sends the
        # competent staff member — never only a lawyer.
        ReminderPolicy(
            "L7",
            (
                Step(_cd(-7), _AGENCY_BOTH),
                Step(_cd(-3), _AGENCY_BOTH),
                Step(_cd(-1), _AGENCY_BOTH, critical=True, escalate_after_hours=4),
                Step(_cd(0, time(7, 30)), _AGENCY_BOTH, critical=True, escalate_after_hours=1),
            ),
            texts=RuleTexts(
                N_("Court hearing: the agency head appears (行政机关负责人出庭应诉)"),
                N_(
                    "Absence is recorded in the judgment and may lead to a judicial suggestion "
                    "to the supervisory body or a default judgment; a lawyer alone may not "
                    "appear."
                ),
                "《行政诉讼法》第三条第三款",
                "Administrative Litigation Law, Art. 3(3)",
            ),
        ),
        # M1 (民事诉讼法 Art 205): the parties apply jointly for 司法确认 within 30 CD after
        # the agreement takes effect; the mediator helps them do it in time.
        ReminderPolicy(
            "M1",
            (
                Step(_cd(-10), (Role.citizen,)),
                Step(_cd(-3), (Role.citizen, Role.mediator)),
                Step(_cd(-1), (Role.citizen,)),
            ),
        ),
        # MA: a local period for 行政调解, when configured.
        ReminderPolicy("MA", (Step(_wd(-2), _MEDIATOR), Step(_wd(0), _MEDIATOR))),
        # X1 (XF 22): the petition office forwards or assigns the matter within 15 days;
        # missed → the superior orders correction (XF 43).
        ReminderPolicy(
            "X1",
            (
                Step(_wd(-3), _OFFICE),
                Step(_wd(0), _OFFICE, critical=True, escalate_after_hours=_SAME_DAY),
            ),
        ),
        # F17 (FY 41(5)): a 中止 on FY 39(1) items 1, 2, 4 that lasts 60 days ends the case
        # (终止); the office checks in time whether the cause persists.
        ReminderPolicy("F17", (Step(_wd(-5), _OFFICE),)),
        # X2 (XF 23): tell the petitioner within 15 days whether the matter is accepted.
        ReminderPolicy(
            "X2",
            (
                Step(_wd(-2), _OFFICE),
                Step(_wd(0), _OFFICE, critical=True, escalate_after_hours=_SAME_DAY),
            ),
        ),
        # X3 (XF 23(3)): the agency a petition was assigned to tells the petitioner within
        # 15 days that it was received and how it is handled (its "accept" in the chat).
        ReminderPolicy(
            "X3",
            (
                Step(_wd(-3), _AGENCY),
                Step(_wd(0), _AGENCY_BOTH, critical=True, escalate_after_hours=_SAME_DAY),
            ),
        ),
        # X4 (XF 34): conclude the petition matter within 60 days. The handling agency's
        # liaison (head on the last day) when the petition was assigned to an agency; the
        # petition office oversees either way (scheduling.recipients: no agency, no agency
        # reminder).
        ReminderPolicy(
            "X4",
            (
                Step(_cd(-10), _OFFICE + _AGENCY),
                Step(_wd(-3), _OFFICE + _AGENCY),
                Step(
                    _wd(0), _OFFICE + _AGENCY_BOTH, critical=True, escalate_after_hours=_SAME_DAY
                ),
            ),
        ),
        # F11 (FY 51): the latest day to notify the parties of a 复议 hearing.
        ReminderPolicy(
            "F11",
            (
                Step(_wd(-1), _OFFICE),
                Step(_wd(0), _OFFICE, critical=True, escalate_after_hours=_SAME_DAY),
            ),
        ),
    )
}


BOOKING_REMINDERS = ReminderPolicy(
    # 局长接待日 bookings (issue #9): the person who booked is reminded the day before and two
    # hours before the booked time, with "I will come" and "cancel". An appointment, not a
    # legal period: the steps count hours back from the time (as a hearing's would), and the
    # quiet hours of the audience apply (quiet_for). Not in POLICIES: the planner plans case
    # facts; scheduling/booking.py plans these from the same data.
    "JD",
    (
        Step(Offset(-24, Unit.HOURS), (Role.citizen,)),
        Step(Offset(-2, Unit.HOURS), (Role.citizen,)),
    ),
)


def quiet_for(role: Role) -> Quiet:
    return QUIET_BY_AUDIENCE[role]


POLICY_VERSION = "2026-12-2"
"""Part of each source's plan signature: bump it when the table changes so sources replan."""
