"""A staff member's own open work across procedures (/queue) and search within it (/find).

"Mine" depends on the role and unit (issue #10):

- administrators: every open case;
- office staff: the cases routed to their office (one without an office: every procedure, as
  ``cases.procedures.access`` lets them open);
- mediators: the cases assigned to them (``cases.mediator_id``); a room lead also the room's
  cases nobody has accepted yet;
- agency liaisons and heads: what was sent to their agency: a reconsideration application
  against it once the office sent the copy (F10 opened, FY 48), a petition the petition office
  handed to it (its latest ``petition_handovers`` row, ``access.PETITION_AGENCY_SQL``; the
  case itself stays routed to the petition office), and its open court cases (行政应诉).

Every case row found is checked again with the same predicates the case pages use
(``may_open_case``, ``is_respondent``), so /queue and /find never list what a press would
refuse. Sorted overdue first, then by the nearest deadline; work without a deadline last.
No Telegram here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from cases.org.users import Role, User
from cases.procedures.access import (
    HANDOVER_READABLE,
    free_text_masker,
    is_respondent,
    may_open_case,
    petition_sent_to_agency,
)
from cases.procedures.statuses import OPEN_STATUSES
from cases.store.db import Database, Row
from cases.store.time import LEGAL_TZ, from_db

PAGE_SIZE = 8
FIND_LIMIT = 20
MIN_QUERY = 2
AGENCY_ROLES = frozenset({Role.agency_liaison, Role.agency_head})


class Source(StrEnum):
    case = "case"
    lawsuit = "lawsuit"  # a court case against the agency (lawsuits table)


class WorkItem(BaseModel):
    source: Source
    id: int
    number: str
    procedure: str
    """``cases.procedure`` (Procedure value), or ``lawsuit``."""
    status: str
    subject: str
    rule_id: str | None = None
    due_on: date | None = None
    provisional: bool = False

    def overdue(self, today: date) -> bool:
        return self.due_on is not None and self.due_on < today


class WorkPage(BaseModel):
    items: list[WorkItem]
    page: int
    pages: int
    total: int
    overdue: int


def _order(items: list[WorkItem], today: date) -> list[WorkItem]:
    # Overdue first (the longest overdue on top), then the nearest deadline, then no deadline.
    return sorted(
        items,
        key=lambda i: (
            0 if i.overdue(today) else 1 if i.due_on else 2,
            i.due_on or date.max,
            i.source.value,
            i.id,
        ),
    )


AGENCY_RULES = frozenset({"F10", "X4"})
"""The deadlines an agency answers for (FY 48 reply; XF 34 handling opinion): its queue shows
these before the office's own (F12)."""

_CASE_COLUMNS = (
    "SELECT c.id, c.number, c.procedure, c.status, c.subject, c.sensitive, c.routed_to,"
    " c.mediator_id, c.answers FROM cases c"
)
_DEADLINE_COLUMNS = (
    # CROSS JOIN keeps cases the outer loop (SQLite's planner otherwise walks every open
    # deadline of the county to find a mediator's hundred). Its condition is in the WHERE:
    # PostgreSQL refuses ON after CROSS JOIN.
    "SELECT d.case_id, d.rule_id, d.due_on, d.provisional FROM cases c"
    " CROSS JOIN case_deadlines d WHERE d.case_id = c.id"
)


def _case_scope(user: User) -> tuple[str, tuple[Any, ...]] | None:
    """The SQL condition that narrows the candidates (the access predicates decide)."""
    if user.role is Role.admin:
        return "1 = 1", ()
    if user.role is Role.office_staff:
        if user.unit is None:
            return "1 = 1", ()
        return "c.routed_to = ?", (f"office:{user.unit}",)
    if user.role is Role.mediator:
        if user.leads_room and user.unit is not None:
            return (
                "(c.mediator_id = ? OR (c.mediator_id IS NULL AND c.routed_to = ?))",
                (user.telegram_id, f"room:{user.unit}"),
            )
        return "c.mediator_id = ?", (user.telegram_id,)
    if user.role in AGENCY_ROLES and user.unit is not None:
        return (
            "c.sensitive = 0 AND ((c.procedure = 'reconsideration'"
            " AND json_extract(c.answers, '$.respondent_id') = ?"
            " AND EXISTS (SELECT 1 FROM case_deadlines f WHERE f.case_id = c.id"
            "   AND f.rule_id = 'F10'))"
            " OR (c.procedure = 'petition' AND c.id IN (SELECT h.case_id"
            "   FROM petition_handovers h WHERE h.agency_id = ? AND h.kind = 'assign')))",
            (user.unit, user.unit),
        )
    return None


