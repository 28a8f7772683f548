"""The respondent agency answers a reconsideration in the chat (FY 48, 54).

The liaison (or head) opens the extract from an F10 reminder or the case button; under it
"✍️ Submit reply" starts a draft kept in the FSM state: the written reply as text messages and
its evidence as files (each downloaded once and kept with its SHA-256, as citizen evidence is,
``handlers.intake.files.download_attachment``). "Send the reply" hands the draft to
``CaseActions.reply_received``, the transition table's row: it re-authorises the person
(respondent agency, copy sent, no reply yet) and records the reply once, closing F10. A second
press, or a button of another agency's case, changes nothing.
"""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from cases.i18n import N_
from cases.intake.validation import ValidationError
from cases.org.users import Role, User
from cases.procedures.action_steps import (
    MAX_REPLY_FILES,
    MAX_REPLY_TEXT,
    REPLY_TOO_LONG,
    Outcome,
    ReplyFile,
)
from cases.procedures.actions import Action, CaseActions
from cases.store.db import Database
from handlers.filters import HasRole, NotCommand, When
from handlers.keyboards import button, grid
from handlers.texts import current_locale, t

AGENCY_ROLES = (Role.agency_liaison, Role.agency_head)
NOT_AVAILABLE = N_("This case is not available to you.")
REPLY_START = N_("✍️ Submit reply (提交书面答复)")


class AgencyReplyAction(CallbackData, prefix="ar"):
    """``ar:start:<case_id>`` starts the draft, ``ar:send:<case_id>`` records it,
    ``ar:drop:<case_id>`` discards it."""

    action: str = Field(pattern=r"^(start|send|drop)$")
    case_id: int = Field(ge=0, lt=2**63)


class AgencyReply(StatesGroup):
    writing = State()


def reply_start_label() -> str:
    return _(REPLY_START)


def _keyboard(case_id: int) -> InlineKeyboardMarkup:
    return grid(
        [
            button(_("📨 Send the reply"), AgencyReplyAction(action="send", case_id=case_id)),
            button(_("Cancel"), AgencyReplyAction(action="drop", case_id=case_id)),
        ]
    )


async def _may_reply(actions: CaseActions, case_id: int, user: User) -> str | None:
    """The case number when this person may submit the reply now, else None."""
    view = await actions.respondent_view(case_id, user)
    if view is None or Action.reply_received not in actions.available(view, user):
        return None
    return view.number


async def on_start(
    query: CallbackQuery,
    callback_data: AgencyReplyAction,
    state: FSMContext,
    user: User,
    actions: CaseActions,
) -> None:
    number = await _may_reply(actions, callback_data.case_id, user)
    message = query.message if isinstance(query.message, Message) else None
    if number is None or message is None:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    await state.set_state(AgencyReply.writing)
    await state.set_data({"case_id": callback_data.case_id, "text": "", "files": []})
    await message.answer(
        t(
            "Case {number}: send the written reply as text and the evidence and documents on "
            "which the act was based as files (Administrative Reconsideration Law, Art. 48), "
            "then press “Send the reply”.",
            number=f"<code>{html.escape(number)}</code>",
        ),
        reply_markup=_keyboard(callback_data.case_id),
    )


async def on_text(message: Message, state: FSMContext) -> None:
    assert message.text is not None
    data = await state.get_data()
    text = (str(data.get("text") or "") + "\n" + message.text.strip()).strip()
    if len(text) > MAX_REPLY_TEXT:
        await message.answer(
            "❗ " + t("The reply text may be at most {limit} characters.", limit=MAX_REPLY_TEXT)
        )
        return
    await state.update_data(text=text)
    await _progress(message, data["case_id"], text, data.get("files") or [])


