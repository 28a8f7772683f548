"""Evidence a citizen sends: the limits (size, types, count) and the attachment rows."""

from __future__ import annotations

from dataclasses import dataclass

from cases.i18n import N_
from cases.intake.records import (
    DraftNotFound,
    IntakeBase,
    citizen_event,
    own_open_case,
)
from cases.intake.validation import ValidationError
from cases.store.db import row_in
from cases.store.time import to_db

# --- evidence limits --------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # what a bot may download through the Bot API
MAX_ATTACHMENTS = 20
ALLOWED_DOCUMENT_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-works": "WPS",
    "application/ofd": "OFD",
    "text/plain": "Text",
    "audio/ogg": "Audio",
    "audio/mpeg": "Audio",
    "audio/mp4": "Audio",
}
ATTACHMENT_TOO_LARGE = N_(
    "This file is larger than 20 MB, which is the most we can receive here. Please send a "
    "smaller file, or split it into several parts."
)
ATTACHMENT_TYPE = N_(
    "This type of file cannot be accepted. Please send photos, PDF, Word, Excel or text "
    "files, or voice messages."
)
ATTACHMENT_TOO_MANY = N_(
    "You have already added {maximum} files, the most one application can hold. Please "
    "bring further material to the office, or add it to the case after you submit."
)


@dataclass(frozen=True)
class AttachmentIn:
    kind: str  # photo | document | voice
    file_id: str
    file_unique_id: str
    size: int
    sha256: str | None
    file_name: str | None = None
    mime_type: str | None = None


def check_attachment(kind: str, size: int, mime_type: str | None) -> None:
    """Type and size rules, checked before the file is downloaded."""
    if size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(ATTACHMENT_TOO_LARGE)
    if kind == "document" and (mime_type or "").lower() not in ALLOWED_DOCUMENT_TYPES:
        raise ValidationError(ATTACHMENT_TYPE)
    if kind not in ("photo", "document", "voice"):
        raise ValidationError(ATTACHMENT_TYPE)


class Evidence(IntakeBase):
    """Files sent with a form, or later to an open case."""

    # evidence ---------------------------------------------------------------------------

    async def add_attachment(
        self,
        *,
        user_id: int,
        attachment: AttachmentIn,
        draft_id: int | None = None,
        case_id: int | None = None,
    ) -> tuple[bool, int]:
        """Record a file against a draft or (added material) a case. Returns whether it was
        new (a file sent twice is stored once) and how many files the draft or case now has."""
        check_attachment(attachment.kind, attachment.size, attachment.mime_type)
        now = to_db(self._clock.now())
        async with self._db.transaction() as conn:
            if draft_id is not None:
                owner = await row_in(
                    conn,
                    "SELECT 1 FROM drafts WHERE id = ? AND user_id = ? AND status = 'open'",
                    (draft_id, user_id),
                )
                if owner is None:
                    raise DraftNotFound(draft_id)
                where, target = "draft_id = ?", draft_id
            else:
                await own_open_case(conn, case_id, user_id)
                where, target = "case_id = ?", case_id
            counted = await row_in(
                conn,
                f"SELECT count(*), count(CASE WHEN file_unique_id = ? THEN 1 END)"
                f" FROM attachments WHERE {where}",
                (attachment.file_unique_id, target),
            )
            count, same = (int(counted[0]), int(counted[1])) if counted else (0, 0)
            if same:
                return False, count
            if count >= MAX_ATTACHMENTS:
                raise ValidationError(ATTACHMENT_TOO_MANY, {"maximum": MAX_ATTACHMENTS})
            await conn.execute(
                "INSERT INTO attachments(user_id, draft_id, case_id, kind, file_id,"
                " file_unique_id, file_name, mime_type, size, sha256, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    draft_id,
                    case_id,
                    attachment.kind,
                    attachment.file_id,
                    attachment.file_unique_id,
                    attachment.file_name,
                    attachment.mime_type,
                    attachment.size,
                    attachment.sha256,
                    now,
                ),
            )
            if case_id is not None:
                await citizen_event(
                    conn,
                    case_id,
                    now,
                    user_id,
                    "material_added",
                    {"file": attachment.file_name or attachment.kind},
                )
        return True, count + 1

    async def attachment_count(self, draft_id: int) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT count(*) FROM attachments WHERE draft_id = ?", (draft_id,)
            )
        )
