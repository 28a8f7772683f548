"""Who a role means for a case: the one place where staff roles plug in.

Until staff are given roles (an administrator's /grant), every staff role falls back to the
administrators of ``ADMIN_IDS``, so no reminder is planned for nobody. Agency liaisons/heads
with a unit (``users.unit``: their agency) hear only of their unit's cases; a mediator only of
the cases assigned to them, and a room lead of the room's cases nobody has accepted yet (the
cases each may open); a case with nobody to hear of it goes to the administrators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cases.i18n import DEFAULT_LOCALE, LOCALES
from cases.org.users import Role
from cases.store.db import Database

UNIT_SCOPED = frozenset({Role.mediator, Role.agency_liaison, Role.agency_head})
AGENCY_ROLES = frozenset({Role.agency_liaison, Role.agency_head})


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    locale: str
    role: Role
    unit: str | None = None
    stand_in: bool = False
    """An administrator who receives this role's reminders because nobody holds the role (for
    the case's unit): what a registrar must be told, since the real addressee hears nothing."""
    lead: bool = False
    """A mediator who leads their room (users.leads_room)."""


def _locale(value: str | None) -> str:
    return value if value in LOCALES else DEFAULT_LOCALE


class RecipientDirectory:
    """Resolves roles to chats, caching role-wide lookups for one planner pass."""

    def __init__(self, db: Database, *, admin_ids: list[int]) -> None:
        self._db = db
        self._admin_ids = list(dict.fromkeys(admin_ids))
        self._by_role: dict[Role, list[Recipient]] = {}
        self._citizens: dict[int, Recipient | None] | None = None
        self._units: dict[int, tuple[str | None, str | None]] = {}
        self._assigned: dict[int, int] = {}
        self._units_loaded = False
        self._petitions: set[int] = set()
        self._offices: dict[int, str] = {}

    async def resolve(
        self, role: Role, case_id: int | None, *, unit: str | None = None
    ) -> list[Recipient]:
        """``unit``: the source's own unit where it has one (a court case's defendant agency);
        otherwise the unit of ``case_id``."""
        if role is Role.citizen:
            citizen = await self._citizen(case_id) if case_id is not None else None
            return [citizen] if citizen is not None else []
        if role in AGENCY_ROLES and unit is None and case_id is not None:
            agency = await self._case_unit(role, case_id)
            if agency is None and case_id in self._petitions:
                # A petition the office keeps (not assigned to an agency, XF 22) has no agency
                # to remind: nobody stands in for one.
                return []
        if role not in self._by_role:
            self._by_role[role] = (
                await self._admins_with_role() if role is Role.admin else await self._staff(role)
            )
        people = self._by_role[role]
        if role is Role.mediator and case_id is not None and unit is None:
            return await self._mediators_of(people, case_id)
        if role is Role.office_staff and case_id is not None and unit is None:
            return await self._clerks_of(people, case_id)
        if role in UNIT_SCOPED and (case_id is not None or unit) and any(p.unit for p in people):
            # Staff with a unit hear only of their own unit's cases (a mediator of their room,
            # an agency's liaison and head of applications against that agency). Nobody of
            # the case's unit registered yet → the administrators, as for an unstaffed role.
            if unit is None and case_id is not None:
                unit = await self._case_unit(role, case_id)
            scoped = [p for p in people if p.unit is None or p.unit == unit]
            return scoped or await self._admins(role)
        return people

    async def _clerks_of(self, people: list[Recipient], case_id: int) -> list[Recipient]:
        """A clerk with an office works on the cases routed to it (cases.procedures.access):
        the petition office's clerks hear of petitions, the reconsideration office's of
        applications, never the other's (they could not open them). Clerks without an office
        hear of every case, as they may open every case; nobody of the case's office: the
        administrators, as for an unstaffed role."""
        await self._case_unit(Role.office_staff, case_id)  # loads the routes
        office = self._offices.get(case_id)
        if office is None or not any(p.unit for p in people):
            return people
        return [p for p in people if p.unit is None or p.unit == office] or await self._admins(
            Role.office_staff
        )

    async def _mediators_of(self, people: list[Recipient], case_id: int) -> list[Recipient]:
        """A mediation case's mediator is the one it is assigned to (cases.mediator_id); before
        anyone accepted it, the leads of its room, who see it (cases.procedures.access). Nobody
        of these registered: the administrators, as for an unstaffed role."""
        room = await self._case_unit(Role.mediator, case_id)
        assigned = self._assigned.get(case_id)
        chosen = [p for p in people if p.chat_id == assigned and not p.stand_in]
        if not chosen and room is not None:
            chosen = [p for p in people if p.lead and p.unit == room]
        return chosen or await self._admins(Role.mediator)

    async def unstaffed(self, roles: Iterable[Role], *, unit: str | None) -> list[Role]:
        """The roles that nobody holds for ``unit`` (an agency, a mediation room), in the order
        given: the administrators stand in for them, as :meth:`resolve` decides."""
        missing = []
        for role in roles:
            people = await self.resolve(role, None, unit=unit)
            if all(person.stand_in for person in people):
                missing.append(role)
        return missing

    async def _case_unit(self, role: Role, case_id: int) -> str | None:
        if not self._units_loaded:
            # One query for every case, as for citizens: a planner pass asks for thousands.
            # The agency of a case: the respondent of a reconsideration (FY 48); the agency a
            # petition is assigned to (cases/petitions/handover.py, XF 22).
            for row in await self._db.fetch_all(
                "SELECT id, routed_to, procedure, mediator_id, CASE WHEN procedure = 'petition'"
                " THEN (SELECT h.agency_id FROM petition_handovers h WHERE h.case_id = cases.id"
                "  AND h.kind = 'assign' AND h.status IN ('assigned', 'accepted'))"
                " ELSE json_extract(answers, '$.respondent_id') END AS respondent FROM cases"
            ):
                if row["procedure"] == "petition":
                    self._petitions.add(row["id"])
                if row["mediator_id"] is not None:
                    self._assigned[row["id"]] = row["mediator_id"]
                room = row["routed_to"] or ""
                if room.startswith("office:"):
                    self._offices[row["id"]] = room.removeprefix("office:")
                self._units[row["id"]] = (
                    room.removeprefix("room:") if room.startswith("room:") else None,
                    row["respondent"],
                )
            self._units_loaded = True
        room, agency = self._units.get(case_id, (None, None))
        return room if role is Role.mediator else agency

    async def _citizen(self, case_id: int) -> Recipient | None:
        if self._citizens is None:
            # One query for every case instead of one per case: a planner pass over 20,000
            # open cases would otherwise spend its time here.
            rows = await self._db.fetch_all(
                "SELECT c.id, c.citizen_id, u.locale FROM cases c"
                " JOIN users u ON u.telegram_id = c.citizen_id"
            )
            self._citizens = {
                row["id"]: Recipient(row["citizen_id"], _locale(row["locale"]), Role.citizen)
                for row in rows
            }
        if case_id not in self._citizens:
            row = await self._db.fetch_one(
                "SELECT c.citizen_id, u.locale FROM cases c"
                " JOIN users u ON u.telegram_id = c.citizen_id WHERE c.id = ?",
                (case_id,),
            )
            self._citizens[case_id] = (
                None
                if row is None
                else Recipient(row["citizen_id"], _locale(row["locale"]), Role.citizen)
            )
        return self._citizens[case_id]

    async def _staff_rows(self, role: Role) -> list[Recipient]:
        rows = await self._db.fetch_all(
            "SELECT telegram_id, locale, unit, leads_room FROM users WHERE role = ?"
            " ORDER BY telegram_id",
            (role.value,),
        )
        return [
            Recipient(
                row["telegram_id"],
                _locale(row["locale"]),
                role,
                row["unit"],
                lead=bool(row["leads_room"]),
            )
            for row in rows
        ]

    async def _staff(self, role: Role) -> list[Recipient]:
        found = await self._staff_rows(role)
        return found if found else await self._admins(role)

    async def _admins_with_role(self) -> list[Recipient]:
        """ADMIN_IDS plus anyone an administrator made an admin in the bot."""
        configured = await self._admins(Role.admin)
        seen = {r.chat_id for r in configured}
        extra = [r for r in await self._staff_rows(Role.admin) if r.chat_id not in seen]
        return configured + extra

    async def _admins(self, role: Role) -> list[Recipient]:
        """The configured administrators, in the language they chose if they used the bot."""
        if not self._admin_ids:
            return []
        marks = ",".join("?" for _ in self._admin_ids)
        rows = await self._db.fetch_all(
            f"SELECT telegram_id, locale FROM users WHERE telegram_id IN ({marks})",
            self._admin_ids,
        )
        locales = {row["telegram_id"]: row["locale"] for row in rows}
        return [
            Recipient(chat, _locale(locales.get(chat)), role, stand_in=role is not Role.admin)
            for chat in self._admin_ids
        ]


async def resolve_recipients(
    db: Database, role: Role | str, case_id: int | None, *, admin_ids: list[int]
) -> list[Recipient]:
    """The chats that stand for ``role`` in ``case_id`` (staff roles fall back to admins)."""
    return await RecipientDirectory(db, admin_ids=admin_ids).resolve(Role(role), case_id)