async def collect_reply_file(
    message: Message, state: FSMContext, bot: Bot
) -> list[dict[str, object]] | None:
    """One more file of a written answer (the respondent's reply, FY 48; an agency's handling
    opinion, XF 32), checked by the citizens' evidence rules and kept in the state once (a file
    sent twice counts once). None, said to the sender, when it cannot be taken."""
    from handlers.intake.files import download_attachment

    data = await state.get_data()
    files: list[dict[str, object]] = list(data.get("files") or [])
    if len(files) >= MAX_REPLY_FILES:
        await message.answer(
            "❗ " + t("At most {limit} files can be sent here.", limit=MAX_REPLY_FILES)
        )
        return None
    attachment = await download_attachment(message, bot)
    if isinstance(attachment, ValidationError):
        await message.answer("❗ " + attachment.render(current_locale()))
        return None
    if all(f.get("file_unique_id") != attachment.file_unique_id for f in files):
        files.append(
            ReplyFile(
                kind=attachment.kind,
                file_id=attachment.file_id,
                file_unique_id=attachment.file_unique_id,
                size=attachment.size,
                sha256=attachment.sha256,
                file_name=attachment.file_name,
                mime_type=attachment.mime_type,
            ).model_dump()
        )
        await state.update_data(files=files)
    return files


async def on_file(message: Message, state: FSMContext, bot: Bot) -> None:
    files = await collect_reply_file(message, state, bot)
    if files is None:
        return
    data = await state.get_data()
    await _progress(message, data["case_id"], str(data.get("text") or ""), files)


async def _progress(message: Message, case_id: int, text: str, files: list) -> None:
    await message.answer(
        t(
            "Received: {chars} characters of text, {count} files. Send more, or press "
            "“Send the reply”.",
            chars=len(text),
            count=len(files),
        ),
        reply_markup=_keyboard(case_id),
    )


async def on_send(
    query: CallbackQuery,
    callback_data: AgencyReplyAction,
    state: FSMContext,
    user: User,
    db: Database,
    actions: CaseActions,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    data = await state.get_data()
    drafted = data.get("case_id") == callback_data.case_id
    text = str(data.get("text") or "") if drafted else ""
    files = tuple(ReplyFile(**f) for f in data.get("files") or []) if drafted else ()
    if drafted and not text and not files:
        await query.answer(_("Send the reply text or at least one file first."), show_alert=True)
        return
    if not drafted:
        # A second press after the reply was recorded, or a button without a draft: the
        # server decides what it was.
        view = await actions.respondent_view(callback_data.case_id, user)
        if view is None:
            result_outcome = Outcome.not_allowed
        elif not view.reply_received_before:
            await query.answer(_("Press “Submit reply” under the case first."), show_alert=True)
            return
        else:
            result_outcome = Outcome.already
    else:
        result = await actions.reply_received(callback_data.case_id, user, text=text, files=files)
        result_outcome = result.outcome
        if result.outcome is not Outcome.not_allowed:
            await state.clear()
    if result_outcome is Outcome.not_allowed:
        await query.answer(_(NOT_AVAILABLE), show_alert=True)
        return
    await query.answer()
    if message is None:
        return
    if result_outcome is Outcome.done:
        await message.answer(
            _(
                "Thank you: your reply and evidence were recorded and the reconsideration "
                "office can read them. The reply period is closed; no more reminders."
            )
        )
    elif result_outcome is Outcome.refused:
        await message.answer("❗ " + _(REPLY_TOO_LONG))
    else:
        await message.answer(_("The reply for this case was already recorded."))


async def on_drop(
    query: CallbackQuery, callback_data: AgencyReplyAction, state: FSMContext
) -> None:
    data = await state.get_data()
    if data.get("case_id") == callback_data.case_id:
        await state.clear()
    await query.answer(_("The draft reply was discarded."))


async def other_message(message: Message) -> None:
    await message.answer(_("Please send the reply as text, a document or a photo."))


def build_router() -> Router:
    """A new Router per call (a router belongs to one Dispatcher; tests build many)."""
    router = Router(name="agency-reply")
    router.message.filter(HasRole(*AGENCY_ROLES))
    router.callback_query.filter(HasRole(*AGENCY_ROLES))
    router.callback_query.register(on_start, AgencyReplyAction.filter(F.action == "start"))
    router.callback_query.register(on_send, AgencyReplyAction.filter(F.action == "send"))
    router.callback_query.register(on_drop, AgencyReplyAction.filter(F.action == "drop"))
    writing = StateFilter(AgencyReply.writing)
    router.message.register(on_text, writing, When(F.text & ~F.text.startswith("/")))
    router.message.register(on_file, writing, When(F.photo | F.document | F.voice))
    router.message.register(other_message, writing, NotCommand())
    return router


__all__ = ["AgencyReplyAction", "build_router", "reply_start_label"]
