"""The documents a case produces, generated from its data, and who may have which.

The citizen gets the documents addressed to them (the 行政复议申请书 they filed, to print and
sign; the office's 受理通知书, 补正通知书 and 不予受理决定书; the 调解协议书) once the event they
record is in the case history. The office that handles the case gets them too, and the
dossier for 案卷评查 (``cases.documents.dossier``); a mediator gets the agreement and the
dossier of a case they may open. The wording is in ``templates/`` (data); this module only
supplies the facts. Documents are in Chinese whatever the reader's language: they are the
county's official documents.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Any

from cases.documents.model import Block, Document, Fields, Heading, Paragraph, Signature, Table
from cases.documents.templates import Template, fill, load_template
from cases.i18n import N_, translate
from cases.intake.case_file import KIND_NAMES
from cases.intake.form_engine import Kind, Procedure, display_value
from cases.intake.forms import FORMS, PROVISIONAL_NOTE
from cases.intake.validation import mask_id_number, mask_phone
from cases.law.citations import plain_basis
from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation
from cases.org.users import Role, User
from cases.procedures.access import ROLE_SEES_IN_FULL, free_text_masker, may_open_case
from cases.procedures.action_steps import ORDINARY, SIMPLIFIED
from cases.procedures.privacy import mask_numbers
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, Clock, from_db

ZH = "zh"


class DocumentKind(StrEnum):
    application = "application"  # 行政复议申请书 (FYSS 19)
    acceptance = "acceptance"  # 受理通知书 (FY 30(1))
    correction = "correction"  # 补正通知书 (FY 31(1))
    refusal = "refusal"  # 不予受理决定书 (FY 30(2))
    agreement = "agreement"  # 调解协议书 (M1: 民事诉讼法 Art 205 for court confirmation)
    dossier = "dossier"  # 案卷, for 案卷评查


DOCUMENT_LABELS: dict[DocumentKind, str] = {
    DocumentKind.application: N_("Application form (PDF)"),
    DocumentKind.acceptance: N_("Notice of acceptance (PDF)"),
    DocumentKind.correction: N_("Notice to complete the application (PDF)"),
    DocumentKind.refusal: N_("Decision not to accept (PDF)"),
    DocumentKind.agreement: N_("Mediation agreement (PDF)"),
    DocumentKind.dossier: N_("Case dossier for review (PDF)"),
}

TEMPLATE_OF: dict[DocumentKind, str] = {
    DocumentKind.application: "reconsideration_application",
    DocumentKind.acceptance: "acceptance_notice",
    DocumentKind.correction: "correction_notice",
    DocumentKind.refusal: "refusal_decision",
    DocumentKind.agreement: "mediation_agreement",
}

EVENT_OF: dict[DocumentKind, str] = {
    DocumentKind.acceptance: "accepted",
    DocumentKind.correction: "correction_requested",
    DocumentKind.refusal: "refused",
}
"""The history event a document records: no event, no document. The agreement comes from
the recorded outcome (``mediation_outcomes``, cases.mediation.outcome) with its terms."""

PROCEDURE_DOCUMENTS: dict[Procedure, tuple[DocumentKind, ...]] = {
    Procedure.reconsideration: (
        DocumentKind.application,
        DocumentKind.acceptance,
        DocumentKind.correction,
        DocumentKind.refusal,
    ),
    Procedure.petition: (),
    Procedure.mediation: (DocumentKind.agreement,),
}
OFFICE_ROLES = frozenset({Role.admin, Role.office_staff})
TRACK = {True: SIMPLIFIED, False: ORDINARY}


def official_date(day: date) -> str:
    """Official documents write dates without the weekday: 2026年12月6日."""
    return f"{day.year}年{day.month}月{day.day}日"


class Reader(StrEnum):
    owner = "owner"
    office = "office"
    mediator = "mediator"


def reader_of(row: Any, user: User) -> Reader | None:
    """How this person relates to the case, for documents; None: no documents for them."""
    if row["citizen_id"] == user.telegram_id and user.role is Role.citizen:
        return Reader.owner
    if user.role in OFFICE_ROLES and may_open_case(row, user):
        return Reader.office
    if user.role is Role.mediator and may_open_case(row, user):
        return Reader.mediator
    return None


async def _latest_event(db: Database, case_id: int, kind: str) -> Any:
    return await db.fetch_one(
        "SELECT at, detail FROM case_events WHERE case_id = ? AND kind = ? ORDER BY id DESC",
        (case_id, kind),
    )


async def _agreement(db: Database, case_id: int) -> Any:
    return await db.fetch_one(
        "SELECT o.terms, o.ended_on, p.name AS other_party, coalesce(m.shown_name,"
        " m.real_name, u.display_name) AS mediator FROM mediation_outcomes o"
        " JOIN cases c ON c.id = o.case_id"
        " LEFT JOIN mediation_parties p ON p.case_id = o.case_id"
        " LEFT JOIN users u ON u.telegram_id = c.mediator_id"
        " LEFT JOIN mediator_profiles m ON m.user_id = c.mediator_id"
        " WHERE o.case_id = ? AND o.agreed = 1 AND o.terms IS NOT NULL",
        (case_id,),
    )


async def available_documents(db: Database, case_id: int, user: User) -> list[DocumentKind]:
    """The documents this person may have of this case now, in the order they arise."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None:
        return []
    reader = reader_of(row, user)
    if reader is None:
        return []
    kinds: list[DocumentKind] = []
    for kind in PROCEDURE_DOCUMENTS[Procedure(row["procedure"])]:
        if reader is Reader.mediator and kind is not DocumentKind.agreement:
            continue
        if kind is DocumentKind.agreement:
            exists = await _agreement(db, case_id) is not None  # recorded with its terms
        else:
            event_kind = EVENT_OF.get(kind)
            exists = event_kind is None or await _latest_event(db, case_id, event_kind) is not None
        if exists:
            kinds.append(kind)
    if reader is not Reader.owner:
        kinds.append(DocumentKind.dossier)
    return kinds


