"""The other party: consent, the one-time link, joining, refusal.

Mediation needs both sides: the mediator records whether the other party agrees, and may send
the applicant a one-time link (``t.me/<bot>?start=op_<token>``) to forward. Whoever opens it
joins as the other party with their own name and phone, sees only what concerns the
mediation, and receives the session notices. A refusal, recorded by the mediator or pressed by
the other party, ends the case (status ``closed``) and the applicant is told the routes that
remain (cases.procedures.followup.MEDIATION_ROUTES).

Only the SHA-256 of a token is kept: the token itself is in the applicant's outbox row only
until that message has gone (``scrub_sent_links``). A link is used once: the compare-and-set on
``used_at`` decides, so two people opening it together cannot both join.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cases.intake.validation import TextLimits, clean_text, parse_mobile
from cases.mediation.common import (
    MEDIATION_OPEN,
    OPEN_BUTTON,
    MediationCase,
    MediationSettings,
    Outbox,
    Outgoing,
    Person,
    Result,
    Side,
    acts_as_mediator,
    load_case,
    mediators,
)
from cases.mediation.sessions import plan_session_messages, scheduled_sessions
from cases.org.users import User
from cases.procedures.case_clocks import cancel_case_deadlines
from cases.procedures.history import append_event
from cases.procedures.statuses import CaseStatus
from cases.store.db import Connection, Database, UnitConnection, row_in
from cases.store.time import Clock, from_db, legal_today, to_db

LINK_PREFIX = "op_"
"""The deep-link payload prefix (``/start op_<token>``)."""


class LinkState(StrEnum):
    valid = "valid"
    unknown = "unknown"
    used = "used"
    expired = "expired"
    closed = "closed"  # the case ended
    own_case = "own_case"  # the applicant opened their own link
    joined = "joined"  # the person who used it opened it again


@dataclass(frozen=True)
class OtherParty:
    consent: str
    name: str | None
    phone: str | None
    user_id: int | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_name(text: str) -> str:
    return clean_text(text, max_len=TextLimits.NAME)


def parse_phone(text: str) -> str:
    return parse_mobile(text)


class PartyService:
    def __init__(
        self, db: Database, clock: Clock, outbox: Outbox, settings: MediationSettings
    ) -> None:
        self._db = db
        self._clock = clock
        self._outbox = outbox
        self._settings = settings

    async def case(self, case_id: int) -> MediationCase | None:
        async with self._db.transaction() as conn:
            return await load_case(conn, case_id)

    async def other_party(self, case_id: int) -> OtherParty:
        row = await self._db.fetch_one(
            "SELECT consent, name, phone, user_id FROM mediation_parties WHERE case_id = ?",
            (case_id,),
        )
        if row is None:
            return OtherParty("unknown", None, None, None)
        return OtherParty(row["consent"], row["name"], row["phone"], row["user_id"])

    async def cases_of_other_party(self, user_id: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT case_id FROM mediation_parties WHERE user_id = ? ORDER BY case_id DESC",
            (user_id,),
        )
        return [r["case_id"] for r in rows]

    # -- the mediator ------------------------------------------------------------------------

    async def record_consent(self, case_id: int, user: User, *, agrees: bool) -> Result:
        """The other party agreed or refused (mediation needs both sides, domain §5)."""
        if not agrees:
            return await self.refuse(case_id, user=user)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
            if case is None or not acts_as_mediator(user, case):
                return Result.not_allowed
            if not case.running:
                return Result.closed
            await _ensure_row(conn, case_id, now)
            cursor = await conn.execute(
                "UPDATE mediation_parties SET consent = 'given', consent_by = ?, consent_at = ?,"
                " updated_at = ? WHERE case_id = ? AND consent = 'unknown'",
                (user.telegram_id, to_db(now), to_db(now), case_id),
            )
            if cursor.rowcount != 1:
                return Result.already
            await append_event(
                conn,
                case_id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_consent",
                detail={"consent": True, "by": "mediator"},
            )
            await _tell_applicant_agreed(conn, self._outbox, case, now)
        return Result.done

    async def create_link(
        self, case_id: int, user: User, bot_username: str
    ) -> tuple[Result, datetime | None]:
        """A fresh one-time link, sent to the applicant to forward. Earlier unused links of
        the case stop working (one valid link at a time)."""
        now = self._clock.now()
        token = secrets.token_urlsafe(18)
        expires = now + timedelta(days=self._settings.link_days)
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
            if case is None or not acts_as_mediator(user, case):
                return Result.not_allowed, None
            if not case.running:
                return Result.closed, None
            joined = await row_in(
                conn,
                "SELECT 1 FROM mediation_parties WHERE case_id = ? AND user_id IS NOT NULL",
                (case_id,),
            )
            if joined is not None:
                return Result.joined, None
            await conn.execute(
                "UPDATE mediation_links SET expires_at = ? WHERE case_id = ? AND used_at IS NULL"
                " AND expires_at > ?",
                (to_db(now), case_id, to_db(now)),
            )
            await conn.execute(
                "INSERT INTO mediation_links(token_hash, case_id, created_by, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (token_hash(token), case_id, user.telegram_id, to_db(now), to_db(expires)),
            )
            applicant = await _applicant(conn, case)
            await self._outbox.queue(
                conn,
                Outgoing(
                    f"med:{case_id}:link:{token_hash(token)[:16]}",
                    applicant,
                    case,
                    "link",
                    # The token itself travels only in this message; once the outbox is done
                    # with the row, scrub_sent_links() blanks it (the hash stays).
                    {
                        "link": f"https://t.me/{bot_username}?start={LINK_PREFIX}{token}",
                        "expires_at": to_db(expires),
                    },
                ),
                now,
            )
            await append_event(
                conn,
                case_id,
                at=to_db(now),
                actor_id=user.telegram_id,
                actor_role=user.role.value,
                kind="mediation_link_sent",
                detail={"expires_at": to_db(expires)},
            )
        return Result.done, expires

    async def scrub_sent_links(self) -> int:
        """The link's token leaves the database once its message is sent (or given up): only
        the hash is kept, so a copy or a backup of the database opens no case. Tick step."""
        now = to_db(self._clock.now())

        # The new payload is written from Python: SQLite's json_set has no PostgreSQL twin
        # with the same spelling, and these rows are few (links sent since the last tick).
        def work(conn: Connection) -> int:
            rows = conn.execute(
                "SELECT id, payload FROM reminders WHERE case_id IN"
                " (SELECT case_id FROM mediation_links WHERE used_at IS NULL AND expires_at > ?)"
                " AND step = 'mediation:link' AND status NOT IN ('pending', 'sending')"
                " AND json_extract(payload, '$.params.link') <> ''",
                (now,),
            ).fetchall()
            for row in rows:
                payload = json.loads(row[1])
                payload["params"]["link"] = ""
                conn.execute(
                    "UPDATE reminders SET payload = ?, updated_at = ? WHERE id = ?",
                    (json.dumps(payload, ensure_ascii=False), now, row[0]),
                )
            return len(rows)

        return await self._db.run(work)

    # -- the person who opens the link -------------------------------------------------------

    async def check_link(self, key: str, user_id: int) -> tuple[LinkState, MediationCase | None]:
        """``key``: the link's :func:`token_hash` (the conversation keeps the hash, never the
        token, while the person types their name and phone)."""
        async with self._db.transaction() as conn:
            return await self._check(conn, key, user_id)

    async def _check(
        self, conn: UnitConnection, key: str, user_id: int
    ) -> tuple[LinkState, MediationCase | None]:
        row = await row_in(
            conn,
            "SELECT case_id, expires_at, used_at, used_by FROM mediation_links"
            " WHERE token_hash = ?",
            (key,),
        )
        if row is None:
            return LinkState.unknown, None
        case = await load_case(conn, row["case_id"])
        if case is None:
            return LinkState.unknown, None
        if row["used_at"] is not None:
            return (LinkState.joined if row["used_by"] == user_id else LinkState.used), case
        if from_db(row["expires_at"]) <= self._clock.now():
            return LinkState.expired, case
        if not case.running:
            return LinkState.closed, case
        if case.citizen_id == user_id:
            return LinkState.own_case, case
        return LinkState.valid, case

    async def join(
        self, key: str, user_id: int, name: str, phone: str, *, agrees: bool
    ) -> tuple[LinkState, MediationCase | None]:
        """Use the link: the person becomes the other party (name and phone as typed, already
        validated), and agrees or refuses. Once: a second use finds ``used``."""
        now = self._clock.now()
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            state, case = await self._check(conn, key, user_id)
            if state is not LinkState.valid or case is None:
                return state, case
            claimed = await conn.execute(
                "UPDATE mediation_links SET used_at = ?, used_by = ?"
                " WHERE token_hash = ? AND used_at IS NULL",
                (stamp, user_id, key),
            )
            if claimed.rowcount != 1:
                return LinkState.used, case
            await _ensure_row(conn, case.id, now)
            taken = await conn.execute(
                "UPDATE mediation_parties SET user_id = ?, name = ?, phone = ?, joined_at = ?,"
                " updated_at = ? WHERE case_id = ? AND user_id IS NULL",
                (user_id, name, phone, stamp, stamp, case.id),
            )
            if taken.rowcount != 1:
                return LinkState.used, case
            await append_event(
                conn,
                case.id,
                at=stamp,
                actor_id=user_id,
                actor_role="other_party",
                kind="other_party_joined",
                detail={"agrees": agrees},
            )
            if not agrees:
                # In the same unit: an interruption cannot leave a joined, silent refuser.
                await self._close_refused(conn, case, user_id, "other_party", "other_party", now)
                return LinkState.valid, case
            if agrees:
                await conn.execute(
                    "UPDATE mediation_parties SET consent = 'given', consent_by = ?,"
                    " consent_at = ? WHERE case_id = ? AND consent = 'unknown'",
                    (user_id, stamp, case.id),
                )
                # Sessions scheduled before they joined: their notice and reminders too.
                joined = Person(user_id, await _locale_of(conn, user_id), Side.other_party)
                for session in await scheduled_sessions(conn, case.id, now):
                    await plan_session_messages(
                        conn, self._outbox, case, session, [joined], "session_new", now
                    )
                for person in await mediators(conn, case):
                    await self._outbox.queue(
                        conn,
                        Outgoing(
                            f"med:{case.id}:joined:{person.chat_id}",
                            person,
                            case,
                            "other_party_joined",
                            buttons=((OPEN_BUTTON, "open", case.id, 0),),
                        ),
                        now,
                    )
                await _tell_applicant_agreed(conn, self._outbox, case, now)
        return LinkState.valid, case

    # -- refusal ends the case ---------------------------------------------------------------

    async def refuse(
        self, case_id: int, *, user: User | None = None, other_party_id: int | None = None
    ) -> Result:
        """The other party does not agree: the case is closed, its clocks and pending
        messages stop, the applicant is told the routes that remain and the mediator is told.
        Recorded by the mediator (``user``) or pressed by the other party."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            case = await load_case(conn, case_id)
            if case is None:
                return Result.not_allowed
            if user is not None:
                if not acts_as_mediator(user, case):
                    return Result.not_allowed
                actor_id, actor_role, by = user.telegram_id, user.role.value, "mediator"
            else:
                joined = await row_in(
                    conn,
                    "SELECT 1 FROM mediation_parties WHERE case_id = ? AND user_id = ?",
                    (case_id, other_party_id),
                )
                if joined is None:
                    return Result.not_allowed
                actor_id, actor_role, by = other_party_id, "other_party", "other_party"
            return await self._close_refused(conn, case, actor_id, actor_role, by, now)

    async def _close_refused(
        self,
        conn: UnitConnection,
        case: MediationCase,
        actor_id: int | None,
        actor_role: str,
        by: str,
        now: datetime,
    ) -> Result:
        """Inside the caller's unit of work: the refusal closes the case (see :meth:`refuse`)."""
        case_id = case.id
        stamp = to_db(now)
        if case.status not in MEDIATION_OPEN:
            return Result.already
        cursor = await conn.execute(
            "UPDATE cases SET status = 'closed', updated_at = ? WHERE id = ? AND status = ?",
            (stamp, case_id, case.status.value),
        )
        if cursor.rowcount != 1:
            return Result.already
        await _ensure_row(conn, case_id, now)
        await conn.execute(
            "UPDATE mediation_parties SET consent = 'refused', consent_by = ?,"
            " consent_at = ?, wound_up_at = ?, updated_at = ? WHERE case_id = ?",
            (actor_id, stamp, stamp, stamp, case_id),
        )
        await cancel_case_deadlines(
            conn, case_id, reason="closed", actor_id=actor_id, clock=self._clock
        )
        await self._outbox.cancel(conn, f"med:{case_id}:", now)
        await conn.execute(
            "UPDATE mediation_sessions SET status = 'cancelled', updated_at = ?"
            " WHERE case_id = ? AND status = 'scheduled'",
            (stamp, case_id),
        )
        await append_event(
            conn,
            case_id,
            at=stamp,
            actor_id=actor_id,
            actor_role=actor_role,
            kind="mediation_refused",
            detail={"by": by},
        )
        closed = MediationCase(**{**case.__dict__, "status": CaseStatus.closed})
        ended_on = legal_today(self._clock).isoformat()
        await self._outbox.queue(
            conn,
            Outgoing(
                f"med:{case_id}:refused:applicant",
                await _applicant(conn, closed),
                closed,
                "refused",
                {"ended_on": ended_on},
            ),
            now,
        )
        if by == "other_party":
            for person in await mediators(conn, closed):
                await self._outbox.queue(
                    conn,
                    Outgoing(
                        f"med:{case_id}:refused:{person.chat_id}",
                        person,
                        closed,
                        "refused_staff",
                        {"ended_on": ended_on},
                    ),
                    now,
                )
        return Result.done


