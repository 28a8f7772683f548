"""The application as the citizen filed it, for the people who must act on it.

The office decides within five working days whether to accept, ask for 补正 or refuse (FY 30,
31); a mediator prepares a session from the dispute's facts and the other side's details; the
respondent agency answers the application (FY 48). Each needs what the citizen wrote, in the
order of the form and with the form's own labels. This module builds that once, as a function
of the case, for every procedure and role; the chat renders it (handlers/case_file.py) and the
later PDF dossier will print the same :class:`CaseFile`.

What a role sees is a table (:data:`AUDIENCE_FIELDS`), on top of who may open the case at all
(``cases.procedures.access``): personal numbers follow the masking rules of the staff page, and an
agency answering a reconsideration sees only what its reply needs (the act challenged, the request,
the facts and reasons), never an ID or phone number.

Citizen text is data, never markup: values are returned as written, except that invisible
characters that could disguise text (bidi overrides and isolates, zero-width characters) are
made visible (:func:`reveal_invisible`). Escaping for the chat's HTML is the renderer's job.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from cases.i18n import N_
from cases.intake.form_engine import Kind, Procedure, display_value
from cases.intake.forms import FORMS
from cases.intake.timeliness import timeliness
from cases.intake.validation import mask_id_number, mask_phone
from cases.law.deadline_rules import RULES, DeadlineEngine
from cases.org.organisation import Organisation
from cases.org.users import Role, User
from cases.procedures.access import (
    ROLE_SEES_IN_FULL,
    free_text_masker,
    may_open_case,
    petition_agency,
    petition_sent_to_agency,
)
from cases.store.db import Database
from cases.store.time import LEGAL_TZ, from_db

KIND_NAMES: dict[str, str] = {
    "photo": N_("photo"),
    "document": N_("document"),
    "voice": N_("voice message"),
}
"""An evidence file without a name, by its Telegram kind (the case file, the PDFs)."""


class Audience(StrEnum):
    """Who reads the file, which decides what is in it."""

    office = "office"  # reconsideration / petition office, administrators: everything
    mediator = "mediator"  # the room's mediator: the whole request
    agency = "agency"  # the respondent agency (FY 48): what its reply needs


AGENCY_FIELDS = frozenset(
    {
        "applicant_kind",
        "organisation_name",
        "applicant_name",
        "respondent_id",
        "act_kind",
        "act_title",
        "act_date",
        "request",
        "facts",
        "compensation",
        "compensation_details",
    }
)
"""FY 48: the respondent receives a copy of the application to answer it: who applies, the
act challenged, the request (a compensation claim is part of it, FY 72) and the facts and
reasons. No ID number, phone, address, or the applicant's timeliness explanations."""

AUDIENCE_FIELDS: dict[Audience, frozenset[str] | None] = {
    Audience.office: None,  # every answer
    Audience.mediator: None,
    Audience.agency: AGENCY_FIELDS,
}

AGENCY_TITLE = N_("Extract of the application, for the respondent's reply")
"""Not the served copy (the office sends that, FY 48): what the liaison reads here."""
PETITION_TITLE = N_("Extract of the petition, for the agency that handles it")
FILE_NAME_SHOWN = 120
"""Characters of a file name shown (Telegram allows 255; a caption has 1,024 in all)."""

AGENCY_ROLES = frozenset({Role.agency_liaison, Role.agency_head})
ANSWERING_RULE = "F10"
"""The respondent's reply period (FY 48/54): opened when the office sends the copy. Before
that the agency has no part in the case and sees nothing of it."""

LINK_REASONS: dict[str, str] = {
    "respondent_id": N_("same respondent agency"),
    "body_concerned": N_("same agency concerned"),
    "request": N_("same request"),
    "other_party_name": N_("same other side"),
}

# Format characters that change how text reads without being seen: bidi embeddings,
# overrides and isolates, zero-width space/non-joiner, word joiner, invisible operators, BOM,
# Arabic letter mark, Mongolian vowel separator. U+200D (zero-width joiner) builds emoji and is
# revealed only where it joins no symbols.
_ZWJ = "\u200d"


def reveal_invisible(text: str) -> str:
    """Invisible and control characters shown as ``⟦U+202E⟧``, so that a right-to-left
    override or a zero-width character cannot make staff read something else than what was
    filed. Newlines stay."""
    out: list[str] = []
    for index, ch in enumerate(text):
        if ch == "\n":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if ch == _ZWJ and _joins_symbols(text, index):
            out.append(ch)
        elif category in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn") and not _is_emoji_part(ch):
            out.append(f"⟦U+{ord(ch):04X}⟧")
        else:
            out.append(ch)
    return "".join(out)


def _is_emoji_part(ch: str) -> bool:
    """Tag characters (U+E0020–E007F) build flag emoji such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿."""
    return 0xE0020 <= ord(ch) <= 0xE007F


