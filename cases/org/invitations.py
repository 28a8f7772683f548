"""Staff invitations: one-time deep links that make a person staff of one unit.

An administrator chooses a role and a unit (a mediation room, an agency, an office) and gets a
link ``https://t.me/<bot>?start=inv_<token>``, shown once. The token is random (128 bits) and
only its SHA-256 is stored, so a copy of the database cannot be turned into a working link.
The link is single use, expires (``INVITATION_DAYS``, default 7) and can be revoked; using it is
a compare-and-set on the invitation row in the same unit of work as the role change, so two
people opening one link at once make one staff member. No Telegram here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from cases.org.users import Role
from cases.store.db import Connection, Database, Row
from cases.store.time import Clock, from_db, to_db

START_PREFIX = "inv_"
"""The /start payload of an invitation: ``inv_`` and the token (Telegram allows 64 characters
of ``A-Za-z0-9_-``)."""
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,60}")
INVITABLE_ROLES = (Role.mediator, Role.office_staff, Role.agency_liaison, Role.agency_head)


class Outcome(StrEnum):
    joined = "joined"
    used = "used"
    expired = "expired"
    revoked = "revoked"
    unknown = "unknown"
    administrator = "administrator"
    """An administrator opened the link: it would take their role away; nothing changes."""


class Invitation(BaseModel):
    id: int
    role: Role
    unit: str
    heads_reconsideration: bool = False
    leads_room: bool = False
    created_by: int
    created_at: datetime
    expires_at: datetime
    status: str
    used_by: int | None = None


class Acceptance(BaseModel):
    outcome: Outcome
    invitation: Invitation | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={START_PREFIX}{token}"


def token_from_payload(payload: str | None) -> str | None:
    """The token of a /start payload, or None when it is no invitation."""
    if not payload or not payload.startswith(START_PREFIX):
        return None
    token = payload[len(START_PREFIX) :]
    return token if TOKEN_SHAPE.fullmatch(token) else ""


_COLUMNS = (
    "id, role, unit, heads_reconsideration, leads_room, created_by, created_at, expires_at,"
    " status, used_by"
)


def _invitation(row: Row | tuple) -> Invitation:  # type: ignore[type-arg]
    return Invitation(
        id=row[0],
        role=Role(row[1]),
        unit=row[2],
        heads_reconsideration=bool(row[3]),
        leads_room=bool(row[4]),
        created_by=row[5],
        created_at=from_db(row[6]),
        expires_at=from_db(row[7]),
        status=row[8],
        used_by=row[9],
    )


class InvitationService:
    def __init__(self, db: Database, clock: Clock, *, valid_days: int = 7) -> None:
        self._db = db
        self._clock = clock
        self.valid_days = valid_days

    async def create(
        self,
        role: Role,
        unit: str,
        *,
        created_by: int,
        request_key: str,
        head: bool = False,
        lead: bool = False,
    ) -> tuple[Invitation, str] | None:
        """A new invitation and its token (never stored); None when ``request_key`` (the
        administrator's button message) already made one: a double press makes one link."""
        if role not in INVITABLE_ROLES:
            raise ValueError(f"{role} is not invited by link")
        token = secrets.token_urlsafe(16)
        now = self._clock.now()
        expires = now + timedelta(days=self.valid_days)
        params = (
            token_hash(token),
            request_key,
            role.value,
            unit,
            int(head and role is Role.office_staff),
            int(lead and role is Role.mediator),
            created_by,
            to_db(now),
            to_db(expires),
        )

        def work(conn: Connection) -> Invitation | None:
            cursor = conn.execute(
                "INSERT INTO staff_invitations(token_hash, request_key, role, unit,"
                " heads_reconsideration, leads_room, created_by, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(request_key) DO NOTHING"
                " RETURNING id",
                params,
            )
            inserted = cursor.fetchone()
            if inserted is None:
                return None
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM staff_invitations WHERE id = ?", (inserted[0],)
            ).fetchone()
            return _invitation(row)

        invitation = await self._db.run(work)
        return None if invitation is None else (invitation, token)

    async def accept(self, token: str, telegram_id: int) -> Acceptance:
        """Use the invitation: the person becomes staff of its unit. A used, expired, revoked or
        unknown token changes nothing and says which it was."""
        digest = token_hash(token)
        now = to_db(self._clock.now())

        def work(conn: Connection) -> Acceptance:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM staff_invitations WHERE token_hash = ?", (digest,)
            ).fetchone()
            if row is None:
                return Acceptance(outcome=Outcome.unknown)
            invitation = _invitation(row)
            if invitation.status == "used":
                return Acceptance(outcome=Outcome.used, invitation=invitation)
            if invitation.status == "revoked":
                return Acceptance(outcome=Outcome.revoked, invitation=invitation)
            if row[7] <= now:
                return Acceptance(outcome=Outcome.expired, invitation=invitation)
            person = conn.execute(
                "SELECT role FROM users WHERE telegram_id = ?", (telegram_id,)
            ).fetchone()
            if person is not None and person[0] == Role.admin.value:
                return Acceptance(outcome=Outcome.administrator, invitation=invitation)
            claimed = conn.execute(
                "UPDATE staff_invitations SET status = 'used', used_by = ?, used_at = ?"
                " WHERE id = ? AND status = 'pending' AND expires_at > ?",
                (telegram_id, now, invitation.id, now),
            ).rowcount
            if not claimed:  # another chat used it between the read and here
                return Acceptance(outcome=Outcome.used, invitation=invitation)
            conn.execute(
                "INSERT INTO users(telegram_id, role, first_seen, last_seen)"
                " VALUES (?, 'citizen', ?, ?) ON CONFLICT(telegram_id) DO NOTHING",
                (telegram_id, now, now),
            )
            conn.execute(
                "UPDATE users SET role = ?, unit = ?, heads_reconsideration = ?, leads_room = ?"
                " WHERE telegram_id = ?",
                (
                    invitation.role.value,
                    invitation.unit,
                    int(invitation.heads_reconsideration),
                    int(invitation.leads_room),
                    telegram_id,
                ),
            )
            used = invitation.model_copy(update={"status": "used", "used_by": telegram_id})
            return Acceptance(outcome=Outcome.joined, invitation=used)

        return await self._db.run(work)

    async def revoke(self, invitation_id: int, *, by: int) -> Invitation | None:
        """Revoke a pending invitation; None when it was no longer pending (used, revoked)."""
        now = to_db(self._clock.now())

        def work(conn: Connection) -> Invitation | None:
            changed = conn.execute(
                "UPDATE staff_invitations SET status = 'revoked', revoked_by = ?, revoked_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (by, now, invitation_id),
            ).rowcount
            if not changed:
                return None
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM staff_invitations WHERE id = ?", (invitation_id,)
            ).fetchone()
            return _invitation(row)

        return await self._db.run(work)

    async def pending(self, *, limit: int = 50) -> list[Invitation]:
        """Invitations that can still be used, oldest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM staff_invitations WHERE status = 'pending'"
            " AND expires_at > ? ORDER BY id LIMIT ?",
            (to_db(self._clock.now()), limit),
        )
        return [_invitation(r) for r in rows]


class Member(BaseModel):
    telegram_id: int
    role: Role
    unit: str | None
    display_name: str | None
    heads_reconsideration: bool
    leads_room: bool


async def staff_members(db: Database) -> list[Member]:
    """Everyone with a staff role, by role, unit and name."""
    rows = await db.fetch_all(
        "SELECT telegram_id, role, unit, display_name, heads_reconsideration, leads_room"
        " FROM users WHERE role NOT IN ('citizen', 'community_worker')"
        " ORDER BY role, unit, leads_room DESC, heads_reconsideration DESC, telegram_id"
    )
    return [
        Member(
            telegram_id=r[0],
            role=Role(r[1]),
            unit=r[2],
            display_name=r[3],
            heads_reconsideration=bool(r[4]),
            leads_room=bool(r[5]),
        )
        for r in rows
    ]
