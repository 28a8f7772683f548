"""What reminders are about: the open deadlines, scheduled hearings and defence periods (the
planner's sources), read from the facts tables, with what a reminder says of each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cases.org.contact import office_contact
from cases.org.organisation import Organisation
from cases.procedures.privacy import mask_numbers
from cases.store.db import Database
from cases.store.time import from_db
from scheduling.policy import (
    CLOSED_CASE_STATUSES,
    POLICIES,
    Kind,
    Quiet,
    Role,
    RuleTexts,
)
from scheduling.recipients import Recipient


def respondent_details(answers: str | None) -> dict[str, str]:
    """What a reminder about the respondent's copy and reply (F9, F10) names so that the
    liaison knows which matter it is: the act challenged (its document number) and the
    applicant, as the respondent's extract shows them (cases.intake.case_file AGENCY_FIELDS: the
    name, never an ID or phone number)."""
    if not answers:
        return {}
    try:
        data = json.loads(answers)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    act = data.get("act_title")
    if isinstance(act, str) and act.strip():
        out["act_title"] = mask_numbers(act.strip()[:200])
    name = data.get("organisation_name") or data.get("applicant_name")
    if isinstance(name, str) and name.strip():
        # Free text: a number typed into it is masked as the extract masks it.
        out["applicant"] = mask_numbers(name.strip()[:100])
    return out


@dataclass(frozen=True)
class Source:
    """Something a reminder can be about: one row of a facts table."""

    kind: str  # deadline | hearing | defence
    id: int
    rule_id: str
    case_id: int | None
    due_on: date
    starts_at: datetime | None = None  # hearings only
    status: str = "open"
    provisional: bool = False
    unit: str | None = None  # court cases: the defendant agency (org id), for unit staff
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        prefix = {"deadline": "", "hearing": "h", "defence": "l"}[self.kind]
        moment = (
            self.starts_at.strftime("%Y%m%dT%H%MZ") if self.starts_at else self.due_on.isoformat()
        )
        return f"{self.rule_id}:{prefix}{self.id}@{moment}"


@dataclass(frozen=True)
class PlannedRow:
    dedup_key: str
    kind: Kind
    rule_id: str
    source: Source
    step: str
    audience: Role
    recipient: Recipient
    critical: bool
    quiet: Quiet
    due_at: datetime
    expires_at: datetime | None
    payload: dict[str, Any]


@dataclass
class PlanReport:
    sources_seen: int = 0
    sources_planned: int = 0
    inserted: int = 0
    """New rows, plus pending rows refreshed with a new language or facts."""
    cancelled: int = 0
    escalated: int = 0


def rule_texts(rule_id: str) -> RuleTexts | None:
    """Title, effect-when-missed and basis: the deadline engine's, else the policy's (L7)."""
    from cases.law.deadline_rules import RULES

    rule = RULES.get(rule_id)
    if rule is not None:
        return RuleTexts(rule.title, rule.effect_when_missed, rule.basis, rule.basis_en)
    policy = POLICIES.get(rule_id)
    return policy.texts if policy is not None else None


AGENCY_CONTACT_OFFICE: dict[str, str] = {
    # Reminders to an agency name the office that deals with it (its role in the
    # organisation file): the reconsideration office for the respondent's copy and reply (FY 48),
    # the petition office for an assigned petition (XF 22-23, 34).
    "F9": "reconsideration",
    "F10": "reconsideration",
    "X3": "petition",
    "X4": "petition",
}
AGENCY_RULE_MARKS = ", ".join(f"'{rule}'" for rule in AGENCY_CONTACT_OFFICE)


def agency_details(row: Any, org: Organisation | None) -> dict[str, str]:
    """What a reminder an agency receives names (F9, F10: the act and the applicant; X3,
    X4: the matter and the petitioner, never for a report, XF 30(3)), and the office to
    contact, from the organisation file."""
    rule_id = row["rule_id"]
    if rule_id not in AGENCY_CONTACT_OFFICE:
        return {}
    out = respondent_details(row["answers"])
    if row["procedure"] == "petition":
        out.pop("act_title", None)
        if row["sensitive"]:
            out.pop("applicant", None)
        elif row["subject"]:
            out["subject"] = mask_numbers(str(row["subject"])[:100])
    if org is not None:
        office = AGENCY_CONTACT_OFFICE[rule_id]
        out["office_contact_zh"] = office_contact(org, office, "zh")
        out["office_contact_en"] = office_contact(org, office, "en")
    return out


async def load_sources(
    db: Database, tz: ZoneInfo, org: Organisation | None = None
) -> list[Source]:
    """Every open deadline, scheduled hearing and open defence period a reminder rule covers;
    ``org`` names the office to contact in agency reminders."""
    closed = sorted(CLOSED_CASE_STATUSES)
    marks = ",".join("?" for _ in closed)
    rules = sorted(POLICIES)
    rule_marks = ",".join("?" for _ in rules)
    sources: list[Source] = []
    rows = await db.fetch_all(
        "SELECT d.id, d.case_id, d.rule_id, d.due_on, d.provisional, d.status, d.basis,"
        " c.number, c.procedure, c.sensitive,"
        f" CASE WHEN d.rule_id IN ({AGENCY_RULE_MARKS}) THEN c.answers END AS answers,"
        f" CASE WHEN d.rule_id IN ({AGENCY_RULE_MARKS}) THEN c.subject END AS subject"
        " FROM case_deadlines d JOIN cases c ON c.id = d.case_id"
        f" WHERE d.status IN ('open', 'missed') AND d.rule_id IN ({rule_marks})"
        f" AND c.status NOT IN ({marks})",
        [*rules, *closed],
    )
    sources += [
        Source(
            "deadline",
            r["id"],
            r["rule_id"],
            r["case_id"],
            date.fromisoformat(r["due_on"]),
            status=r["status"],
            provisional=bool(r["provisional"]),
            details={
                "case_number": r["number"],
                "procedure": r["procedure"],
                "basis_zh": r["basis"],
                **agency_details(r, org),
            },
        )
        for r in rows
    ]
    sources += await hearing_sources(db, tz)
    sources += await defence_sources(db)
    return sources


async def lawsuit_sources(db: Database, lawsuit_id: int, tz: ZoneInfo) -> list[Source]:
    """One court case's open defence period and scheduled hearings, as a pass loads them."""
    return [
        *await defence_sources(db, " AND l.lawsuit_id = ?", (lawsuit_id,)),
        *await hearing_sources(db, tz, " AND h.lawsuit_id = ?", (lawsuit_id,)),
    ]