async def _handed_to(db: Database, agency_id: str) -> dict[int, str | None]:
    """Case id → the agency each petition ever handed to ``agency_id`` is with now (its
    latest handover, as ``access.PETITION_AGENCY_SQL`` reads it for one case), in one pass
    rather than a subquery per case (the handovers have no index by case: seconds)."""
    readable = ", ".join(f"'{status}'" for status in HANDOVER_READABLE)
    rows = await db.fetch_all(
        "SELECT h.case_id, CASE WHEN h.kind = 'assign' AND h.status IN"
        f" ({readable}) THEN h.agency_id END AS agency FROM petition_handovers h"
        " WHERE h.id IN (SELECT max(id) FROM petition_handovers WHERE case_id IN"
        "   (SELECT case_id FROM petition_handovers WHERE agency_id = ? AND kind = 'assign')"
        "  GROUP BY case_id)",
        (agency_id,),
    )
    return {int(r["case_id"]): r["agency"] for r in rows}


def _may_list(row: Row, user: User, handed: dict[int, str | None]) -> bool:
    if user.role in AGENCY_ROLES:
        # The F10 condition (the copy was sent) is in the SQL; the handover in ``handed``.
        return petition_sent_to_agency(row, user, handed.get(row["id"])) or is_respondent(
            row, user
        )
    return may_open_case(row, user)


def _case_item(row: Row, deadline: Row | None) -> WorkItem:
    # Built for every case of a large office's queue: no validation (the columns are typed
    # by the schema); the subject is masked for the items shown (_shown).
    return WorkItem.model_construct(
        source=Source.case,
        id=row["id"],
        number=row["number"],
        procedure=row["procedure"],
        status=row["status"],
        subject=row["subject"],
        rule_id=deadline["rule_id"] if deadline else None,
        due_on=date.fromisoformat(deadline["due_on"]) if deadline else None,
        provisional=bool(deadline["provisional"]) if deadline else False,
    )


def _shown(items: list[WorkItem], user: User) -> list[WorkItem]:
    """The items a person is shown, numbers in the subject masked as on the case pages."""
    masked = free_text_masker(user)
    return [
        item.model_copy(update={"subject": masked(item.subject)})
        if item.source is Source.case
        else item
        for item in items
    ]


async def _cases(
    db: Database,
    user: User,
    extra: str = "",
    params: Sequence[Any] = (),
    *,
    open_only: bool = True,
) -> list[WorkItem]:
    """Two queries on the same condition: the cases, then their open deadlines (a correlated
    subquery per case made SQLite scan the deadlines once per case: seconds at 20,000)."""
    scope = _case_scope(user)
    if scope is None:
        return []
    condition, scope_params = scope
    statuses = OPEN_STATUSES if open_only else ()
    where = f"c.status IN ({','.join('?' for _ in statuses)}) AND " if statuses else ""
    arguments = (*statuses, *scope_params, *params)
    rows = await db.fetch_all(f"{_CASE_COLUMNS} WHERE {where}{condition}{extra}", arguments)
    handed = await _handed_to(db, user.unit) if user.role in AGENCY_ROLES and user.unit else {}
    rows = [r for r in rows if _may_list(r, user, handed)]
    if not rows:
        return []
    preferred = AGENCY_RULES if user.role in AGENCY_ROLES else frozenset()
    nearest: dict[int, Row] = {}
    for d in await db.fetch_all(
        f"{_DEADLINE_COLUMNS} AND d.status = 'open' AND {where}{condition}{extra}", arguments
    ):
        held = nearest.get(d["case_id"])
        key = (d["rule_id"] not in preferred, d["due_on"])
        if held is None or key < (held["rule_id"] not in preferred, held["due_on"]):
            nearest[d["case_id"]] = d
    return [_case_item(r, nearest.get(r["id"])) for r in rows]


