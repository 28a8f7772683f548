"""/start, /help, /lang and the main menu."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from cases.org.users import Role, User, UserRepository
from handlers.admin import staff_menu_text
from handlers.callbacks import LanguageChoice, MenuAction
from handlers.commands import set_person_menu
from handlers.keyboards import language_menu, main_menu
from handlers.litigation import LitigationForm
from handlers.replies import edit_text
from handlers.texts import current_locale
from settings import Settings


def welcome_text() -> str:
    return _(
        "Welcome to the Gucheng County online service for disputes.\n\n"
        "Here you can apply for administrative reconsideration, ask for mediation of a "
        "dispute, file a petition (complaint, request or suggestion), book a bureau chief "
        "reception day and follow your cases.\n\n"
        "What would you like to do?"
    )


def help_text() -> str:
    return _(
        "How to use this service:\n\n"
        "/reconsider – challenge a decision or inaction of a government agency\n"
        "/mediation – ask for mediation of a dispute\n"
        "/petition – complaint, request, suggestion or report\n"
        "/book – book a bureau chief reception day\n"
        "/mycases – see your cases and their deadlines\n"
        "/cancel – stop what you are filling in\n"
        "/lang – change the language\n\n"
        "Answer one question at a time. Your answers are saved as you go: if you stop, "
        "you can continue later where you left off.\n"
        "Public service hotline: 0710-12345."
    )


async def command_start(
    message: Message,
    bot: Bot,
    state: FSMContext,
    user: User | None = None,
    settings: Settings | None = None,
) -> None:
    await _leave_question(state)
    await message.answer(welcome_text(), reply_markup=main_menu())
    if user is not None and user.role is not Role.citizen:
        # Staff see what they are here and their own commands, not only the citizens' menu.
        await message.answer(staff_menu_text(user, current_locale()))
    own_menu = user is not None and (user.role is not Role.citizen or user.locale is not None)
    if user is not None and settings is not None and own_menu:
        # Staff given a role before they ever opened the bot get their menu now; a citizen who
        # chose a language gets the current commands in it (refreshed after a release).
        await set_person_menu(bot, user, settings.default_locale)


async def command_help(message: Message) -> None:
    await message.answer(help_text(), reply_markup=main_menu())


async def command_menu(message: Message, state: FSMContext) -> None:
    await _leave_question(state)
    await message.answer(_("What would you like to do?"), reply_markup=main_menu())


KEPT_BY_START = frozenset({LitigationForm.registering.state})
"""/start and /menu end whatever question is open, so the next text is not taken as an answer
to a question no longer on screen (a form answer, material for a case, a staff reason, a hearing
time): a citizen form's draft stays saved and its command continues it. The one exception is
the court-case registration, which keeps its answers only in the FSM data; /cancel ends it."""


async def _leave_question(state: FSMContext) -> None:
    current = await state.get_state()
    if current is not None and current not in KEPT_BY_START:
        await state.clear()


async def command_lang(message: Message) -> None:
    await message.answer(_("Please choose your language:"), reply_markup=language_menu())


async def choose_language(
    query: CallbackQuery,
    callback_data: LanguageChoice,
    users: UserRepository,
    i18n: I18n,
    bot: Bot,
    settings: Settings,
) -> None:
    await users.set_locale(query.from_user.id, callback_data.code)
    chosen = await users.get(query.from_user.id)
    if chosen is not None:
        await set_person_menu(bot, chosen, settings.default_locale)  # the "/" menu follows
    with i18n.use_locale(callback_data.code):
        await query.answer()
        if isinstance(query.message, Message):
            await edit_text(query.message, _("Language set to English."))
            await query.message.answer(welcome_text(), reply_markup=main_menu())


async def menu_help(query: CallbackQuery, user: User) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(help_text())


def build_router() -> Router:
    router = Router(name="start")
    router.message.register(command_start, CommandStart())
    router.message.register(command_help, Command("help"))
    router.message.register(command_menu, Command("menu"))
    router.message.register(command_lang, Command("lang"))
    router.callback_query.register(
        choose_language, LanguageChoice.filter(F.code.in_({"zh", "en"}))
    )
    router.callback_query.register(menu_help, MenuAction.filter(F.action == "help"))
    return router
