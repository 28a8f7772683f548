"""The 08:00 digest: each staff member's list of what is due today and what is overdue.

A digest is an outbox row like any reminder (``digest:{date}:{chat}``), so it is rate-limited,
survives a crash, and is never sent twice for one day. Pure text building: no aiogram here.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cases.i18n import N_, format_date, translate
from cases.org.users import Role, User
from cases.procedures.statuses import CaseStatus
from cases.procedures.worklist import visible_numbers
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock, from_db, to_db
from scheduling.policy import CLOSED_CASE_STATUSES, STAFF_ROLES
from scheduling.recipients import Recipient, RecipientDirectory
from scheduling.sources import rule_texts
from scheduling.timing import end_of_day

MAX_ITEMS = 40
"""Per section, for readability; the length budget below is what keeps the message sendable."""
MAX_CHARS = 3800
"""Telegram rejects a message over 4,096 characters (UTF-16 code units, after the HTML tags are
parsed) and the whole digest would be lost; stop adding lines well before that."""

STILL_MATTERS_IN: dict[str, frozenset[str]] = {
    # An overdue deadline is worth a line only while its case is in the stage it belongs to;
    # once the case moved on (accepted, corrected, settled...) the missed day is history.
    # Rules not listed here are always shown.
    "F5": frozenset({CaseStatus.submitted}),  # acceptance review (FY 30)
    "F6": frozenset({CaseStatus.submitted}),  # the one 补正 notice (FY 31(1))
    "F7": frozenset({CaseStatus.correction_requested}),  # the applicant's 补正 (FY 31(2))
    "F9": frozenset(
        {CaseStatus.accepted, CaseStatus.suspended}
    ),  # copy to the respondent (FY 48, 54)
    "F10": frozenset(
        {CaseStatus.accepted, CaseStatus.suspended}
    ),  # the respondent's reply (FY 48, 54)
    "F11": frozenset({CaseStatus.accepted, CaseStatus.suspended}),  # hearing notice (FY 51)
    "F12": frozenset({CaseStatus.accepted, CaseStatus.suspended}),  # the decision (FY 62)
    "F13": frozenset({CaseStatus.accepted, CaseStatus.suspended}),
    "F17": frozenset({CaseStatus.suspended}),  # 中止 (FY 39, 41(5))
    "X1": frozenset({CaseStatus.submitted}),  # forward or assign (XF 22)
    "X2": frozenset({CaseStatus.submitted}),  # tell the petitioner (XF 23)
    "X3": frozenset({CaseStatus.submitted}),  # the agency tells the petitioner (XF 23(3))
    "X4": frozenset({CaseStatus.accepted}),  # conclude (XF 34)
    # 行政调解: the county's period runs until the outcome, before and after a mediator
    # accepted the case.
    "MA": frozenset({CaseStatus.submitted, CaseStatus.accepted}),
    "M1": frozenset({CaseStatus.settled}),  # 司法确认 (民事诉讼法 Art 205)
}

SUPERSEDED_BY: dict[str, frozenset[str]] = {
    # A missed deadline whose case already runs the next clock: the missed F5 of a case
    # accepted or deemed accepted (FY 30(3): F9 and F12/F13 run from the F5 last day).
    "F5": frozenset({"F9", "F12", "F13"}),
    "X1": frozenset({"X4"}),
    "X2": frozenset({"X4"}),
}

DIGEST_SCOPE: dict[Role, frozenset[str] | None] = {
    # Which deadlines each role sees (None = all): the kinds that concern them; which cases,
    # _scoped decides (their own unit's and assignments, as /queue).
    Role.admin: None,
    Role.office_staff: None,
    Role.mediator: frozenset({"M1", "MA"}),
    # An agency: its reply (F10), its court cases, and the petitions handed to it (X3, X4:
    # cases.petitions.handover; which petitions, the handover table decides).
    Role.agency_liaison: frozenset({"F10", "L3", "L7", "X3", "X4"}),
    Role.agency_head: frozenset({"F10", "L3", "L7", "X3", "X4"}),
}
SEES_DELIVERY_PROBLEMS = frozenset({Role.admin, Role.office_staff})
ID_BATCH = 500
"""Case ids per ``IN (...)`` list when reading their deadlines."""


@dataclass(frozen=True)
class DueItem:
    rule_id: str
    label: str  # case number or court case number
    due_on: date
    at: datetime | None = None  # hearings


@dataclass(frozen=True)
class Problem:
    status: str
    label: str
    rule_id: str | None
    audience: str


@dataclass
class DigestData:
    today: list[DueItem]
    overdue: list[DueItem]
    problems: list[Problem]


async def collect(db: Database, today: date, tz: ZoneInfo = LEGAL_TZ) -> DigestData:
    closed = sorted(CLOSED_CASE_STATUSES)
    marks = ",".join("?" for _ in closed)
    items: list[DueItem] = []
    rows = await db.fetch_all(
        "SELECT d.case_id, d.rule_id, d.due_on, d.status, c.number, c.status AS case_status"
        " FROM case_deadlines d JOIN cases c ON c.id = d.case_id"
        " WHERE d.status IN ('open', 'missed') AND d.due_on <= ?"
        f" AND c.status NOT IN ({marks})"
        " ORDER BY d.due_on, c.number",
        (today.isoformat(), *closed),
    )
    later_rules = await _rules_by_case(db, {r["case_id"] for r in rows if r["status"] == "missed"})
    for r in rows:
        due_on = date.fromisoformat(r["due_on"])
        if due_on < today and not still_matters(
            r["rule_id"], r["status"], r["case_status"], later_rules.get(r["case_id"], set())
        ):
            continue
        items.append(DueItem(r["rule_id"], r["number"], due_on))
    rows = await db.fetch_all(
        "SELECT due_on, court_case_number, court FROM litigation_defences"
        " WHERE status = 'open' AND due_on <= ? ORDER BY due_on",
        (today.isoformat(),),
    )
    items += [
        DueItem("L3", r["court_case_number"] or r["court"], date.fromisoformat(r["due_on"]))
        for r in rows
    ]
    start = datetime.combine(today, datetime.min.time(), tz)
    rows = await db.fetch_all(
        "SELECT starts_at, court_case_number, court FROM hearings"
        " WHERE status = 'scheduled' AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
        (to_db(start), to_db(end_of_day(today, tz))),
    )
    items += [
        DueItem("L7", r["court_case_number"] or r["court"], today, from_db(r["starts_at"]))
        for r in rows
    ]
    week_ago = datetime.combine(today - timedelta(days=7), datetime.min.time(), tz)
    rows = await db.fetch_all(
        "SELECT r.status, r.rule_id, r.audience, r.payload FROM reminders r"
        " WHERE r.status IN ('failed', 'unknown') AND r.kind NOT IN ('notice', 'digest')"
        " AND r.updated_at >= ? ORDER BY r.updated_at",
        (to_db(week_ago),),
    )
    problems = []
    for r in rows:
        payload = json.loads(r["payload"])
        label = payload.get("case_number") or payload.get("court_case_number") or "—"
        problems.append(Problem(r["status"], label, r["rule_id"], r["audience"]))
    return DigestData(
        today=[i for i in items if i.due_on == today],
        overdue=[i for i in items if i.due_on < today],
        problems=problems,
    )


def still_matters(
    rule_id: str, status: str, case_status: str, case_rules: set[str] | frozenset[str]
) -> bool:
    """An overdue deadline belongs in the digest while someone can still act on it: not a
    missed one the case has left behind (SUPERSEDED_BY), not one of a stage the case has
    moved past (STILL_MATTERS_IN). Without this, every deemed-accepted case would list its
    missed F5 every morning for ever."""
    if status == "missed" and SUPERSEDED_BY.get(rule_id, frozenset()) & case_rules:
        return False
    stages = STILL_MATTERS_IN.get(rule_id)
    return stages is None or case_status in stages


async def _rules_by_case(db: Database, case_ids: set[int]) -> dict[int, set[str]]:
    """Every rule a case has run (any status), for the cases in ``case_ids``."""
    found: dict[int, set[str]] = {}
    ids = sorted(case_ids)
    # A placeholder per id, in batches: portable (SQLite's json_each is not PostgreSQL's),
    # and well under either store's limit on bound parameters however many cases are late.
    for start in range(0, len(ids), ID_BATCH):
        batch = ids[start : start + ID_BATCH]
        rows = await db.fetch_all(
            "SELECT case_id, rule_id FROM case_deadlines WHERE case_id IN ({})".format(
                ",".join("?" for _ in batch)
            ),
            batch,
        )
        for r in rows:
            found.setdefault(r["case_id"], set()).add(r["rule_id"])
    return found


def telegram_length(text: str) -> int:
    """Telegram counts UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def render(data: DigestData, role: Role, locale: str, today: date) -> str | None:
    """The digest for one person, or None when there is nothing to tell them."""
    scope = DIGEST_SCOPE.get(role)

    def visible(items: list[DueItem]) -> list[DueItem]:
        return [i for i in items if scope is None or i.rule_id in scope]

    today_items, overdue = visible(data.today), visible(data.overdue)
    problems = data.problems if role in SEES_DELIVERY_PROBLEMS else []
    if not (today_items or overdue or problems):
        return None

    def t(msgid: str) -> str:
        return translate(locale, msgid)

    def line(item: DueItem) -> str:
        texts = rule_texts(item.rule_id)
        what = t(texts.title) if texts else item.rule_id
        when = (
            item.at.astimezone(LEGAL_TZ).strftime("%H:%M")
            if item.at
            else format_date(item.due_on, locale)
        )
        return f"• <code>{html.escape(item.label)}</code> {html.escape(what)} ({when})"

    def more(count: int) -> str:
        return t(N_("… and {count} more")).format(count=count)

    status_names = {"failed": t(N_("not delivered")), "unknown": t(N_("delivery uncertain"))}
    sections = [
        (
            t(N_("Due today ({count})")).format(count=len(today_items)),
            [line(i) for i in today_items],
        ),
        (t(N_("Overdue ({count})")).format(count=len(overdue)), [line(i) for i in overdue]),
        (
            t(N_("Reminders that need a phone call ({count})")).format(count=len(problems)),
            [
                f"• <code>{html.escape(p.label)}</code> "
                f"{html.escape(status_names.get(p.status, p.status))}"
                for p in problems
            ],
        ),
    ]
    sections = [(title, lines) for title, lines in sections if lines]

    def heading(title: str) -> str:
        return f"<b>{html.escape(title)}</b>"

    out = [
        "<b>"
        + html.escape(t(N_("Daily summary for {date}")).format(date=format_date(today, locale)))
        + "</b>"
    ]
    # Every section keeps its heading and room for its "… and N more"; the characters left
    # are shared fairly, so a long overdue list never hides the reminders that need a call.
    fixed = telegram_length(out[0]) + sum(
        telegram_length(f"\n\n{heading(title)}\n{more(len(lines))}") for title, lines in sections
    )
    costs = [[telegram_length("\n" + text) for text in lines[:MAX_ITEMS]] for _, lines in sections]
    shares = fair_shares([sum(c) for c in costs], MAX_CHARS - fixed)
    for (title, lines), line_costs, share in zip(sections, costs, shares, strict=True):
        out += ["", heading(title)]
        shown = spent = 0
        for cost in line_costs:
            if spent + cost > share:
                break
            spent += cost
            shown += 1
        out += lines[:shown]
        if shown < len(lines):
            out.append(more(len(lines) - shown))
    return "\n".join(out)