async def _ensure_row(conn: UnitConnection, case_id: int, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO mediation_parties(case_id, updated_at) VALUES (?, ?)"
        " ON CONFLICT(case_id) DO NOTHING",
        (case_id, to_db(now)),
    )


async def _locale_of(conn: UnitConnection, user_id: int) -> str:
    row = await row_in(conn, "SELECT locale FROM users WHERE telegram_id = ?", (user_id,))
    return row["locale"] if row is not None and row["locale"] in ("zh", "en") else "zh"


async def _applicant(conn: UnitConnection, case: MediationCase) -> Person:
    row = await row_in(conn, "SELECT locale FROM users WHERE telegram_id = ?", (case.citizen_id,))
    locale = row["locale"] if row is not None and row["locale"] in ("zh", "en") else "zh"
    return Person(case.citizen_id, locale, Side.applicant)


async def _tell_applicant_agreed(
    conn: UnitConnection, outbox: Outbox, case: MediationCase, now: datetime
) -> None:
    """The applicant learns that the other side agreed and what comes next (once, whether the
    other party pressed it or the mediator recorded it)."""
    await outbox.queue(
        conn,
        Outgoing(
            f"med:{case.id}:consent:applicant",
            await _applicant(conn, case),
            case,
            "consent_applicant",
            buttons=((OPEN_BUTTON, "open", case.id, 0),),
        ),
        now,
    )
