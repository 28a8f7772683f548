"""Offers: one eligible mediator at a time, offers that run out after office hours, offers
withdrawn when the case closes or the mediator leaves, and the scheduler's tick."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from cases.mediation.assignment_eligibility import Eligibility
from cases.mediation.assignment_records import (
    OPEN_SQL,
    OPEN_VALUES,
    Outgoing,
    add_event,
    select_all,
    select_one,
)
from cases.org.users import Role
from cases.store.db import Connection
from cases.store.time import to_db

log = logging.getLogger("cases.mediation.assignment")


class Offers(Eligibility):
    """Offering cases and the offers' time-outs (a tick step)."""

    def _offer_next(self, conn: Connection, case: Any, now: datetime) -> int | None:
        """Offer ``case`` to the best eligible mediator, or tell the room's lead nobody is."""
        stamp = to_db(now)
        candidates = self._candidates(conn, case)
        if not candidates and self._room_is_a_party(case):
            case = self._move_to_default_room(conn, case, stamp)
            candidates = self._candidates(conn, case)
        elif not candidates and self._room_all_recused(conn, case):
            case = self._move_to_default_room(conn, case, stamp, recused=True)
            candidates = self._candidates(conn, case)
        if not candidates:
            last = select_one(
                conn,
                "SELECT kind FROM case_events WHERE case_id = ? AND kind LIKE 'mediation_%'"
                " ORDER BY id DESC LIMIT 1",
                (case["id"],),
            )
            if last is None or last[0] != "mediation_unassigned":
                add_event(
                    conn,
                    int(case["id"]),
                    at=stamp,
                    actor_id=None,
                    actor_role="system",
                    kind="mediation_unassigned",
                    detail={},
                )
                rounds = select_one(
                    conn, "SELECT count(*) FROM mediation_offers WHERE case_id = ?", (case["id"],)
                )
                room_id = str(case["routed_to"] or "").removeprefix("room:")
                # The room's leads assign by hand; a room without a lead (or without any
                # mediator) would leave the case waiting unseen, so the administrators are told
                # instead: they make a lead (/mediators) or register mediators.
                key, audience = "nobody", Role.mediator
                recipients = select_all(
                    conn,
                    "SELECT telegram_id FROM users WHERE role = 'mediator' AND unit = ?"
                    " AND leads_room = 1",
                    (room_id,),
                )
                if not recipients:
                    key, audience = "nobody_no_lead", Role.admin
                    recipients = select_all(
                        conn, "SELECT telegram_id FROM users WHERE role = 'admin' ORDER BY 1"
                    )
                for person in recipients:
                    self._queue(
                        conn,
                        Outgoing(
                            f"asg:{key}:{case['id']}:{rounds[0] if rounds else 0}:{person[0]}",
                            int(person[0]),
                            audience,
                            key,
                            self._case_params(case),
                        ),
                        now,
                    )
            return None
        chosen = candidates[0]
        expires, provisional = self.offer_expires(now)
        cursor = conn.execute(
            "INSERT INTO mediation_offers(case_id, mediator_id, offered_at, expires_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            (case["id"], chosen.user_id, stamp, to_db(expires)),
        )
        offer_id = int(cursor.fetchone()[0])
        add_event(
            conn,
            int(case["id"]),
            at=stamp,
            actor_id=chosen.user_id,
            actor_role="mediator",
            kind="mediation_offered",
            detail={"offer_id": offer_id, "until": to_db(expires), "load": chosen.load},
        )
        first = select_one(
            conn,
            "SELECT min(due_on) FROM case_deadlines WHERE case_id = ? AND status = 'open'",
            (case["id"],),
        )
        params = self._case_params(case) | {
            "offer_id": offer_id,
            "until": to_db(expires),
            "first_due": first[0] if first else None,
            "contact_due": self.contact_by(self.today()).day.isoformat(),
            "provisional": provisional,
        }
        self._queue(
            conn,
            Outgoing(f"asg:offer:{offer_id}", chosen.user_id, Role.mediator, "offer", params),
            now,
        )
        return chosen.user_id

    def _offer_one(self, conn: Connection, case_id: int, now: datetime) -> int | None:
        case = self._case(conn, case_id)
        if (
            case is None
            or case["procedure"] != "mediation"
            or case["status"] not in OPEN_VALUES
            or case["mediator_id"] is not None
        ):
            return None
        pending = select_one(
            conn,
            "SELECT 1 FROM mediation_offers WHERE case_id = ? AND status = 'pending'",
            (case_id,),
        )
        if pending is not None:
            return None
        return self._offer_next(conn, case, now)

    async def offer(self, case_id: int) -> int | None:
        """Offer one unassigned mediation case (idempotent: a case already assigned or with a
        pending offer is left as it is). Returns the mediator offered, if any."""
        now = self.clock.now()
        return await self.db.run(lambda conn: self._offer_one(conn, case_id, now))

    async def offer_unassigned(self, limit: int = 500) -> int:
        """Every open mediation case without a mediator or a pending offer is offered (new
        submissions, cases whose mediator stepped aside, cases nobody could take before), in
        one unit of work: a backlog after downtime costs one commit, and each offer sees the
        ones made before it (pending offers count as load)."""
        now = self.clock.now()

        def work(conn: Connection) -> int:
            rows = select_all(
                conn,
                "SELECT c.id FROM cases c WHERE c.procedure = 'mediation'"
                f" AND c.mediator_id IS NULL AND c.status IN ({OPEN_SQL})"
                " AND NOT EXISTS (SELECT 1 FROM mediation_offers o WHERE o.case_id = c.id"
                " AND o.status = 'pending')"
                # Cases nobody could take at the last pass (the lead or the administrators
                # were told) come last, so a backlog of them never keeps new cases waiting.
                " ORDER BY coalesce((SELECT e.kind FROM case_events e WHERE e.case_id = c.id"
                " AND e.kind LIKE 'mediation_%' ORDER BY e.id DESC LIMIT 1), '')"
                " = 'mediation_unassigned', c.id LIMIT ?",
                (*OPEN_VALUES, limit),
            )
            offered = 0
            for row in rows:
                # One case that fails (bad data) must not hold up the others: its own
                # savepoint is rolled back and the rest are offered.
                conn.execute("SAVEPOINT offer_one")
                try:
                    offered += self._offer_one(conn, int(row[0]), now) is not None
                except Exception:
                    conn.execute("ROLLBACK TO offer_one")
                    log.exception("offering mediation case %s failed", row[0])
                conn.execute("RELEASE offer_one")
            return offered

        return await self.db.run(work)

    async def expire_due(self) -> int:
        """Offers unanswered past their time pass to the next mediator (once each)."""
        now = self.clock.now()
        rows = await self.db.fetch_all(
            "SELECT id FROM mediation_offers WHERE status = 'pending' AND expires_at <= ?"
            " ORDER BY expires_at, id",
            (to_db(now),),
        )

        def work(conn: Connection, offer_id: int) -> bool:
            changed = conn.execute(
                "UPDATE mediation_offers SET status = 'expired', answered_at = ?"
                " WHERE id = ? AND status = 'pending' AND expires_at <= ?",
                (to_db(now), offer_id, to_db(now)),
            )
            if changed.rowcount != 1:
                return False
            offer = select_one(
                conn,
                "SELECT case_id, mediator_id FROM mediation_offers WHERE id = ?",
                (offer_id,),
            )
            add_event(
                conn,
                int(offer[0]),
                at=to_db(now),
                actor_id=int(offer[1]),
                actor_role="mediator",
                kind="mediation_offer_expired",
                detail={"offer_id": int(offer_id)},
            )
            case = self._case(conn, int(offer[0]))
            self._queue(
                conn,
                Outgoing(
                    f"asg:expired:{offer_id}",
                    int(offer[1]),
                    Role.mediator,
                    "offer_expired",
                    self._case_params(case),
                ),
                now,
            )
            if case["status"] in OPEN_VALUES and case["mediator_id"] is None:
                self._offer_next(conn, case, now)
            return True

        expired = 0
        for row in rows:
            if await self.db.run(partial(work, offer_id=int(row[0]))):
                expired += 1
        return expired

    async def withdraw_closed(self) -> int:
        """Pending offers of cases that closed meanwhile (withdrawn by the applicant, say), made
        to someone who is no longer a mediator of the case's room, or to a mediator who has
        since declared an absence covering today are withdrawn: they neither wait out their
        hours nor count as load, the history says why, and the case is offered again (an
        absent mediator's case to someone else; they may have it again when back)."""
        now = self.clock.now()
        stamp = to_db(now)
        today = self.today().isoformat()

        def work(conn: Connection) -> int:
            rows = select_all(
                conn,
                "SELECT o.id, o.case_id, o.mediator_id,"
                f" CASE WHEN c.status NOT IN ({OPEN_SQL}) THEN 'closed'"
                "  WHEN NOT EXISTS (SELECT 1 FROM users u WHERE u.telegram_id = o.mediator_id"
                "   AND u.role = 'mediator' AND c.routed_to = 'room:' || u.unit) THEN 'left'"
                "  WHEN EXISTS (SELECT 1 FROM mediator_absences a"
                "   WHERE a.user_id = o.mediator_id AND a.starts_on <= ? AND a.ends_on >= ?)"
                "  THEN 'absent' END"
                " FROM mediation_offers o JOIN cases c ON c.id = o.case_id"
                " WHERE o.status = 'pending'",
                (*OPEN_VALUES, today, today),
            )
            withdrawn = 0
            for offer_id, case_id, mediator_id, why in rows:
                if why is None:
                    continue
                changed = conn.execute(
                    "UPDATE mediation_offers SET status = 'withdrawn', answered_at = ?,"
                    " reason_code = ? WHERE id = ? AND status = 'pending'",
                    (stamp, why, offer_id),
                )
                if changed.rowcount != 1:
                    continue
                add_event(
                    conn,
                    int(case_id),
                    at=stamp,
                    actor_id=int(mediator_id),
                    actor_role="mediator",
                    kind="mediation_offer_withdrawn",
                    detail={"offer_id": int(offer_id), "why": why},
                )
                if why == "closed":  # else they know: they left the room or declared absence
                    self._queue(
                        conn,
                        Outgoing(
                            f"asg:closed:{offer_id}",
                            int(mediator_id),
                            Role.mediator,
                            "offer_closed",
                            self._case_params(self._case(conn, int(case_id))),
                        ),
                        now,
                    )
                withdrawn += 1
            return withdrawn

        return await self.db.run(work)

    async def release_departed(self) -> int:
        """Open cases held by someone who is no longer a mediator of the case's room (their role
        or room changed with /grant, or they were removed) go back to the room's queue: else
        nobody mediates them and no lead sees them in /unassigned. Offered again this tick."""
        stamp = to_db(self.clock.now())

        def work(conn: Connection) -> int:
            rows = select_all(
                conn,
                "SELECT c.id, c.mediator_id FROM cases c WHERE c.procedure = 'mediation'"
                f" AND c.mediator_id IS NOT NULL AND c.status IN ({OPEN_SQL})"
                " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.telegram_id = c.mediator_id"
                " AND u.role = 'mediator' AND c.routed_to = 'room:' || u.unit)",
                OPEN_VALUES,
            )
            released = 0
            for case_id, mediator_id in rows:
                changed = conn.execute(
                    "UPDATE cases SET mediator_id = NULL, updated_at = ? WHERE id = ?"
                    " AND mediator_id = ?",
                    (stamp, case_id, mediator_id),
                )
                if changed.rowcount != 1:
                    continue
                add_event(
                    conn,
                    int(case_id),
                    at=stamp,
                    actor_id=None,
                    actor_role="system",
                    kind="mediation_released",
                    detail={"mediator_id": int(mediator_id)},
                )
                released += 1
            return released

        return await self.db.run(work)

    async def tick(self) -> None:
        await self.withdraw_closed()
        await self.release_departed()
        await self.expire_due()
        await self.offer_unassigned()