def fair_shares(wanted: list[int], budget: int) -> list[int]:
    """Max-min fair split of ``budget``: who wants less than an equal share gets it all, the
    rest is split evenly among the others."""
    shares = [0] * len(wanted)
    left = max(budget, 0)
    pending = sorted(range(len(wanted)), key=lambda i: wanted[i])
    while pending:
        equal = left // len(pending)
        index = pending.pop(0)
        shares[index] = min(wanted[index], equal)
        left -= shares[index]
    return shares


async def staff_members(db: Database, admin_ids: list[int]) -> list[Recipient]:
    """Everyone with a staff role, plus the configured administrators (once each)."""
    directory = RecipientDirectory(db, admin_ids=admin_ids)
    people: dict[int, Recipient] = {}
    for person in await directory.resolve(Role.admin, None):
        people.setdefault(person.chat_id, person)
    rows = await db.fetch_all(
        "SELECT telegram_id, locale, role FROM users WHERE role IN ({})".format(
            ",".join("?" for _ in STAFF_ROLES)
        ),
        sorted(r.value for r in STAFF_ROLES),
    )
    for row in rows:
        people.setdefault(
            row["telegram_id"],
            Recipient(row["telegram_id"], row["locale"] or "zh", Role(row["role"])),
        )
    return list(people.values())


