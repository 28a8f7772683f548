"""/cancel, and polite answers for everything no other router took.

The cancel router goes first so /cancel works inside any form; the fallback router goes last.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from cases.intake.service import IntakeService
from cases.org.users import Role, User
from handlers.callbacks import CancelChoice
from handlers.commands import ROLE_GROUPS, command_roles, role_commands
from handlers.filters import When
from handlers.keyboards import cancel_confirmation, main_menu
from handlers.replies import edit_text
from handlers.texts import joined, t

log = logging.getLogger(__name__)


async def command_cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."), reply_markup=main_menu())
        return
    await message.answer(
        _("Do you want to stop and discard what you have entered in this form?"),
        reply_markup=cancel_confirmation(_draft_id(await state.get_data())),
    )


async def confirm_cancel(
    query: CallbackQuery, callback_data: CancelChoice, state: FSMContext, intake: IntakeService
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not callback_data.confirm:
        await edit_text(
            query.message, _("Good, let us continue. Please answer the last question.")
        )
        return
    draft_id = _draft_id(await state.get_data())
    if await state.get_state() is None or draft_id != callback_data.draft_id:
        # An old button: the form it asked about is gone, or another one is open now.
        await edit_text(
            query.message, _("This button is no longer valid. Please use the menu below.")
        )
        return
    if draft_id:
        await intake.discard_draft(draft_id, user_id=query.from_user.id)
    await state.clear()
    await edit_text(query.message, _("Discarded. Nothing was submitted."))
    await query.message.answer(_("What would you like to do?"), reply_markup=main_menu())


def _draft_id(data: dict[str, object]) -> int:
    value = data.get("draft_id")
    return value if isinstance(value, int) else 0


async def edited_message(message: Message) -> None:
    await message.answer(
        _(
            "I saw that you edited a message. Edits are not read: please send the "
            "corrected answer as a new message."
        )
    )


async def unknown_command(message: Message, user: User | None = None) -> None:
    """A command no router took: one the bot does not have, or a staff command used by a role
    it is not for (the routers' role filters let it through to here). The menus of
    handlers/commands.py say whose command it is."""
    assert message.text is not None
    command = message.text.split()[0].removeprefix("/").split("@")[0]
    roles = command_roles(command)
    role = user.role if user is not None else Role.citizen
    if not roles or role in roles:
        await message.answer(
            _("I do not know this command. Here is what I can do:"), reply_markup=main_menu()
        )
        return
    lines = [
        t(
            "The command /{command} is for {roles}.",
            command=command,
            roles=joined([_(ROLE_GROUPS[r]) for r in roles]),
        )
    ]
    own = [f"/{c}" for c, _desc in role_commands(role)]
    if own:
        lines.append(t("Your commands: {commands}", commands=" ".join(own)))
    lines.append(_("Here is what you can do:"))
    await message.answer("\n".join(lines), reply_markup=main_menu())


async def unknown_text(message: Message) -> None:
    await message.answer(_("Please choose what you would like to do:"), reply_markup=main_menu())


async def unsupported_message(message: Message) -> None:
    await message.answer(
        _(
            "I can only read text messages here (and files while you add evidence to an "
            "application). Please choose what you would like to do:"
        ),
        reply_markup=main_menu(),
    )


async def stale_button(query: CallbackQuery) -> None:
    """Buttons from before a restart, from an old message, or with forged data."""
    await query.answer(
        _("This button is no longer valid. Please use the menu below."), show_alert=True
    )
    if isinstance(query.message, Message):
        await query.message.answer(_("What would you like to do?"), reply_markup=main_menu())


def build_cancel_router() -> Router:
    router = Router(name="cancel")
    router.message.register(command_cancel, Command("cancel"))
    router.callback_query.register(confirm_cancel, CancelChoice.filter())
    return router


def build_fallback_router() -> Router:
    router = Router(name="fallback")
    router.edited_message.register(edited_message)
    router.message.register(unknown_command, When(F.text.startswith("/")))
    router.message.register(unknown_text, When(F.text))
    router.message.register(unsupported_message)
    router.callback_query.register(stale_button)
    return router
