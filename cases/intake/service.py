"""Intake: drafts saved after every answer, and their submission as a case.

Every method is one unit of work. Ownership is checked inside the same transaction that
reads or writes, so a forged draft or case id from another user's button reaches nothing.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiosqlite
from pydantic import BaseModel

from cases.i18n import N_
from cases.intake.forms import (
    CASE_NUMBER_PREFIX,
    CHANGE_SAVED,
    F1_PASSED,
    FORMS,
    HAS_SAVED,
    OTHER_ID,
    RESIDENT_ID,
    SAVED_KEY,
    USE_SAVED,
    YES,
    Field,
    FormSpec,
    Gate,
    Kind,
    Procedure,
    f1_passed,
    split_contact,
    timeliness,
)
from cases.intake.validation import ValidationError
from cases.law.deadline_rules import Deadline, NoPeriodConfigured, compute
from cases.org.membership import MEMBERSHIP_EVENT_TEXTS
from cases.org.organisation import Organisation
from cases.org.routing import mediation_room_for, reconsideration_body_for
from cases.org.users import User
from cases.procedures.access import StaffCaseView, staff_case_view
from cases.procedures.case_clocks import (
    CaseDeadline,
    cancel_case_deadlines,
    next_deadline,
    open_deadline,
)
from cases.procedures.history import append_event
from cases.procedures.privacy import mask_numbers
from cases.procedures.statuses import OPEN_STATUSES, CaseStatus
from cases.procedures.transitions import history_texts
from cases.store.db import Database, row_in, rows_in
from cases.store.time import LEGAL_TZ, Clock, from_db, legal_today, to_db


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

# --- evidence limits --------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # what a bot may download through the Bot API
MAX_ATTACHMENTS = 20
ALLOWED_DOCUMENT_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-works": "WPS",
    "application/ofd": "OFD",
    "text/plain": "Text",
    "audio/ogg": "Audio",
    "audio/mpeg": "Audio",
    "audio/mp4": "Audio",
}
ATTACHMENT_TOO_LARGE = N_(
    "This file is larger than 20 MB, which is the most we can receive here. Please send a "
    "smaller file, or split it into several parts."
)
ATTACHMENT_TYPE = N_(
    "This type of file cannot be accepted. Please send photos, PDF, Word, Excel or text "
    "files, or voice messages."
)
ATTACHMENT_TOO_MANY = N_(
    "You have already added {maximum} files, the most one application can hold. Please "
    "bring further material to the office, or add it to the case after you submit."
)


@dataclass(frozen=True)
class AttachmentIn:
    kind: str  # photo | document | voice
    file_id: str
    file_unique_id: str
    size: int
    sha256: str | None
    file_name: str | None = None
    mime_type: str | None = None


def check_attachment(kind: str, size: int, mime_type: str | None) -> None:
    """Type and size rules, checked before the file is downloaded."""
    if size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(ATTACHMENT_TOO_LARGE)
    if kind == "document" and (mime_type or "").lower() not in ALLOWED_DOCUMENT_TYPES:
        raise ValidationError(ATTACHMENT_TYPE)
    if kind not in ("photo", "document", "voice"):
        raise ValidationError(ATTACHMENT_TYPE)


# --- cases as citizens see them -------------------------------------------------------------

EVENT_TEXTS: dict[str, str] = {
    "submitted": N_("You submitted the application."),
    "linked": N_("Linked to your earlier case {number} on the same matter."),
    "material_added": N_("You added material."),
    "withdrawn": N_("You withdrew the case."),
    "deadline_opened": N_("A time limit started."),
    "deadline_extended": N_("A time limit was extended."),
    "deadline_met": N_("A step was completed in time."),
    "deadline_missed": N_("A time limit passed."),
    "deemed_accepted": N_("The application is deemed accepted (《行政复议法》第三十条)."),
    "case_paused": N_("Handling was paused."),
    "case_resumed": N_("Handling resumed."),
    "deadline_cancelled": N_("A time limit stopped running."),
    "deadline_recomputed": N_(
        "A time limit was recalculated with the newly published holiday calendar."
    ),
    # Staff actions and deemed acceptance: their rows of the transition table.
    **history_texts("citizen"),
    "review_requested": N_("You asked for a review (复查) of the handling opinion."),
}

STAFF_EVENT_TEXTS: dict[str, str] = {
    **EVENT_TEXTS,
    "submitted": N_("The applicant submitted the application."),
    "linked": N_("Linked to the applicant's earlier case {number} on the same matter."),
    "material_added": N_("The applicant added material."),
    "withdrawn": N_("The applicant withdrew the case."),
    **history_texts("staff"),
    "review_requested": N_("The applicant asked for a review (复查) of the handling opinion."),
    **MEMBERSHIP_EVENT_TEXTS,
}
"""The same history for staff: the citizen's texts speak to the citizen ("you submitted")."""

