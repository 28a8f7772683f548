"""The application in full and its evidence, for the staff who must act on it.

Opening a case from ``/cases`` or from a reminder sends the application (every answer in the
order of the form, the timeliness check, the linked case) and the evidence list before the case
page with its actions; the page's "📄 Application" button sends them again. The text is split
across as many messages as it needs, each headed with the case number and its part ("2/3"), so
nothing is ever cut. Every evidence file has a button that sends it back as the document,
photo or voice message it was received as.

What is in it comes from ``cases.intake.case_file`` (who may read what); this module only renders:
every value is HTML-escaped, so citizen text such as ``<b>`` or ``&amp;`` is shown as written
and can never break the message.
"""

from __future__ import annotations

import html

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_
from cases.intake.case_file import (
    KIND_NAMES,
    Audience,
    CaseFile,
    EvidenceItem,
    ReplyItem,
    StoredFile,
    StoredReplyFile,
    build_case_file,
    evidence_file,
    reply_file,
)
from cases.intake.forms import PROVISIONAL_NOTE
from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation
from cases.org.users import Role, User
from cases.store.db import Database
from handlers.agency_reply import AgencyReplyAction, reply_start_label
from handlers.callbacks import CaseAction
from handlers.documents import dossier_button
from handlers.filters import HasRole
from handlers.keyboards import button, grid
from handlers.texts import colon, current_locale, t

READER_ROLES = (
    Role.admin,
    Role.office_staff,
    Role.mediator,
    Role.agency_liaison,
    Role.agency_head,
)
MESSAGE_LIMIT = 4096
"""Telegram's limit in UTF-16 code units, counted here on the HTML source (never shorter than
what Telegram counts after parsing, so a part always fits)."""
FILE_LABEL_CHARS = 24


class CaseFileAction(CallbackData, prefix="cf"):
    """``cf:full:<case_id>:0`` sends the application; ``cf:file:<case_id>:<attachment_id>``
    one piece of evidence; ``cf:reply:<case_id>:<n>`` the respondent's n-th file. All are
    authorised again on every press."""

    action: str
    case_id: int = Field(ge=0, lt=2**63)
    file: int = Field(default=0, ge=0, lt=2**63)


def application_button(case_id: int) -> InlineKeyboardButton:
    return button(_("📄 Application and evidence"), CaseFileAction(action="full", case_id=case_id))


# -- rendering ----------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Telegram's HTML needs <, > and & escaped; quotes stay quotes (each would cost six)."""
    return html.escape(text, quote=False)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _file_name(item: EvidenceItem | ReplyItem) -> str:
    return item.file_name or _(KIND_NAMES.get(item.kind, item.kind))


def _blocks(case_file: CaseFile) -> list[tuple[str, str]]:
    """(HTML label, raw value) pairs in the order they are read; the value is escaped and, if
    it must be, split when the messages are made."""
    sep = colon()
    blocks: list[tuple[str, str]] = []
    for entry in case_file.entries:
        value = _(entry.value) if entry.translatable else entry.value
        label = f"<b>{_escape(_(entry.label))}</b>{sep}"
        blocks.append((label + ("\n" if entry.free_text and "\n" in value else ""), value))
    check = case_file.timeliness
    if check is not None:
        text = t(
            check.verdict,
            date=check.window_end,
            rule=check.rule_id,
            basis=check.basis_zh if current_locale() == "zh" else check.basis_en,
        )
        text += "".join(" " + _(note) for note in check.notes)
        if check.provisional:
            text += " " + _(PROVISIONAL_NOTE)
        blocks.append((f"<b>{_escape(_('Timeliness at filing'))}</b>{sep}", text))
    if case_file.linked is not None:
        linked = case_file.linked
        text = linked.number or _("an earlier case outside your remit")
        if linked.reason:
            text = t("{case} ({reason})", case=text, reason=_(linked.reason))
        blocks.append((f"<b>{_escape(_('Linked to earlier case'))}</b>{sep}", text))
    for addition in case_file.additions:
        label = t("Added by the applicant on {date}", date=addition.received_on)
        blocks.append((f"<b>{_escape(label)}</b>{sep}\n", addition.text))
    reply = case_file.reply
    if reply is not None:
        label = t("The respondent's reply, received {date}", date=reply.received_on)
        text = reply.text or (
            _("Received on paper; the reply and the evidence are in the paper file.")
            if reply.paper
            else _("(no text: see the files)")
        )
        blocks.append((f"<b>{_escape(label)}</b>{sep}\n", text))
    return blocks


