"""Every flow is reachable through the bot's own dispatcher (bot.create_dispatcher, which
includes handlers.get_routers()).

Flow tests use that dispatcher only; these tests make a router left out of get_routers() fail
loudly: by name for every router a handlers module builds, and by behaviour for each flow (a
command or button of it answered by its own handler, not by the fallback).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterator

import pytest
from aiogram import Dispatcher, Router
from aiogram.methods import SendMessage

import handlers
from cases.org.users import Role
from handlers.agency_reply import AgencyReplyAction
from handlers.callbacks import DocumentList, MenuAction
from handlers.case_file import CaseFileAction
from handlers.litigation.shared import AppearanceButton
from scheduling.sender import ReminderAck
from tests.fakes.telegram import BotClient

UNKNOWN_COMMAND = "没有这个命令"  # the fallback's answer to a command nobody handled
STALE_BUTTON = "这个按钮已经失效"  # the fallback's answer to a button nobody handled


def _tree(router: Router) -> Iterator[Router]:
    yield router
    for sub in router.sub_routers:
        yield from _tree(sub)


def built_routers() -> dict[str, str]:
    """Router name -> the builder that makes it, for every ``build_*router`` in handlers/."""
    found: dict[str, str] = {}
    for info in pkgutil.walk_packages(handlers.__path__, "handlers."):
        module = importlib.import_module(info.name)
        for name, builder in vars(module).items():
            if not (name.startswith("build_") and name.endswith("router")):
                continue
            if getattr(builder, "__module__", None) != module.__name__ or not callable(builder):
                continue
            router = builder()
            if isinstance(router, Router):
                for built in _tree(router):
                    found[built.name] = f"{module.__name__}.{name}"
    return found


def test_every_router_a_handlers_module_builds_is_in_the_dispatcher(
    dispatcher: Dispatcher,
) -> None:
    built = built_routers()
    assert {"start", "intake", "staff", "litigation", "admin", "fallback"} <= set(built)
    included = {router.name for router in _tree(dispatcher)}
    missing = {name: builder for name, builder in built.items() if name not in included}
    assert missing == {}, "built but not in handlers.get_routers()"


def test_each_router_is_included_once(dispatcher: Dispatcher) -> None:
    """A second copy (as tests/test_staff.py once added) would hide a missing first one."""
    names = [router.name for router in _tree(dispatcher)]
    assert len(names) == len(set(names)), names


Flow = Callable[[BotClient], Awaitable[None]]


async def _command(client: BotClient, text: str) -> None:
    await client.send(text)


async def _form_answer(client: BotClient) -> None:
    await client.send("/mediation")
    for label in ("没有", "同意", "交通事故", "城关镇"):
        await client.press(label)
    await client.send("张三")
    assert "证件" in client.last_text()  # the next question, not the main menu


async def _failure(client: BotClient) -> None:
    client.session.fail_next(SendMessage, 500, "Internal Server Error")
    await client.send("/start")  # without the errors router the exception escapes here
    assert "出了点问题" in client.last_text()


async def _proxy_booking_name(client: BotClient) -> None:
    await client.send("/book")  # a community worker is asked for the citizen's name first
    client.clear()
    await client.send("王五")
    assert "王五" not in client.last_text() or "电话" in client.last_text()


async def _plain_text(client: BotClient) -> None:
    await client.send("你好")
    assert "请选择您要办理的事项" in client.last_text()


# (flow, role of the person, what they do). The role None is a citizen.
FLOWS: dict[str, tuple[Role | None, Flow]] = {
    "form-answers": (None, _form_answer),
    "cancel": (None, lambda c: _command(c, "/cancel")),
    "start": (None, lambda c: _command(c, "/start")),
    "intake": (None, lambda c: _command(c, "/petition")),
    "mycases": (None, lambda c: _command(c, "/mycases")),
    "reminders": (None, lambda c: c.click(ReminderAck(reminder_id=1))),
    "staff": (Role.office_staff, lambda c: _command(c, "/cases")),
    # The case's own page is not there (no case 1): the refusal is an answer from this router.
    "case-file": (Role.office_staff, lambda c: c.click(CaseFileAction(action="full", case_id=1))),
    # No case 1: "not available" is this router's own answer.
    "documents": (None, lambda c: c.click(DocumentList(case_id=1))),
    "triage": (None, lambda c: c.click(MenuAction(action="triage"))),
    "litigation": (Role.admin, lambda c: _command(c, "/lawsuits")),
    "litigation-registration": (Role.office_staff, lambda c: _command(c, "/lawsuit")),
    "litigation-cards": (Role.office_staff, lambda c: _command(c, "/lawsuits")),
    "litigation-statistics": (Role.office_staff, lambda c: _command(c, "/appearance")),
    # No hearing 1: the refusal is this router's own answer.
    "litigation-appearance": (
        Role.office_staff,
        lambda c: c.click(AppearanceButton(hearing_id=1, step="who", action="lawyer")),
    ),
    "admin": (Role.admin, lambda c: _command(c, "/grant")),
    # An unknown invitation token: this router's own answer ("not valid, nothing changed").
    "invitations": (None, lambda c: _command(c, "/start inv_" + "A" * 22)),
    "invitations-admin": (Role.admin, lambda c: _command(c, "/staff")),
    "queue": (Role.agency_liaison, lambda c: _command(c, "/queue")),
    "stats": (Role.admin, lambda c: _command(c, "/stats")),
    "webhooks": (Role.admin, lambda c: _command(c, "/webhooks")),
    "booking": (None, lambda c: _command(c, "/book")),
    "booking-texts": (Role.community_worker, _proxy_booking_name),
    "roster": (Role.agency_liaison, lambda c: _command(c, "/roster")),
    # No case 1: the refusal is this router's own answer.
    "agency-reply": (
        Role.agency_liaison,
        lambda c: c.click(AgencyReplyAction(action="start", case_id=1)),
    ),
    "petition-agency": (Role.agency_liaison, lambda c: _command(c, "/petitions")),
    # An unknown link: the refusal is this router's own answer.
    "mediation-link": (None, lambda c: _command(c, "/start op_unknown")),
    "mediation": (Role.mediator, lambda c: _command(c, "/mediate")),
    "assignment": (Role.mediator, lambda c: _command(c, "/profile")),
    "errors": (None, _failure),
    "fallback": (None, _plain_text),
}


def test_every_flow_has_a_case_below() -> None:
    missing = set(built_routers()) - set(FLOWS)
    assert not missing, "add a case for each new router to FLOWS"


@pytest.mark.parametrize("flow", list(FLOWS))
async def test_a_flow_is_answered_through_the_production_dispatcher(
    dispatcher: Dispatcher, client: BotClient, flow: str
) -> None:
    role, act = FLOWS[flow]
    if role is not None:
        await dispatcher["users"].set_role(client.user_id, role)
    await act(client)
    assert client.texts() or client.session.alerts(), "nobody answered"
    assert not any(UNKNOWN_COMMAND in text for text in client.texts())
    assert not any(STALE_BUTTON in alert for alert in client.session.alerts())