FIRST_RULE: dict[Procedure, str | None] = {
    # F5 (FY 30): the reconsideration office reviews acceptance within 5 working days.
    Procedure.reconsideration: "F5",
    # X1 (XF 22): the petition office forwards or assigns within 15 days.
    Procedure.petition: "X1",
    # 行政调解 has no national period (domain §5); MA applies only where configured.
    Procedure.mediation: "MA",
}


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


class SubmitResult(BaseModel):
    case: CaseSummary
    created: bool
    first_deadline: Deadline | None
    offer_to_save: bool = False
    """Ask the citizen whether to keep their details for the next filing (not asked again
    once answered, nor when the saved ones were used unchanged)."""


class ReviewResult(BaseModel):
    """The 复查 request: filed (with its receipt), already filed, too late, or not possible."""

    outcome: str  # filed | already | late | not_concluded
    result: SubmitResult | None = None
    due: date | None = None
    number: str | None = None


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


# --- the service ------------------------------------------------------------------------


class IntakeService:
    def __init__(self, db: Database, clock: Clock, org: Organisation) -> None:
        self._db = db
        self._clock = clock
        self.org = org
        self.tz = LEGAL_TZ
        # Open drafts, write-through: one process owns the database, so this never goes stale
        # and a form step reads its draft without a round trip.
        self._drafts: OrderedDict[int, Draft] = OrderedDict()

    def _cache(self, draft: Draft) -> Draft:
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

    # drafts -----------------------------------------------------------------------------

    async def open_draft(self, user_id: int, procedure: Procedure) -> tuple[Draft, bool]:
        """The user's open draft for this procedure (resumed=True), or a new one."""
        now = to_db(self._clock.now())
        spec = FORMS[procedure]
        async with self._db.transaction() as conn:
            row = await row_in(
                conn,
                "SELECT * FROM drafts WHERE user_id = ? AND procedure = ? AND status = 'open'",
                (user_id, procedure.value),
            )
            if row is not None:
                return self._cache(_draft(row)), True
            saved = await row_in(
                conn, "SELECT 1 FROM saved_details WHERE user_id = ? AND consent = 1", (user_id,)
            )
            start: dict[str, Any] = {HAS_SAVED: True} if saved else {}
            first = spec.next_field(start)
            cursor = await conn.execute(
                "INSERT INTO drafts(user_id, procedure, answers, step, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    procedure.value,
                    json.dumps(start),
                    first.key if first else None,
                    now,
                    now,
                ),
            )
            draft_id = cursor.lastrowid
        draft = await self.get_draft(int(draft_id or 0), user_id=user_id)
        return draft, False

    async def get_draft(self, draft_id: int, *, user_id: int) -> Draft:
        cached = self._drafts.get(draft_id)
        if cached is not None:
            if cached.user_id != user_id:
                raise DraftNotFound(draft_id)
            return cached
        row = await self._db.fetch_one(
            "SELECT * FROM drafts WHERE id = ? AND user_id = ? AND status = 'open'",
            (draft_id, user_id),
        )
        if row is None:
            raise DraftNotFound(draft_id)
        return self._cache(_draft(row))

    async def save_answer(
        self, draft_id: int, *, user_id: int, key: str, value: Any
    ) -> tuple[Draft, Gate | None]:
        """Store one answer and move to the next unanswered question (None: ready to review).

        A gate (the matter belongs elsewhere) ends the draft: nothing is filed in the wrong
        channel, and the citizen is told where to go.
        """
        draft = await self.get_draft(draft_id, user_id=user_id)
        spec = draft.spec
        field = spec.field(key, draft.answers)
        answers = dict(draft.answers)
        if key in answers and answers[key] != value:
            for dependent in field.clears:  # checked against the old answer: ask again
                answers.pop(dependent, None)
        answers[key] = value
        if field.kind is Kind.saved:
            details = await self.saved_details(user_id) if value == USE_SAVED else None
            if details is None:
                answers[key] = CHANGE_SAVED  # deleted meanwhile (/forgetme): ask them
            else:
                answers.update(_details_answers(details, draft.procedure))
        if field.kind is Kind.id_number and "id_type" not in answers:
            answers["id_type"] = RESIDENT_ID  # typed without the "other document" button
        if field.contact_key and isinstance(value, str):
            answers[key], answers[field.contact_key] = split_contact(value)
        if draft.procedure is Procedure.reconsideration:
            answers[F1_PASSED] = f1_passed(answers, self.today())
            answers["_late"] = timeliness(answers, self.today()).late
        gate = field.gate(answers, self.org) if field.gate else None
        following = spec.next_field(answers)
        status = "discarded" if gate else "open"
        params = (
            json.dumps(answers, ensure_ascii=False),
            following.key if following else None,
            status,
            to_db(self._clock.now()),
            draft_id,
            user_id,
        )
        changed = await self._db.run(
            lambda conn: (
                conn.execute(
                    "UPDATE drafts SET answers = ?, step = ?, status = ?, updated_at = ?"
                    " WHERE id = ? AND user_id = ? AND status = 'open'",
                    params,
                ).rowcount
            )
        )
        if changed != 1:
            self._drafts.pop(draft_id, None)
            raise DraftNotFound(draft_id)
        updated = draft.model_copy(
            update={
                "answers": answers,
                "step": following.key if following else None,
                "status": status,
            }
        )
        return self._cache(updated), gate

    async def other_id_document(self, draft_id: int, *, user_id: int) -> Draft:
        """The "not a resident ID card" button: ask the document type, then its number."""
        draft = await self.get_draft(draft_id, user_id=user_id)
        answers = {k: v for k, v in draft.answers.items() if k not in ("id_type", "id_number")}
        answers[OTHER_ID] = True
        following = draft.spec.next_field(answers)
        step = following.key if following else None
        changed = await self._db.execute(
            "UPDATE drafts SET answers = ?, step = ?, updated_at = ?"
            " WHERE id = ? AND user_id = ? AND status = 'open'",
            (
                json.dumps(answers, ensure_ascii=False),
                step,
                to_db(self._clock.now()),
                draft_id,
                user_id,
            ),
        )
        if changed != 1:
            self._drafts.pop(draft_id, None)
            raise DraftNotFound(draft_id)
        return self._cache(draft.model_copy(update={"answers": answers, "step": step}))

    # saved details (with consent) ---------------------------------------------------------

    async def saved_details(self, user_id: int) -> SavedDetails | None:
        row = await self._db.fetch_one(
            "SELECT name, id_type, id_number, phone, address FROM saved_details"
            " WHERE user_id = ? AND consent = 1",
            (user_id,),
        )
        if row is None:
            return None
        return SavedDetails(
            name=row[0], id_type=row[1], id_number=row[2], phone=row[3], address=row[4]
        )

    async def keep_details(self, case_id: int, *, user_id: int, consent: bool) -> bool:
        """The citizen's answer to "keep your details?": with consent, the applicant's details
        of their own case are copied; without, only the refusal is kept (no personal data), so
        the question is not asked again. False if the case is not theirs."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as conn:
            row = await row_in(
                conn,
                "SELECT p.name, p.id_type, p.id_number, p.phone, p.address FROM parties p"
                " JOIN cases c ON c.id = p.case_id"
                " WHERE c.id = ? AND c.citizen_id = ? AND p.role = 'applicant'",
                (case_id, user_id),
            )
            if row is None:
                return False
            values = tuple(row) if consent else (None,) * 5
            await conn.execute(
                "INSERT INTO saved_details(user_id, consent, name, id_type, id_number, phone,"
                " address, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET consent = excluded.consent,"
                " name = excluded.name, id_type = excluded.id_type,"
                " id_number = excluded.id_number, phone = excluded.phone,"
                " address = excluded.address, updated_at = excluded.updated_at",
                (user_id, int(consent), *values, now),
            )
        return True

    async def forget_details(self, user_id: int) -> bool:
        """/forgetme: the saved details go; filed cases stay (official records). True if
        anything was saved."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM saved_details WHERE user_id = ?", (user_id,))
            changed = cursor.rowcount
            # An open form that took the saved details holds a copy: it goes too, and the form
            # asks for them again (nothing of them is filed unless typed anew).
            for row in await rows_in(
                conn,
                "SELECT id, procedure, answers FROM drafts WHERE user_id = ? AND status = 'open'",
                (user_id,),
            ):
                answers = json.loads(row[2])
                if answers.get(SAVED_KEY) != USE_SAVED:
                    continue
                for key in (*SAVED_FIELDS, SAVED_KEY, HAS_SAVED, "applicant_kind"):
                    answers.pop(key, None)
                following = FORMS[Procedure(row[1])].next_field(answers)
                await conn.execute(
                    "UPDATE drafts SET answers = ?, step = ?, updated_at = ? WHERE id = ?",
                    (
                        json.dumps(answers, ensure_ascii=False),
                        following.key if following else None,
                        to_db(self._clock.now()),
                        row[0],
                    ),
                )
                self._drafts.pop(int(row[0]), None)
        return changed > 0

    async def _offer_to_save(
        self, conn: aiosqlite.Connection, user_id: int, answers: dict[str, Any]
    ) -> bool:
        """Asked once: not after a refusal, nor when the saved details were used as they are.
        After "enter other details", the citizen may keep the new ones instead."""
        row = await row_in(
            conn,
            "SELECT consent, name, id_type, id_number, phone, address FROM saved_details"
            " WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return True
        if not row[0]:
            return False
        return tuple(row[1:]) != tuple(answers.get(key) for key in SAVED_FIELDS)

    async def reopen_field(self, draft_id: int, *, user_id: int, key: str) -> Draft:
        """'Edit' from the summary: ask this question again; other answers stay."""
        draft = await self.get_draft(draft_id, user_id=user_id)
        field = draft.spec.field(key, draft.answers)
        if not field.asked(draft.answers):
            raise KeyError(key)
        await self._db.execute(
            "UPDATE drafts SET step = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            (key, to_db(self._clock.now()), draft_id, user_id),
        )
        return self._cache(draft.model_copy(update={"step": key}))

    async def discard_draft(self, draft_id: int, *, user_id: int) -> bool:
        self._drafts.pop(draft_id, None)
        changed = await self._db.execute(
            "UPDATE drafts SET status = 'discarded', updated_at = ?"
            " WHERE id = ? AND user_id = ? AND status = 'open'",
            (to_db(self._clock.now()), draft_id, user_id),
        )
        return changed == 1

    # evidence ---------------------------------------------------------------------------

    async def add_attachment(
        self,
        *,
        user_id: int,
        attachment: AttachmentIn,
        draft_id: int | None = None,
        case_id: int | None = None,
    ) -> tuple[bool, int]:
        """Record a file against a draft or (added material) a case. Returns whether it was
        new (a file sent twice is stored once) and how many files the draft or case now has."""
        check_attachment(attachment.kind, attachment.size, attachment.mime_type)
        now = to_db(self._clock.now())
        async with self._db.transaction() as conn:
            if draft_id is not None:
                owner = await row_in(
                    conn,
                    "SELECT 1 FROM drafts WHERE id = ? AND user_id = ? AND status = 'open'",
                    (draft_id, user_id),
                )
                if owner is None:
                    raise DraftNotFound(draft_id)
                where, target = "draft_id = ?", draft_id
            else:
                await _own_open_case(conn, case_id, user_id)
                where, target = "case_id = ?", case_id
            counted = await row_in(
                conn,
                f"SELECT count(*), count(CASE WHEN file_unique_id = ? THEN 1 END)"
                f" FROM attachments WHERE {where}",
                (attachment.file_unique_id, target),
            )
            count, same = (int(counted[0]), int(counted[1])) if counted else (0, 0)
            if same:
                return False, count
            if count >= MAX_ATTACHMENTS:
                raise ValidationError(ATTACHMENT_TOO_MANY, {"maximum": MAX_ATTACHMENTS})
            await conn.execute(
                "INSERT INTO attachments(user_id, draft_id, case_id, kind, file_id,"
                " file_unique_id, file_name, mime_type, size, sha256, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    draft_id,
                    case_id,
                    attachment.kind,
                    attachment.file_id,
                    attachment.file_unique_id,
                    attachment.file_name,
                    attachment.mime_type,
                    attachment.size,
                    attachment.sha256,
                    now,
                ),
            )
            if case_id is not None:
                await _event(
                    conn,
                    case_id,
                    now,
                    user_id,
                    "material_added",
                    {"file": attachment.file_name or attachment.kind},
                )
        return True, count + 1

    async def attachment_count(self, draft_id: int) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT count(*) FROM attachments WHERE draft_id = ?", (draft_id,)
            )
        )

    # submission -------------------------------------------------------------------------

    async def _recheck_timeliness(self, draft_id: int, user_id: int, received_on: date) -> None:
        """F1 may have passed since the last answer: judged on the day of filing, the late and
        F2 questions may matter now (raises :class:`FormMovedOn` after storing that)."""
        try:
            draft = await self.get_draft(draft_id, user_id=user_id)
        except DraftNotFound:
            return  # submitted already (a second press) or gone: submit() says which
        if draft.procedure is not Procedure.reconsideration:
            return
        answers = dict(draft.answers)
        answers[F1_PASSED] = f1_passed(answers, received_on)
        answers["_late"] = timeliness(answers, received_on).late
        if answers == draft.answers or draft.spec.next_field(answers) is None:
            return
        following = draft.spec.next_field(answers)
        await self._db.execute(
            "UPDATE drafts SET answers = ?, step = ?, updated_at = ?"
            " WHERE id = ? AND user_id = ? AND status = 'open'",
            (
                json.dumps(answers, ensure_ascii=False),
                following.key if following else None,
                to_db(self._clock.now()),
                draft_id,
                user_id,
            ),
        )
        self._drafts.pop(draft_id, None)
        raise FormMovedOn(draft_id)

    async def submit(self, draft_id: int, *, user_id: int) -> SubmitResult:
        """Create the case in one transaction; a second submit of the same draft returns it."""
        now_dt = self._clock.now()
        now = to_db(now_dt)
        received_on = self.today()
        await self._recheck_timeliness(draft_id, user_id, received_on)
        first_deadline: Deadline | None = None
        async with self._db.transaction() as conn:
            existing = await row_in(
                conn,
                "SELECT id FROM cases WHERE draft_id = ? AND citizen_id = ?",
                (draft_id, user_id),
            )
            if existing is not None:
                created = False
                case_id = int(existing[0])
            else:
                row = await row_in(
                    conn,
                    "SELECT * FROM drafts WHERE id = ? AND user_id = ? AND status = 'open'",
                    (draft_id, user_id),
                )
                if row is None:
                    raise DraftNotFound(draft_id)
                draft = _draft(row)
                if draft.spec.next_field(draft.answers) is not None:
                    raise DraftNotFound(draft_id)  # not complete: the handler asks on
                created = True
                self._drafts.pop(draft_id, None)
                answers = submitted_answers(draft)
                case_id, first_deadline = await self._create_case(
                    conn, draft, answers, received_on, now
                )
                offer = await self._offer_to_save(conn, user_id, answers)
        case = await self.case_summary(case_id)
        if not created:
            offer = False
            deadline = case.next_deadline
            first_deadline = (
                compute(deadline.rule_id, deadline.trigger_on) if deadline is not None else None
            )
        return SubmitResult(
            case=case, created=created, first_deadline=first_deadline, offer_to_save=offer
        )

    async def _create_case(
        self,
        conn: aiosqlite.Connection,
        draft: Draft,
        answers: dict[str, Any],
        received_on: date,
        now: str,
        *,
        first_rule: str | None = None,
        review_of: tuple[int, str] | None = None,
    ) -> tuple[int, Deadline | None]:
        procedure = draft.procedure
        prefix = CASE_NUMBER_PREFIX[procedure]
        sequence = await row_in(
            conn,
            "INSERT INTO case_sequences(prefix, year, last_value) VALUES (?, ?, 1)"
            " ON CONFLICT(prefix, year) DO UPDATE SET last_value = last_value + 1"
            " RETURNING last_value",
            (prefix, received_on.year),
        )
        assert sequence is not None
        number = f"{prefix}-{received_on.year}-{sequence[0]:06d}"
        routed_to, routed_name = self._route(procedure, answers)
        respondent = self._respondent_name(answers)
        sensitive = procedure is Procedure.petition and answers.get("petition_kind") == "report"
        if review_of is not None:  # a 复查 request belongs with the case it reviews
            linked_id, linked_number, link_reason = *review_of, "review"
        else:
            linked_id, linked_number, link_reason = await self._find_related(
                conn, draft.user_id, procedure, answers
            )
        cursor = await conn.execute(
            "INSERT INTO cases(number, procedure, status, citizen_id, draft_id, sensitive,"
            " respondent, subject, answers, linked_case_id, link_reason, received_on,"
            " routed_to, routed_to_name, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                procedure.value,
                CaseStatus.submitted.value,
                draft.user_id,
                draft.id,
                int(sensitive),
                respondent,
                subject_of(procedure, answers, self.org),
                json.dumps(answers, ensure_ascii=False),
                linked_id,
                link_reason,
                received_on.isoformat(),
                routed_to,
                routed_name,
                now,
                now,
            ),
        )
        case_id = int(cursor.lastrowid or 0)
        for party in self._parties(procedure, answers, respondent):
            await conn.execute(
                "INSERT INTO parties(case_id, role, name, id_type, id_number, phone, address,"
                " details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (case_id, *party),
            )
        await conn.execute(
            "UPDATE attachments SET case_id = ? WHERE draft_id = ?", (case_id, draft.id)
        )
        await conn.execute(
            "UPDATE drafts SET status = 'submitted', updated_at = ? WHERE id = ?", (now, draft.id)
        )
        await _event(conn, case_id, now, draft.user_id, "submitted", {"number": number})
        if linked_number:
            await _event(
                conn, case_id, now, None, "linked", {"number": linked_number, "why": link_reason}
            )
        rule_id = first_rule or FIRST_RULE[procedure]
        try:
            deadline = compute(rule_id, received_on) if rule_id else None
        except NoPeriodConfigured:
            deadline = None  # 行政调解 where the county set no period
        if deadline is not None:
            await open_deadline(conn, case_id, deadline.rule_id, received_on, clock=self._clock)
        return case_id, deadline

    def _route(self, procedure: Procedure, answers: dict[str, Any]) -> tuple[str, str]:
        if procedure is Procedure.mediation:
            room = mediation_room_for(
                self.org, str(answers["category_id"]), answers.get("township_id")
            )
            return f"room:{room.id}", room.name
        if procedure is Procedure.reconsideration:
            agency_id = str(answers.get("respondent_id", ""))
            if not agency_id.startswith("text:"):
                body = reconsideration_body_for(self.org, agency_id)
                if body.office is not None:
                    return f"office:{body.office.id}", body.office.name
            office = self.org.office_for_role("reconsideration")
        else:
            office = self.org.office_for_role("petition")
        if office is None:
            return "office:unknown", ""
        return f"office:{office.id}", office.name

    def _respondent_name(self, answers: dict[str, Any]) -> str | None:
        value = answers.get("respondent_id") or answers.get("body_concerned")
        if not value:
            return None
        value = str(value)
        if value.startswith("text:"):
            return value[5:]
        return self.org.agency(value).name

    def _parties(
        self, procedure: Procedure, answers: dict[str, Any], respondent: str | None
    ) -> list[tuple[Any, ...]]:
        details: dict[str, Any] = {}
        name = answers["applicant_name"]
        if answers.get("applicant_kind") == "organisation":
            details = {
                "organisation": answers.get("organisation_name"),
                "representative": answers.get("representative"),
            }
        parties: list[tuple[Any, ...]] = [
            (
                "applicant",
                name,
                answers.get("id_type") or (RESIDENT_ID if answers.get("id_number") else None),
                answers.get("id_number"),
                answers.get("phone"),
                answers.get("address"),
                json.dumps(details, ensure_ascii=False),
            )
        ]
        if procedure is Procedure.reconsideration and respondent:
            parties.append(("respondent", respondent, None, None, None, None, "{}"))
        if procedure is Procedure.mediation:
            contact = answers.get("other_party_contact")
            parties.append(
                (
                    "other_party",
                    answers["other_party_name"],
                    None,
                    None,
                    None,
                    None,
                    json.dumps({"contact": contact}, ensure_ascii=False),
                )
            )
        for role, key in (("third_party", "third_parties"), ("agent", "agent")):
            if answers.get(key):
                parties.append((role, answers[key], None, None, None, None, "{}"))
        for representative in answers.get("representatives") or []:
            parties.append(("representative", representative, None, None, None, None, "{}"))
        return parties

    async def _find_related(
        self,
        conn: aiosqlite.Connection,
        user_id: int,
        procedure: Procedure,
        answers: dict[str, Any],
    ) -> tuple[int | None, str | None, str | None]:
        """XF 19(3): the same citizen's open case on the same matter is linked, not repeated.

        Same matter = the same respondent (reconsideration), the same agency concerned or the
        same request (petition), the same other side (mediation).
        """
        rows = await rows_in(
            conn,
            "SELECT id, number, answers FROM cases WHERE citizen_id = ? AND procedure = ?"
            f" AND status IN ({','.join('?' for _ in OPEN_STATUSES)}) ORDER BY id",
            (user_id, procedure.value, *OPEN_STATUSES),
        )
        keys = {
            Procedure.reconsideration: ("respondent_id",),
            Procedure.petition: ("body_concerned", "request"),
            Procedure.mediation: ("other_party_name",),
        }[procedure]
        for row in rows:
            earlier = json.loads(row[2])
            for key in keys:
                mine, theirs = _normalise(answers.get(key)), _normalise(earlier.get(key))
                if mine and mine == theirs:
                    return int(row[0]), str(row[1]), key
        return None, None, None

    # after a handling opinion: the 复查 request (X5) ------------------------------------------

    async def request_review(self, case_id: int, *, user_id: int) -> ReviewResult:
        """X5 (XF 35): within 30 days of the written handling opinion the petitioner may ask
        the next-higher body for a review (复查). Filed in one press as a new petition with the
        same answers, linked to the one it reviews; the review body's 30 days (X6) start.
        Once per case: a second press shows the request already filed."""
        now = to_db(self._clock.now())
        today = self.today()
        async with self._db.transaction() as conn:
            row = await row_in(
                conn, "SELECT * FROM cases WHERE id = ? AND citizen_id = ?", (case_id, user_id)
            )
            if row is None:
                raise CaseNotFound(case_id)
            earlier = await row_in(
                conn,
                "SELECT number FROM cases WHERE linked_case_id = ? AND link_reason = 'review'",
                (case_id,),
            )
            if earlier is not None:
                return ReviewResult(outcome="already", number=str(earlier[0]))
            concluded = await row_in(
                conn,
                "SELECT detail, at FROM case_events WHERE case_id = ? AND kind = 'concluded'"
                " ORDER BY id DESC LIMIT 1",
                (case_id,),
            )
            # The day the handling opinion was issued (X5 runs from it): recorded with the
            # event, or the event's own day in Gucheng.
            on = None
            if concluded is not None:
                detail = json.loads(concluded[0])
                on = (
                    detail.get("decided_on")
                    or detail.get("on")
                    or from_db(str(concluded[1])).astimezone(LEGAL_TZ).date().isoformat()
                )
            if (
                row["procedure"] != Procedure.petition.value
                or row["status"] != CaseStatus.decided
                or not on
            ):
                return ReviewResult(outcome="not_concluded")
            window = compute("X5", date.fromisoformat(str(on)))
            if today > window.due:
                return ReviewResult(outcome="late", due=window.due)
            answers = {**json.loads(row["answers"]), "review_of": row["number"]}
            cursor = await conn.execute(
                "INSERT INTO drafts(user_id, procedure, answers, step, created_at, updated_at)"
                " VALUES (?, ?, ?, NULL, ?, ?)",
                (
                    user_id,
                    Procedure.petition.value,
                    json.dumps(answers, ensure_ascii=False),
                    now,
                    now,
                ),
            )
            draft = Draft(
                id=int(cursor.lastrowid or 0),
                user_id=user_id,
                procedure=Procedure.petition,
                answers=answers,
                step=None,
                status="open",
            )
            new_id, deadline = await self._create_case(
                conn,
                draft,
                answers,
                today,
                now,
                first_rule="X6",
                review_of=(case_id, str(row["number"])),
            )
            await _event(conn, case_id, now, user_id, "review_requested", {})
        case = await self.case_summary(new_id)
        return ReviewResult(
            outcome="filed",
            result=SubmitResult(case=case, created=True, first_deadline=deadline),
            due=window.due,
        )

    # citizens' view of their cases ----------------------------------------------------------

    async def case_summary(self, case_id: int) -> CaseSummary:
        row = await self._db.fetch_one(_CASE_SELECT + " WHERE c.id = ?", (case_id,))
        if row is None:
            raise CaseNotFound(case_id)
        return await self._summary(row)

    async def my_cases(self, user_id: int) -> list[CaseSummary]:
        rows = await self._db.fetch_all(
            _CASE_SELECT + " WHERE c.citizen_id = ? ORDER BY c.id DESC", (user_id,)
        )
        return [await self._summary(row) for row in rows]

    async def case_for_citizen(self, case_id: int, *, user_id: int) -> CaseDetail:
        row = await self._db.fetch_one(
            _CASE_SELECT + " WHERE c.id = ? AND c.citizen_id = ?", (case_id, user_id)
        )
        if row is None:
            raise CaseNotFound(case_id)
        summary = await self._summary(row)
        events = await self._db.fetch_all(
            "SELECT at, kind, detail FROM case_events WHERE case_id = ? ORDER BY id", (case_id,)
        )
        files = await self._db.fetch_value(
            "SELECT count(*) FROM attachments WHERE case_id = ?", (case_id,)
        )
        return CaseDetail(
            **summary.model_dump(),
            answers=json.loads(row["answers"]),
            attachments=int(files),
            events=[
                CaseEvent(at=from_db(e[0]), kind=e[1], detail=json.loads(e[2])) for e in events
            ],
        )

    async def withdraw(self, case_id: int, *, user_id: int, reason: str | None = None) -> bool:
        """FY 74: an applicant may withdraw before the decision; False if no longer open."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as conn:
            row = await row_in(
                conn,
                "SELECT status FROM cases WHERE id = ? AND citizen_id = ?",
                (case_id, user_id),
            )
            if row is None:
                raise CaseNotFound(case_id)
            if row[0] not in OPEN_STATUSES:
                return False
            await conn.execute(
                "UPDATE cases SET status = ?, updated_at = ? WHERE id = ?",
                (CaseStatus.withdrawn.value, now, case_id),
            )
            # The clocks stop with the case; the planner cancels their pending reminders.
            await cancel_case_deadlines(
                conn, case_id, reason="withdrawn", actor_id=user_id, clock=self._clock
            )
            await _event(conn, case_id, now, user_id, "withdrawn", {"reason": reason or ""})
        return True

    async def add_note(self, case_id: int, *, user_id: int, text: str) -> None:
        """Further written material after submission: an addition, never an edit."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as conn:
            await _own_open_case(conn, case_id, user_id)
            await _event(conn, case_id, now, user_id, "material_added", {"text": text})

    async def staff_view(self, case_id: int, user: User) -> StaffCaseView | None:
        return await staff_case_view(self._db, case_id, user)

    async def _summary(self, row: sqlite3.Row) -> CaseSummary:
        return CaseSummary(
            id=row["id"],
            number=row["number"],
            procedure=Procedure(row["procedure"]),
            status=row["status"],
            subject=row["subject"],
            received_on=date.fromisoformat(row["received_on"]),
            created_at=from_db(row["created_at"]),
            routed_to_name=row["routed_to_name"],
            linked_number=row["linked_number"],
            next_deadline=await next_deadline(self._db, row["id"]),
        )


