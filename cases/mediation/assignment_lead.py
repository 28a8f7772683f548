"""The room lead: the room's unassigned cases, the mediators one may choose, assignment by
hand; and the load and absences the lists show."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from cases.mediation.assignment_eligibility import Eligibility
from cases.mediation.assignment_records import (
    OPEN_SQL,
    OPEN_VALUES,
    Outcome,
    Outgoing,
    Result,
    UnassignedCase,
    add_event,
    select_one,
)
from cases.org.users import Role, User
from cases.store.db import Connection
from cases.store.time import from_db, to_db


class LeadActions(Eligibility):
    """What the lead of a mediation room does by hand."""

    def _leads(self, lead: User, case: Any) -> bool:
        return (
            lead.role is Role.mediator
            and lead.leads_room
            and lead.unit is not None
            and str(case["routed_to"] or "") == f"room:{lead.unit}"
        )

    async def unassigned(self, lead: User) -> list[UnassignedCase]:
        """The lead's room's open mediation cases nobody has accepted: waiting for an answer,
        declined or run out, or with nobody eligible."""
        if not (lead.role is Role.mediator and lead.leads_room and lead.unit):
            return []
        rows = await self.db.fetch_all(
            "SELECT c.id, c.number, c.answers, c.received_on,"
            " (SELECT mediator_id FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'pending'),"
            " (SELECT expires_at FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'pending'),"
            " (SELECT count(*) FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'declined'),"
            " (SELECT count(*) FROM mediation_offers WHERE case_id = c.id"
            "  AND status = 'expired'),"
            " (SELECT reason_code || ':' || coalesce(reason, '') FROM mediation_offers"
            "  WHERE case_id = c.id AND status = 'declined' ORDER BY id DESC LIMIT 1)"
            " FROM cases c WHERE c.procedure = 'mediation' AND c.mediator_id IS NULL"
            f" AND c.status IN ({OPEN_SQL}) AND c.routed_to = ? ORDER BY c.id",
            (*OPEN_VALUES, f"room:{lead.unit}"),
        )
        out = []
        for r in rows:
            answers = json.loads(r[2] or "{}")
            out.append(
                UnassignedCase(
                    case_id=int(r[0]),
                    number=str(r[1]),
                    category_id=str(answers.get("category_id") or ""),
                    township_id=answers.get("township_id"),
                    received_on=date.fromisoformat(r[3]),
                    pending_to=r[4],
                    pending_until=from_db(r[5]) if r[5] else None,
                    declined=int(r[6]),
                    expired=int(r[7]),
                    last_reason=r[8],
                )
            )
        return out

    async def choosable(self, lead: User, case_id: int) -> list[int] | None:
        """The mediators the lead may assign ``case_id`` to (no conflict), or None when the
        case is not the lead's to assign."""

        def work(conn: Connection) -> list[int] | None:
            case = self._case(conn, case_id)
            if case is None or not self._leads(lead, case) or case["mediator_id"] is not None:
                return None
            return [c.user_id for c in self._candidates(conn, case, any_state=True)]

        return await self.db.run(work)

    async def assign_by_lead(self, lead: User, case_id: int, mediator_id: int) -> Result:
        """The room lead assigns by hand: a pending offer is withdrawn; the mediator is told,
        and so is the citizen. Skills, absence and load are the lead's call; a conflict of
        interest is not."""
        now = self.clock.now()
        stamp = to_db(now)

        def work(conn: Connection) -> Result:
            case = self._case(conn, case_id)
            if case is None or not self._leads(lead, case):
                return Result(Outcome.refused)
            if case["mediator_id"] is not None or case["status"] not in OPEN_VALUES:
                return Result(Outcome.stale, case_id, str(case["number"]))
            allowed = {c.user_id for c in self._candidates(conn, case, any_state=True)}
            if mediator_id not in allowed:
                member = select_one(
                    conn,
                    "SELECT 1 FROM users WHERE telegram_id = ? AND role = 'mediator' AND unit = ?",
                    (mediator_id, lead.unit),
                )
                outcome = Outcome.conflict if member else Outcome.refused
                return Result(outcome, case_id, str(case["number"]))
            pending = select_one(
                conn,
                "SELECT id, mediator_id FROM mediation_offers WHERE case_id = ?"
                " AND status = 'pending'",
                (case_id,),
            )
            if pending is not None:
                conn.execute(
                    "UPDATE mediation_offers SET status = 'withdrawn', answered_at = ?"
                    " WHERE id = ?",
                    (stamp, pending[0]),
                )
                if int(pending[1]) != mediator_id:
                    self._queue(
                        conn,
                        Outgoing(
                            f"asg:withdrawn:{pending[0]}",
                            int(pending[1]),
                            Role.mediator,
                            "offer_withdrawn",
                            self._case_params(case),
                        ),
                        now,
                    )
            changed = conn.execute(
                "UPDATE cases SET mediator_id = ?, updated_at = ? WHERE id = ?"
                " AND mediator_id IS NULL",
                (mediator_id, stamp, case_id),
            )
            if changed.rowcount != 1:
                return Result(Outcome.stale, case_id, str(case["number"]))
            cursor = conn.execute(
                "INSERT INTO mediation_offers(case_id, mediator_id, status, offered_at,"
                " expires_at, answered_at, reason_code) VALUES (?, ?, 'accepted', ?, ?, ?,"
                " 'by_lead') RETURNING id",
                (case_id, mediator_id, stamp, stamp, stamp),
            )
            offer_id = int(cursor.fetchone()[0])
            add_event(
                conn,
                case_id,
                at=stamp,
                actor_id=lead.telegram_id,
                actor_role="mediator",
                kind="mediation_assigned",
                detail={"mediator_id": mediator_id, "offer_id": offer_id},
            )
            contact = self._tell_citizen(conn, case, mediator_id, now)
            self._queue(
                conn,
                Outgoing(
                    f"asg:assigned:{offer_id}",
                    mediator_id,
                    Role.mediator,
                    "assigned",
                    self._case_params(case) | {"contact_due": contact},
                ),
                now,
            )
            return Result(Outcome.done, case_id, str(case["number"]), {"contact_due": contact})

        return await self.db.run(work)

    async def absent_today(self, mediator_ids: Sequence[int]) -> set[int]:
        if not mediator_ids:
            return set()
        marks = ",".join("?" for _ in mediator_ids)
        today = self.today().isoformat()
        rows = await self.db.fetch_all(
            f"SELECT DISTINCT user_id FROM mediator_absences WHERE user_id IN ({marks})"
            " AND starts_on <= ? AND ends_on >= ?",
            (*mediator_ids, today, today),
        )
        return {int(r[0]) for r in rows}

    async def open_load(self, mediator_ids: Sequence[int]) -> dict[int, int]:
        """Open cases held per mediator (for the lead's lists and the benchmark)."""
        if not mediator_ids:
            return {}
        marks = ",".join("?" for _ in mediator_ids)
        rows = await self.db.fetch_all(
            f"SELECT mediator_id, count(*) FROM cases WHERE mediator_id IN ({marks})"
            f" AND status IN ({OPEN_SQL}) GROUP BY mediator_id",
            (*mediator_ids, *OPEN_VALUES),
        )
        found = {int(r[0]): int(r[1]) for r in rows}
        return {m: found.get(m, 0) for m in mediator_ids}
