"""A mediator's answers: accept, decline with a reason, and stepping aside from a case
because of a conflict of interest (回避). Compare-and-set: a double press acts once."""

from __future__ import annotations

from cases.mediation.assignment_offers import Offers
from cases.mediation.assignment_records import (
    MAX_REASON,
    OPEN_SQL,
    OPEN_VALUES,
    DeclineReason,
    OfferStatus,
    Outcome,
    Result,
    add_event,
    select_one,
)
from cases.org.users import User
from cases.store.db import Connection
from cases.store.time import from_db, to_db


class Answers(Offers):
    """The mediator's side of an offer."""

    def _answer_state(
        self, conn: Connection, offer_id: int, user: User, wanted: OfferStatus
    ) -> Result:
        row = select_one(
            conn,
            "SELECT o.case_id, o.mediator_id, o.status, c.number FROM mediation_offers o"
            " JOIN cases c ON c.id = o.case_id WHERE o.id = ?",
            (offer_id,),
        )
        if row is None or int(row[1]) != user.telegram_id:
            return Result(Outcome.refused)
        outcome = Outcome.already if row[2] == wanted.value else Outcome.stale
        return Result(outcome, int(row[0]), str(row[3]))

    async def pending_offer(self, offer_id: int, user: User) -> Result:
        """Whether ``user`` may still answer this offer (before the decline reasons are shown);
        the same outcomes as an answer, without changing anything."""
        row = await self.db.fetch_one(
            "SELECT o.case_id, o.mediator_id, o.status, o.expires_at, c.number"
            " FROM mediation_offers o JOIN cases c ON c.id = o.case_id WHERE o.id = ?",
            (offer_id,),
        )
        if row is None or int(row[1]) != user.telegram_id:
            return Result(Outcome.refused)
        if row[2] != OfferStatus.pending.value or from_db(row[3]) <= self.clock.now():
            return Result(Outcome.stale, int(row[0]), str(row[4]))
        return Result(Outcome.done, int(row[0]), str(row[4]))

    async def accept(self, offer_id: int, user: User) -> Result:
        """The offered mediator takes the case: ``cases.mediator_id`` is set (compare-and-set),
        the citizen is told who mediates and by when they will be contacted."""
        now = self.clock.now()
        stamp = to_db(now)

        def work(conn: Connection) -> Result:
            changed = conn.execute(
                "UPDATE mediation_offers SET status = 'accepted', answered_at = ?"
                " WHERE id = ? AND mediator_id = ? AND status = 'pending' AND expires_at > ?"
                " AND EXISTS (SELECT 1 FROM cases WHERE id = case_id AND mediator_id IS NULL"
                f" AND status IN ({OPEN_SQL}))",
                (stamp, offer_id, user.telegram_id, stamp, *OPEN_VALUES),
            )
            if changed.rowcount != 1:
                return self._answer_state(conn, offer_id, user, OfferStatus.accepted)
            offer = select_one(
                conn, "SELECT case_id FROM mediation_offers WHERE id = ?", (offer_id,)
            )
            case_id = int(offer[0])
            conn.execute(
                "UPDATE cases SET mediator_id = ?, updated_at = ? WHERE id = ?"
                " AND mediator_id IS NULL",
                (user.telegram_id, stamp, case_id),
            )
            add_event(
                conn,
                case_id,
                at=stamp,
                actor_id=user.telegram_id,
                actor_role="mediator",
                kind="mediation_accepted",
                detail={"offer_id": offer_id},
            )
            case = self._case(conn, case_id)
            contact = self._tell_citizen(conn, case, user.telegram_id, now)
            return Result(Outcome.done, case_id, str(case["number"]), {"contact_due": contact})

        return await self.db.run(work)

    async def decline(
        self, offer_id: int, user: User, reason: DeclineReason, text: str | None = None
    ) -> Result:
        """The offered mediator declines, with a reason; the case passes to the next. A
        conflict of interest given as the reason is recorded: never offered to them again."""
        now = self.clock.now()
        stamp = to_db(now)
        note = (text or "").strip()[:MAX_REASON] or None

        def work(conn: Connection) -> Result:
            changed = conn.execute(
                "UPDATE mediation_offers SET status = 'declined', answered_at = ?,"
                " reason_code = ?, reason = ? WHERE id = ? AND mediator_id = ?"
                " AND status = 'pending'",
                (stamp, reason.value, note, offer_id, user.telegram_id),
            )
            if changed.rowcount != 1:
                return self._answer_state(conn, offer_id, user, OfferStatus.declined)
            offer = select_one(
                conn, "SELECT case_id FROM mediation_offers WHERE id = ?", (offer_id,)
            )
            case_id = int(offer[0])
            if reason is DeclineReason.conflict:
                conn.execute(
                    "INSERT INTO mediator_conflicts(case_id, user_id, reason, declared_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (case_id, user.telegram_id, note, stamp),
                )
            add_event(
                conn,
                case_id,
                at=stamp,
                actor_id=user.telegram_id,
                actor_role="mediator",
                kind="mediation_declined",
                detail={"offer_id": offer_id, "reason": reason.value, "note": note},
            )
            case = self._case(conn, case_id)
            if case["status"] in OPEN_VALUES and case["mediator_id"] is None:
                self._offer_next(conn, case, now)
            return Result(Outcome.done, case_id, str(case["number"]))

        return await self.db.run(work)

    async def declare_conflict(self, user: User, number: str, reason: str | None) -> Result:
        """A mediator who finds a conflict of interest (回避) on a case they hold, or one
        offered to them, steps aside: the case is handed on and never offered to them again."""
        now = self.clock.now()
        stamp = to_db(now)
        note = (reason or "").strip()[:MAX_REASON] or None

        def work(conn: Connection) -> Result:
            case = select_one(
                conn,
                "SELECT id FROM cases WHERE number = ? AND procedure = 'mediation'",
                (number.strip().upper(),),
            )
            if case is None:
                return Result(Outcome.refused)
            case_id = int(case[0])
            pending = select_one(
                conn,
                "SELECT id FROM mediation_offers WHERE case_id = ? AND mediator_id = ?"
                " AND status = 'pending'",
                (case_id, user.telegram_id),
            )
            if pending is not None:
                conn.execute(
                    "UPDATE mediation_offers SET status = 'declined', answered_at = ?,"
                    " reason_code = 'conflict', reason = ? WHERE id = ?",
                    (stamp, note, pending[0]),
                )
                kind = "mediation_declined"
            else:
                # Only an open case is handed on: a closed one keeps the mediator who
                # mediated it (its record must still say who did).
                changed = conn.execute(
                    "UPDATE cases SET mediator_id = NULL, updated_at = ? WHERE id = ?"
                    f" AND mediator_id = ? AND status IN ({OPEN_SQL})",
                    (stamp, case_id, user.telegram_id, *OPEN_VALUES),
                )
                if changed.rowcount != 1:
                    held = select_one(
                        conn,
                        "SELECT 1 FROM cases WHERE id = ? AND mediator_id = ?",
                        (case_id, user.telegram_id),
                    )
                    if held is not None:
                        return Result(Outcome.stale, case_id, number)
                    return Result(Outcome.refused)
                kind = "mediation_handed_over"
            conn.execute(
                "INSERT INTO mediator_conflicts(case_id, user_id, reason, declared_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (case_id, user.telegram_id, note, stamp),
            )
            add_event(
                conn,
                case_id,
                at=stamp,
                actor_id=user.telegram_id,
                actor_role="mediator",
                kind=kind,
                detail={"reason": DeclineReason.conflict.value, "note": note},
            )
            row = self._case(conn, case_id)
            if row["status"] in OPEN_VALUES:
                self._offer_next(conn, row, now)
            return Result(Outcome.done, case_id, number)

        return await self.db.run(work)
