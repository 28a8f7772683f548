"""A mediation case's reminders reach whom may open it: the mediator it is assigned to, or,
before anyone accepted it, the leads of its room; nobody of these, the administrators."""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from scheduling.recipients import RecipientDirectory
from tests.queue_support import seed_case, staff
from tests.support import ADMIN_ID


async def test_mediation_reminders_follow_the_assignment(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    await staff(dispatcher, bot, clock, 7401, Role.mediator, "room_chengguan")
    await staff(dispatcher, bot, clock, 7402, Role.mediator, "room_chengguan")
    await staff(dispatcher, bot, clock, 7403, Role.mediator, "room_chengguan", lead=True)
    await staff(dispatcher, bot, clock, 7404, Role.mediator, "room_shihua")
    assigned = await seed_case(
        db, clock, "TJ-1", "mediation", "room:room_chengguan", mediator_id=7402
    )
    waiting = await seed_case(db, clock, "TJ-2", "mediation", "room:room_chengguan")
    leaderless = await seed_case(db, clock, "TJ-3", "mediation", "room:room_shihua")
    directory = RecipientDirectory(db, admin_ids=[ADMIN_ID])
    chats = [
        [r.chat_id for r in await directory.resolve(Role.mediator, case_id)]
        for case_id in (assigned, waiting, leaderless)
    ]
    assert chats == [[7402], [7403], [ADMIN_ID]]