async def _lawsuits(
    db: Database,
    user: User,
    extra: str = "",
    params: Sequence[Any] = (),
    *,
    open_only: bool = True,
) -> list[WorkItem]:
    """An agency's open court cases: the L3 defence date or the next hearing, the earlier."""
    if user.role not in AGENCY_ROLES or user.unit is None:
        return []
    rows = await db.fetch_all(
        "SELECT l.id, l.court_case_number, l.court, l.plaintiff, l.status,"
        " (SELECT due_on FROM litigation_defences WHERE lawsuit_id = l.id AND status = 'open'"
        "  ORDER BY due_on LIMIT 1) AS defence_due,"
        " (SELECT provisional FROM litigation_defences WHERE lawsuit_id = l.id"
        "  AND status = 'open' ORDER BY due_on LIMIT 1) AS provisional,"
        " (SELECT min(starts_at) FROM hearings WHERE lawsuit_id = l.id"
        "  AND status = 'scheduled') AS hearing_at"
        " FROM lawsuits l WHERE l.agency_id = ?"
        + (" AND l.status = 'open'" if open_only else "")
        + extra,
        (user.unit, *params),
    )
    items = []
    for r in rows:
        dates: list[tuple[date, str]] = []
        if r["defence_due"]:
            dates.append((date.fromisoformat(r["defence_due"]), "L3"))
        if r["hearing_at"]:
            moment: datetime = from_db(r["hearing_at"])
            dates.append((moment.astimezone(LEGAL_TZ).date(), "L7"))
        due_on, rule_id = min(dates) if dates else (None, None)
        items.append(
            WorkItem(
                source=Source.lawsuit,
                id=r["id"],
                number=r["court_case_number"],
                procedure=Source.lawsuit.value,
                status=r["status"],
                subject=f"{r['court']} · {r['plaintiff']}",
                rule_id=rule_id,
                due_on=due_on,
                provisional=bool(r["provisional"]) and rule_id == "L3",
            )
        )
    return items


async def _my_work(db: Database, user: User, today: date) -> list[WorkItem]:
    """All of this person's open work, in the order /queue shows it (subjects as stored:
    :func:`work_page` masks the ones it shows)."""
    return _order([*await _cases(db, user), *await _lawsuits(db, user)], today)


async def work_page(db: Database, user: User, today: date, page: int) -> WorkPage:
    """One page of :func:`_my_work` (a page past the end shows the last one)."""
    items = await _my_work(db, user, today)
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    return WorkPage(
        items=_shown(items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], user),
        page=page,
        pages=pages,
        total=len(items),
        overdue=sum(1 for i in items if i.overdue(today)),
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def find_work(db: Database, user: User, query: str, today: date) -> list[WorkItem] | None:
    """This person's cases (open or closed, as far as they may open them) whose number,
    subject or a party's name contains ``query``; None when the query is too short."""
    query = query.strip()
    if len(query) < MIN_QUERY:
        return None
    # lower() on both sides, by the database: SQLite's LIKE ignores ASCII case, PostgreSQL's
    # does not.
    like = _like(query)
    cases = await _cases(
        db,
        user,
        " AND (lower(c.number) LIKE lower(?) ESCAPE '\\'"
        " OR lower(c.subject) LIKE lower(?) ESCAPE '\\'"
        " OR EXISTS (SELECT 1 FROM parties p WHERE p.case_id = c.id"
        "   AND lower(p.name) LIKE lower(?) ESCAPE '\\'))",
        (like, like, like),
        open_only=False,
    )
    lawsuits = await _lawsuits(
        db,
        user,
        " AND (lower(l.court_case_number) LIKE lower(?) ESCAPE '\\'"
        " OR lower(l.plaintiff) LIKE lower(?) ESCAPE '\\')",
        (like, like),
        open_only=False,
    )
    return _shown(_order([*cases, *lawsuits], today)[:FIND_LIMIT], user)


async def visible_numbers(db: Database, user: User) -> set[str]:
    """The case and court case numbers this person may see, open or closed: what a list sent
    to them (the morning digest) may name."""
    cases = await _cases(db, user, open_only=False)
    lawsuits = await _lawsuits(db, user, open_only=False)
    return {item.number for item in (*cases, *lawsuits)}
