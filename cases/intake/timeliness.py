"""Is a reconsideration application in time? F1/F2/F3/F4 at intake (FY 20, 21; FYSS 16): the
window, whether it has passed, and what the citizen is told before the question that matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cases.i18n import N_
from cases.intake.form_engine import NO, Answers, Note
from cases.law.deadline_rules import DeadlineEngine

DECISION = "decision"
INACTION = "inaction"
F1_PASSED = "_f1_passed"
"""Set by the service with every answer: the 60-day window (F1) from the day the citizen
learned of the decision has passed as of today (only then do the F2 questions matter)."""


LATE_NOTE = N_(
    "By the dates you gave, the time limit for applying ended on {date} ({basis}). You can "
    "still apply: if something you could not control kept you from applying in time, the "
    "period is extended by that time (《行政复议法》第二十条第二款)."
)


LONG_STOP_NOTE = N_(
    "By the dates you gave, the decision was made more than five years ago: the time limit "
    "ended on {date} ({basis}), and this limit cannot be extended. You can still submit the "
    "application; the office will decide whether it can accept it."
)


def late_note(answers: Answers, today: date, engine: DeadlineEngine) -> Note | None:
    window = timeliness(answers, today, engine)
    if not window.late or window.window_end is None:
        return None
    message = LATE_NOTE if window.extendable else LONG_STOP_NOTE
    return Note(message, {"date": window.window_end, "basis": window.basis})


@dataclass(frozen=True)
class Timeliness:
    """F1/F2/F3/F4 at intake: the window, and whether the application is already outside it."""

    window_end: date | None
    rule_id: str | None
    basis: str
    late: bool
    provisional: bool = False

    @property
    def extendable(self) -> bool:
        """FY 20(2) resumes the F1/F2 period after an obstacle; the FY 21 long stop is final."""
        return self.rule_id != "F3"


def timeliness(answers: Answers, today: date, engine: DeadlineEngine) -> Timeliness:
    if answers.get("act_kind") == INACTION:
        return _inaction_window(answers, today, engine)
    known = answers.get("known_date")
    if not known:
        return Timeliness(None, None, "", False)
    # F1 (FY 20(1)): 60 days from knowing. F2 (FY 20(3)): not told of the right, the body and
    # the period → at most one year from knowing the act (⚠ the 60 days then run from learning
    # of the right, which the form does not ask; the cap is what the bot can check). The
    # question is asked only once F1 has passed (within it F2 changes nothing), so an
    # unanswered question means F1.
    rule_id = "F2" if answers.get("rights_notified") == NO else "F1"
    window = engine.compute(rule_id, date.fromisoformat(str(known)))
    result = Timeliness(window.due, rule_id, window.basis, today > window.due, window.provisional)
    made = answers.get("act_date")
    if made:
        # F3 (FY 21): the long stop from the day the act was made caps every other window.
        long_stop = engine.compute("F3", date.fromisoformat(str(made)))
        if long_stop.due < window.due:
            result = Timeliness(
                long_stop.due, "F3", long_stop.basis, today > long_stop.due, long_stop.provisional
            )
    return result


def f1_passed(answers: Answers, today: date, engine: DeadlineEngine) -> bool:
    """The 60 days of F1 from the day the citizen learned of the decision are over: only then
    can F2 (rights not notified) or the manner of service (C12) change the outcome."""
    known = answers.get("known_date")
    if answers.get("act_kind") == INACTION or not known:
        return False
    return today > engine.compute("F1", date.fromisoformat(str(known))).due


def _inaction_window(answers: Answers, today: date, engine: DeadlineEngine) -> Timeliness:
    """F4 (FYSS 16): without a statutory performance period the agency has 60 days from the
    request; the F1 window of 60 days runs from the end of that period."""
    requested = answers.get("act_date")
    if not requested:
        return Timeliness(None, None, "", False)
    performance = engine.compute("F4", date.fromisoformat(str(requested)))
    window = engine.compute("F1", performance.due)
    basis = f"{performance.basis}、{window.basis}"
    return Timeliness(
        window.due,
        "F4",
        basis,
        today > window.due,
        performance.provisional or window.provisional,
    )
