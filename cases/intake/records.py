"""What the parts of the intake service share: drafts and saved details as models, the
errors a citizen's stale or forged button meets, the service's common state, and the helpers
that read a draft row, write a citizen's history event, and check a case is the citizen's own
and open."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from cases.intake.form_engine import Field, FormSpec, Procedure
from cases.intake.forms import FORMS
from cases.law.deadline_rules import Deadline, DeadlineEngine
from cases.org.organisation import Organisation
from cases.procedures.deadline_records import CaseDeadline
from cases.procedures.history import append_event
from cases.procedures.statuses import OPEN_STATUSES
from cases.store.db import Database, Row, UnitConnection, row_in
from cases.store.time import LEGAL_TZ, Clock, legal_today


class DraftNotFound(LookupError):
    """No open draft with this id belongs to this user (stale, submitted, or not theirs)."""


class FormMovedOn(Exception):
    """The application became late (F1 passed) between the last answer and "submit": the
    questions that now matter (how it was served, whether the right was named: F2, FY 20(3);
    the reason for lateness, FY 20(2)) must be asked first. The draft is kept, one step on."""


class CaseNotFound(LookupError):
    """No case with this id belongs to this citizen."""


class CaseClosed(CaseNotFound):
    """The citizen's own case, but closed: material can no longer be added to it."""


class Draft(BaseModel):
    id: int
    user_id: int
    procedure: Procedure
    answers: dict[str, Any]
    step: str | None
    status: str

    @property
    def spec(self) -> FormSpec:
        return FORMS[self.procedure]

    @property
    def current_field(self) -> Field | None:
        return self.spec.field(self.step, self.answers) if self.step else None


DRAFT_CACHE_SIZE = 10_000


class SavedDetails(BaseModel):
    """A citizen's own details kept with their consent (never logged, shown only masked)."""

    name: str
    id_type: str
    id_number: str
    phone: str
    address: str

    def __repr__(self) -> str:  # a stray log line or traceback must not carry them
        return "SavedDetails(…)"

    __str__ = __repr__


SAVED_FIELDS = ("applicant_name", "id_type", "id_number", "phone", "address")


class CaseSummary(BaseModel):
    id: int
    number: str
    procedure: Procedure
    status: str
    subject: str
    received_on: date
    created_at: datetime
    routed_to_name: str | None
    linked_number: str | None
    next_deadline: CaseDeadline | None = None


class CaseEvent(BaseModel):
    at: datetime
    kind: str
    detail: dict[str, Any]


class CaseDetail(CaseSummary):
    answers: dict[str, Any]
    attachments: int
    events: list[CaseEvent]


class ReviewResult(BaseModel):
    """The 复查 request: filed (with its receipt), already filed, too late, or not possible."""

    outcome: str  # filed | already | late | not_concluded
    result: SubmitResult | None = None
    due: date | None = None
    number: str | None = None


class SubmitResult(BaseModel):
    case: CaseSummary
    created: bool
    first_deadline: Deadline | None
    offer_to_save: bool = False
    """Ask the citizen whether to keep their details for the next filing (not asked again
    once answered, nor when the saved ones were used unchanged)."""


class IntakeBase:
    """What every part of the intake service shares: the store, the clock, the organisation,
    the deadline engine, and the open drafts (write-through: when one process owns the
    database the cache never goes stale and a form step reads its draft without a round trip;
    replicas turn it off)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        org: Organisation,
        *,
        engine: DeadlineEngine,
        cache_drafts: bool = True,
    ) -> None:
        self._db = db
        self._clock = clock
        self.org = org
        self.engine = engine
        self.tz = LEGAL_TZ
        self._drafts: OrderedDict[int, Draft] = OrderedDict()
        self._caching = cache_drafts
        """Replicas (serving.py) share the database: a copy kept by one of them goes stale
        when the citizen's next answer reaches another, so they read the draft every step."""

    def _cache(self, draft: Draft) -> Draft:
        if not self._caching:
            return draft
        if draft.status == "open":
            self._drafts[draft.id] = draft
            self._drafts.move_to_end(draft.id)
            while len(self._drafts) > DRAFT_CACHE_SIZE:
                self._drafts.popitem(last=False)
        else:
            self._drafts.pop(draft.id, None)
        return draft

    def today(self) -> date:
        return legal_today(self._clock)


def submitted_answers(draft: Draft) -> dict[str, Any]:
    """Only the questions asked in the branch taken: an answer to a question that an edit
    made irrelevant (e.g. compensation details after answering 'no') is not filed."""
    asked = {f.key for f in draft.spec.asked_fields(draft.answers)}
    # Underscored keys are the form's own bookkeeping (whether saved details were used, which
    # questions mattered): never filed, so staff cannot tell saved details from typed ones.
    return {
        k: v
        for k, v in draft.answers.items()
        if (k in asked and not k.startswith("_")) or k == "_late"
    }


def draft_from_row(row: Row) -> Draft:
    return Draft(
        id=row["id"],
        user_id=row["user_id"],
        procedure=Procedure(row["procedure"]),
        answers=json.loads(row["answers"]),
        step=row["step"],
        status=row["status"],
    )


async def citizen_event(
    conn: UnitConnection,
    case_id: int,
    at: str,
    actor_id: int | None,
    kind: str,
    detail: dict[str, Any],
) -> None:
    await append_event(
        conn,
        case_id,
        at=at,
        actor_id=actor_id,
        actor_role="citizen" if actor_id is not None else "system",
        kind=kind,
        detail=detail,
    )


async def own_open_case(conn: UnitConnection, case_id: int | None, user_id: int) -> None:
    """Material goes only to the citizen's own open case; "not yours" and "closed" differ so
    the citizen is told which (a closed case of their own is no secret to them)."""
    row = await row_in(
        conn, "SELECT status FROM cases WHERE id = ? AND citizen_id = ?", (case_id, user_id)
    )
    if row is None:
        raise CaseNotFound(case_id)
    if row["status"] not in OPEN_STATUSES:
        raise CaseClosed(case_id)
