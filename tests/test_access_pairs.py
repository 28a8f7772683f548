"""Forged buttons across roles and units are refused on the server (issue #10).

Every pair of a person (role, unit, lead flag) and a case they may not open is tried with the
buttons a forger would craft: the staff case page, the application in full, an evidence file
and a staff action. Nothing of the case reaches their chat and nothing changes. The pairs that
are allowed are checked too, so the table cannot pass by refusing everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendDocument

from cases.org.users import Role
from cases.procedures.transitions import Action
from cases.store.db import Database
from cases.store.time import FakeClock
from handlers.callbacks import CaseAction
from handlers.case_file import CaseFileAction
from handlers.staff.callbacks import Nav, StaffAction, Step
from tests.queue_support import seed_case, staff


@dataclass(frozen=True)
class Person:
    user_id: int
    role: Role
    unit: str | None = None
    lead: bool = False


ASSIGNED = Person(7201, Role.mediator, "room_chengguan")
COLLEAGUE = Person(7202, Role.mediator, "room_chengguan")
OTHER_LEAD = Person(7203, Role.mediator, "room_shihua", lead=True)
LEAD = Person(7204, Role.mediator, "room_chengguan", lead=True)
RECON_CLERK = Person(7205, Role.office_staff, "reconsideration_office")
PETITION_CLERK = Person(7206, Role.office_staff, "petition_office")
CLERK_WITHOUT_OFFICE = Person(7207, Role.office_staff)
PSB_LIAISON = Person(7208, Role.agency_liaison, "county_psb")
HOUSING_LIAISON = Person(7209, Role.agency_liaison, "county_housing")
PSB_HEAD = Person(7210, Role.agency_head, "county_psb")
STRANGER = Person(1002, Role.citizen)

# key: (number, procedure, routed_to, options, the action a forger would press)
CASES: dict[str, tuple[str, str, str, dict, Action]] = {
    "assigned": (
        "TJ-A", "mediation", "room:room_chengguan", {"mediator_id": ASSIGNED.user_id},
        Action.agreed,
    ),
    "unassigned": ("TJ-U", "mediation", "room:room_chengguan", {}, Action.agreed),
    "reconsideration": (
        "FY-R", "reconsideration", "office:reconsideration_office",
        {"respondent": "county_psb"}, Action.decide,
    ),
    "report": ("XF-S", "petition", "office:petition_office", {"sensitive": True}, Action.conclude),
    "to_agency": ("XF-A", "petition", "agency:county_psb", {}, Action.conclude),
}  # fmt: skip

REFUSED: list[tuple[Person, str]] = [
    (ASSIGNED, "unassigned"),
    (ASSIGNED, "reconsideration"),
    (ASSIGNED, "report"),
    (ASSIGNED, "to_agency"),
    (COLLEAGUE, "assigned"),
    (COLLEAGUE, "unassigned"),
    (OTHER_LEAD, "assigned"),
    (OTHER_LEAD, "unassigned"),
    (LEAD, "reconsideration"),
    (LEAD, "report"),
    (RECON_CLERK, "assigned"),
    (RECON_CLERK, "unassigned"),
    (RECON_CLERK, "report"),
    (RECON_CLERK, "to_agency"),
    (PETITION_CLERK, "assigned"),
    (PETITION_CLERK, "reconsideration"),
    (CLERK_WITHOUT_OFFICE, "report"),
    (PSB_LIAISON, "assigned"),
    (PSB_LIAISON, "report"),
    (PSB_LIAISON, "reconsideration"),  # the copy was not sent: nothing to answer yet
    (PSB_HEAD, "report"),
    (HOUSING_LIAISON, "to_agency"),
    (HOUSING_LIAISON, "reconsideration"),
    (STRANGER, "assigned"),
    (STRANGER, "report"),
    (STRANGER, "to_agency"),
]
STAFF_PAGE_ALLOWED: list[tuple[Person, str]] = [
    (ASSIGNED, "assigned"),
    (LEAD, "assigned"),
    (LEAD, "unassigned"),
    (RECON_CLERK, "reconsideration"),
    (PETITION_CLERK, "report"),
]


async def _seed(db: Database, clock: FakeClock) -> dict[str, tuple[int, int]]:
    """case key -> (case id, evidence attachment id)."""
    ids = {}
    for person in (ASSIGNED, COLLEAGUE, LEAD):
        await db.execute(
            "INSERT INTO users(telegram_id, role, first_seen, last_seen)"
            " VALUES (?, 'citizen', 'x', 'x') ON CONFLICT DO NOTHING",
            (person.user_id,),
        )
    for key, (number, procedure, routed_to, options, _action) in CASES.items():
        case_id = await seed_case(db, clock, number, procedure, routed_to, **options)
        attachment = await db.fetch_value(
            "SELECT id FROM attachments WHERE case_id = ?", (case_id,)
        )
        ids[key] = (case_id, int(attachment))
    return ids


async def _state(db: Database, case_id: int) -> tuple:
    row = await db.fetch_one(
        "SELECT status, mediator_id, (SELECT count(*) FROM case_events WHERE case_id = ?),"
        " (SELECT count(*) FROM case_deadlines WHERE case_id = ? AND status = 'open')"
        " FROM cases WHERE id = ?",
        (case_id, case_id, case_id),
    )
    return tuple(row)


@pytest.mark.parametrize(
    ("person", "case_key"), REFUSED, ids=[f"{p.user_id}-{k}" for p, k in REFUSED]
)
async def test_forged_buttons_across_roles_and_units_are_refused(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database, person: Person, case_key: str
) -> None:
    ids = await _seed(db, clock)
    case_id, attachment = ids[case_key]
    number, _p, _r, _o, action = CASES[case_key]
    before = await _state(db, case_id)
    forger = await staff(dispatcher, bot, clock, person.user_id, person.role, person.unit,
                         lead=person.lead)  # fmt: skip
    forger.clear()
    for data in (
        StaffAction(action=Nav.view, case_id=case_id),
        StaffAction(action=Nav.open, case_id=case_id),
        StaffAction(action=action, case_id=case_id, step=Step.confirm),
        CaseFileAction(action="file", case_id=case_id, file=attachment),
        CaseAction(action="view", case_id=case_id),
    ):
        await forger.click(data)
    if person.role not in (Role.agency_liaison, Role.agency_head) or case_key != "to_agency":
        await forger.click(CaseFileAction(action="full", case_id=case_id))
    shown = " ".join(forger.texts())
    assert number not in shown, shown
    assert not [r for r in bot.session.requests if isinstance(r, SendDocument)]
    assert await _state(db, case_id) == before


@pytest.mark.parametrize(
    ("person", "case_key"),
    STAFF_PAGE_ALLOWED,
    ids=[f"{p.user_id}-{k}" for p, k in STAFF_PAGE_ALLOWED],
)
async def test_the_people_a_case_belongs_to_open_it(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database, person: Person, case_key: str
) -> None:
    """The control of the table above: the same buttons work for whom the case concerns."""
    ids = await _seed(db, clock)
    case_id, attachment = ids[case_key]
    reader = await staff(dispatcher, bot, clock, person.user_id, person.role, person.unit,
                         lead=person.lead)  # fmt: skip
    reader.clear()
    await reader.click(StaffAction(action=Nav.view, case_id=case_id))
    assert CASES[case_key][0] in reader.last_text()
    await reader.click(CaseFileAction(action="file", case_id=case_id, file=attachment))
    assert [r for r in bot.session.requests if isinstance(r, SendDocument)]


async def test_the_agency_a_petition_was_sent_to_reads_its_extract_only(
    dispatcher: Dispatcher, bot: Bot, clock: FakeClock, db: Database
) -> None:
    ids = await _seed(db, clock)
    case_id, attachment = ids["to_agency"]
    for person in (PSB_LIAISON, PSB_HEAD):
        reader = await staff(dispatcher, bot, clock, person.user_id, person.role, person.unit)
        reader.clear()
        await reader.click(CaseFileAction(action="full", case_id=case_id))
        assert "XF-A" in reader.last_text() and "13800001234" not in reader.last_text()
        await reader.click(CaseFileAction(action="file", case_id=case_id, file=attachment))
        await reader.click(StaffAction(action=Nav.view, case_id=case_id))
        assert not [r for r in bot.session.requests if isinstance(r, SendDocument)]
        assert not any("XF-A" in text for text in reader.texts()[1:])
