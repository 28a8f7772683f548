"""What the agency a petition was handed to does: accept it (XF 23(3)), object within five
working days, conclude it with a handling opinion (XF 32), ask for an extension (XF 34)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from cases.org.users import Role, User
from cases.petitions.reading import HandoverReading
from cases.petitions.records import (
    AGENCY_ACCEPTED,
    AGENCY_ROLES,
    ALREADY,
    APPROVED,
    CONCLUDED,
    EXTENSION_APPROVED,
    EXTENSION_IMPOSSIBLE,
    EXTENSION_PENDING,
    EXTENSION_REFUSED,
    EXTENSION_REQUESTED,
    MAX_OPINION_TEXT,
    MAX_REASON,
    NO_EXTENSION_LEFT,
    NOT_ALLOWED,
    OBJECTED,
    OBJECTION_ENDED,
    OBJECTION_REFUSED,
    OFFICE_ROLES,
    OPINION_MISSING,
    OPINION_TOO_LONG,
    PERIOD_ENDED,
    REASON_MISSING,
    REFUSED,
    RETURNED,
    HandoverNotice,
    Outcome,
    Result,
    basis_of,
    clean_typed,
    due_of,
    objection_key,
    set_case_status,
    x3_met,
)
from cases.procedures.access import extension_left, may_approve_extension, staff_case_view
from cases.procedures.actions import (
    MAX_REPLY_FILES,
    ReplyFile,
    staff_event,
)
from cases.procedures.case_clocks import (
    ClockError,
    ExtensionChanged,
    cancel_case_deadlines,
    extend_deadline,
    mark_met,
    open_deadline,
)
from cases.procedures.deadline_records import get_deadline
from cases.procedures.statuses import CaseStatus
from cases.procedures.transitions import Notice
from cases.store.db import row_in


class AgencySteps(HandoverReading):
    """The agency's side of the hand-over, and the steps both sides share."""

    # -- the agency ---------------------------------------------------------------------------

    async def accept(self, case_id: int, user: User) -> Result:
        """受理 by the agency (XF 23(3), X3 met): the citizen is told by the agency; X4 runs."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return NOT_ALLOWED
        if view.handover.status != "assigned":
            return ALREADY
        await self._close_met(case_id, ("X3",), user)
        today = self.today()
        now = self._now()
        agency = self.org.agency(user.unit or "")
        async with self._db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE petition_handovers SET status = 'accepted', accepted_by = ?,"
                " accepted_on = ? WHERE id = ? AND status = 'assigned'",
                (user.telegram_id, today.isoformat(), view.handover.id),
            )
            if changed.rowcount != 1:
                return ALREADY
            await self._agencies.cancel(conn, objection_key(view.handover.id))
            if not await set_case_status(
                conn, case_id, CaseStatus.submitted, CaseStatus.accepted, now
            ):
                raise RuntimeError(f"petition {case_id} left 'submitted' while assigned")
            x4 = await open_deadline(
                conn,
                case_id,
                "X4",
                today,
                clock=self._clock,
                actor_id=user.telegram_id,
                engine=self._engine,
            )
            due, provisional = await due_of(conn, x4)
            facts = {"accepted_on": today.isoformat(), "conclude_due": due}
            await staff_event(
                conn,
                case_id,
                now,
                user,
                AGENCY_ACCEPTED,
                {**facts, "agency_id": agency.id, "agency_name": agency.name},
            )
            await self._notify(
                conn,
                case_id,
                HandoverNotice.agency_accepted,
                {
                    **facts,
                    "agency": agency.name,
                    "provisional": provisional,
                    **basis_of("XF", "23", "第三款", "(3)"),
                },
                f"notice:{AGENCY_ACCEPTED}:{view.handover.id}",
            )
        return Result(Outcome.done, facts={**facts, "provisional": provisional})

    async def conclude(
        self, case_id: int, user: User, *, text: str, files: Sequence[ReplyFile] = ()
    ) -> Result:
        """The written 信访处理意见书 (XF 32, 34): X4 met; the citizen receives the text, then
        the closing notice with the 复查 window (X5, XF 35) and its button."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return NOT_ALLOWED
        if view.handover.status != "accepted":
            return ALREADY
        text = (text or "").strip()
        if len(text) > MAX_OPINION_TEXT or len(files) > MAX_REPLY_FILES:
            return Result(Outcome.refused, OPINION_TOO_LONG)
        if not text:
            return Result(Outcome.refused, OPINION_MISSING)
        await self._close_met(case_id, ("X4",), user, late_ok=True)
        today = self.today()
        now = self._now()
        agency = self.org.agency(user.unit or "")
        following = self.engine.compute("X5", today)
        async with self._db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE petition_handovers SET status = 'concluded', concluded_by = ?,"
                " concluded_on = ? WHERE id = ? AND status = 'accepted'",
                (user.telegram_id, today.isoformat(), view.handover.id),
            )
            if changed.rowcount != 1:
                return ALREADY
            if not await set_case_status(
                conn, case_id, CaseStatus.accepted, CaseStatus.decided, now
            ):
                raise RuntimeError(f"petition {case_id} left 'accepted' while handled")
            await cancel_case_deadlines(
                conn, case_id, reason="decided", actor_id=user.telegram_id, clock=self._clock
            )
            facts = {
                "decided_on": today.isoformat(),
                "next_due": following.due.isoformat(),
                "provisional": following.provisional,
            }
            await staff_event(
                conn,
                case_id,
                now,
                user,
                CONCLUDED,
                {
                    **facts,
                    "agency_id": agency.id,
                    "agency_name": agency.name,
                    "text": text,
                    "files": [f.model_dump() for f in files],
                },
            )
            await self._notify(
                conn,
                case_id,
                HandoverNotice.opinion,
                {"agency": agency.name, "opinion": text, "files": len(files)},
                f"notice:{HandoverNotice.opinion}:{view.handover.id}",
            )
            await self._notify(
                conn,
                case_id,
                Notice.concluded,
                {**facts, **basis_of("XF", "35")},
                f"notice:concluded:{case_id}",
            )
        return Result(Outcome.done, facts=facts)

    async def object(self, case_id: int, user: User, *, reason: str) -> Result:
        """异议 (XF 23(3)): the agency finds the matter outside its competence and says why,
        within 5 working days of the assignment (X3a). The materials go back only once the
        office agrees (:meth:`decide_objection`); meanwhile X3 runs and the agency may still
        accept. Not a closure: the case stays open."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return NOT_ALLOWED
        if view.handover.status != "assigned":
            return ALREADY
        reason = clean_typed(reason, MAX_REASON)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        if not view.may_object:
            due = view.objection_due.isoformat() if view.objection_due else ""
            return Result(Outcome.refused, OBJECTION_ENDED, {"objection_due": due})
        office = self.org.office_for_role("petition")
        clerks = await self._agencies.people([Role.office_staff], office.id if office else "")
        agency = self.org.agency(user.unit or "")
        now = self._now()
        async with self._db.transaction() as conn:
            if await x3_met(conn, case_id):
                return ALREADY  # an "accept" press is under way (it meets X3 first)
            changed = await conn.execute(
                "UPDATE petition_handovers SET objection_reason = ?, objected_by = ?,"
                " objected_at = ? WHERE id = ? AND status = 'assigned'"
                " AND objection_reason IS NULL",
                (reason, user.telegram_id, now, view.handover.id),
            )
            if changed.rowcount != 1:
                return ALREADY
            await self._agencies.cancel(conn, objection_key(view.handover.id))
            detail = {"agency_id": agency.id, "agency_name": agency.name, "reason": reason}
            await staff_event(conn, case_id, now, user, OBJECTED, detail)
            for person in clerks:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.returned,
                    {
                        "agency": agency.name,
                        "reason": reason,
                        **basis_of("XF", "23", "第三款", "(3)"),
                    },
                    f"notice:{RETURNED}:{view.handover.id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts={"agency": agency.name})

    async def decide_objection(self, case_id: int, user: User, *, agree: bool) -> Result:
        """XF 23(3) "经转送、交办机关核实同意后，交还相关材料": the petition office agrees (the
        handover is returned, X3 stops, the office assigns or transfers it again) or not (the
        agency must handle it; X3 runs on)."""
        if (
            user.role not in OFFICE_ROLES
            or await staff_case_view(self._db, case_id, user, self._engine) is None
        ):
            return NOT_ALLOWED
        handover = await self.live(case_id)
        if handover is None or not handover.objection_pending or handover.agency_id is None:
            return ALREADY
        agency = self.org.agency(handover.agency_id)
        people = await self._agencies.people(list(AGENCY_ROLES), agency.id)
        now = self._now()
        facts: dict[str, Any] = {"agency": agency.name}
        async with self._db.transaction() as conn:
            pending = (
                " WHERE id = ? AND status = 'assigned' AND objection_reason IS NOT NULL"
                " AND objection_refused_at IS NULL"
            )
            if agree:
                if await x3_met(conn, case_id):
                    return ALREADY  # the agency's "accept" is under way (it meets X3 first)
                changed = await conn.execute(
                    "UPDATE petition_handovers SET status = 'returned'" + pending,
                    (handover.id,),
                )
            else:
                changed = await conn.execute(
                    "UPDATE petition_handovers SET objection_refused_at = ?" + pending,
                    (now, handover.id),
                )
            if changed.rowcount != 1:
                return ALREADY
            detail = {
                "agency_id": agency.id,
                "agency_name": agency.name,
                "reason": handover.objection_reason,
            }
            params: dict[str, Any] = {**basis_of("XF", "23", "第三款", "(3)")}
            if agree:
                # The duty to tell the petitioner (X3) goes back with it: on a petition still
                # at the office and assigned, X3 is its only running clock (X1 was met).
                await cancel_case_deadlines(
                    conn, case_id, reason=RETURNED, actor_id=user.telegram_id, clock=self._clock
                )
                await staff_event(conn, case_id, now, user, RETURNED, detail)
            else:
                await staff_event(conn, case_id, now, user, OBJECTION_REFUSED, detail)
                x3 = await row_in(
                    conn,
                    "SELECT due_on FROM case_deadlines WHERE case_id = ? AND rule_id = 'X3'"
                    " AND status = 'open'",
                    (case_id,),
                )
                params |= {"rule_id": "X3", "x3_due": x3[0] if x3 else None}
                facts["x3_due"] = params["x3_due"]
            kind = HandoverNotice.objection_agreed if agree else HandoverNotice.objection_refused
            for person in people:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    kind,
                    params,
                    f"notice:{kind}:{handover.id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts=facts)

    async def request_extension(
        self, case_id: int, user: User, *, days: int, reason: str
    ) -> Result:
        """XF 34: the agency asks; its head approves (:meth:`decide_extension`)."""
        view = await self.agency_view(case_id, user)
        if view is None:
            return NOT_ALLOWED
        x4 = view.running("X4")
        if view.handover.status != "accepted" or x4 is None or x4.status != "open":
            return ALREADY
        if view.period_ended:
            return Result(Outcome.refused, PERIOD_ENDED, {"conclude_due": x4.due_on.isoformat()})
        reason = clean_typed(reason, MAX_REASON)
        if not reason:
            return Result(Outcome.refused, REASON_MISSING)
        left = extension_left(x4, self._engine)
        if (left is not None and (left <= 0 or days > left)) or days < 1:
            return Result(Outcome.refused, NO_EXTENSION_LEFT)
        heads = await self._agencies.people([Role.agency_head], user.unit or "")
        now = self._now()
        async with self._db.transaction() as conn:
            # One request waits at a time (a unique index): a second is refused, and the
            # unit still commits (DO NOTHING keeps the transaction usable on PostgreSQL).
            inserted = await row_in(
                conn,
                "INSERT INTO petition_extension_requests(case_id, handover_id, days, reason,"
                " requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (case_id, view.handover.id, days, reason, user.telegram_id, now),
            )
            if inserted is None:
                return Result(Outcome.refused, EXTENSION_PENDING)
            request_id = int(inserted[0])
            detail = {
                "days": days,
                "reason": reason,
                "request_id": request_id,
                "base_extension_days": x4.extension_days,
            }
            await staff_event(conn, case_id, now, user, EXTENSION_REQUESTED, detail)
            params = {
                "rule_id": "X4",
                "days": days,
                "reason": reason,
                "conclude_due": x4.due_on.isoformat(),
                "requester": user.display_name or "",
            }
            for person in heads:
                if person.chat_id == user.telegram_id:
                    continue
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.extension_requested,
                    params,
                    f"notice:{EXTENSION_REQUESTED}:{request_id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts={"days": days})

    async def decide_extension(
        self, case_id: int, user: User, *, request_id: int, approve: bool
    ) -> Result:
        """The head of the agency (or an administrator) approves or refuses. Approval extends
        X4 once (the request remembers the extension total it was made at) and tells the
        citizen the reason (XF 34)."""
        view = await self.page_view(case_id, user)
        if view is None:
            return NOT_ALLOWED
        pending = view.pending_extension
        x4 = view.running("X4")
        if pending is None or pending.id != request_id or x4 is None:
            return ALREADY
        if not may_approve_extension(x4, user, self._engine):
            return NOT_ALLOWED
        agency_id = view.handover.agency_id or ""
        base = await self._db.fetch_value(
            # Compared as text: json_extract is the JSON number on SQLite, text on PostgreSQL.
            "SELECT json_extract(detail, '$.base_extension_days') FROM case_events"
            " WHERE case_id = ? AND kind = ?"
            " AND CAST(json_extract(detail, '$.request_id') AS TEXT) = ?",
            (case_id, EXTENSION_REQUESTED, str(request_id)),
        )
        new_due = x4.due_on
        if approve:
            try:
                new_due = await extend_deadline(
                    self._db,
                    x4.id,
                    user.telegram_id,
                    pending.days,
                    pending.reason,
                    self._clock,
                    engine=self._engine,
                    expected_days=int(base or 0),
                )
            except ExtensionChanged:
                stored = await get_deadline(self._db, x4.id, self._engine)
                new_due = stored.due_on if stored else x4.due_on  # an earlier press extended
            except ClockError:
                # The period ended meanwhile, or the 30 days are used (its English message is
                # for the log, not for the head who pressed).
                return Result(Outcome.refused, EXTENSION_IMPOSSIBLE)
        stored = await get_deadline(self._db, x4.id, self._engine)
        provisional = bool(stored and stored.provisional)
        liaisons = await self._agencies.people([Role.agency_liaison], agency_id)
        now = self._now()
        async with self._db.transaction() as conn:
            if approve:
                # The extension is in the clock now (this press or a double press of it):
                # the request says approved even if a refusal slipped in between.
                changed = await conn.execute(
                    "UPDATE petition_extension_requests SET status = 'approved',"
                    " decided_by = ?, decided_at = ? WHERE id = ? AND status != 'approved'",
                    (user.telegram_id, now, request_id),
                )
            else:
                # A refusal stands only while the extension was not granted meanwhile.
                changed = await conn.execute(
                    "UPDATE petition_extension_requests SET status = 'refused', decided_by = ?,"
                    " decided_at = ? WHERE id = ? AND status = 'pending' AND (SELECT"
                    " extension_days FROM case_deadlines WHERE id = ?) = ?",
                    (user.telegram_id, now, request_id, x4.id, int(base or 0)),
                )
            if changed.rowcount != 1:
                return ALREADY
            await staff_event(
                conn,
                case_id,
                now,
                user,
                EXTENSION_APPROVED if approve else EXTENSION_REFUSED,
                {"days": pending.days, "request_id": request_id},
            )
            if approve:
                await self._notify(
                    conn,
                    case_id,
                    Notice.extended,
                    {
                        "what_msgid": self.engine.rule("X4").title,
                        "old_due": x4.due_on.isoformat(),
                        "new_due": new_due.isoformat(),
                        "days": pending.days,
                        "reason": pending.reason,
                        "provisional": provisional,
                        **basis_of("XF", "34"),
                    },
                    f"notice:extended:{x4.id}:{request_id}",
                )
            for person in liaisons:
                await self._agencies.queue(
                    conn,
                    case_id,
                    person,
                    HandoverNotice.extension_decided,
                    {
                        "rule_id": "X4",
                        "days": pending.days,
                        "decision_msgid": APPROVED if approve else REFUSED,
                        "conclude_due": new_due.isoformat(),
                    },
                    f"notice:{HandoverNotice.extension_decided}:{request_id}:{person.chat_id}",
                )
        return Result(Outcome.done, facts={"new_due": new_due.isoformat(), "approved": approve})

    # -- steps -----------------------------------------------------------------------------

    async def already_or_not(self, case_id: int, user: User) -> Result:
        """A press on a petition this person may see but that has moved on: already; any
        other: not allowed."""
        if user.role in OFFICE_ROLES and await staff_case_view(
            self._db, case_id, user, self._engine
        ):
            return ALREADY
        return NOT_ALLOWED

    async def _close_met(
        self, case_id: int, rules: tuple[str, ...], user: User, *, late_ok: bool = False
    ) -> None:
        statuses = ("open", "missed") if late_ok else ("open",)
        rows = await self._db.fetch_all(
            "SELECT id, rule_id FROM case_deadlines WHERE case_id = ?"
            f" AND status IN ({','.join('?' for _ in statuses)})",
            (case_id, *statuses),
        )
        for row in rows:
            if row["rule_id"] in rules:
                with contextlib.suppress(ClockError):
                    await mark_met(
                        self._db,
                        row["id"],
                        user.telegram_id,
                        self.today(),
                        self._clock,
                        late_ok=late_ok,
                    )
