"""What the petition office does with a petition: assign it to an agency (XF 22-23),
transfer it outside the county, decide an agency's objection."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from cases.org.contact import office_contact
from cases.org.organisation import Agency, UnknownId
from cases.org.users import User
from cases.petitions.reading import HandoverReading
from cases.petitions.records import (
    AGENCY_ROLES,
    ALREADY,
    ASSIGNED,
    BODY_MISSING,
    HANDED_OVER_MEETS,
    MAX_BODY_NAME,
    MAX_REASON,
    NOT_ALLOWED,
    OBJECTION_REMINDER_AT,
    REASON_MISSING,
    REPORT_NOT_CONFIRMED,
    REPORT_TO_ACCUSED,
    TRANSFERRED,
    HandoverNotice,
    Outcome,
    Person,
    Raced,
    Result,
    basis_of,
    case_still,
    clean_typed,
    due_of,
    objection_key,
    same_body,
    set_case_status,
)
from cases.procedures.actions import (
    staff_event,
)
from cases.procedures.case_clocks import (
    cancel_case_deadlines,
    open_deadline,
)
from cases.procedures.privacy import mask_numbers
from cases.procedures.statuses import CaseStatus
from cases.store.db import IntegrityError, UnitConnection, row_in
from cases.store.time import LEGAL_TZ


class OfficeSteps(HandoverReading):
    """The petition office's side of the hand-over."""

    # -- the petition office ----------------------------------------------------------------

    async def assign(
        self,
        case_id: int,
        user: User,
        *,
        agency_id: str,
        reason: str,
        confirmed_report: bool = False,
    ) -> Result:
        """交办 (XF 22): to an agency of the organisation file, with a reason. A complaint
        (申诉求决) stays open here while the agency handles it (X3, then X4); a suggestion
        or a report is forwarded, and the case closes here with the agency named."""
        if not await self.office_may_hand_over(case_id, user):
            return await self.already_or_not(case_id, user)
        reason = clean_typed(reason, MAX_REASON)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        try:
            agency = self.org.agency(agency_id)
        except UnknownId:
            return NOT_ALLOWED
        case = await self._db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
        assert case is not None
        answers = json.loads(case["answers"] or "{}")
        kind = answers.get("petition_kind") or "complaint"
        if case["sensitive"] or kind == "report":
            # XF 30(3): never to the agency reported; only as a deliberate, confirmed choice.
            if self._reported(answers, agency.id, agency.name, agency.name_en):
                return Result(Outcome.refused, REPORT_TO_ACCUSED)
            if not confirmed_report:
                return Result(Outcome.refused, REPORT_NOT_CONFIRMED)
        forwarded = kind != "complaint"
        await self._close_met(case_id, HANDED_OVER_MEETS, user)
        people = await self._agencies.people(list(AGENCY_ROLES), agency.id)
        today = self.today()
        now = self._now()
        facts: dict[str, Any] = {"assigned_on": today.isoformat()}
        try:
            return await self._assign_unit(
                case, user, agency, reason, kind, forwarded, people, today, now, facts
            )
        except Raced:
            return ALREADY

    async def _assign_unit(
        self,
        case: Any,
        user: User,
        agency: Agency,
        reason: str,
        kind: str,
        forwarded: bool,
        people: Sequence[Person],
        today: date,
        now: str,
        facts: dict[str, Any],
    ) -> Result:
        """The assignment's one unit of work (rolled back whole by :class:`Raced`)."""
        case_id = int(case["id"])
        async with self._db.transaction() as conn:
            if not forwarded and not await case_still(conn, case_id, CaseStatus.submitted):
                raise Raced  # transferred meanwhile
            if forwarded and not await set_case_status(
                conn, case_id, CaseStatus.submitted, CaseStatus.closed, now
            ):
                return ALREADY
            try:
                cursor = await conn.execute(
                    "INSERT INTO petition_handovers(case_id, kind, agency_id, reason, status,"
                    " assigned_by, assigned_at) VALUES (?, 'assign', ?, ?, ?, ?, ?) RETURNING id",
                    (
                        case_id,
                        agency.id,
                        reason,
                        "transferred" if forwarded else "assigned",
                        user.telegram_id,
                        now,
                    ),
                )
            except IntegrityError:
                raise Raced from None  # a double press: one live handover per case
            handover_id = int((await cursor.fetchone())[0])
            if forwarded:
                await cancel_case_deadlines(
                    conn, case_id, reason="forwarded", actor_id=user.telegram_id, clock=self._clock
                )
            else:
                x3 = await open_deadline(
                    conn,
                    case_id,
                    "X3",
                    today,
                    clock=self._clock,
                    actor_id=user.telegram_id,
                    engine=self._engine,
                )
                facts["x3_due"], facts["provisional"] = await due_of(conn, x3)
            detail = {
                "agency_id": agency.id,
                "agency_name": agency.name,
                "agency_name_en": agency.name_en,
                "reason": reason,
                "forwarded": forwarded,
                "handover_id": handover_id,
                **facts,
            }
            await staff_event(conn, case_id, now, user, ASSIGNED, detail)
            citizen = {
                "agency": agency.name,
                "reason": reason,
                **facts,
                **basis_of("XF", "22"),
            }
            if forwarded:
                citizen["transferred_on"] = today.isoformat()
                citizen["body"] = agency.name
            if kind == "report":
                citizen.pop("reason")  # XF 30(3): nothing about the matter in the message
            await self._notify(
                conn,
                case_id,
                HandoverNotice.transferred if forwarded else HandoverNotice.assigned,
                citizen,
                f"notice:{ASSIGNED}:{handover_id}",
            )
            to_agency = {
                "rule_id": "X3",
                "subject": mask_numbers(case["subject"]),
                "reason": reason,
                "office": office_contact(self.org, "petition"),
                **facts,
                **basis_of("XF", "22"),
            }
            for person in people:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.forwarded_to_agency if forwarded else HandoverNotice.to_agency,
                    to_agency,
                    f"notice:{HandoverNotice.to_agency}:{handover_id}:{person.chat_id}",
                )
            if not forwarded:
                await self._remind_objection_end(conn, case_id, handover_id, people, today, facts)
        return Result(Outcome.done, facts={**facts, "agency": agency.name, "forwarded": forwarded})

    async def _remind_objection_end(
        self,
        conn: UnitConnection,
        case_id: int,
        handover_id: int | None,
        people: Sequence[Person],
        assigned_on: date,
        facts: Mapping[str, Any],
    ) -> None:
        """X3a (XF 23(3)): the agency may object within 5 working days; on the last of them,
        at 08:30, its people are reminded (cancelled once it accepts or objects)."""
        objection = self.engine.compute("X3a", assigned_on)
        due_at = datetime.combine(objection.due, OBJECTION_REMINDER_AT, tzinfo=LEGAL_TZ)
        if due_at <= self._clock.now():
            return
        params = {
            "rule_id": "X3",  # the sender gives agency staff "Open case" (X3's petition)
            "objection_due": objection.due.isoformat(),
            "x3_due": facts.get("x3_due"),
            "provisional": objection.provisional,
            **basis_of("XF", "23", "第三款", "(3)"),
        }
        for person in people:
            await self._agencies.queue(
                conn,
                case_id,
                person,
                HandoverNotice.objection_last_day,
                params,
                f"{objection_key(handover_id)}{person.chat_id}",
                due_at=due_at,
            )

    async def transfer(self, case_id: int, user: User, *, body_name: str, reason: str) -> Result:
        """转送 (XF 22) to a body outside the county: named as typed, with the reason; the
        citizen is told where it went and the case closes here."""
        if not await self.office_may_hand_over(case_id, user):
            return await self.already_or_not(case_id, user)
        body = clean_typed(body_name, MAX_BODY_NAME)
        reason = clean_typed(reason, MAX_REASON)
        if not body:
            return Result(Outcome.refused, BODY_MISSING)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        case = await self._db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
        assert case is not None
        answers = json.loads(case["answers"] or "{}")
        if (case["sensitive"] or answers.get("petition_kind") == "report") and self._reported(
            answers, "", body
        ):
            return Result(Outcome.refused, REPORT_TO_ACCUSED)
        await self._close_met(case_id, HANDED_OVER_MEETS, user)
        today = self.today()
        now = self._now()
        async with self._db.transaction() as conn:
            if await row_in(
                conn,
                "SELECT 1 FROM petition_handovers WHERE case_id = ?"
                " AND status IN ('assigned', 'accepted')",
                (case_id,),
            ) or not await set_case_status(
                conn, case_id, CaseStatus.submitted, CaseStatus.closed, now
            ):
                return ALREADY  # assigned or transferred meanwhile: nothing written yet
            cursor = await conn.execute(
                "INSERT INTO petition_handovers(case_id, kind, body_name, reason, status,"
                " assigned_by, assigned_at) VALUES (?, 'transfer', ?, ?, 'transferred', ?, ?)"
                " RETURNING id",
                (case_id, body, reason, user.telegram_id, now),
            )
            handover_id = int((await cursor.fetchone())[0])
            await cancel_case_deadlines(
                conn, case_id, reason="transferred", actor_id=user.telegram_id, clock=self._clock
            )
            detail = {"body_name": body, "reason": reason, "transferred_on": today.isoformat()}
            await staff_event(conn, case_id, now, user, TRANSFERRED, detail)
            await self._notify(
                conn,
                case_id,
                HandoverNotice.transferred,
                {
                    "body": body,
                    "reason": reason,
                    "transferred_on": today.isoformat(),
                    **basis_of("XF", "22"),
                },
                f"notice:{TRANSFERRED}:{handover_id}",
            )
        return Result(Outcome.done, facts={"body": body, "transferred_on": today.isoformat()})

    def _reported(self, answers: Mapping[str, Any], agency_id: str, *names: str | None) -> bool:
        """XF 30(3): whether the body a report concerns (``body_concerned``: an agency of the
        organisation file, or a name the citizen typed) is this one, by id or by name; a
        name typed by either side matches the other when one contains the other
        ("交通运输局" in "谷城县交通运输局")."""
        concerned = str(answers.get("body_concerned") or "").strip()
        if not concerned:
            return False
        if agency_id and concerned == agency_id:
            return True
        reported = {concerned.removeprefix("text:")}
        if not concerned.startswith("text:"):
            with contextlib.suppress(UnknownId):
                known = self.org.agency(concerned)
                reported |= {known.name, known.name_en or ""}
        return any(same_body(a, b) for a in reported for b in names if a and b)
