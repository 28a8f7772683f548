"""Notices to the agency a petition is assigned to (cases/petitions/handover.py): its liaisons
and head, resolved per unit as reminders are (scheduling.recipients), written into the outbox in
the caller's unit of work. The row names the rule (X3, X4) so the sender gives agency staff the
"Open case" button, which opens the petition as the agency may see it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cases.org.users import Role
from cases.store.db import Database, UnitConnection
from cases.store.time import LEGAL_TZ, Clock, to_db
from scheduling.notices import _insert as insert_notice
from scheduling.recipients import Recipient, RecipientDirectory


class AgencyMailer:
    """``cases.petitions.handover.AgencyNotices`` on the outbox (also the petition office's
    clerks, told when an agency returns a petition)."""

    def __init__(self, db: Database, clock: Clock, admin_ids: Sequence[int]) -> None:
        self._db = db
        self._clock = clock
        self._admin_ids = list(admin_ids)

    async def people(self, roles: Sequence[Role], unit: str) -> Sequence[Recipient]:
        """The agency's people in these roles (the administrators where it has none yet);
        one chat once, under its first role."""
        directory = RecipientDirectory(self._db, admin_ids=self._admin_ids)
        found: dict[int, Recipient] = {}
        for role in roles:
            people = await directory.resolve(role, None, unit=unit)
            if role is Role.office_staff:
                # The clerks of this office (and those from before offices were units); the
                # administrators when it has none: never another office's clerks.
                people = [p for p in people if p.unit in (None, unit) or p.stand_in]
                people = people or await directory.resolve(Role.admin, None)
            for person in people:
                found.setdefault(person.chat_id, person)
        return list(found.values())

    async def queue(
        self,
        conn: UnitConnection,
        case_id: int,
        person: Any,
        kind: str,
        params: Mapping[str, Any],
        dedup_key: str,
        *,
        due_at: datetime | None = None,
    ) -> bool:
        async with conn.execute(
            "SELECT number, procedure FROM cases WHERE id = ?", (case_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise ValueError(f"no case {case_id}")
        return await insert_notice(
            conn,
            case_id=case_id,
            kind=kind,
            params=params,
            dedup_key=dedup_key,
            chat_id=int(person.chat_id),
            locale=str(person.locale),
            audience=Role(person.role),
            case_number=str(row["number"]),
            procedure=str(row["procedure"]),
            clock=self._clock,
            tz=LEGAL_TZ,
            due_at=due_at,
        )

    async def cancel(self, conn: UnitConnection, prefix: str) -> None:
        """Cancel the notices not yet sent whose dedup key starts with ``prefix`` (a last
        day's reminder once the agency acted)."""
        await conn.execute(
            "UPDATE reminders SET status = 'cancelled', updated_at = ?"
            " WHERE status = 'pending' AND kind = 'notice' AND substr(dedup_key, 1, ?) = ?",
            (to_db(self._clock.now()), len(prefix), prefix),
        )
