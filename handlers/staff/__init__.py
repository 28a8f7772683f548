"""Staff work on cases: the staff case page with its actions, and /cases.

Only administrators, office staff and mediators reach this router (``HasRole`` on the router); a
citizen's forged ``staff:`` button falls through to the polite stale-button answer. Each
action's button has its own handler, registered with ``StaffAction.filter(F.action == ...)``
and :class:`~handlers.staff.pressed.PressedCase` (both ``Filter`` subclasses: no thread hop),
which hands the handler the authorised press; the executor (``actions``, workflow data)
authorises again when it acts, so a button from before the case moved on answers "already
done".

- ``callbacks`` – ``StaffAction`` (the buttons' callback data) and the typed-text state;
- ``texts``     – labels, prompts, confirmations, "done" lines (data);
- ``keyboards`` – the page's and each step's buttons;
- ``page``      – the case page, an action's outcome, /cases, a reminder's "open case";
- ``pressed``   – the ``PressedCase`` filter and the answer to a refused press;
- ``buttons``   – one handler per action;
- ``reasons``   – text typed for an action (a reason, what is missing, a receipt day).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from cases.org.users import Role
from cases.procedures.actions import Action
from handlers.filters import HasRole, NotCommand, When
from handlers.staff.buttons import BUTTON_HANDLERS
from handlers.staff.callbacks import Nav, StaffAction, StaffInput
from handlers.staff.page import command_cases, on_list, on_view, open_staff_case
from handlers.staff.pressed import PressedCase, on_refused
from handlers.staff.reasons import staff_not_text, staff_text

STAFF_ROLES = (Role.admin, Role.office_staff, Role.mediator)


def build_router() -> Router:
    """A new Router per call (a router belongs to one Dispatcher; tests build many)."""
    router = Router(name="staff")
    router.message.filter(HasRole(*STAFF_ROLES))
    router.callback_query.filter(HasRole(*STAFF_ROLES))
    router.message.register(command_cases, Command("cases"))
    router.callback_query.register(on_list, StaffAction.filter(F.action == Nav.list))
    router.callback_query.register(on_view, StaffAction.filter(F.action.in_({Nav.view, Nav.open})))
    for action, handler in BUTTON_HANDLERS.items():
        router.callback_query.register(
            handler, StaffAction.filter(F.action == action), PressedCase()
        )
    # A press the filter refused (not available, review period over, already done).
    router.callback_query.register(on_refused, StaffAction.filter(F.action.in_(set(Action))))
    router.message.register(
        staff_text, StateFilter(StaffInput.text), When(F.text & ~F.text.startswith("/"))
    )
    router.message.register(staff_not_text, StateFilter(StaffInput.text), NotCommand())
    return router


__all__ = ["STAFF_ROLES", "build_router", "open_staff_case"]
