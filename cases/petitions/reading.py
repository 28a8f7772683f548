"""The hand-over service's state and reads: the live hand-over of a petition, the agency's
view of it, the office's view of the opinion."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from typing import Any

from cases.intake.forms import Procedure
from cases.intake.validation import mask_phone
from cases.law.deadline_rules import DeadlineEngine
from cases.org.contact import office_contact
from cases.org.organisation import Organisation, UnknownId
from cases.org.users import Role, User
from cases.petitions.records import (
    AGENCY_ROLES,
    CONCLUDED,
    OFFICE_ROLES,
    AgencyNotices,
    AgencyPetitionView,
    Handover,
    PendingExtension,
    handover_from_row,
)
from cases.procedures.access import staff_case_view
from cases.procedures.actions import (
    NoticeSink,
)
from cases.procedures.deadline_records import open_deadlines
from cases.procedures.privacy import mask_numbers
from cases.procedures.statuses import CaseStatus
from cases.store.db import Database
from cases.store.time import Clock, legal_today, to_db


class HandoverReading:
    """Shared state of the hand-over service and what it reads."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        org: Organisation,
        notify: NoticeSink,
        agencies: AgencyNotices,
        *,
        engine: DeadlineEngine,
    ) -> None:
        self._db = db
        self._clock = clock
        self.org = org
        self._notify = notify
        self._agencies = agencies
        self._engine = engine

    @property
    def engine(self) -> DeadlineEngine:
        return self._engine

    def today(self) -> date:
        return legal_today(self._clock)

    def _now(self) -> str:
        return to_db(self._clock.now())

    # -- reading ----------------------------------------------------------------------------

    async def live(self, case_id: int) -> Handover | None:
        row = await self._db.fetch_one(
            "SELECT * FROM petition_handovers WHERE case_id = ?"
            " AND status IN ('assigned', 'accepted')",
            (case_id,),
        )
        return handover_from_row(row) if row else None

    async def latest(self, case_id: int) -> Handover | None:
        row = await self._db.fetch_one(
            "SELECT * FROM petition_handovers WHERE case_id = ? ORDER BY id DESC LIMIT 1",
            (case_id,),
        )
        return handover_from_row(row) if row else None

    async def agency_view(self, case_id: int, user: User) -> AgencyPetitionView | None:
        """None unless this person is the liaison or head of the agency the petition was
        assigned to (the latest assignment: open, or concluded by that agency)."""
        if user.role not in AGENCY_ROLES or not user.unit:
            return None
        handover = await self.latest(case_id)
        if (
            handover is None
            or handover.kind != "assign"
            or handover.agency_id != user.unit
            or handover.status not in ("assigned", "accepted", "concluded", "transferred")
        ):
            return None
        return await self._view(case_id, handover, user)

    async def page_view(self, case_id: int, user: User) -> AgencyPetitionView | None:
        """The agency's page for its liaison or head; for an administrator, the page of a
        petition an agency is handling, where they stand in for an agency without a head
        (the extension request reaches them, scheduling.recipients) and decide it."""
        if user.role is not Role.admin:
            return await self.agency_view(case_id, user)
        handover = await self.live(case_id)
        if handover is None or handover.kind != "assign" or handover.status != "accepted":
            return None
        return await self._view(case_id, handover, user)

    async def _view(
        self, case_id: int, handover: Handover, user: User
    ) -> AgencyPetitionView | None:
        case = await self._db.fetch_one(
            "SELECT * FROM cases WHERE id = ? AND procedure = 'petition'", (case_id,)
        )
        if case is None:
            return None
        answers = json.loads(case["answers"] or "{}")
        sensitive = bool(case["sensitive"])
        petitioner = None
        if not sensitive:
            party = await self._db.fetch_one(
                "SELECT name, phone FROM parties WHERE case_id = ? AND role = 'applicant'"
                " ORDER BY id LIMIT 1",
                (case_id,),
            )
            if party is not None:
                bits = [mask_numbers(str(party["name"]))]
                if party["phone"]:
                    # In full to the agency that accepted it (it answers the petitioner); an
                    # administrator standing in for its head sees it masked, as elsewhere.
                    answering = user.role in AGENCY_ROLES and handover.status in (
                        "accepted",
                        "concluded",
                    )
                    bits.append(party["phone"] if answering else mask_phone(party["phone"]))
                petitioner = " · ".join(bits)
        place = None
        township = answers.get("township_id")
        if township:
            with contextlib.suppress(UnknownId):
                place = self.org.township(str(township)).name
        pending = await self._db.fetch_one(
            "SELECT id, days, reason FROM petition_extension_requests"
            " WHERE case_id = ? AND status = 'pending'",
            (case_id,),
        )
        deadlines = await open_deadlines(self._db, case_id, self._engine)
        objection_due = (
            self.engine.compute("X3a", handover.assigned_on).due
            if handover.status == "assigned"
            else None
        )
        facts = str(answers.get("facts") or "")
        if answers.get("reasons"):
            facts += "\n" + str(answers["reasons"])
        return AgencyPetitionView(
            id=case["id"],
            number=case["number"],
            status=case["status"],
            sensitive=sensitive,
            kind=answers.get("petition_kind"),
            subject=mask_numbers(case["subject"]),
            received_on=date.fromisoformat(case["received_on"]),
            request=mask_numbers(str(answers.get("request") or "")),
            facts=mask_numbers(facts),
            place=place,
            petitioner=petitioner,
            handover=handover,
            deadlines=deadlines,
            pending_extension=PendingExtension(
                id=pending["id"], days=pending["days"], reason=pending["reason"]
            )
            if pending
            else None,
            office_contact=office_contact(self.org, "petition", user.locale or "zh"),
            opinion_sent=handover.status == "concluded",
            objection_due=objection_due,
            period_ended=any(d.rule_id == "X4" and d.due_on < self.today() for d in deadlines),
            may_object=objection_due is not None
            and self.today() <= objection_due
            and handover.objection_reason is None,
        )

    async def agency_petitions(self, user: User, *, limit: int = 20) -> list[tuple[int, str, str]]:
        """(case id, number, handover status) of the open petitions assigned to this
        person's agency, oldest first."""
        if user.role not in AGENCY_ROLES or not user.unit:
            return []
        rows = await self._db.fetch_all(
            "SELECT h.case_id, c.number, h.status FROM petition_handovers h"
            " JOIN cases c ON c.id = h.case_id WHERE h.agency_id = ? AND h.kind = 'assign'"
            " AND h.status IN ('assigned', 'accepted') ORDER BY h.id LIMIT ?",
            (user.unit, limit),
        )
        return [(r["case_id"], r["number"], r["status"]) for r in rows]

    async def opinion_for_office(self, case_id: int, user: User) -> dict[str, Any] | None:
        """The agency's handling opinion as recorded (text, files with SHA-256, who and when),
        for the petition office overseeing it; None if none or not theirs to read."""
        if (
            user.role not in OFFICE_ROLES
            or await staff_case_view(self._db, case_id, user, self._engine) is None
        ):
            return None
        row = await self._db.fetch_one(
            "SELECT detail FROM case_events WHERE case_id = ? AND kind = ?"
            " AND json_extract(detail, '$.agency_id') IS NOT NULL ORDER BY id DESC LIMIT 1",
            (case_id, CONCLUDED),
        )
        return json.loads(row["detail"]) if row else None

    async def office_may_hand_over(self, case_id: int, user: User) -> bool:
        """The petition office (or an administrator) on a petition still at the office."""
        if user.role not in OFFICE_ROLES:
            return False
        view = await staff_case_view(self._db, case_id, user, self._engine)
        if view is None or view.procedure is not Procedure.petition:
            return False
        return view.status is CaseStatus.submitted and await self.live(case_id) is None