async def _scoped(db: Database, data: DigestData, person: Recipient) -> DigestData:
    """Only what this person may see (``cases.procedures.worklist``): a mediator their own
    cases (a room lead the room's), an agency what was sent to it, an office clerk their
    office's. Administrators, and anyone standing in for them, see everything."""
    if person.role is Role.admin or person.stand_in:
        return data
    user = await _user(db, person.chat_id)
    if user is None:
        return DigestData([], [], data.problems)
    allowed = await visible_numbers(db, user)
    return DigestData(
        today=[item for item in data.today if item.label in allowed],
        overdue=[item for item in data.overdue if item.label in allowed],
        problems=data.problems,
    )


async def _user(db: Database, telegram_id: int) -> User | None:
    row = await db.fetch_one(
        "SELECT telegram_id, locale, role, unit, leads_room FROM users WHERE telegram_id = ?",
        (telegram_id,),
    )
    if row is None:
        return None
    return User(
        telegram_id=row[0], locale=row[1], role=Role(row[2]), unit=row[3], leads_room=bool(row[4])
    )


async def queue_digests(
    db: Database, clock: Clock, *, admin_ids: list[int], tz: ZoneInfo = LEGAL_TZ
) -> int:
    """Put today's digest for each staff member in the outbox (at most once a day each)."""
    now = clock.now()
    today = now.astimezone(tz).date()
    data = await collect(db, today, tz)
    stamp = to_db(now)
    queued = 0
    rows = []
    for person in await staff_members(db, admin_ids):
        text = render(await _scoped(db, data, person), person.role, person.locale, today)
        if text is None:
            continue
        rows.append((person, text))
    async with db.transaction() as conn:
        for person, text in rows:
            cursor = await conn.execute(
                "INSERT INTO reminders(dedup_key, kind, source_kind, step, audience, chat_id,"
                " locale, payload, due_at, expires_at, created_at, updated_at)"
                " VALUES (?, 'digest', 'digest', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(dedup_key) DO NOTHING",
                (
                    f"digest:{today.isoformat()}:{person.chat_id}",
                    today.isoformat(),
                    person.role.value,
                    person.chat_id,
                    person.locale,
                    json.dumps({"text": text}, ensure_ascii=False),
                    stamp,
                    to_db(end_of_day(today, tz)),
                    stamp,
                    stamp,
                ),
            )
            queued += cursor.rowcount
    return queued
