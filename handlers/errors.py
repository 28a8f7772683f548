"""Last line of defence: log the failure (no personal data) and reassure the user."""

from __future__ import annotations

import logging
import traceback

from aiogram import Bot, Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from cases.org.users import Role, User
from handlers.commands import CASE_LIST_COMMANDS, role_commands
from handlers.middlewares import locale_from_telegram
from handlers.texts import joined, t

log = logging.getLogger(__name__)


async def on_error(
    event: ErrorEvent, bot: Bot, i18n: I18n | None = None, user: User | None = None
) -> bool:
    update = event.update
    # The update id, the exception type and where it happened; never the exception's message
    # or the update itself, which may carry ID or phone numbers.
    frames = "".join(traceback.format_tb(event.exception.__traceback__))
    log.error(
        "handler failed on update %s: %s\n%s",
        update.update_id,
        type(event.exception).__name__,
        frames,
    )
    chat_id: int | None = None
    language: str | None = None
    if update.message:
        chat_id = update.message.chat.id
        language = update.message.from_user.language_code if update.message.from_user else None
    elif update.callback_query:
        query = update.callback_query
        language = query.from_user.language_code
        if query.message:
            chat_id = query.message.chat.id
    if update.callback_query:
        try:  # else the button keeps its spinner until Telegram gives up
            await bot.answer_callback_query(update.callback_query.id)
        except Exception:
            log.warning("could not answer the button press of the failed update")
    if chat_id is None or i18n is None:
        return True
    locale = (user.locale if user else None) or locale_from_telegram(language, i18n.default_locale)
    with i18n.context(), i18n.use_locale(locale):
        try:
            text = _apology(user.role if user is not None else Role.citizen)
            await bot.send_message(chat_id, text)
        except Exception:  # a failing apology must not raise again
            log.warning("could not tell chat about the failure")
    return True


def _apology(role: Role) -> str:
    """Not "send your answer again": the answer may have been saved before the failure, and a
    re-sent answer would then fill the next question. Staff are pointed to the commands their
    own menu has (a liaison has /lawsuits, not /cases); citizens to the form's command, which
    shows the question they are at."""
    commands = [f"/{c}" for c, _desc in role_commands(role) if c in CASE_LIST_COMMANDS]
    if commands:
        return t(
            "Sorry, something went wrong on our side. Open the case again ({commands}) to see "
            "whether your last step was recorded before repeating it.",
            commands=joined(commands, "or"),
        )
    return _(
        "Sorry, something went wrong on our side. Nothing you entered was lost. To continue a "
        "form, send its command again (/petition, /mediation or /reconsider): it shows the "
        "question you are at. /help shows everything else."
    )


def build_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