async def build_document(
    db: Database,
    case_id: int,
    kind: DocumentKind,
    user: User,
    org: Organisation,
    clock: Clock,
    engine: DeadlineEngine,
) -> Document | None:
    """The document, or None when this person may not have it (or it does not exist yet)."""
    if kind not in await available_documents(db, case_id, user):
        return None
    if kind is DocumentKind.dossier:
        from cases.documents.dossier import build_dossier

        return await build_dossier(db, case_id, user, org, clock, engine)
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    assert row is not None
    template = load_template(TEMPLATE_OF[kind])
    values = await _facts(db, row, kind, user, org)
    blocks: list[Block] = []
    if template.opening:
        blocks.append(Paragraph(text=fill(template.opening, values), indent=False))
    blocks += [Paragraph(text=fill(p, values)) for p in template.paragraphs]
    if kind is DocumentKind.application:
        blocks += await _application_blocks(db, row, template, user, org)
    blocks.append(Signature(lines=[fill(line, values) for line in template.closing]))
    if template.footnote:
        blocks.append(Paragraph(text=template.footnote, indent=False))
    return Document(
        title=fill(template.title, values),
        case_number=row["number"],
        reference=fill(template.reference, values) if template.reference else None,
        file_name=f"{row['number']}-{kind.value}.pdf",
        blocks=blocks,
    )


def _body_name(org: Organisation) -> str:
    """The 行政复议机关 of this deployment (the local body), in whose name documents go out."""
    local = next((b for b in org.reconsideration_bodies if b.local), None)
    return local.name if local else org.name


def _respondent(row: Any, answers: dict[str, Any], org: Organisation) -> str:
    agency_id = answers.get("respondent_id")
    if isinstance(agency_id, str) and not agency_id.startswith("text:"):
        try:
            return org.agency(agency_id).name
        except KeyError:
            pass
    if isinstance(agency_id, str) and agency_id.startswith("text:"):
        return agency_id[5:]
    return str(row["respondent"] or "—")


async def _due(db: Database, case_id: int, rule_id: str) -> dict[str, str]:
    """The stored deadline's last day, its basis as stored (the article it was opened under)
    and the provisional note when the holiday calendar does not cover that year."""
    found = await db.fetch_one(
        "SELECT due_on, provisional, basis FROM case_deadlines WHERE case_id = ? AND rule_id = ?"
        " ORDER BY id DESC",
        (case_id, rule_id),
    )
    if found is None:
        return {"due": "—", "basis": "—", "provisional": ""}
    return {
        "due": official_date(date.fromisoformat(found["due_on"])),
        "basis": plain_basis(found["basis"], ZH),
        "provisional": translate(ZH, PROVISIONAL_NOTE) if found["provisional"] else "",
    }