def _joins_symbols(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return bool(before and after) and all(
        unicodedata.category(c) in ("So", "Sk", "Mn") or 0xFE00 <= ord(c) <= 0xFE0F
        for c in (before, after)
    )


class Entry(BaseModel):
    """One answer: the form's label (a msgid) and the value as filed."""

    key: str
    label: str
    value: str
    translatable: bool = False
    """The value is a fixed choice (a msgid): translate it; otherwise show it as written."""
    free_text: bool = False
    """The citizen's own words: may run over several lines (shown under its label) and is
    split across messages when long, never shortened."""


ON_TIME = N_("within the time limit, which ends on {date} ({rule}, {basis}).")
LATE = N_(
    "outside the time limit: it ended on {date} ({rule}, {basis}). The period is extended by "
    "the time an obstacle the applicant could not control lasted (Administrative "
    "Reconsideration Law, Art. 20(2))."
)
LATE_LONG_STOP = N_(
    "outside the long stop: it ended on {date} ({rule}, {basis}) and cannot be extended. For "
    "an act concerning real property the long stop is 20 years (F3R): check whether it "
    "applies."
)
F2_CAP = N_(
    "The applicant says the decision did not tell them of the right to apply: this date is "
    "the one-year cap (F2); the 60 days run from when they learned of the right, which the "
    "form does not ask."
)
LATE_REASON_GIVEN = N_("The applicant gave a reason for applying late (above).")
NO_LATE_REASON = N_("No reason for applying late was given.")


class TimelinessCheck(BaseModel):
    """FY 20-21 at intake, recomputed from the answers and the day the case was received (not
    today: what counts is whether the application was in time when it was filed)."""

    rule_id: str
    window_end: date
    basis_zh: str
    basis_en: str
    late: bool
    provisional: bool
    verdict: str
    """A msgid with {date}, {rule} and {basis}."""
    notes: list[str] = []
    """Msgids said after the verdict."""


def timeliness_check(
    answers: dict[str, Any], received_on: date, engine: DeadlineEngine
) -> TimelinessCheck | None:
    window = timeliness(answers, received_on, engine)
    if not window.rule_id or not window.window_end:
        return None
    notes: list[str] = []
    if window.late:
        verdict = LATE if window.extendable else LATE_LONG_STOP
        notes.append(LATE_REASON_GIVEN if answers.get("late_reason") else NO_LATE_REASON)
    else:
        verdict = ON_TIME
    if window.rule_id == "F2":
        notes.insert(0, F2_CAP)
    rule = RULES.get(window.rule_id)
    return TimelinessCheck(
        rule_id=window.rule_id,
        window_end=window.window_end,
        basis_zh=window.basis,
        basis_en=rule.basis_en if rule else window.basis,
        late=window.late,
        provisional=window.provisional,
        verdict=verdict,
        notes=notes,
    )


class Addition(BaseModel):
    """Written material the applicant added after filing (a 补正 answer, FY 31, among them)."""

    received_on: date
    text: str


class EvidenceItem(BaseModel):
    id: int
    number: int
    """1-based, in the order received: what staff say ("file 3")."""
    kind: str
    file_name: str | None
    mime_type: str | None
    size: int
    received_on: date
    sha256: str | None


class LinkedCase(BaseModel):
    id: int
    number: str | None
    """None when this person may not open that case (another room's): not even its number."""
    reason: str | None
    """A msgid from :data:`LINK_REASONS`, or None."""


class ReplyItem(BaseModel):
    """One file of the respondent's evidence (FY 48), numbered within the reply."""

    number: int
    kind: str
    file_name: str | None
    mime_type: str | None
    size: int
    sha256: str | None


class RespondentReply(BaseModel):
    """The respondent's written reply and evidence (FY 48): part of the file the office
    decides on. ``paper``: the office recorded a reply that came on paper (its text and
    evidence are in the paper file)."""

    received_on: date
    text: str
    files: list[ReplyItem] = []
    paper: bool = False
    by_role: str


class CaseFile(BaseModel):
    case_id: int
    number: str
    procedure: Procedure
    audience: Audience
    title: str
    entries: list[Entry]
    timeliness: TimelinessCheck | None = None
    linked: LinkedCase | None = None
    additions: list[Addition] = []
    evidence: list[EvidenceItem] = []
    reply: RespondentReply | None = None
    """The office's file: the respondent's reply once it arrived."""
    reply_open: bool = False
    """The agency's extract: the copy was sent and no reply is recorded yet, so the liaison
    or head may submit it here."""


def audience_for(user: User) -> Audience | None:
    if user.role in (Role.admin, Role.office_staff):
        return Audience.office
    if user.role is Role.mediator:
        return Audience.mediator
    if user.role in AGENCY_ROLES:
        return Audience.agency
    return None


async def _agency_may_read(db: Database, row: Any, user: User) -> bool:
    """The respondent agency's liaison or head, once the copy was sent (F10 opened); the
    agency a petition was handed to (its latest handover, ``petition_sent_to_agency``)."""
    if Procedure(row["procedure"]) is Procedure.petition:
        return petition_sent_to_agency(row, user, await petition_agency(db, row["id"]))
    if Procedure(row["procedure"]) is not Procedure.reconsideration or user.unit is None:
        return False
    if row["sensitive"]:
        return False
    answers = json.loads(row["answers"] or "{}")
    if answers.get("respondent_id") != user.unit:
        return False
    opened = await db.fetch_value(
        "SELECT count(*) FROM case_deadlines WHERE case_id = ? AND rule_id = ?",
        (row["id"], ANSWERING_RULE),
    )
    return bool(opened)


async def _may_read(db: Database, row: Any, user: User) -> bool:
    audience = audience_for(user)
    if audience is None:
        return False
    if audience is Audience.agency:
        return await _agency_may_read(db, row, user)
    return may_open_case(row, user)


def _masker(user: User) -> tuple[Callable[[str], str], Callable[[str], str], Callable[[str], str]]:
    """(free text, ID number, phone) as this role may see them (cases.procedures.access rules)."""
    full = ROLE_SEES_IN_FULL.get(user.role, frozenset())
    free = free_text_masker(user)
    id_number = str if "id_number" in full else mask_id_number
    phone = str if "phone" in full else mask_phone
    return free, id_number, phone


async def build_case_file(
    db: Database,
    case_id: int,
    user: User,
    org: Organisation,
    locale: str,
    engine: DeadlineEngine,
) -> CaseFile | None:
    """The application as this person may read it; None when they may not open the case."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None or not await _may_read(db, row, user):
        return None
    audience = audience_for(user)
    assert audience is not None
    procedure = Procedure(row["procedure"])
    spec = FORMS[procedure]
    answers: dict[str, Any] = json.loads(row["answers"] or "{}")
    allowed = AUDIENCE_FIELDS[audience]
    free, id_number, phone = _masker(user)

    entries: list[Entry] = []
    seen: set[str] = set()
    for field in spec.asked_fields(answers):
        if field.key in seen or field.kind is Kind.evidence or field.key.startswith("_"):
            # Underscored answers are the form's own bookkeeping (whether saved details were
            # used, whether F1 had passed): never part of what was filed.
            continue
        seen.add(field.key)
        if allowed is not None and field.key not in allowed:
            continue
        if field.key not in answers:
            continue
        value = answers[field.key]
        translatable = False
        if value is None:
            text, translatable = N_("(skipped)"), True
        elif field.kind is Kind.id_number:
            text = id_number(str(value))
        elif field.kind is Kind.phone:
            text = phone(str(value))
        elif field.kind is Kind.text or str(value).startswith("text:"):
            text = free(display_value(field, value, org, str, locale))
        else:
            text = display_value(field, value, org, str, locale)
            translatable = field.kind in (Kind.choice, Kind.yes_no)
        if field.kind is Kind.names:
            text = free(text)
        entries.append(
            Entry(
                key=field.key,
                label=field.label,
                value=reveal_invisible(text),
                translatable=translatable,
                free_text=field.kind is Kind.text or field.kind is Kind.names,
            )
        )

    reply_event = await _reply_event(db, case_id)
    if audience is Audience.agency:
        # FY 48: what the reply needs; not the applicant's timeliness, history or evidence.
        return CaseFile(
            case_id=row["id"],
            number=row["number"],
            procedure=procedure,
            audience=audience,
            title=AGENCY_TITLE if procedure is Procedure.reconsideration else PETITION_TITLE,
            entries=entries,
            reply_open=reply_event is None and row["status"] in REPLY_STATUSES,
        )

    check = None
    if procedure is Procedure.reconsideration:
        check = timeliness_check(answers, date.fromisoformat(row["received_on"]), engine)

    linked = None
    if row["linked_case_id"] is not None:
        earlier = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (row["linked_case_id"],))
        if earlier is not None:
            readable = await _may_read(db, earlier, user)
            linked = LinkedCase(
                id=earlier["id"],
                number=earlier["number"] if readable else None,
                reason=LINK_REASONS.get(row["link_reason"] or ""),
            )

    additions = []
    for event in await db.fetch_all(
        "SELECT at, detail FROM case_events WHERE case_id = ? AND kind = 'material_added'"
        " ORDER BY id",
        (case_id,),
    ):
        detail = json.loads(event["detail"])
        if "text" in detail:  # a file added later is in the evidence list
            additions.append(
                Addition(
                    received_on=from_db(event["at"]).astimezone(LEGAL_TZ).date(),
                    text=reveal_invisible(free(str(detail["text"]))),
                )
            )
    files = await db.fetch_all(
        "SELECT id, kind, file_name, mime_type, size, sha256, created_at FROM attachments"
        " WHERE case_id = ? ORDER BY id",
        (case_id,),
    )
    evidence = [_evidence_item(f, index, free) for index, f in enumerate(files, start=1)]

    return CaseFile(
        case_id=row["id"],
        number=row["number"],
        procedure=procedure,
        audience=audience,
        title=spec.title,
        entries=entries,
        timeliness=check,
        linked=linked,
        additions=additions,
        evidence=evidence,
        reply=_reply(reply_event, free) if reply_event is not None else None,
    )


REPLY_STATUSES = frozenset({"accepted", "suspended"})
"""The statuses the reply row of ``cases.procedures.transitions`` starts from."""


async def _reply_event(db: Database, case_id: int) -> Any:
    return await db.fetch_one(
        "SELECT at, actor_role, detail FROM case_events WHERE case_id = ?"
        " AND kind = 'reply_received' ORDER BY id LIMIT 1",
        (case_id,),
    )


def _reply_files(detail: dict[str, Any]) -> list[dict[str, Any]]:
    files = detail.get("files")
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def _reply(event: Any, free: Callable[[str], str]) -> RespondentReply:
    detail = json.loads(event["detail"])
    items = []
    for number, f in enumerate(_reply_files(detail), start=1):
        name = f.get("file_name")
        if name and len(name) > FILE_NAME_SHOWN:
            name = name[: FILE_NAME_SHOWN - 1] + "…"
        items.append(
            ReplyItem(
                number=number,
                kind=str(f.get("kind", "document")),
                file_name=reveal_invisible(free(name)) if name else None,
                mime_type=f.get("mime_type"),
                size=int(f.get("size") or 0),
                sha256=f.get("sha256"),
            )
        )
    return RespondentReply(
        received_on=from_db(event["at"]).astimezone(LEGAL_TZ).date(),
        text=reveal_invisible(free(str(detail.get("text") or ""))),
        files=items,
        paper=bool(detail.get("paper")),
        by_role=str(event["actor_role"]),
    )


class StoredReplyFile(BaseModel):
    case_id: int
    number: str
    item: ReplyItem
    file_id: str


async def reply_file(db: Database, case_id: int, index: int, user: User) -> StoredReplyFile | None:
    """One file of the respondent's reply, for the office (who decides on it); None for
    anyone else or a forged index."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None or audience_for(user) is not Audience.office:
        return None
    if not await _may_read(db, row, user):
        return None
    event = await _reply_event(db, case_id)
    if event is None:
        return None
    reply = _reply(event, free_text_masker(user))
    files = _reply_files(json.loads(event["detail"]))
    if not 1 <= index <= len(files) or not files[index - 1].get("file_id"):
        return None
    return StoredReplyFile(
        case_id=case_id,
        number=row["number"],
        item=reply.files[index - 1],
        file_id=str(files[index - 1]["file_id"]),
    )


def _evidence_item(f: Any, number: int, free: Callable[[str], str]) -> EvidenceItem:
    """A file name is free text too ("身份证420625….jpg"): masked like the rest, and capped
    so that a caption or a list line stays short."""
    name = f["file_name"]
    if name and len(name) > FILE_NAME_SHOWN:
        name = name[: FILE_NAME_SHOWN - 1] + "…"
    return EvidenceItem(
        id=f["id"],
        number=number,
        kind=f["kind"],
        file_name=reveal_invisible(free(name)) if name else None,
        mime_type=f["mime_type"],
        size=f["size"],
        received_on=from_db(f["created_at"]).astimezone(LEGAL_TZ).date(),
        sha256=f["sha256"],
    )


class StoredFile(BaseModel):
    """What the chat needs to send a piece of evidence back as it was received."""

    case_id: int
    number: str
    item: EvidenceItem
    file_id: str


async def evidence_file(
    db: Database, case_id: int, attachment_id: int, user: User
) -> StoredFile | None:
    """One file of a case this person may read the evidence of; None otherwise (a forged
    attachment id of another case included)."""
    row = await db.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
    if row is None or not await _may_read(db, row, user):
        return None
    if audience_for(user) is Audience.agency:
        return None
    files = await db.fetch_all(
        "SELECT id, kind, file_id, file_name, mime_type, size, sha256, created_at"
        " FROM attachments WHERE case_id = ? ORDER BY id",
        (case_id,),
    )
    for index, f in enumerate(files, start=1):
        if f["id"] == attachment_id:
            return StoredFile(
                case_id=case_id,
                number=row["number"],
                file_id=f["file_id"],
                item=_evidence_item(f, index, free_text_masker(user)),
            )
    return None
