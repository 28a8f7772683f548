"""One entry point for the handlers (workflow data ``mediation``): the four services, who a
person is in a case, and what the mediation page shows them.

Each viewer sees what concerns them: the mediator (and the room lead) the whole mediation with
its actions; the applicant and the other party the case number, the room, the mediator, the
sessions and their own details, never the other side's ID number or phone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from cases.law.calendar import LegalCalendar
from cases.mediation.common import (
    MediationCase,
    MediationSettings,
    Outbox,
    acts_as_mediator,
    is_room_lead,
    load_case,
)
from cases.mediation.ending import Ending
from cases.mediation.outcome import OutcomeService
from cases.mediation.parties import OtherParty, PartyService
from cases.mediation.period import PeriodService
from cases.mediation.sessions import Attendance, Session, SessionService
from cases.org.users import Role, User
from cases.procedures.actions import CaseActions
from cases.procedures.deadline_records import CaseDeadline
from cases.store.db import Database
from cases.store.time import Clock, legal_today


class Viewer(StrEnum):
    mediator = "mediator"
    applicant = "applicant"
    other_party = "other_party"


@dataclass(frozen=True)
class Page:
    viewer: Viewer
    lead: bool
    case: MediationCase
    other: OtherParty
    sessions: list[tuple[Session, list[Attendance]]]
    period: CaseDeadline | None
    extension: dict[str, Any] | None
    outcome: dict[str, Any] | None
    applicant_name: str | None
    today: date


class Mediation:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        actions: CaseActions,
        settings: MediationSettings,
        *,
        defer: Callable[[datetime], datetime],
        calendar: LegalCalendar,
        m1_days_before: Sequence[int],
    ) -> None:
        self._db = db
        self._clock = clock
        self.settings = settings
        outbox = Outbox(defer)
        self.parties = PartyService(db, clock, outbox, settings)
        self.sessions = SessionService(db, clock, outbox, calendar)
        self.outcome = OutcomeService(
            db, clock, outbox, actions, settings, calendar, m1_days_before=m1_days_before
        )
        self.period = PeriodService(db, clock, outbox, actions.engine)
        self.ending = Ending(db, clock, outbox, m1_days_before=m1_days_before)
        """The tick step (bot.py): ends recorded elsewhere are wound up."""

    async def tick(self) -> None:
        """The tick step (bot.py), run before each send: ends recorded elsewhere are wound up,
        and session messages follow the mediator who accepted the case."""
        await self.ending.sweep()
        await self.sessions.retarget()
        await self.parties.scrub_sent_links()

    def now(self) -> datetime:
        return self._clock.now()

    async def viewer(self, case_id: int, user: User | None, user_id: int) -> Viewer | None:
        """Who this person is in the case; None: nobody it concerns (refused)."""
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
        if case is None:
            return None
        if acts_as_mediator(user, case):
            return Viewer.mediator
        if user is not None and user.role is not Role.citizen:
            return None
        if case.citizen_id == user_id:
            return Viewer.applicant
        other = await self.parties.other_party(case_id)
        if other.user_id == user_id:
            return Viewer.other_party
        return None

    async def page(self, case_id: int, user: User | None, user_id: int) -> Page | None:
        viewer = await self.viewer(case_id, user, user_id)
        if viewer is None:
            return None
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
        assert case is not None
        sessions = [
            (s, await self.sessions.attendance(s.id))
            for s in await self.sessions.sessions(case_id)
        ]
        applicant_name = None
        if viewer is Viewer.mediator:
            applicant_name = await self._db.fetch_value(
                "SELECT json_extract(answers, '$.applicant_name') FROM cases WHERE id = ?",
                (case_id,),
            )
        return Page(
            viewer=viewer,
            lead=is_room_lead(user, case),
            case=case,
            other=await self.parties.other_party(case_id),
            sessions=sessions,
            period=await self.period.running(case_id),
            extension=await self.period.request(case_id),
            outcome=await self.outcome.outcome(case_id),
            applicant_name=applicant_name if isinstance(applicant_name, str) else None,
            today=legal_today(self._clock),
        )

    async def cases_for(self, user: User | None, user_id: int) -> list[tuple[int, str, str]]:
        """(id, number, status) of the mediations this person works on or takes part in:
        a mediator's own (a room lead: every case of the room), the other party's cases, an
        applicant's mediation cases."""
        if user is not None and user.role is Role.mediator:
            params: tuple[object, ...]
            if user.leads_room:
                where = "(c.routed_to = ? OR c.mediator_id = ?)"
                params = (f"room:{user.unit}", user_id)
            else:
                where, params = "c.mediator_id = ?", (user_id,)
            rows = await self._db.fetch_all(
                "SELECT c.id, c.number, c.status FROM cases c WHERE c.procedure = 'mediation'"
                f" AND {where} AND c.status IN ('submitted', 'accepted', 'settled')"
                " ORDER BY c.id DESC LIMIT 30",
                params,
            )
        else:
            rows = await self._db.fetch_all(
                "SELECT c.id, c.number, c.status FROM cases c"
                " LEFT JOIN mediation_parties p ON p.case_id = c.id"
                " WHERE c.procedure = 'mediation' AND (c.citizen_id = ? OR p.user_id = ?)"
                " ORDER BY c.id DESC LIMIT 30",
                (user_id, user_id),
            )
        return [(r["id"], r["number"], r["status"]) for r in rows]