def _reply_lines(case_file: CaseFile) -> list[str]:
    reply = case_file.reply
    if reply is None or not reply.files:
        return []
    lines = [
        "<b>"
        + _escape(t("The respondent's evidence ({count} files)", count=len(reply.files)))
        + "</b>"
    ]
    for item in reply.files:
        kind = _(KIND_NAMES.get(item.kind, item.kind))
        name = f"{item.file_name} · {kind}" if item.file_name else kind
        line = f"R{item.number}. {_escape(name)} · {_size(item.size)}"
        if item.sha256:
            line += f"\n    SHA-256 <code>{item.sha256}</code>"
        lines.append(line)
    return lines


def _evidence_lines(case_file: CaseFile) -> list[str]:
    if not case_file.evidence:
        return [f"<b>{_escape(_('Evidence'))}</b>{colon()}{_escape(_('none'))}"]
    lines = [
        "<b>" + _escape(t("Evidence ({count} files)", count=len(case_file.evidence))) + "</b>"
    ]
    for item in case_file.evidence:
        kind = _(KIND_NAMES.get(item.kind, item.kind))
        name = f"{item.file_name} · {kind}" if item.file_name else kind
        line = t(
            "{number}. {name} · {size} · received {date}",
            number=item.number,
            name=_escape(name),
            size=_size(item.size),
            date=item.received_on,
        )
        if item.sha256:
            line += f"\n    SHA-256 <code>{item.sha256}</code>"
        lines.append(line)
    return lines


