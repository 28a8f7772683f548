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

from cases.clock import LEGAL_TZ, Clock, from_db, to_db
from cases.db import Database
from cases.texts import N_, format_date, translate
from cases.users import Role
from scheduling.planner import end_of_day, rule_texts
from scheduling.policy import CLOSED_CASE_STATUSES, STAFF_ROLES
from scheduling.recipients import Recipient, RecipientDirectory

MAX_ITEMS = 40
"""Per section; a Telegram message holds 4,096 characters."""

DIGEST_SCOPE: dict[Role, frozenset[str] | None] = {
    # Which deadlines each role sees (None = all). Agencies and mediators are not yet linked
    # to their own cases, so they see the kinds of deadline that concern them.
    Role.admin: None,
    Role.office_staff: None,
    Role.mediator: frozenset({"M1", "MA"}),
    Role.agency_liaison: frozenset({"F10", "L3", "L7"}),
    Role.agency_head: frozenset({"F10", "L3", "L7"}),
}
SEES_DELIVERY_PROBLEMS = frozenset({Role.admin, Role.office_staff})


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
    if await db.fetch_value(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='case_deadlines'"
    ):
        rows = await db.fetch_all(
            "SELECT d.rule_id, d.due_on, c.number FROM case_deadlines d"
            " JOIN cases c ON c.id = d.case_id"
            " WHERE d.status IN ('open', 'missed') AND d.due_on <= ?"
            f" AND c.status NOT IN ({marks})"
            " ORDER BY d.due_on, c.number",
            (today.isoformat(), *closed),
        )
        items += [
            DueItem(r["rule_id"], r["number"], date.fromisoformat(r["due_on"])) for r in rows
        ]
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

    def section(title: str, lines: list[str]) -> list[str]:
        if not lines:
            return []
        shown = lines[:MAX_ITEMS]
        more = len(lines) - len(shown)
        tail = [t(N_("… and {count} more")).format(count=more)] if more else []
        return ["", f"<b>{html.escape(title)}</b>", *shown, *tail]

    out = [
        "<b>"
        + html.escape(t(N_("Daily summary for {date}")).format(date=format_date(today, locale)))
        + "</b>"
    ]
    out += section(
        t(N_("Due today ({count})")).format(count=len(today_items)),
        [line(i) for i in today_items],
    )
    out += section(
        t(N_("Overdue ({count})")).format(count=len(overdue)), [line(i) for i in overdue]
    )
    status_names = {"failed": t(N_("not delivered")), "unknown": t(N_("delivery uncertain"))}
    out += section(
        t(N_("Reminders that need a phone call ({count})")).format(count=len(problems)),
        [
            f"• <code>{html.escape(p.label)}</code> {status_names.get(p.status, p.status)}"
            for p in problems
        ],
    )
    return "\n".join(out)


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
        text = render(data, person.role, person.locale, today)
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