async def hearing_sources(
    db: Database, tz: ZoneInfo, where: str = "", params: Sequence[Any] = ()
) -> list[Source]:
    closed = sorted(CLOSED_CASE_STATUSES)
    marks = ",".join("?" for _ in closed)
    sources: list[Source] = []
    rows = await db.fetch_all(
        "SELECT h.*, c.number, s.agency_id FROM hearings h"
        " LEFT JOIN cases c ON c.id = h.case_id LEFT JOIN lawsuits s ON s.id = h.lawsuit_id"
        f" WHERE h.status = 'scheduled' AND (c.id IS NULL OR c.status NOT IN ({marks}))" + where,
        [*closed, *params],
    )
    for r in rows:
        starts_at = from_db(r["starts_at"])
        sources.append(
            Source(
                "hearing",
                r["id"],
                "L7",
                r["case_id"],
                starts_at.astimezone(tz).date(),
                starts_at=starts_at,
                unit=r["agency_id"],
                details={
                    "case_number": r["number"],
                    "agency": r["agency"],
                    "court": r["court"],
                    "court_case_number": r["court_case_number"],
                    "major": bool(r["major"]),
                    "head_required": bool(r["head_required"]),
                },
            )
        )
    return sources


async def defence_sources(
    db: Database, where: str = "", params: Sequence[Any] = ()
) -> list[Source]:
    closed = sorted(CLOSED_CASE_STATUSES)
    marks = ",".join("?" for _ in closed)
    rows = await db.fetch_all(
        "SELECT l.*, c.number, s.agency_id FROM litigation_defences l"
        " LEFT JOIN cases c ON c.id = l.case_id LEFT JOIN lawsuits s ON s.id = l.lawsuit_id"
        f" WHERE l.status = 'open' AND (c.id IS NULL OR c.status NOT IN ({marks}))" + where,
        [*closed, *params],
    )
    return [
        Source(
            "defence",
            r["id"],
            "L3",
            r["case_id"],
            date.fromisoformat(r["due_on"]),
            provisional=bool(r["provisional"]),
            unit=r["agency_id"],
            details={
                "case_number": r["number"],
                "agency": r["agency"],
                "court": r["court"],
                "court_case_number": r["court_case_number"],
            },
        )
        for r in rows
    ]


async def source_open(db: Database, kind: str, source_id: int | None) -> bool:
    """The deadline still runs (not met, cancelled or paused; the case not closed)."""
    sql = {
        "deadline": "SELECT 1 FROM case_deadlines d JOIN cases c ON c.id = d.case_id"
        " WHERE d.id = ? AND d.status IN ('open', 'missed') AND c.status NOT IN ({})",
        "hearing": "SELECT 1 FROM hearings h LEFT JOIN cases c ON c.id = h.case_id"
        " WHERE h.id = ? AND h.status = 'scheduled'"
        " AND (c.id IS NULL OR c.status NOT IN ({}))",
        "defence": "SELECT 1 FROM litigation_defences l LEFT JOIN cases c ON c.id = l.case_id"
        " WHERE l.id = ? AND l.status = 'open' AND (c.id IS NULL OR c.status NOT IN ({}))",
    }.get(kind)
    if sql is None or source_id is None:
        return True
    closed = sorted(CLOSED_CASE_STATUSES)
    sql = sql.format(",".join("?" for _ in closed))
    return bool(await db.fetch_value(sql, (source_id, *closed)))
