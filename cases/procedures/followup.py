"""After a case closes: what the citizen is offered next (issue 11).

- A rating of the handling (1-5, an optional comment), asked once when the case closes:
  decided (复议决定 / 信访处理意见), mediation agreement or failure, withdrawal. Ratings are
  stored per case for the statistics (:func:`rating_statistics`); no staff page reads them, so
  no staff member sees which citizen rated what.
- After a petition's written handling opinion: the 复查 request (X5, XF 35) in one press while
  its 30 days run (``IntakeService.request_review`` files it).
- After a failed mediation: the routes that remain (TJ 26), each with the command that starts
  it where this bot offers one.

Where the offer is made: the citizen's closure notice is the outbox row the staff action
writes (cases/procedures/actions.py); scheduling/sender.py renders it and adds the buttons of
:func:`closure_offers`. That is the one moment the citizen learns the case closed, it is sent
once (the row's dedup key), and it needed no change to the staff actions. A withdrawal is the
citizen's own act in /mycases, which offers the rating right there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.i18n import N_
from cases.store.db import Database
from cases.store.time import Clock, to_db

RATEABLE_STATUSES = ("decided", "settled", "closed", "withdrawn")
"""Case statuses after which the citizen is asked to rate (cases/procedures/statuses.py):
a decision or handling opinion, a mediation agreement (settled) or failure (closed), a
withdrawal. A refusal or a deemed abandonment is not a handling to rate."""

CLOSING_NOTICES = ("decided", "concluded", "mediation_agreed", "mediation_failed")
"""cases.procedures.actions.Notice kinds that tell the citizen their case closed."""

MAX_COMMENT = 500

RATE_PROMPT = N_("How satisfied are you with how your case was handled?")
RATE_BUTTON = N_("⭐ Rate the handling")
REVIEW_BUTTON = N_("Request a review (复查)")
MEDIATION_ROUTES = N_(
    "What you can still do:\n"
    "• Ask the competent administrative body to handle the matter: /petition\n"
    "• If an agency's decision is part of the dispute, apply for reconsideration within 60 "
    "days of learning of it: /reconsider\n"
    "• Apply for arbitration where the law provides for it (for example labour or land "
    "contract disputes), at the arbitration commission\n"
    "• Bring a lawsuit in the people's court (the court's hotline 12368 can help)"
)


class RatingOutcome(StrEnum):
    ok = "ok"
    not_found = "not_found"  # not this citizen's case
    open = "open"  # not closed (yet)
    already = "already"  # rated before: asked once


@dataclass(frozen=True)
class ClosureOffer:
    """A button under a closure notice: what it does, and its label (a msgid)."""

    action: str  # rate | review
    label: str


def closure_offers(notice: str) -> tuple[list[ClosureOffer], str | None]:
    """Buttons (and an extra text, a msgid) for the citizen's notice of this kind."""
    if notice not in CLOSING_NOTICES:
        return [], None
    offers = [ClosureOffer("rate", RATE_BUTTON)]
    if notice == "concluded":
        offers.insert(0, ClosureOffer("review", REVIEW_BUTTON))
    return offers, MEDIATION_ROUTES if notice == "mediation_failed" else None


class FollowUpService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def _check(self, case_id: int, user_id: int) -> RatingOutcome:
        row = await self._db.fetch_one(
            "SELECT c.status, r.score FROM cases c LEFT JOIN case_ratings r ON r.case_id = c.id"
            " WHERE c.id = ? AND c.citizen_id = ?",
            (case_id, user_id),
        )
        if row is None:
            return RatingOutcome.not_found
        if row[0] not in RATEABLE_STATUSES:
            return RatingOutcome.open
        if row[1] is not None:
            return RatingOutcome.already
        return RatingOutcome.ok

    async def may_rate(self, case_id: int, *, user_id: int) -> RatingOutcome:
        return await self._check(case_id, user_id)

    async def rate(self, case_id: int, *, user_id: int, score: int) -> RatingOutcome:
        """Store the score once; a second press (or an old button) changes nothing."""
        if not 1 <= score <= 5:
            return RatingOutcome.not_found
        outcome = await self._check(case_id, user_id)
        if outcome is not RatingOutcome.ok:
            return outcome
        now = to_db(self._clock.now())
        changed = await self._db.execute(
            "INSERT INTO case_ratings(case_id, asked_at, score, rated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(case_id) DO UPDATE SET score = excluded.score,"
            " rated_at = excluded.rated_at WHERE case_ratings.score IS NULL",
            (case_id, now, score, now),
        )
        return RatingOutcome.ok if changed == 1 else RatingOutcome.already

    async def comment(self, case_id: int, *, user_id: int, text: str) -> bool:
        """The optional comment, once, after the score."""
        changed = await self._db.execute(
            "UPDATE case_ratings SET comment = ? WHERE case_id = ? AND comment IS NULL"
            " AND score IS NOT NULL"
            " AND case_id IN (SELECT id FROM cases WHERE citizen_id = ?)",
            (text[:MAX_COMMENT], case_id, user_id),
        )
        return changed == 1


async def rating_statistics(db: Database) -> dict[str, tuple[int, float]]:
    """Per procedure: how many cases were rated and the mean score (no names, no cases)."""
    rows = await db.fetch_all(
        "SELECT c.procedure, count(*), avg(r.score) FROM case_ratings r"
        " JOIN cases c ON c.id = r.case_id WHERE r.score IS NOT NULL GROUP BY c.procedure"
    )
    return {row[0]: (int(row[1]), round(float(row[2]), 2)) for row in rows}
