"""Mediators' profiles: the name citizens see, skills, maximum load and absences.

Who may change a profile is decided here, not in the handlers: the mediator themself, the lead
of their room (调解室负责人, ``users.leads_room``) and administrators. Making a mediator a room
lead is for administrators only.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel

from cases.i18n import N_
from cases.org.organisation import Organisation
from cases.org.users import Role, User, UserRepository
from cases.store.db import Connection, Database
from cases.store.time import LEGAL_TZ, Clock, to_db

MAX_SHOWN_NAME = 32
MAX_ABSENCE_DAYS = 366
LOAD_CHOICES = (3, 5, 8, 10, 15, 20)
"""The maximum loads offered as buttons (0 on the button: the room's default)."""


class ProfileError(Exception):
    """A change refused; ``msgid`` says why (English msgid, translated by the handler)."""

    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.msgid = msgid


NOT_YOURS = N_("You may not change this mediator's profile.")
NOT_A_MEDIATOR = N_("This person is not a mediator.")


class Absence(BaseModel):
    id: int
    starts_on: date
    ends_on: date


class MediatorProfile(BaseModel):
    user_id: int
    room_id: str | None
    display_name: str | None
    """The Telegram name (staff see it in histories)."""
    shown_name: str | None
    phone: str | None
    real_name: str | None = None
    """For conflict-of-interest checks only (回避): never shown to applicants."""
    max_load: int | None
    skills: tuple[str, ...]
    absences: tuple[Absence, ...]
    leads_room: bool

    def name_for_citizens(self) -> str:
        return self.shown_name or self.display_name or ""

    def effective_max_load(self, default: int) -> int:
        return self.max_load or default


def may_manage(actor: User, mediator: User) -> bool:
    """The mediator themself, their room's lead, or an administrator."""
    if actor.role is Role.admin:
        return True
    if actor.role is not Role.mediator:
        return False
    if actor.telegram_id == mediator.telegram_id:
        return True
    return actor.leads_room and actor.unit is not None and actor.unit == mediator.unit


def normalise_phone(text: str | None) -> str:
    digits = re.sub(r"\D", "", text or "")
    return digits[-11:] if len(digits) >= 11 else digits


class MediatorProfiles:
    def __init__(
        self, db: Database, clock: Clock, org: Organisation, users: UserRepository
    ) -> None:
        self._db = db
        self._clock = clock
        self._org = org
        self._users = users

    async def _mediator(self, actor: User, mediator_id: int) -> User:
        mediator = await self._users.get(mediator_id)
        if mediator is None or mediator.role is not Role.mediator:
            raise ProfileError(NOT_A_MEDIATOR)
        if not may_manage(actor, mediator):
            raise ProfileError(NOT_YOURS)
        return mediator

    async def profile(self, actor: User, mediator_id: int) -> MediatorProfile:
        mediator = await self._mediator(actor, mediator_id)
        return await self.load(mediator)

    async def load(self, mediator: User) -> MediatorProfile:
        row = await self._db.fetch_one(
            "SELECT shown_name, phone, max_load, real_name FROM mediator_profiles"
            " WHERE user_id = ?",
            (mediator.telegram_id,),
        )
        skills = await self._db.fetch_all(
            "SELECT category_id FROM mediator_skills WHERE user_id = ? ORDER BY category_id",
            (mediator.telegram_id,),
        )
        today = self._clock.now().astimezone(LEGAL_TZ).date().isoformat()
        absences = await self._db.fetch_all(
            "SELECT id, starts_on, ends_on FROM mediator_absences WHERE user_id = ?"
            " AND ends_on >= ? ORDER BY starts_on, id",
            (mediator.telegram_id, today),
        )
        return MediatorProfile(
            user_id=mediator.telegram_id,
            room_id=mediator.unit,
            display_name=mediator.display_name,
            shown_name=row[0] if row else None,
            phone=row[1] if row else None,
            max_load=row[2] if row else None,
            real_name=row[3] if row else None,
            skills=tuple(str(r[0]) for r in skills),
            absences=tuple(
                Absence(id=r[0], starts_on=date.fromisoformat(r[1]), ends_on=r[2])
                for r in absences
            ),
            leads_room=mediator.leads_room,
        )

    async def room_mediators(self, actor: User) -> list[User]:
        """The mediators a lead manages (their room) or, for an administrator, every one."""
        mediators = await self._users.with_role(Role.mediator)
        if actor.role is Role.admin:
            return sorted(mediators, key=lambda m: (m.unit or "", m.telegram_id))
        if actor.role is Role.mediator and actor.leads_room:
            return [m for m in mediators if m.unit == actor.unit]
        return [m for m in mediators if m.telegram_id == actor.telegram_id]

    def room_categories(self, mediator: User | MediatorProfile) -> tuple[str, ...]:
        room_id = mediator.unit if isinstance(mediator, User) else mediator.room_id
        if room_id is None:
            return ()
        try:
            return self._org.room(room_id).categories
        except Exception:
            return ()

    def _stamp(self) -> str:
        return to_db(self._clock.now())

    async def _ensure_row(self, user_id: int) -> None:
        await self._db.execute(
            "INSERT INTO mediator_profiles(user_id, updated_at) VALUES (?, ?)"
            " ON CONFLICT(user_id) DO NOTHING",
            (user_id, self._stamp()),
        )

    async def toggle_skill(self, actor: User, mediator_id: int, index: int) -> MediatorProfile:
        """Skills are chosen by buttons among the categories of the mediator's room: the button
        carries the category's place in the room's list, so a forged value finds nothing."""
        mediator = await self._mediator(actor, mediator_id)
        categories = self.room_categories(mediator)
        if not 0 <= index < len(categories):
            raise ProfileError(NOT_YOURS)
        category = categories[index]

        def toggle(conn: Connection) -> None:
            removed = conn.execute(
                "DELETE FROM mediator_skills WHERE user_id = ? AND category_id = ?",
                (mediator_id, category),
            ).rowcount
            if not removed:
                conn.execute(
                    "INSERT INTO mediator_skills(user_id, category_id) VALUES (?, ?)",
                    (mediator_id, category),
                )

        await self._db.run(toggle)
        return await self.load(mediator)

    async def set_max_load(self, actor: User, mediator_id: int, load: int) -> MediatorProfile:
        """``load`` 0: the room's default."""
        mediator = await self._mediator(actor, mediator_id)
        if load and load not in LOAD_CHOICES:
            raise ProfileError(NOT_YOURS)
        await self._ensure_row(mediator_id)
        await self._db.execute(
            "UPDATE mediator_profiles SET max_load = ?, updated_at = ? WHERE user_id = ?",
            (load or None, self._stamp(), mediator_id),
        )
        return await self.load(mediator)

    async def set_shown_name(self, actor: User, mediator_id: int, name: str) -> MediatorProfile:
        mediator = await self._mediator(actor, mediator_id)
        name = " ".join(name.split())
        if not name or len(name) > MAX_SHOWN_NAME:
            raise ProfileError(N_("The name must be 1 to 32 characters."))
        await self._ensure_row(mediator_id)
        await self._db.execute(
            "UPDATE mediator_profiles SET shown_name = ?, updated_at = ? WHERE user_id = ?",
            (name, self._stamp(), mediator_id),
        )
        return await self.load(mediator)

    async def set_real_name(self, actor: User, mediator_id: int, name: str) -> MediatorProfile:
        """The mediator's legal name, matched against the parties' names (回避)."""
        mediator = await self._mediator(actor, mediator_id)
        name = "".join(name.split())
        if not 2 <= len(name) <= MAX_SHOWN_NAME:
            raise ProfileError(N_("The real name must be 2 to 32 characters."))
        await self._ensure_row(mediator_id)
        await self._db.execute(
            "UPDATE mediator_profiles SET real_name = ?, updated_at = ? WHERE user_id = ?",
            (name, self._stamp(), mediator_id),
        )
        return await self.load(mediator)

    async def set_phone(self, actor: User, mediator_id: int, phone: str) -> MediatorProfile:
        mediator = await self._mediator(actor, mediator_id)
        digits = normalise_phone(phone)
        if not re.fullmatch(r"1[3-9]\d{9}|0\d{9,11}", digits):
            raise ProfileError(N_("Please type a mainland mobile or landline number."))
        await self._ensure_row(mediator_id)
        await self._db.execute(
            "UPDATE mediator_profiles SET phone = ?, updated_at = ? WHERE user_id = ?",
            (digits, self._stamp(), mediator_id),
        )
        return await self.load(mediator)

    async def add_absence(
        self, actor: User, mediator_id: int, starts_on: date, ends_on: date
    ) -> MediatorProfile:
        mediator = await self._mediator(actor, mediator_id)
        today = self._clock.now().astimezone(LEGAL_TZ).date()
        if ends_on < starts_on:
            raise ProfileError(N_("The last day comes before the first day."))
        if ends_on < today:
            raise ProfileError(N_("This absence lies in the past."))
        if (ends_on - starts_on).days >= MAX_ABSENCE_DAYS:
            raise ProfileError(N_("An absence may last at most a year."))
        await self._db.execute(
            "INSERT INTO mediator_absences(user_id, starts_on, ends_on, created_at)"
            " VALUES (?, ?, ?, ?)",
            (mediator_id, starts_on.isoformat(), ends_on.isoformat(), self._stamp()),
        )
        return await self.load(mediator)

    async def delete_absence(
        self, actor: User, mediator_id: int, absence_id: int
    ) -> MediatorProfile:
        mediator = await self._mediator(actor, mediator_id)
        await self._db.execute(
            "DELETE FROM mediator_absences WHERE id = ? AND user_id = ?",
            (absence_id, mediator_id),
        )
        return await self.load(mediator)

    async def set_lead(self, actor: User, mediator_id: int, lead: bool) -> MediatorProfile:
        """Administrators make a mediator the lead of their room (or stop it)."""
        if actor.role is not Role.admin:
            raise ProfileError(N_("Only administrators make a mediator a room lead."))
        mediator = await self._mediator(actor, mediator_id)
        await self._users.set_leads_room(mediator_id, lead)
        updated = await self._users.get(mediator_id)
        return await self.load(updated or mediator)


def parse_day(text: str, today: date) -> date:
    """``2026-12-20``, ``2026/12/20`` or ``12-20`` (this year, or next if already past)."""
    text = text.strip().replace("/", "-").replace(".", "-")
    match = re.fullmatch(r"(?:(\d{4})-)?(\d{1,2})-(\d{1,2})", text)
    if match is None:
        raise ValueError(text)
    year = int(match[1]) if match[1] else today.year
    day = date(year, int(match[2]), int(match[3]))
    if not match[1] and day < today:
        day = date(year + 1, day.month, day.day)
    return day
