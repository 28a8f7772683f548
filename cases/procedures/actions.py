"""What staff do to a case: one executor for every row of the transition table.

Staff actions are data: the transition table of ``cases.procedures.transitions`` (which action
starts from which status, for which roles and unit scope, with which clocks, event, notice and
article) is executed by one template, :meth:`CaseActions.run`, and read by
``cases.procedures.access.available_actions`` for the buttons. Every action is re-authorised
against the stored case on every call, and every status change is a compare-and-set (``WHERE
status = <expected>``), so a second press of the same button (or a button from before the case
moved on) changes nothing and reports :attr:`Outcome.already`.


Units of work. The clock operations that take a connection (``open_deadline``,
``cancel_case_deadlines``) run inside the action's own transaction together with the status, the
event and the citizen's notice. Those that open their own transaction (``mark_met``,
``pause_case``, ``resume_case``, ``extend_deadline``, ``cancel_deadline``) run first, as a
separate unit, and a failure because the clock is *already* in the wanted state is tolerated:
an action interrupted between the two units is completed by pressing the button again.

This module never sends anything: notices are outbox rows written through the injected
:data:`NoticeSink` (``scheduling.notices.queue_case_notice``), so ``cases/`` stays free of the
scheduler.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from cases.intake.form_engine import Procedure
from cases.law.deadline_rules import DeadlineEngine
from cases.org.users import User
from cases.procedures.access import (
    StaffCaseView,
    available_actions,
    extendable_deadline,
    extension_left,
    respondent_case_view,
    review_period_ended,
    staff_case_view,
    supply_period_ended,
)
from cases.procedures.action_steps import (
    ALREADY,
    DECISION_RULES,
    MAX_REPLY_FILES,
    MAX_REPLY_TEXT,
    NOT_ALLOWED,
    REPLY_TOO_LONG,
    REVIEW_PERIOD_ENDED,
    ActionInput,
    ActionResult,
    NoticeSink,
    Outcome,
    ReplyFile,
    basis_of,
    basis_params,
    copy_recorded,
    due_of,
    guards_of,
    notice_dedup_key,
    notice_params,
    receipt_refused,
    reply_recorded,
    running_due,
    staff_event,
    transition_status,
    typed_params,
    variant_of,
)
from cases.procedures.case_clocks import (
    cancel_case_deadlines,
    cancel_deadline,
    extend_deadline,
    mark_met,
    open_deadline,
    pause_case,
    resume_case,
)
from cases.procedures.deadline_records import (
    CaseDeadline,
    ClockError,
    ExtensionChanged,
    get_deadline,
    open_deadlines,
)
from cases.procedures.deadline_recount import expire_acceptance_reviews
from cases.procedures.statuses import CaseStatus
from cases.procedures.transitions import (
    DUE_KEYS,
    PETITION_FORWARDED_TO,
    ROLE_SCOPE,
    Action,
    Guard,
    Notice,
    Scope,
    Transition,
    roles_acting_on,
    transition_for,
)
from cases.store.db import Database, UnitConnection, row_in
from cases.store.time import Clock, legal_today, to_db


class CaseActions:
    """The executor of the transition table (``cases.procedures.transitions``): what office staff,
    administrators and mediators do to a case (DESIGN.md roles), one template for all."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notify: NoticeSink,
        *,
        engine: DeadlineEngine,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notify = notify
        self.engine = engine

    def _now(self) -> str:
        return to_db(self._clock.now())

    def today(self) -> date:
        return legal_today(self._clock)

    # -- what a handler shows: the case as this person may see it, and their actions ------

    async def staff_view(self, case_id: int, user: User) -> StaffCaseView | None:
        """The case page for staff; None when this person may not open it."""
        return await staff_case_view(self._db, case_id, user, self.engine)

    async def respondent_view(self, case_id: int, user: User) -> StaffCaseView | None:
        """The respondent agency's view of a reconsideration it answers (FY 48)."""
        return await respondent_case_view(self._db, case_id, user, self.engine)

    def available(self, view: StaffCaseView, user: User) -> tuple[Action, ...]:
        """The actions this person may take on the case today (the table's rows)."""
        return available_actions(view, user, self.engine, today=self.today())

    def extension_left(self, deadline: CaseDeadline) -> int | None:
        """Days still grantable on this deadline (None: no cap in law)."""
        return extension_left(deadline, self.engine)

    # -- the one entry point ----------------------------------------------------------------

    async def run(
        self, action: Action, case_id: int, user: User, given: ActionInput | None = None
    ) -> ActionResult:
        """Authorise, then: the clock steps that keep their own unit (met, pause, resume,
        cancel; tolerated when an earlier press did them), then one unit with the
        compare-and-set status change, the clocks started or stopped, the event and the
        citizen's notice. A double press or a race finds the status moved: ``already``."""
        given = given or ActionInput()
        if Guard.review_period in guards_of(action):
            ended = await self._review_ended(case_id, user)
            if ended is not None:
                return ended
        view, stop = await self._authorise(case_id, user, action)
        if stop or view is None:
            return stop or NOT_ALLOWED
        row = transition_for(action, view.procedure, variant_of(action, view, given))
        if row is None:
            return ALREADY
        if row.extend:
            return await self._extend(view, row, user, given)
        today = self.today()
        on = today
        facts: dict[str, Any] = {}
        if action is Action.copy_sent:
            refused = receipt_refused(view, given.received_on, today)
            if refused is not None:
                return refused
            assert given.received_on is not None
            on = given.received_on
        ended: date | None = None
        if action is Action.accept and view.procedure is Procedure.reconsideration:
            # FY 30(3): "审查期限届满之日起视为受理": the F5 last day, if it has passed.
            ended = review_period_ended(view, today) or await self._deemed_on(case_id)
            on = ended or today
        if Guard.supply_ended in row.guards:
            supply_due = supply_period_ended(view, today)
            assert supply_due is not None  # available_actions offers it only then
            facts["supply_due"] = supply_due.isoformat()
        # Clock steps in their own units (an interrupted action completes on a second press).
        await self._close_met(
            view.id, row.met, user, on=on if action is Action.copy_sent else None
        )
        if Guard.reply_once in row.guards:
            # A reply after F10 passed is still the reply: the chase-up and the overdue
            # report stop (the lateness stays recorded, FY 70).
            await self._close_missed(view.id, row.met, user)
        if row.pause:
            try:
                await pause_case(
                    self._db,
                    view.id,
                    row.pause,
                    today,
                    user.telegram_id,
                    self._clock,
                    engine=self.engine,
                )
            except ClockError:
                nothing_paused = not any(d.status == "paused" for d in view.deadlines)
                if row.pause == "suspension" and nothing_paused:
                    return ActionResult(Outcome.refused, error="no running clock to suspend")
        if row.resume:
            with contextlib.suppress(ClockError):  # resumed by an earlier press
                await resume_case(
                    self._db, view.id, today, user.telegram_id, self._clock, engine=self.engine
                )
        for deadline in await open_deadlines(self._db, view.id, self.engine) if row.cancel else ():
            if deadline.rule_id in row.cancel:
                with contextlib.suppress(ClockError):
                    await cancel_deadline(
                        self._db, deadline.id, user.telegram_id, row.event or "", self._clock
                    )
        target = row.target or view.status
        now = self._now()
        async with self._db.transaction() as conn:
            if not await transition_status(conn, view.id, view.status, target, now):
                return ALREADY
            if Guard.copy_once in row.guards and await copy_recorded(conn, view.id):
                return ALREADY
            if Guard.reply_once in row.guards and await reply_recorded(conn, view.id):
                return ALREADY
            if row.stop_all:
                await cancel_case_deadlines(
                    conn,
                    view.id,
                    reason=row.stop_all,
                    actor_id=user.telegram_id,
                    clock=self._clock,
                )
            if row.on_key:
                facts[row.on_key] = on.isoformat()
            for rule_id in row.start:
                simplified = rule_id in SIMPLIFIED_RULES and (
                    row.variant == "simplified" or view.simplified
                )
                due, provisional = await self._open_or_running(
                    conn, view.id, rule_id, on, user, simplified=simplified
                )
                if rule_id in DUE_KEYS:
                    facts[DUE_KEYS[rule_id]], facts["provisional"] = due, provisional
            if row.report_due:
                due, provisional = await running_due(conn, view.id, row.report_due)
                facts[DUE_KEYS[row.report_due[0]]], facts["provisional"] = due, provisional
            if row.next_rule:
                following = self.engine.compute(row.next_rule, today)
                facts["next_due"] = following.due.isoformat()
                facts["provisional"] = following.provisional
            forwarded_to = PETITION_FORWARDED_TO.get(row.variant or "")
            if forwarded_to:
                facts["forwarded_to"] = forwarded_to
            detail = {**facts, **typed_params(action, given)}
            if action is Action.accept:
                detail.update(simplified=row.variant == "simplified")
                if ended is not None:
                    detail.update(after_review_period=True)
            if action is Action.copy_sent:
                detail.update(simplified=view.simplified)
            if row.event:
                await staff_event(conn, view.id, now, user, row.event, detail)
            if row.notice:
                await self._notify(
                    conn,
                    view.id,
                    Notice.accepted_after_review if ended else row.notice,
                    notice_params(row, detail, facts),
                    notice_dedup_key(row, view.id, today),
                )
        return ActionResult(Outcome.done, target, facts)

    # -- steps ------------------------------------------------------------------------------

    async def _authorise(
        self, case_id: int, user: User, action: Action
    ) -> tuple[StaffCaseView | None, ActionResult | None]:
        """Re-read the case and the person's rights; (view, None) when the action may run."""
        view = await staff_case_view(self._db, case_id, user, self.engine)
        if view is None and ROLE_SCOPE.get(user.role) is Scope.respondent:
            view = await respondent_case_view(self._db, case_id, user, self.engine)
        if view is None or user.role not in roles_acting_on(view.procedure):
            return None, NOT_ALLOWED
        if action not in available_actions(view, user, self.engine, today=self.today()):
            return view, ALREADY
        return view, None

    async def _close_met(
        self, case_id: int, rules: tuple[str, ...], user: User, on: date | None = None
    ) -> None:
        """Record a clock as met (today unless ``on``); already closed (an earlier press) is
        fine."""
        if not rules:
            return
        for deadline in await open_deadlines(self._db, case_id, self.engine):
            if deadline.rule_id in rules:
                with contextlib.suppress(ClockError):
                    await mark_met(
                        self._db, deadline.id, user.telegram_id, on or self.today(), self._clock
                    )

    async def _close_missed(self, case_id: int, rules: tuple[str, ...], user: User) -> None:
        """A missed clock whose act was done late after all: met, with the lateness."""
        for row in await self._db.fetch_all(
            "SELECT id, rule_id FROM case_deadlines WHERE case_id = ? AND status = 'missed'",
            (case_id,),
        ):
            if row["rule_id"] in rules:
                with contextlib.suppress(ClockError):
                    await mark_met(
                        self._db,
                        row["id"],
                        user.telegram_id,
                        self.today(),
                        self._clock,
                        late_ok=True,
                    )

    async def _open_or_running(
        self,
        conn: UnitConnection,
        case_id: int,
        rule_id: str,
        trigger: date,
        user: User,
        *,
        simplified: bool = False,
    ) -> tuple[str, bool]:
        """Open a clock, or take the one already running: the scheduler's deemed acceptance
        (FY 30(3)) may have opened F9 and F12 a moment before staff pressed "accept"."""
        running = await row_in(
            conn,
            "SELECT id FROM case_deadlines WHERE case_id = ? AND rule_id = ?"
            " AND status IN ('open', 'paused')",
            (case_id, rule_id),
        )
        if running is not None:
            return await due_of(conn, int(running[0]))
        deadline_id = await open_deadline(
            conn,
            case_id,
            rule_id,
            trigger,
            simplified=simplified,
            clock=self._clock,
            actor_id=user.telegram_id,
            engine=self.engine,
        )
        return await due_of(conn, deadline_id)

    async def _deemed_on(self, case_id: int) -> date | None:
        """The F5 last day when the scheduler already marked F5 missed (FY 30(3)) but has not
        yet recorded the acceptance: staff pressing "accept" in that moment keep its date."""
        row = await self._db.fetch_one(
            "SELECT due_on, status FROM case_deadlines WHERE case_id = ? AND rule_id = 'F5'"
            " ORDER BY id DESC LIMIT 1",
            (case_id,),
        )
        if row is None or row["status"] != "missed":
            return None
        return date.fromisoformat(row["due_on"])

    async def _review_ended(self, case_id: int, user: User) -> ActionResult | None:
        """FY 30(2)-(3): 补正 and 不予受理 belong to the review period; once F5 has passed the
        application is deemed accepted (even before the scheduler records it)."""
        view = await staff_case_view(self._db, case_id, user, self.engine)
        if view is None or view.status is not CaseStatus.submitted:
            return None
        ended = review_period_ended(view, self.today())
        if ended is None:
            return None
        return ActionResult(
            Outcome.refused,
            view.status,
            {"review_due": ended.isoformat()},
            error=REVIEW_PERIOD_ENDED,
        )

    async def _extend(
        self, view: StaffCaseView, row: Transition, user: User, given: ActionInput
    ) -> ActionResult:
        """延长 F12 (FY 62(1)) or X4 (XF 34); the applicant's 补正 period F7 ("合理的补正期限",
        FY 31(2), in working days). The acting person is the approver; the citizen is told
        the new date and the reason. ``expected_total`` is the extension the button was shown
        with: a second press finds a different total and does nothing. The clock's own unit
        holds that compare-and-set (``extend_deadline``); the notice follows in a second."""
        deadline = extendable_deadline(view, row.extend)
        if deadline is None or deadline.extension_days != given.expected_total:
            return ALREADY
        try:
            new_due = await extend_deadline(
                self._db,
                deadline.id,
                user.telegram_id,
                given.days,
                given.reason,
                self._clock,
                engine=self.engine,
                expected_days=given.expected_total,
            )
        except ExtensionChanged:
            return ALREADY  # a second approver's simultaneous press: one extension only
        except ClockError as error:
            return ActionResult(Outcome.refused, error=str(error))
        stored = await get_deadline(self._db, deadline.id, self.engine)
        provisional = bool(stored and stored.provisional)
        total = deadline.extension_days + given.days
        params: dict[str, Any] = {
            "old_due": deadline.due_on.isoformat(),
            "new_due": new_due.isoformat(),
            "days": given.days,
            "reason": given.reason,
            "provisional": provisional,
        }
        if row.action is Action.extend:
            params["what_msgid"] = self.engine.rule(deadline.rule_id).title
        assert row.notice is not None and row.basis is not None
        params.update(basis_of(row))
        async with self._db.transaction() as conn:
            await self._notify(
                conn, view.id, row.notice, params, f"notice:extended:{deadline.id}:{total}"
            )
        return ActionResult(
            Outcome.done, view.status, {"new_due": new_due.isoformat(), "provisional": provisional}
        )

    # -- the named actions (what the handler and the tests call) ----------------------------

    async def accept(self, case_id: int, user: User, *, simplified: bool = False) -> ActionResult:
        """受理 (FY 30; XF 29-31: a suggestion or a report is forwarded instead)."""
        return await self.run(Action.accept, case_id, user, ActionInput(simplified=simplified))

    async def refuse(self, case_id: int, user: User, reason: str) -> ActionResult:
        """不予受理 with reasons (FY 30(2)), within the review period only."""
        return await self.run(Action.refuse, case_id, user, ActionInput(reason=reason))

    async def request_correction(self, case_id: int, user: User, missing: str) -> ActionResult:
        """要求补正 (FY 31(1)): F5 stands still; the applicant's F7 runs from today."""
        return await self.run(Action.correct, case_id, user, ActionInput(missing=missing))

    async def correction_received(self, case_id: int, user: User) -> ActionResult:
        """补正材料已收到: F7 met; F5 restarts in full (FY 31(3)). Also after F7 passed, when
        the applicant had a good reason (FY 31(2) deems abandoned only "无正当理由")."""
        return await self.run(Action.corrected, case_id, user)

    async def deem_withdrawn(self, case_id: int, user: User) -> ActionResult:
        """视为放弃 (FY 31(2)): F7 passed without the material and without a good reason."""
        return await self.run(Action.deem_withdrawn, case_id, user)

    async def copy_sent(self, case_id: int, user: User, *, received_on: date) -> ActionResult:
        """申请书副本已发送 (FY 48, 54): F9 met on the receipt day (the latest the copy can
        have been sent); the respondent's F10 runs from it. Once only."""
        return await self.run(
            Action.copy_sent, case_id, user, ActionInput(received_on=received_on)
        )

    async def extend(
        self,
        case_id: int,
        user: User,
        *,
        days: int,
        reason: str,
        expected_total: int,
        action: Action = Action.extend,
    ) -> ActionResult:
        """延长 (F12, X4) or, with ``Action.extend_supply``, the 补正 period F7."""
        given = ActionInput(days=days, reason=reason, expected_total=expected_total)
        return await self.run(action, case_id, user, given)

    async def suspend(
        self, case_id: int, user: User, *, reason: str, terminating_ground: bool
    ) -> ActionResult:
        """中止 (FY 39): the case clocks stand still; on the grounds of FY 39(1) items 1, 2
        and 4 F17 starts (60 days, then 终止, FY 41)."""
        given = ActionInput(reason=reason, terminating_ground=terminating_ground)
        return await self.run(Action.suspend, case_id, user, given)

    async def resume(self, case_id: int, user: User) -> ActionResult:
        """恢复审理 (FY 39(2)): the paused clocks run on from today; F17 stops."""
        return await self.run(Action.resume, case_id, user)

    async def decide(self, case_id: int, user: User) -> ActionResult:
        """作出复议决定 (F12/F13 met) or, on a petition, 出具处理意见 (X4 met)."""
        view = await staff_case_view(self._db, case_id, user, self.engine)
        petition = view is not None and view.procedure is Procedure.petition
        return await self.run(Action.conclude if petition else Action.decide, case_id, user)

    async def reply_received(
        self,
        case_id: int,
        user: User,
        *,
        text: str = "",
        files: tuple[ReplyFile, ...] = (),
        paper: bool = False,
    ) -> ActionResult:
        """被申请人书面答复和证据已收到 (FY 48, 54): the liaison's reply in the chat, or the
        office recording a paper reply. F10 met; its reminders, chase-up and overdue report
        stop. Once only."""
        if len(text) > MAX_REPLY_TEXT or len(files) > MAX_REPLY_FILES:
            return ActionResult(Outcome.refused, error=REPLY_TOO_LONG)
        given = ActionInput(reply_text=text.strip(), reply_files=files, paper=paper)
        return await self.run(Action.reply_received, case_id, user, given)

    async def mediation_outcome(self, case_id: int, user: User, *, agreed: bool) -> ActionResult:
        """调解成功 (M1 starts: 司法确认, 民事诉讼法 Art 205) or 调解不成 (the other routes)."""
        return await self.run(Action.agreed if agreed else Action.failed, case_id, user)


