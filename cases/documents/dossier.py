"""The case dossier (案卷) for case-file review (案卷评查): everything a reviewer checks, on
paper, in one file.

What was filed (as the case page shows it to this reader, masked the same way), the evidence
with its SHA-256, the history with who did what and when, every time limit with its basis and
whether it was met, and the proof of service of every message about the case (when Telegram
accepted it, when the recipient pressed "received"). Built only for those who handle the case
(the office, the case's mediator): ``cases.documents.generated.available_documents`` decides.
The fixed words are data (``templates/dossier.toml``).
"""

from __future__ import annotations

import json
from typing import Any

from cases.documents.generated import ZH, official_date
from cases.documents.model import Block, Document, Fields, Heading, Paragraph, Table
from cases.documents.templates import DossierTemplate, load_dossier_template
from cases.i18n import translate
from cases.intake.case_file import KIND_NAMES, build_case_file
from cases.intake.citizen_cases import STAFF_EVENT_TEXTS
from cases.intake.forms import FORMS, PROVISIONAL_NOTE, Procedure
from cases.law.citations import plain_basis
from cases.law.deadline_rules import RULES, DeadlineEngine
from cases.org.organisation import Organisation
from cases.org.users import User
from cases.procedures.access import staff_case_view
from cases.procedures.event_words import ACTOR_NAMES, PARTY_ROLES, event_words
from cases.procedures.statuses import staff_status_text
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock, from_db


def _zh(msgid: str) -> str:
    return translate(ZH, msgid)


def _moment(value: str | None) -> str:
    if not value:
        return "—"
    return from_db(value).astimezone(LEGAL_TZ).strftime("%Y-%m-%d %H:%M")


def _actor(role: str, name: str | None) -> str:
    words = _zh(ACTOR_NAMES.get(role, role))
    return f"{name}（{words}）" if name else words


async def build_dossier(
    db: Database,
    case_id: int,
    user: User,
    org: Organisation,
    clock: Clock,
    engine: DeadlineEngine,
) -> Document | None:
    """None when this person may not open the case (the caller checked; checked again)."""
    view = await staff_case_view(db, case_id, user, engine)
    case_file = await build_case_file(db, case_id, user, org, ZH, engine)
    if view is None or case_file is None:
        return None
    words = load_dossier_template()
    unit = await db.fetch_value("SELECT routed_to_name FROM cases WHERE id = ?", (case_id,))
    procedure = Procedure(view.procedure)
    labels, sentences = words.labels, words.sentences

    parties = []
    for party in view.parties:
        role, _, rest = party.partition(": ")
        parties.append((labels["party"], f"{_zh(PARTY_ROLES.get(role, role))}：{rest}"))
    blocks: list[Block] = [
        Heading(text=words.headings["basics"]),
        Fields(
            rows=[
                (labels["number"], view.number),
                (labels["procedure"], _zh(FORMS[procedure].title)),
                (labels["status"], _zh(staff_status_text(procedure, view.status))),
                (labels["received_on"], official_date(view.received_on)),
                (labels["subject"], view.subject),
                (labels["unit"], str(unit or "—")),
                *parties,
            ]
        ),
        Heading(text=words.headings["application"]),
        Fields(
            rows=[
                (_zh(e.label) + "：", _zh(e.value) if e.translatable else e.value)
                for e in case_file.entries
            ]
        ),
    ]
    check = case_file.timeliness
    if check is not None:
        verdict = _zh(check.verdict).format(
            date=official_date(check.window_end), rule=check.rule_id, basis=check.basis_zh
        )
        notes = "".join(_zh(n) for n in check.notes)
        if check.provisional:
            notes += _zh(PROVISIONAL_NOTE)
        blocks.append(Paragraph(text=sentences["timeliness"].format(verdict=verdict, notes=notes)))
    for addition in case_file.additions:
        text = sentences["addition"].format(
            date=official_date(addition.received_on), text=addition.text
        )
        blocks.append(Paragraph(text=text))

    blocks.append(Heading(text=words.headings["evidence"]))
    if case_file.evidence:
        blocks.append(
            Table(
                columns=words.columns["evidence"],
                widths=[2, 5, 4, 3, 12],
                rows=[
                    [
                        str(item.number),
                        item.file_name or _zh(KIND_NAMES.get(item.kind, item.kind)),
                        item.received_on.isoformat(),
                        str(item.size),
                        item.sha256 or "—",
                    ]
                    for item in case_file.evidence
                ],
            )
        )
    else:
        blocks.append(Paragraph(text=sentences["no_evidence"], indent=False))
    reply = case_file.reply
    if reply is not None:
        text = reply.text or sentences["paper_reply"]
        blocks.append(
            Paragraph(
                text=sentences["reply"].format(date=official_date(reply.received_on), text=text)
            )
        )
        if reply.files:
            blocks.append(
                Table(
                    columns=words.columns["reply"],
                    widths=[2, 6, 3, 12],
                    rows=[
                        [f"R{f.number}", f.file_name or f.kind, str(f.size), f.sha256 or "—"]
                        for f in reply.files
                    ],
                )
            )

    blocks += [
        Heading(text=words.headings["history"]),
        Table(
            columns=words.columns["history"],
            widths=[4, 5, 12],
            rows=[
                [
                    event.at.astimezone(LEGAL_TZ).strftime("%Y-%m-%d %H:%M"),
                    _actor(event.actor_role, event.actor_name),
                    event_words(event.kind, event.detail, "staff", STAFF_EVENT_TEXTS, ZH),
                ]
                for event in view.events
            ],
        ),
        Heading(text=words.headings["deadlines"]),
        await _deadlines(db, case_id, words),
        Heading(text=words.headings["service"]),
        await _service(db, case_id, words),
    ]
    now = clock.now().astimezone(LEGAL_TZ)
    actor = _actor(user.role.value, user.display_name)
    blocks.append(
        Paragraph(
            text=words.exported.format(actor=actor, now=f"{now:%Y-%m-%d %H:%M}"), indent=False
        )
    )
    return Document(
        title=words.title.format(procedure=_zh(FORMS[procedure].title)),
        case_number=view.number,
        reference=words.reference.format(number=view.number),
        file_name=f"{view.number}-dossier.pdf",
        blocks=blocks,
    )