async def _facts(
    db: Database, row: Any, kind: DocumentKind, user: User, org: Organisation
) -> dict[str, str]:
    answers: dict[str, Any] = json.loads(row["answers"] or "{}")
    received = date.fromisoformat(row["received_on"])
    values: dict[str, str] = {
        "number": row["number"],
        "applicant_name": str(answers.get("applicant_name") or "申请人"),
        "received_on": official_date(received),
        "respondent": _respondent(row, answers, org),
        "body_name": _body_name(org),
        "subject": str(row["subject"]),
        "provisional": "",
    }
    event_kind = EVENT_OF.get(kind)
    detail: dict[str, Any] = {}
    if event_kind is not None:
        event = await _latest_event(db, row["id"], event_kind)
        assert event is not None
        detail = json.loads(event["detail"])
        issued = from_db(event["at"]).astimezone(LEGAL_TZ).date()
        values["issued_on"] = official_date(issued)
    else:
        values["issued_on"] = official_date(received)
    if kind is DocumentKind.acceptance:
        simplified = bool(detail.get("simplified"))
        accepted_on = detail.get("accepted_on") or row["received_on"]
        values["accepted_on"] = official_date(date.fromisoformat(str(accepted_on)))
        values["track"] = translate(ZH, TRACK[simplified])
        # F12 (FY 62(1), 60 days) or F13 (FY 62(2), simplified: 30 days), as opened.
        decision = await _due(db, row["id"], "F13" if simplified else "F12")
        values["decision_due"] = decision["due"]
        values["basis"] = decision["basis"]
        values["provisional"] = decision["provisional"]
    elif kind is DocumentKind.correction:
        values["missing"] = str(detail.get("missing") or "—")
        supply = await _due(db, row["id"], "F7")  # FY 31(2): 10 working days
        values["supply_due"] = supply["due"]
        values["provisional"] = supply["provisional"]
    elif kind is DocumentKind.refusal:
        values["reason"] = str(detail.get("reason") or "—")
    elif kind is DocumentKind.agreement:
        agreement = await _agreement(db, row["id"])
        assert agreement is not None
        values["room"] = str(row["routed_to_name"] or "—")
        # The other party as they joined (their own name); else as the applicant named them.
        other = agreement["other_party"] or answers.get("other_party_name")
        values["other_party"] = str(other or "—")
        # Typed by the mediator, perhaps copied from the paper agreement with the parties' ID
        # and phone numbers: masked as the mediation page masks them (the applicant sees
        # none; staff as their role sees numbers).
        terms = str(agreement["terms"])
        owner = row["citizen_id"] == user.telegram_id and user.role is Role.citizen
        values["terms"] = mask_numbers(terms) if owner else free_text_masker(user)(terms)
        agreed = date.fromisoformat(agreement["ended_on"])
        values["agreed_on"] = official_date(agreed)
        values["issued_on"] = official_date(agreed)
        values["mediator"] = str(agreement["mediator"] or "__________")
    return values


async def _application_blocks(
    db: Database, row: Any, template: Template, user: User, org: Organisation
) -> list[Block]:
    """What the applicant filed, in form order with the form's labels; the applicant's own
    copy in full, staff copies masked as their role sees numbers."""
    answers: dict[str, Any] = json.loads(row["answers"] or "{}")
    full = (
        frozenset({"id_number", "phone"})
        if row["citizen_id"] == user.telegram_id
        else ROLE_SEES_IN_FULL.get(user.role, frozenset())
    )
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    spec = FORMS[Procedure(row["procedure"])]
    for field in spec.asked_fields(answers):
        if field.key in seen or field.key.startswith("_") or field.kind is Kind.evidence:
            continue
        seen.add(field.key)
        if field.key not in answers or answers[field.key] is None:
            continue
        value = answers[field.key]
        if field.kind is Kind.id_number:
            text = str(value) if "id_number" in full else mask_id_number(str(value))
        elif field.kind is Kind.phone:
            text = str(value) if "phone" in full else mask_phone(str(value))
        else:
            text = display_value(field, value, org, lambda m: translate(ZH, m), ZH)
        rows.append((translate(ZH, field.label) + "：", text))
    blocks: list[Block] = [Heading(text=template.answers_heading), Fields(rows=rows)]
    files = await db.fetch_all(
        "SELECT kind, file_name, size, sha256 FROM attachments WHERE case_id = ? ORDER BY id",
        (row["id"],),
    )
    if files:
        blocks.append(Heading(text=template.evidence_heading))
        blocks.append(
            Table(
                columns=["序号", "名称", "大小", "SHA-256"],
                widths=[1, 4, 2, 9],
                rows=[
                    [
                        str(i),
                        f["file_name"] or translate(ZH, KIND_NAMES.get(f["kind"], f["kind"])),
                        _size(f["size"]),
                        f["sha256"] or "—",
                    ]
                    for i, f in enumerate(files, start=1)
                ],
            )
        )
    return blocks


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
