"""The morning digest names only the cases each person may open (issue #10 access rules):
before, a mediator's digest listed every room's M1 windows and a liaison every agency's
replies and court dates."""

from __future__ import annotations

import json
from datetime import date

from aiogram import Bot, Dispatcher

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from scheduling.digest import queue_digests
from tests.queue_support import seed_case, seed_lawsuit, staff
from tests.support import ADMIN_ID

TODAY = date(2026, 11, 25)


async def digests(db: Database) -> dict[int, str]:
    rows = await db.fetch_all("SELECT chat_id, payload FROM reminders WHERE kind = 'digest'")
    return {r["chat_id"]: json.loads(r["payload"])["text"] for r in rows}


async def test_a_digest_names_only_the_persons_own_cases(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    await staff(dispatcher, bot, clock, 7301, Role.mediator, "room_chengguan")
    await staff(dispatcher, bot, clock, 7302, Role.mediator, "room_shihua", lead=True)
    await staff(dispatcher, bot, clock, 7303, Role.agency_liaison, "county_psb")
    room = "room:room_chengguan"
    await seed_case(db, clock, "TJ-MINE", "mediation", room, mediator_id=7301, status="settled",
                    due=TODAY, rule="M1")  # fmt: skip
    await seed_case(db, clock, "TJ-OTHER", "mediation", room, status="settled", due=TODAY,
                    rule="M1")  # fmt: skip
    await seed_case(db, clock, "TJ-SHIHUA", "mediation", "room:room_shihua", status="settled",
                    due=TODAY, rule="M1")  # fmt: skip
    await seed_lawsuit(db, clock, "county_psb", "（2026）鄂0625行初1号", TODAY)
    await seed_lawsuit(db, clock, "county_housing", "（2026）鄂0625行初2号", TODAY)
    await queue_digests(db, clock, admin_ids=[ADMIN_ID])
    sent = await digests(db)
    assert "TJ-MINE" in sent[7301] and "TJ-OTHER" not in sent[7301]
    assert "TJ-SHIHUA" not in sent[7301]
    assert "TJ-SHIHUA" in sent[7302] and "TJ-MINE" not in sent[7302]  # a lead: their room's
    assert "行初1号" in sent[7303] and "行初2号" not in sent[7303]
    assert all(n in sent[ADMIN_ID] for n in ("TJ-MINE", "TJ-OTHER", "行初2号"))


async def test_an_agencys_digest_left_out_the_petitions_handed_to_it(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    """The handover (issue #10) gives an agency X3 and X4 of the petitions assigned to it,
    and reminds its liaisons of them; the morning digest listed only F10 and court dates for
    an agency, so a petition due today was missing from it. Another agency's is not shown."""
    await staff(dispatcher, bot, clock, 7304, Role.agency_liaison, "county_psb")
    await seed_case(db, clock, "XF-PSB", "petition", "agency:county_psb", due=TODAY, rule="X4")
    await seed_case(db, clock, "XF-TAX", "petition", "agency:county_tax", due=TODAY, rule="X4")
    await seed_case(db, clock, "XF-NEW", "petition", "agency:county_psb", status="submitted",
                    due=TODAY, rule="X3")  # fmt: skip
    await queue_digests(db, clock, admin_ids=[ADMIN_ID])
    sent = await digests(db)
    assert "XF-PSB" in sent[7304] and "XF-NEW" in sent[7304]
    assert "XF-TAX" not in sent[7304]
