"""The three intake forms, run by one generic loop over the field tables of cases/intake/forms.py.

One question per message. Every answer is validated at once and saved to the draft before the
next question is asked, so a restart, a day's pause or a wrong answer loses nothing. Buttons
carry the draft id and the question they belong to; both are checked again on every press.

The package, one module per concern:

- ``callbacks`` – the form's callback data and FSM state;
- ``rendering`` – questions, summary, edit list, receipt;
- ``flow``      – starting, answering, editing, submitting, saved details;
- ``files``     – evidence sent while filing.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from handlers.callbacks import MenuAction
from handlers.filters import NotCommand, When
from handlers.intake.callbacks import ENTRY_COMMANDS, FormButton, IntakeForm, KeepDetails
from handlers.intake.files import receive_file
from handlers.intake.flow import (
    answer_contact,
    answer_text,
    command_entry,
    forget_me,
    form_button,
    keep_details,
    menu_entry,
    other_message,
)


def build_router() -> Router:
    """Entry commands, menu buttons and the form's own buttons."""
    router = Router(name="intake")
    router.message.register(command_entry, Command(*ENTRY_COMMANDS))
    router.callback_query.register(
        menu_entry, MenuAction.filter(F.action.in_(set(ENTRY_COMMANDS)))
    )
    router.callback_query.register(form_button, FormButton.filter())
    router.callback_query.register(keep_details, KeepDetails.filter())
    router.message.register(forget_me, Command("forgetme"))
    return router


def build_answers_router() -> Router:
    """Messages while a form is open: the commonest update, so this router is offered first.

    Its root filter lets every command through to the routers that own it (/cancel, /start,
    /help …), so nothing below is shadowed; within a form, any other message is an answer.
    """
    router = Router(name="form-answers")
    router.message.filter(StateFilter(IntakeForm.answering), NotCommand())
    router.message.register(answer_text, When(F.text))
    router.message.register(answer_contact, When(F.contact))
    router.message.register(receive_file, When(F.photo | F.document | F.voice))
    router.message.register(other_message)
    return router