def _split_value(value: str, budget: int) -> list[str]:
    """The raw value in pieces whose escaped form fits ``budget``; cut at a line end where
    possible."""
    pieces: list[str] = []
    rest = value
    while _utf16(_escape(rest)) > budget:
        cut = len(rest)
        while _utf16(_escape(rest[:cut])) > budget:
            cut = max(1, cut * budget // max(1, _utf16(_escape(rest[:cut]))) - 1)
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def case_file_messages(case_file: CaseFile) -> list[str]:
    """The whole file as HTML messages, each under Telegram's limit and headed with its part."""
    header = f"<b>{_escape(_(case_file.title))}</b> <code>{_escape(case_file.number)}</code>"
    reserve = _utf16(header) + 16  # " (12/12)" and the blank line
    budget = MESSAGE_LIMIT - reserve
    paragraphs: list[str] = []
    for label, value in _blocks(case_file):
        room = budget - _utf16(label) - 16
        for index, piece in enumerate(_split_value(value, max(200, room))):
            prefix = label if index == 0 else label.replace("</b>", _("(continued)") + "</b>")
            paragraphs.append(prefix + _escape(piece))
    if case_file.audience is not Audience.agency:
        paragraphs.append("\n".join(_evidence_lines(case_file)))
    if _reply_lines(case_file):
        paragraphs.append("\n".join(_reply_lines(case_file)))
    bodies: list[list[str]] = [[]]
    used = 0
    for paragraph in paragraphs:
        size = _utf16(paragraph) + 1
        for chunk in _split_lines(paragraph, budget) if size > budget else [paragraph]:
            chunk_size = _utf16(chunk) + 1
            if bodies[-1] and used + chunk_size > budget:
                bodies.append([])
                used = 0
            bodies[-1].append(chunk)
            used += chunk_size
    total = len(bodies)
    messages = []
    for index, body in enumerate(bodies, start=1):
        part = f" ({index}/{total})" if total > 1 else ""
        messages.append(header + part + "\n\n" + "\n".join(body))
    return messages


def _split_lines(paragraph: str, budget: int) -> list[str]:
    """A long evidence list in pieces of whole lines (each line is short)."""
    out: list[str] = []
    current: list[str] = []
    used = 0
    for line in paragraph.split("\n"):
        size = _utf16(line) + 1
        if current and used + size > budget:
            out.append("\n".join(current))
            current, used = [], 0
        current.append(line)
        used += size
    out.append("\n".join(current))
    return out


def case_file_keyboard(case_file: CaseFile) -> InlineKeyboardMarkup | None:
    """Under the last part: the linked case (when this person may open it), then one button
    per evidence file (an agency's extract has none)."""
    buttons = []
    if case_file.linked is not None and case_file.linked.number is not None:
        buttons.append(
            button(
                t("📂 Open {number}", number=case_file.linked.number),
                CaseAction(action="view", case_id=case_file.linked.id),
            )
        )
    for item in case_file.evidence:
        name = _file_name(item)
        if len(name) > FILE_LABEL_CHARS:
            name = name[: FILE_LABEL_CHARS - 1] + "…"
        buttons.append(
            button(
                f"📎 {item.number} {name}",
                CaseFileAction(action="file", case_id=case_file.case_id, file=item.id),
            )
        )
    if case_file.reply is not None:
        for reply_item in case_file.reply.files:
            name = _file_name(reply_item)
            if len(name) > FILE_LABEL_CHARS:
                name = name[: FILE_LABEL_CHARS - 1] + "…"
            buttons.append(
                button(
                    f"📎 R{reply_item.number} {name}",
                    CaseFileAction(
                        action="reply", case_id=case_file.case_id, file=reply_item.number
                    ),
                )
            )
    if case_file.audience is not Audience.agency:
        buttons.append(dossier_button(case_file.case_id))
    if case_file.reply_open:
        buttons.append(
            button(
                reply_start_label(),
                AgencyReplyAction(action="start", case_id=case_file.case_id),
            )
        )
    return grid(buttons, width=2) if buttons else None


async def send_case_file(
    message: Message,
    case_id: int,
    user: User,
    db: Database,
    org: Organisation,
    deadlines: DeadlineEngine,
) -> bool:
    """Send the application in full; False when this person may not read it."""
    case_file = await build_case_file(db, case_id, user, org, current_locale(), deadlines)
    if case_file is None:
        return False
    parts = case_file_messages(case_file)
    for index, part in enumerate(parts, start=1):
        markup = case_file_keyboard(case_file) if index == len(parts) else None
        await message.answer(part, reply_markup=markup)
    return True


# -- buttons ------------------------------------------------------------------------------------


NOT_AVAILABLE = N_("This case is not available to you.")
FILE_GONE = N_(
    "Telegram no longer has this file, so it cannot be sent. Its SHA-256 above identifies "
    "it; ask the applicant to send it again."
)


async def case_file_button(
    query: CallbackQuery,
    callback_data: CaseFileAction,
    user: User,
    db: Database,
    org: Organisation,
    deadlines: DeadlineEngine,
    bot: Bot,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if callback_data.action == "full" and message is not None:
        if await send_case_file(message, callback_data.case_id, user, db, org, deadlines):
            await query.answer()
            return
    elif callback_data.action == "reply":
        stored_reply = await reply_file(db, callback_data.case_id, callback_data.file, user)
        if stored_reply is not None:
            await query.answer()
            await _send_evidence(bot, query.from_user.id, stored_reply)
            return
    elif callback_data.action == "file":
        stored = await evidence_file(db, callback_data.case_id, callback_data.file, user)
        if stored is not None:
            await query.answer()
            await _send_evidence(bot, query.from_user.id, stored)
            return
    await query.answer(_(NOT_AVAILABLE), show_alert=True)


EVIDENCE_CAPTION = N_("Case {number}, evidence {index}: {name}")
REPLY_CAPTION = N_("Case {number}, the respondent's evidence {index}: {name}")


async def _send_evidence(bot: Bot, chat_id: int, stored: StoredFile | StoredReplyFile) -> None:
    item = stored.item
    caption = t(
        EVIDENCE_CAPTION if isinstance(stored, StoredFile) else REPLY_CAPTION,
        number=f"<code>{_escape(stored.number)}</code>",
        index=item.number,
        name=_escape(_file_name(item)),
    )
    if item.sha256:
        caption += f"\nSHA-256 <code>{item.sha256}</code>"
    try:
        if item.kind == "photo":
            await bot.send_photo(chat_id, stored.file_id, caption=caption)
        elif item.kind == "voice":
            await bot.send_voice(chat_id, stored.file_id, caption=caption)
        else:
            await bot.send_document(chat_id, stored.file_id, caption=caption)
    except TelegramBadRequest as error:
        if "file" not in error.message.lower():
            raise
        await bot.send_message(chat_id, _(FILE_GONE))


def build_router() -> Router:
    """A new Router per call (a router belongs to one Dispatcher; tests build many)."""
    router = Router(name="case-file")
    router.callback_query.filter(HasRole(*READER_ROLES))
    router.callback_query.register(case_file_button, CaseFileAction.filter())
    return router


__all__ = ["CaseFileAction", "build_router", "case_file_messages", "send_case_file"]