async def _deadlines(db: Database, case_id: int, words: DossierTemplate) -> Table:
    """Every time limit the case ran, closed ones included: met, missed, cancelled, open."""
    rows = []
    for d in await db.fetch_all(
        "SELECT rule_id, trigger_on, due_on, status, closed_on, basis, provisional,"
        " extension_days FROM case_deadlines WHERE case_id = ? ORDER BY id",
        (case_id,),
    ):
        rule = RULES.get(d["rule_id"])
        due = d["due_on"]
        if d["provisional"]:
            due += words.sentences["provisional"]
        if d["extension_days"]:
            due += words.sentences["extended"].format(days=d["extension_days"])
        outcome = words.outcomes.get(d["status"], d["status"])
        if d["closed_on"]:
            outcome += f"（{d['closed_on']}）"
        title = _zh(rule.title) if rule else ""
        rows.append(
            [
                f"{d['rule_id']} {title}".strip(),
                d["trigger_on"],
                due,
                plain_basis(d["basis"]),
                outcome,
            ]
        )
    return Table(columns=words.columns["deadlines"], widths=[6, 3, 4, 6, 4], rows=rows)


async def _service(db: Database, case_id: int, words: DossierTemplate) -> Table:
    """Proof of service (送达): every message about this case the outbox handled."""
    rows = []
    for r in await db.fetch_all(
        "SELECT kind, rule_id, step, audience, status, sent_at, delivered_at, acknowledged_at,"
        " payload FROM reminders WHERE case_id = ? AND status != 'cancelled' ORDER BY id",
        (case_id,),
    ):
        rows.append(
            [
                _message(r, words),
                _zh(ACTOR_NAMES.get(r["audience"], r["audience"])),
                words.delivery.get(r["status"], r["status"]),
                _moment(r["delivered_at"] or r["sent_at"]),
                _moment(r["acknowledged_at"]),
            ]
        )
    return Table(
        columns=words.columns["service"],
        widths=[7, 3, 3, 4, 4],
        rows=rows or [["—"] * len(words.columns["service"])],
    )


def _message(row: Any, words: DossierTemplate) -> str:
    kind = words.message_kinds.get(row["kind"], row["kind"])
    if row["rule_id"]:
        rule = RULES.get(row["rule_id"])
        return f"{kind}：{row['rule_id']} {_zh(rule.title) if rule else ''}".rstrip()
    payload: dict[str, Any] = json.loads(row["payload"] or "{}")
    notice = str(payload.get("notice") or row["step"])
    return f"{kind}：{words.notices.get(notice, notice)}"