_CASE_SELECT = (
    "SELECT c.*, l.number AS linked_number FROM cases c"
    " LEFT JOIN cases l ON l.id = c.linked_case_id"
)


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


SAVED_FIELDS = ("applicant_name", "id_type", "id_number", "phone", "address")
"""The answers a saved record fills in (:func:`_details_answers`)."""


def _details_answers(details: SavedDetails, procedure: Procedure) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "applicant_name": details.name,
        "id_type": details.id_type,
        "id_number": details.id_number,
        "phone": details.phone,
        "address": details.address,
    }
    if procedure is Procedure.reconsideration:
        answers["applicant_kind"] = "person"  # saved details are a person's own
    return answers


def subject_of(procedure: Procedure, answers: dict[str, Any], org: Organisation) -> str:
    """A one-line label for lists: never an ID or phone number."""
    if procedure is Procedure.reconsideration:
        text = str(answers.get("act_title", ""))
    elif procedure is Procedure.petition:
        text = str(answers.get("request", ""))
    else:
        category = org.category(str(answers["category_id"])).name
        text = f"{category}：{answers.get('other_party_name', '')}"
    text = mask_numbers(re.sub(r"\s+", " ", text).strip())
    return text if len(text) <= 40 else text[:39] + "…"


def _normalise(value: Any) -> str:
    return re.sub(r"[\s，。,.!！?？、；;：:]+", "", str(value or "")).lower()


def _draft(row: sqlite3.Row) -> Draft:
    return Draft(
        id=row["id"],
        user_id=row["user_id"],
        procedure=Procedure(row["procedure"]),
        answers=json.loads(row["answers"]),
        step=row["step"],
        status=row["status"],
    )


async def _event(
    conn: aiosqlite.Connection,
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


__all__ = [
    "YES",
    "AttachmentIn",
    "CaseDetail",
    "CaseNotFound",
    "CaseSummary",
    "Draft",
    "DraftNotFound",
    "IntakeService",
    "SubmitResult",
    "check_attachment",
]


async def _own_open_case(conn: aiosqlite.Connection, case_id: int | None, user_id: int) -> None:
    """Material goes only to the citizen's own open case; "not yours" and "closed" differ so
    the citizen is told which (a closed case of their own is no secret to them)."""
    row = await row_in(
        conn, "SELECT status FROM cases WHERE id = ? AND citizen_id = ?", (case_id, user_id)
    )
    if row is None:
        raise CaseNotFound(case_id)
    if row["status"] not in OPEN_STATUSES:
        raise CaseClosed(case_id)
