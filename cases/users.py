"""People who talk to the bot: their language and their role."""

from __future__ import annotations

import sqlite3
from enum import StrEnum

from pydantic import BaseModel

from cases.clock import Clock, to_db
from cases.db import Database


class Role(StrEnum):
    citizen = "citizen"
    mediator = "mediator"
    office_staff = "office_staff"
    agency_liaison = "agency_liaison"
    agency_head = "agency_head"
    admin = "admin"
    community_worker = "community_worker"  # 社区网格员: books reception days for citizens


class User(BaseModel):
    telegram_id: int
    locale: str | None
    role: Role
    unit: str | None = None
    """Mediators: their mediation room; agency liaisons and heads: their agency (org ids)."""


class UserRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[int, User] = {}

    async def get(self, telegram_id: int) -> User | None:
        if telegram_id in self._cache:
            return self._cache[telegram_id]
        row = await self._db.fetch_one(
            "SELECT telegram_id, locale, role, unit FROM users WHERE telegram_id = ?",
            (telegram_id,),
        )
        if row is None:
            return None
        user = User(telegram_id=row[0], locale=row[1], role=Role(row[2]), unit=row[3])
        self._cache[telegram_id] = user
        return user

    async def ensure(self, telegram_id: int, *, role: Role = Role.citizen) -> User:
        """Register a person on first contact; later contacts only read (the cache)."""
        user = await self.get(telegram_id)
        if user is not None:
            return user
        now = to_db(self._clock.now())
        params = (telegram_id, role.value, now, now)

        def insert_and_read(conn: sqlite3.Connection) -> User:
            conn.execute(
                "INSERT INTO users(telegram_id, role, first_seen, last_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(telegram_id) DO NOTHING",
                params,
            )
            row = conn.execute(
                "SELECT telegram_id, locale, role, unit FROM users WHERE telegram_id = ?",
                (telegram_id,),
            ).fetchone()
            return User(telegram_id=row[0], locale=row[1], role=Role(row[2]), unit=row[3])

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

    async def set_role(self, telegram_id: int, role: Role, unit: str | None = None) -> None:
        await self.ensure(telegram_id)
        await self._db.execute(
            "UPDATE users SET role = ?, unit = ? WHERE telegram_id = ?",
            (role.value, unit, telegram_id),
        )
        self._cache.pop(telegram_id, None)

    async def with_role(self, role: Role) -> list[User]:
        rows = await self._db.fetch_all(
            "SELECT telegram_id, locale, role, unit FROM users WHERE role = ?"
            " ORDER BY telegram_id",
            (role.value,),
        )
        return [User(telegram_id=r[0], locale=r[1], role=Role(r[2]), unit=r[3]) for r in rows]
