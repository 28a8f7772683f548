"""Submission: a complete draft becomes a case in one unit of work (number, routing, parties,
related earlier cases, the first statutory deadline, the citizen's history)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from cases.intake.form_engine import CASE_NUMBER_PREFIX, Procedure
from cases.intake.forms import RESIDENT_ID
from cases.intake.records import (
    Draft,
    DraftNotFound,
    FormMovedOn,
    IntakeBase,
    SubmitResult,
    citizen_event,
    draft_from_row,
    submitted_answers,
)
from cases.intake.timeliness import F1_PASSED, f1_passed, timeliness
from cases.law.deadline_rules import Deadline, NoPeriodConfigured
from cases.org.organisation import Organisation
from cases.org.routing import mediation_room_for, reconsideration_body_for
from cases.procedures.case_clocks import open_deadline
from cases.procedures.privacy import mask_numbers
from cases.procedures.statuses import OPEN_STATUSES, CaseStatus
from cases.store.db import UnitConnection, row_in, rows_in
from cases.store.time import to_db

FIRST_RULE: dict[Procedure, str | None] = {
    # F5 (FY 30): the reconsideration office reviews acceptance within 5 working days.
    Procedure.reconsideration: "F5",
    # X1 (XF 22): the petition office forwards or assigns within 15 days.
    Procedure.petition: "X1",
    # 行政调解 has no national period (domain §5); MA applies only where configured.
    Procedure.mediation: "MA",
}


class Submission(IntakeBase):
    """A complete draft becomes a case: number, routing, parties, first deadline."""

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
        answers[F1_PASSED] = f1_passed(answers, received_on, self.engine)
        answers["_late"] = timeliness(answers, received_on, self.engine).late
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
                draft = draft_from_row(row)
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
                self.engine.compute(deadline.rule_id, deadline.trigger_on)
                if deadline is not None
                else None
            )
        return SubmitResult(
            case=case, created=created, first_deadline=first_deadline, offer_to_save=offer
        )

    async def _create_case(
        self,
        conn: UnitConnection,
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
            " ON CONFLICT(prefix, year)"
            " DO UPDATE SET last_value = case_sequences.last_value + 1"
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
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        case_id = int((await cursor.fetchone())[0])
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
        await citizen_event(conn, case_id, now, draft.user_id, "submitted", {"number": number})
        if linked_number:
            await citizen_event(
                conn, case_id, now, None, "linked", {"number": linked_number, "why": link_reason}
            )
        rule_id = first_rule or FIRST_RULE[procedure]
        try:
            deadline = self.engine.compute(rule_id, received_on) if rule_id else None
        except NoPeriodConfigured:
            deadline = None  # 行政调解 where the county set no period
        if deadline is not None:
            await open_deadline(
                conn,
                case_id,
                deadline.rule_id,
                received_on,
                clock=self._clock,
                engine=self.engine,
            )
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
        conn: UnitConnection,
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
