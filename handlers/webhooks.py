"""/webhooks for administrators: each receiver's last delivery, failures, dead letters, retry."""

from __future__ import annotations

import html
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from cases.org.users import Role
from cases.store.time import LEGAL_TZ, from_db
from cases.webhooks.queue import ReceiverState, WebhookQueue
from handlers.callbacks import RowId
from handlers.filters import HasRole
from handlers.keyboards import button, grid
from handlers.texts import t


class WebhookAction(StrEnum):
    retry = "retry"


class WebhookButton(CallbackData, prefix="whk"):
    """``whk:retry:<delivery id>``: a dead letter back into the queue; the press is checked
    again (administrators only, still dead) on the server."""

    action: WebhookAction
    delivery_id: RowId


DEAD_SHOWN = 10


def _when(stamp: str | None) -> str:
    if not stamp:
        return "—"
    return from_db(stamp).astimezone(LEGAL_TZ).strftime("%Y-%m-%d %H:%M")


def _describe(state: ReceiverState) -> str:
    lines = [f"<b>{html.escape(state.id)}</b> · {html.escape(state.url_host)}"]
    lines.append(t("Events: {events}", events=html.escape(", ".join(state.events))))
    lines.append(
        _("Personal data: sent in full.")
        if state.personal_data
        else _("Personal data: ID and phone numbers masked.")
    )
    if state.last_delivered_at:
        lines.append(
            t(
                "Last delivery: {at} ({event}).",
                at=_when(state.last_delivered_at),
                event=html.escape(state.last_event or ""),
            )
        )
    else:
        lines.append(_("Last delivery: none yet."))
    lines.append(t("Waiting: {pending}; failing and being retried: {failing}.",
                   pending=state.pending, failing=state.failing))  # fmt: skip
    if state.last_error and (state.failing or state.dead):
        lines.append(t("Last error: {error}", error=html.escape(state.last_error)))
    lines.append(t("Dead letters (attempts used up): {dead}.", dead=state.dead))
    for letter in state.dead_letters:
        lines.append(
            f"• #{letter.id} {html.escape(letter.event_type)} "
            f"{html.escape(letter.number or '')} — "
            + t(
                "{attempts} attempts, last {at}: {error}",
                attempts=letter.attempts,
                at=_when(letter.at),
                error=html.escape(letter.error or "—"),
            )
        )
    return "\n".join(lines)


def _keyboard(states: list[ReceiverState]) -> InlineKeyboardMarkup | None:
    buttons = [
        button(
            t("Retry #{id}", id=letter.id),
            WebhookButton(action=WebhookAction.retry, delivery_id=letter.id),
        )
        for state in states
        for letter in state.dead_letters
    ]
    return grid(buttons, width=2) if buttons else None


async def command_webhooks(message: Message, webhooks: WebhookQueue) -> None:
    if not webhooks.receivers:
        await message.answer(
            _("No webhook receivers are configured (setting WEBHOOKS_PATH, README “Webhooks”).")
        )
        return
    states = await webhooks.states(DEAD_SHOWN)
    await message.answer(_("Webhooks to county systems"))
    for state in states:  # one message each: short enough whatever the number of receivers
        await message.answer(_describe(state), reply_markup=_keyboard([state]))


async def on_retry(
    query: CallbackQuery, callback_data: WebhookButton, webhooks: WebhookQueue
) -> None:
    if await webhooks.retry(callback_data.delivery_id):
        await query.answer(
            t("#{id} is queued again and will be sent shortly.", id=callback_data.delivery_id)
        )
    else:
        await query.answer(
            _("This delivery is no longer on the dead-letter list (already retried?)."),
            show_alert=True,
        )
        return
    if isinstance(query.message, Message):
        states = await webhooks.states(DEAD_SHOWN)
        await query.message.answer(
            t("Dead letters left: {dead}.", dead=sum(s.dead for s in states)),
            reply_markup=_keyboard(states),
        )


def build_router() -> Router:
    router = Router(name="webhooks")
    router.message.filter(HasRole(Role.admin))
    router.callback_query.filter(HasRole(Role.admin))
    router.message.register(command_webhooks, Command("webhooks"))
    router.callback_query.register(on_retry, WebhookButton.filter(F.action == WebhookAction.retry))
    return router
