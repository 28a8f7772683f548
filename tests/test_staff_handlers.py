"""The staff router's shape: one handler per action, each behind the PressedCase filter (a
``Filter`` subclass, evaluated on the event loop), and services only as workflow data."""

from __future__ import annotations

import inspect

from aiogram import Dispatcher
from aiogram.filters import Filter

from cases.procedures.transitions import TRANSITIONS, Action
from handlers.staff.buttons import BUTTON_HANDLERS
from handlers.staff.pressed import PressedCase


def _staff_router(dispatcher: Dispatcher):
    return next(r for r in dispatcher.chain_tail if r.name == "staff")


def test_every_action_of_the_transition_table_has_its_own_handler() -> None:
    assert set(BUTTON_HANDLERS) == set(Action) >= {row.action for row in TRANSITIONS}
    handlers = list(BUTTON_HANDLERS.values())
    assert len(set(handlers)) == len(handlers), "two actions share a handler"


def test_each_action_handler_gets_the_authorised_press_from_a_filter_subclass(
    dispatcher: Dispatcher,
) -> None:
    staff = _staff_router(dispatcher)
    by_callback = {h.callback: h for h in staff.callback_query.handlers}
    for action, handler in BUTTON_HANDLERS.items():
        registered = by_callback[handler]
        filters = [f.callback for f in registered.filters or []]
        assert any(isinstance(f, PressedCase) for f in filters), action
        # No magic filter or bare callable: aiogram would run it in a thread.
        assert all(isinstance(f, Filter) for f in filters), action
        parameters = inspect.signature(handler).parameters
        assert "pressed" in parameters and "actions" in parameters, action
        assert "db" not in parameters, f"{action}: services come as workflow data, not the db"