SIMPLIFIED_RULES = frozenset({"F9", "F10", "F13"})
"""Clocks whose period differs in the simplified procedure (FY 53-54)."""


# -- deemed acceptance (FY 30(3)) ---------------------------------------------------------------


async def settle_deemed_acceptances(
    db: Database, clock: Clock, notify: NoticeSink, *, engine: DeadlineEngine
) -> list[int]:
    """F5 ended without a decision: the case is accepted as of the F5 last day (FY 30(3)).

    ``expire_acceptance_reviews`` closes F5 and opens F9 + F12/F13 (one unit); then, per case,
    one unit sets the status, writes the event and queues the citizen's notice. The second
    step finds its cases from the stored facts (F5 missed, status still 'submitted'), not from
    the first step's return value, so a crash between the two is repaired on the next tick.
    """
    await expire_acceptance_reviews(db, legal_today(clock), clock, engine=engine)
    rows = await db.fetch_all(
        "SELECT c.id, d.due_on FROM cases c JOIN case_deadlines d"
        " ON d.case_id = c.id AND d.rule_id = 'F5' AND d.status = 'missed'"
        " WHERE c.status = ? AND c.procedure = ?"
        " AND NOT EXISTS (SELECT 1 FROM case_deadlines r WHERE r.case_id = c.id"
        "   AND r.rule_id = 'F5' AND r.status IN ('open', 'paused'))"
        " ORDER BY c.id",
        (CaseStatus.submitted.value, Procedure.reconsideration.value),
    )
    accepted: list[int] = []
    for row in rows:
        case_id, accepted_on = int(row["id"]), str(row["due_on"])
        now = to_db(clock.now())
        async with db.transaction() as conn:
            if not await transition_status(
                conn, case_id, CaseStatus.submitted, CaseStatus.accepted, now
            ):
                continue
            await staff_event(
                conn, case_id, now, None, "accepted", {"accepted_on": accepted_on, "deemed": True}
            )
            decision_due, provisional = await running_due(conn, case_id, DECISION_RULES)
            await notify(
                conn,
                case_id,
                Notice.deemed_accepted,
                {
                    "accepted_on": accepted_on,
                    "decision_due": decision_due,
                    "provisional": provisional,
                    **basis_params("FY", "30", "第三款", "(3)"),
                },
                f"notice:deemed_accepted:{case_id}",
            )
        accepted.append(case_id)
    return accepted
