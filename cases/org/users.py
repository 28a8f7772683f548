"""People who talk to the bot: their language and their role."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from cases.store.db import Connection, Database
from cases.store.time import Clock, to_db


class Role(StrEnum):
    citizen = "citizen"
    mediator = "mediator"
    office_staff = "office_staff"
    agency_liaison = "agency_liaison"
    agency_head = "agency_head"
    admin = "admin"
    community_worker = "community_worker"  # 社区网格员: books reception days for citizens


MAX_NAME = 64
_SELECT = (
    "SELECT telegram_id, locale, role, unit, display_name, heads_reconsideration, leads_room"
    " FROM users"
)


def _user(row: Any) -> User:
    return User(
        telegram_id=row[0],
        locale=row[1],
        role=Role(row[2]),
        unit=row[3],
        display_name=row[4],
        heads_reconsideration=bool(row[5]),
        leads_room=bool(row[6]),
    )


class User(BaseModel):
    telegram_id: int
    locale: str | None
    role: Role
    unit: str | None = None
    """Mediators: their mediation room; agency liaisons and heads: their agency; office staff:
    their office (org ids; an office clerk without one, from before units, acts as before)."""
    display_name: str | None = None
    """Staff only: the Telegram name, so the case history names who acted (not just the role).
    Citizens' names are not stored from Telegram (the history speaks of "the applicant")."""
    heads_reconsideration: bool = False
    """Office staff: the head of the reconsideration body (行政复议机构负责人), who approves an
    extension of the decision period (FY 62(1))."""
    leads_room: bool = False
    """Mediators: leads their mediation room (调解室负责人): sees the room's unassigned and
    declined cases, assigns by hand, approves the one extension of the mediation period."""


class _NoCache(dict[int, User]):
    """A cache that keeps nothing (replicas read every time)."""

    def __setitem__(self, key: int, value: User) -> None:
        return None


class UserRepository:
    """Who a person is. ``cache``: keep people read in this process (one process owns the
    database, so a role changed anywhere is changed here). Replicas (serving.py) must not: a
    role removed on one of them has to hold on every other at the person's next press, so
    they read the row on every update (``cache=False``)."""

    def __init__(self, db: Database, clock: Clock, *, cache: bool = True) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[int, User] = {} if cache else _NoCache()

    async def get(self, telegram_id: int) -> User | None:
        if telegram_id in self._cache:
            return self._cache[telegram_id]
        row = await self._db.fetch_one(
            _SELECT + " WHERE telegram_id = ?",
            (telegram_id,),
        )
        if row is None:
            return None
        user = _user(row)
        self._cache[telegram_id] = user
        return user

    async def ensure(
        self, telegram_id: int, *, role: Role = Role.citizen, display_name: str | None = None
    ) -> User:
        """Register a person on first contact; later contacts only read (the cache). A staff
        member's ``display_name`` is stored when it differs from the stored one (rarely)."""
        user = await self.get(telegram_id)
        if user is not None:
            if display_name and user.role is not Role.citizen:
                name = display_name[:MAX_NAME]
                if user.display_name != name:
                    await self._db.execute(
                        "UPDATE users SET display_name = ? WHERE telegram_id = ?",
                        (name, telegram_id),
                    )
                    user = user.model_copy(update={"display_name": name})
                    self._cache[telegram_id] = user
            return user
        now = to_db(self._clock.now())
        params = (telegram_id, role.value, now, now)

        def insert_and_read(conn: Connection) -> User:
            conn.execute(
                "INSERT INTO users(telegram_id, role, first_seen, last_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(telegram_id) DO NOTHING",
                params,
            )
            row = conn.execute(
                _SELECT + " WHERE telegram_id = ?",
                (telegram_id,),
            ).fetchone()
            return _user(row)

        user = await self._db.run(insert_and_read)
        self._cache[telegram_id] = user
        return user

    async def set_locale(self, telegram_id: int, locale: str) -> None:
        await self.ensure(telegram_id)
        await self._db.execute(
            "UPDATE users SET locale = ?, last_seen = ? WHERE telegram_id = ?",
            (locale, to_db(self._clock.now()), telegram_id),
        )
        self._cache.pop(telegram_id, None)

    async def set_role(
        self,
        telegram_id: int,
        role: Role,
        unit: str | None = None,
        *,
        head: bool = False,
        lead: bool = False,
    ) -> None:
        """``head``: office staff who head the reconsideration body (FY 62(1)); any other
        grant clears it. ``lead``: a mediator who leads their room (issue #10); without it,
        leading survives only a grant that keeps the person a mediator of the same room."""
        await self.ensure(telegram_id)
        await self._db.execute(
            "UPDATE users SET role = ?, unit = ?, heads_reconsideration = ?,"
            " leads_room = CASE WHEN ? = 1 THEN 1 WHEN role = ? AND unit IS ? THEN leads_room"
            " ELSE 0 END"
            " WHERE telegram_id = ?",
            (
                role.value,
                unit,
                int(head and role is Role.office_staff),
                int(lead and role is Role.mediator),
                role.value,
                unit,
                telegram_id,
            ),
        )
        self._cache.pop(telegram_id, None)

    async def set_leads_room(self, telegram_id: int, lead: bool) -> None:
        """A mediator leads their room (issue #10); only mediators can."""
        await self._db.execute(
            "UPDATE users SET leads_room = ? WHERE telegram_id = ? AND role = 'mediator'",
            (int(lead), telegram_id),
        )
        self._cache.pop(telegram_id, None)

    def forget(self, telegram_id: int) -> None:
        """Drop the cached row after another module changed it in the database."""
        self._cache.pop(telegram_id, None)

    async def with_role(self, role: Role) -> list[User]:
        rows = await self._db.fetch_all(
            _SELECT + " WHERE role = ? ORDER BY telegram_id",
            (role.value,),
        )
        return [_user(r) for r in rows]
