"""What staff may see of a case they open from a reminder or a digest.

Access is a table, not a scatter of checks: who may open which procedure, and which personal
numbers each role sees in full because its work needs them (the reconsideration office must
identify the applicant; a mediator must be able to call the parties). Everyone else sees them
masked. 检举控告 (sensitive) cases stay with the offices: XF 30(3) forbids disclosing them to the
person accused, so agencies and mediators never see them.
"""

from __future__ import annotations

import json
from datetime import date

from pydantic import BaseModel

from cases.clocks import CaseDeadline, open_deadlines
from cases.db import Database
from cases.forms import Procedure
from cases.users import Role, User
from cases.validation import mask_id_number, mask_phone

ROLE_MAY_OPEN: dict[Role, frozenset[Procedure]] = {
    Role.admin: frozenset(Procedure),
    Role.office_staff: frozenset(Procedure),
    Role.mediator: frozenset({Procedure.mediation}),
}
ROLE_SEES_IN_FULL: dict[Role, frozenset[str]] = {
    Role.office_staff: frozenset({"id_number", "phone"}),
    Role.mediator: frozenset({"phone"}),
}
SENSITIVE_ROLES = frozenset({Role.admin, Role.office_staff})


class StaffCaseView(BaseModel):
    id: int
    number: str
    procedure: Procedure
    status: str
    subject: str
    received_on: date
    parties: list[str]
    deadlines: list[CaseDeadline]


async def staff_case_view(db: Database, case_id: int, user: User) -> StaffCaseView | None:
    """None when this role may not open this case."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None:
        return None
    procedure = Procedure(row["procedure"])
    if procedure not in ROLE_MAY_OPEN.get(user.role, frozenset()):
        return None
    if row["sensitive"] and user.role not in SENSITIVE_ROLES:
        return None
    full = ROLE_SEES_IN_FULL.get(user.role, frozenset())
    parties = []
    for party in await db.fetch_all(
        "SELECT role, name, id_number, phone, details FROM parties WHERE case_id = ? ORDER BY id",
        (case_id,),
    ):
        bits = [f"{party['role']}: {party['name']}"]
        if party["id_number"]:
            number = party["id_number"]
            bits.append(number if "id_number" in full else mask_id_number(number))
        if party["phone"]:
            phone = party["phone"]
            bits.append(phone if "phone" in full else mask_phone(phone))
        contact = json.loads(party["details"]).get("contact")
        if contact:
            bits.append(str(contact))
        parties.append(" · ".join(bits))
    return StaffCaseView(
        id=row["id"],
        number=row["number"],
        procedure=procedure,
        status=row["status"],
        subject=row["subject"],
        received_on=date.fromisoformat(row["received_on"]),
        parties=parties,
        deadlines=await open_deadlines(db, case_id),
    )
