"""The citizen's side: the documents of the handling opinion, sent under its notice."""

from __future__ import annotations

import html
import json

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from cases.i18n import N_
from cases.org.users import User
from cases.store.db import Database
from handlers.callbacks import OpinionFiles
from handlers.petition_agency.common import (
    NOT_AVAILABLE,
)
from handlers.texts import t

# -- the citizen --------------------------------------------------------------------------------

OPINION_CAPTION = N_("Petition {number}, handling opinion document {index}: {name}")
FILE_GONE = N_("This file can no longer be sent; please ask the petition office for a copy.")


async def on_opinion_files(
    query: CallbackQuery, callback_data: OpinionFiles, user: User, db: Database, bot: Bot
) -> None:
    """The opinion's documents, to the petitioner of the case only."""
    row = await db.fetch_one(
        "SELECT c.number, e.detail FROM cases c JOIN case_events e ON e.case_id = c.id"
        " AND e.kind = 'concluded' WHERE c.id = ? AND c.citizen_id = ? ORDER BY e.id DESC"
        " LIMIT 1",
        (callback_data.case_id, user.telegram_id),
    )
    files = json.loads(row["detail"]).get("files") or [] if row else []
    if row is None or not files:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await send_opinion_files(bot, user.telegram_id, str(row["number"]), files)


async def send_opinion_files(bot: Bot, chat_id: int, number: str, files: list[dict]) -> None:
    """Each document of an opinion with its SHA-256 (as recorded when the agency sent it)."""
    for index, item in enumerate(files, start=1):
        caption = t(
            OPINION_CAPTION,
            number=f"<code>{html.escape(number)}</code>",
            index=index,
            name=html.escape(str(item.get("file_name") or item.get("kind") or "")),
        )
        if item.get("sha256"):
            caption += f"\nSHA-256 <code>{item['sha256']}</code>"
        try:
            if item.get("kind") == "photo":
                await bot.send_photo(chat_id, item["file_id"], caption=caption)
            elif item.get("kind") == "voice":
                await bot.send_voice(chat_id, item["file_id"], caption=caption)
            else:
                await bot.send_document(chat_id, item["file_id"], caption=caption)
        except TelegramBadRequest as error:
            if "file" not in error.message.lower():
                raise
            await bot.send_message(chat_id, _(FILE_GONE))
