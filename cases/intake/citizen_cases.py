"""A citizen's filed cases: what they see of them (summaries, the history in their words),
withdrawal, material added later, and the 复查 request after a handling opinion (X5)."""

from __future__ import annotations

import json
from datetime import date

from cases.i18n import N_
from cases.intake.form_engine import Procedure
from cases.intake.records import (
    CaseDetail,
    CaseEvent,
    CaseNotFound,
    CaseSummary,
    Draft,
    IntakeBase,
    ReviewResult,
    SubmitResult,
    citizen_event,
    own_open_case,
)
from cases.mediation import history as mediation_history
from cases.org.users import User
from cases.petitions.handover import HISTORY_CITIZEN as HANDOVER_HISTORY_CITIZEN
from cases.petitions.handover import HISTORY_STAFF as HANDOVER_HISTORY_STAFF
from cases.procedures.access import StaffCaseView, staff_case_view
from cases.procedures.case_clocks import cancel_case_deadlines
from cases.procedures.deadline_records import next_deadline
from cases.procedures.history import ASSIGNMENT_EVENT_TEXTS, CITIZEN, STAFF
from cases.procedures.statuses import OPEN_STATUSES, CaseStatus
from cases.procedures.transitions import history_texts
from cases.store.db import Row, UnitConnection, row_in
from cases.store.time import LEGAL_TZ, from_db, to_db

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
    "received_at_reception": N_(
        "Your matter was registered as a petition at the agency's reception day (局长接待日)."
    ),
    **HANDOVER_HISTORY_CITIZEN,
    **mediation_history.CITIZEN_EVENT_TEXTS,
    **ASSIGNMENT_EVENT_TEXTS[CITIZEN],
}

STAFF_EVENT_TEXTS: dict[str, str] = {
    **EVENT_TEXTS,
    "submitted": N_("The applicant submitted the application."),
    "linked": N_("Linked to the applicant's earlier case {number} on the same matter."),
    "material_added": N_("The applicant added material."),
    "withdrawn": N_("The applicant withdrew the case."),
    **history_texts("staff"),
    "review_requested": N_("The applicant asked for a review (复查) of the handling opinion."),
    "received_at_reception": N_(
        "Received in person at the agency's reception day (局长接待日) and registered as a "
        "petition."
    ),
    # A status note sent by another county system (cases/webhooks/inbound.py).
    "external_note": N_("Note from the county system “{source}”: {note}"),
    **HANDOVER_HISTORY_STAFF,
    **mediation_history.STAFF_EVENT_TEXTS,
    **ASSIGNMENT_EVENT_TEXTS[STAFF],
}
"""The same history for staff: the citizen's texts speak to the citizen ("you submitted")."""


_CASE_SELECT = (
    "SELECT c.*, l.number AS linked_number FROM cases c"
    " LEFT JOIN cases l ON l.id = c.linked_case_id"
)


async def _opinion_received_on(conn: UnitConnection, case_id: int, issued: date) -> date | None:
    """X5 (XF 35: "自收到书面答复之日起30日内"): the day the petitioner received the opinion.

    In the chat that is the day the closing notice (``concluded``) reached them: the outbox's
    ``delivered_at`` (Asia/Shanghai), never before the issue day. A notice still waiting to go
    out (quiet hours, a retry) has not been received: None, the window has not started. With
    no chat delivery at all (no account, a blocked bot: served on paper by the office) the
    receipt day is not recorded here, and the issue day is the earliest it can be."""
    rows = await conn.execute_fetchall(
        "SELECT status, delivered_at, sent_at FROM reminders WHERE case_id = ?"
        " AND kind = 'notice' AND step = 'concluded' AND audience = 'citizen'"
        " ORDER BY id DESC",
        (case_id,),
    )
    for status, delivered_at, sent_at in rows:
        if status == "sent" and (delivered_at or sent_at):
            day = from_db(str(delivered_at or sent_at)).astimezone(LEGAL_TZ).date()
            return max(day, issued)
    if any(status in ("pending", "sending") for status, _, _ in rows):
        return None
    return issued


class CitizenCases(IntakeBase):
    """A citizen's filed cases: the list, a case page, withdrawal, notes, the 复查 request."""

    # after a handling opinion: the 复查 request (X5) ------------------------------------------

    async def request_review(self, case_id: int, *, user_id: int) -> ReviewResult:
        """X5 (XF 35): within 30 days of receiving the written handling opinion
        (:func:`_opinion_received_on`) the petitioner may ask the next-higher body for a review
        (复查). Filed in one press as a new petition with the
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
            # The day the handling opinion was issued: recorded with the event, or the event's
            # own day in Gucheng. X5 runs from its receipt (XF 35), never earlier.
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
            received = await _opinion_received_on(conn, case_id, date.fromisoformat(str(on)))
            window = self.engine.compute("X5", received or today)
            if today > window.due:
                return ReviewResult(outcome="late", due=window.due)
            answers = {**json.loads(row["answers"]), "review_of": row["number"]}
            cursor = await conn.execute(
                "INSERT INTO drafts(user_id, procedure, answers, step, created_at, updated_at)"
                " VALUES (?, ?, ?, NULL, ?, ?) RETURNING id",
                (
                    user_id,
                    Procedure.petition.value,
                    json.dumps(answers, ensure_ascii=False),
                    now,
                    now,
                ),
            )
            draft_id = int((await cursor.fetchone())[0])
            draft = Draft(
                id=draft_id,
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
            await citizen_event(conn, case_id, now, user_id, "review_requested", {})
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
            await citizen_event(conn, case_id, now, user_id, "withdrawn", {"reason": reason or ""})
        return True

    async def add_note(self, case_id: int, *, user_id: int, text: str) -> None:
        """Further written material after submission: an addition, never an edit."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as conn:
            await own_open_case(conn, case_id, user_id)
            await citizen_event(conn, case_id, now, user_id, "material_added", {"text": text})

    async def staff_view(self, case_id: int, user: User) -> StaffCaseView | None:
        return await staff_case_view(self._db, case_id, user, self.engine)

    async def _summary(self, row: Row) -> CaseSummary:
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
            next_deadline=await next_deadline(self._db, row["id"], self.engine),
        )
