"""Documents as PDF: the citizen's application and the office's notices, the mediation
agreement, and the dossier for case-file review (案卷评查).

Every press is authorised again by ``cases.documents`` (a forged or stale button sends
nothing); the PDF is laid out in a worker thread so the chat does not wait on it.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Router
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from cases.documents.generated import (
    DOCUMENT_LABELS,
    DocumentKind,
    available_documents,
    build_document,
)
from cases.documents.pdf import render_pdf
from cases.i18n import N_
from cases.law.deadline_rules import DeadlineEngine
from cases.org.organisation import Organisation
from cases.org.users import User
from cases.store.db import Database
from cases.store.time import Clock
from handlers.callbacks import DocumentList, DocumentRequest
from handlers.keyboards import button, grid
from handlers.texts import t

log = logging.getLogger(__name__)

NOT_AVAILABLE = N_("This document is not available to you.")
NO_DOCUMENTS = N_("There are no documents for this case yet.")
CHOOSE = N_("Documents of case {number}: choose one to receive it as a PDF.")
CAPTION = N_("{title}, case {number}")
PREPARING = N_("Preparing the PDF…")


def documents_button(case_id: int) -> InlineKeyboardButton:
    return button(_("📄 Documents (PDF)"), DocumentList(case_id=case_id))


def dossier_button(case_id: int) -> InlineKeyboardButton:
    return button(
        "📑 " + _(DOCUMENT_LABELS[DocumentKind.dossier]),
        DocumentRequest(kind=DocumentKind.dossier, case_id=case_id),
    )


async def list_documents(
    query: CallbackQuery, callback_data: DocumentList, user: User, db: Database
) -> None:
    kinds = await available_documents(db, callback_data.case_id, user)
    if not kinds:
        await query.answer(_(NO_DOCUMENTS), show_alert=True)
        return
    number = await db.fetch_value(
        "SELECT number FROM cases WHERE id = ?", (callback_data.case_id,)
    )
    await query.answer()
    if query.message is not None:
        buttons = [
            button(
                _(DOCUMENT_LABELS[kind]), DocumentRequest(kind=kind, case_id=callback_data.case_id)
            )
            for kind in kinds
        ]
        await query.message.answer(t(CHOOSE, number=number), reply_markup=grid(buttons))


async def send_document(
    query: CallbackQuery,
    callback_data: DocumentRequest,
    user: User,
    db: Database,
    org: Organisation,
    clock: Clock,
    deadlines: DeadlineEngine,
    bot: Bot,
) -> None:
    document = await build_document(
        db, callback_data.case_id, callback_data.kind, user, org, clock, deadlines
    )
    if document is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer(_(PREPARING))
    pdf = await asyncio.to_thread(render_pdf, document)
    log.info(
        "document %s of case %d sent (%d bytes)",
        callback_data.kind,
        callback_data.case_id,
        len(pdf),
    )
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(pdf, filename=document.file_name),
        caption=t(CAPTION, title=document.title, number=document.case_number),
    )


def build_router() -> Router:
    """A new Router per call (a router belongs to one Dispatcher; tests build many). Callback
    data only; who may have what is decided per press in ``cases.documents``."""
    router = Router(name="documents")
    router.callback_query.register(list_documents, DocumentList.filter())
    router.callback_query.register(send_document, DocumentRequest.filter())
    return router


__all__ = ["build_router", "documents_button", "dossier_button"]
