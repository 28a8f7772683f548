"""A fake Telegram Bot API HTTP server on 127.0.0.1 for process tests and benchmarks.

Why a real HTTP server and not a mocked session: it lets the unmodified ``bot.py`` run its real
``start_polling`` loop (``TELEGRAM_API_BASE``), so start-up, offsets, restarts, re-delivery and
429 handling are exercised exactly as against Telegram (engineering.md §2.2, experiment E5).
The public emulator ``telegram-test-api`` was rejected for the reasons listed in §2.3; this
fake avoids each of them: ``getMe`` carries ``is_bot``, ``getUpdates`` honours
``offset``/``limit``/``timeout``, callback queries carry ``chat_instance``, every method returns
a decodable Bot API object, and errors use Telegram's JSON error shape.

Telegram behaviours reproduced on purpose (each one has bitten real bots):

* ``getUpdates``: updates with ``update_id < offset`` are confirmed and forgotten; anything not
  confirmed is delivered again, also to a restarted process; long polling waits up to
  ``timeout`` seconds; ``409`` while a webhook is set.
* ``setWebhook``: updates are POSTed to the URL with the secret header, several at once; only
  a 2xx answer confirms one, anything else (a killed replica) sends it again later.
* ``sendMessage``: ``400`` for an empty or too long (> 4096 UTF-16 units) text, for HTML that
  Telegram would not parse, and for ``callback_data`` longer than 64 bytes (a Chinese character
  takes 3 bytes in UTF-8).
* ``editMessageText``/``editMessageReplyMarkup``: ``400`` for an unknown message and for
  "message is not modified".

The message checks live in ``tests/fakes/limits.py``, shared with the recording session of the
flow tests (tests/fakes/telegram.py), so both fakes refuse the same messages.
* Flood limits (engineering.md §4), off by default: a global token bucket, a minimum interval
  per chat and a per-group budget per minute, answered with ``429`` and ``retry_after``.

Standalone use: ``python -m tests.fakes.bot_api_server --port 8081`` serves the Bot API plus a
small control API for manual runs (``POST /_fake/push_message`` with JSON
``{"user_id": 1, "text": "/start"}``, ``POST /_fake/push_callback``, ``GET /_fake/calls``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import socket
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from tests.fakes.limits import (
    BotAPIError,
    edit_reply_markup,
    edit_text,
    inline_markup,
    sent_content,
    utf16_len,
    validate_send,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

BOT_USERNAME = "gucheng_test_bot"
BOT_FIRST_NAME = "谷城县测试机器人"

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files on the cloud Bot API.

# Form fields whose raw text must never be JSON-decoded ("123" stays a string).
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "data",
        "url",
        "inline_message_id",
        "language_code",
        "action",
        "file_id",
        "description",
        "short_description",
        "name",
        "title",
        "secret_token",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "phone_number",
        "first_name",
        "last_name",
        "question",
        "ip_address",
    }
)

# Methods that put a message into a chat: subject to flood limits and to block_chat.
SEND_METHODS = frozenset(
    {"sendmessage", "senddocument", "sendphoto", "copymessage", "forwardmessage"}
)

UPDATE_TYPES_OFF_BY_DEFAULT = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


class _DropConnection(Exception):
    """Internal: close the socket without answering (a network error mid-request)."""


@dataclass
class Call:
    """One Bot API request as the bot sent it.

    ``params`` holds form fields with JSON fields decoded (``reply_markup`` is a dict, ``chat_id``
    an int). ``ok`` is False for answered errors (429, 403, injected failures) and dropped
    connections, so "delivered" means ``ok``.
    """

    method: str
    params: dict[str, Any]
    time: float
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    ok: bool = True
    error_code: int | None = None
    description: str | None = None
    result: Any = None


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_size: int
    file_name: str | None = None
    mime_type: str | None = None
    content: bytes | None = None
    file_path: str | None = None


def _decode_field(key: str, raw: str) -> Any:
    if key in STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class FakeBotAPI:
    """In-process fake of api.telegram.org for one or more bot tokens.

    Not thread-safe: use it from the event loop it was started in.
    """

    def __init__(
        self,
        global_rate_per_s: float | None = None,
        per_chat_interval_s: float | None = None,
        per_group_per_minute: int | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = BOT_FIRST_NAME,
    ) -> None:
        self.host = host
        self.port = port
        self.base_url = ""
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name

        self.global_rate_per_s = global_rate_per_s
        self.per_chat_interval_s = per_chat_interval_s
        self.per_group_per_minute = per_group_per_minute
        self.too_many_requests = 0

        self.calls: list[Call] = []
        self.webhook_url: str | None = None
        self.webhook_params: dict[str, Any] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        # (scope JSON, language_code) -> commands, like Telegram keeps one list per pair.
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}

        self._updates: dict[int, dict[str, Any]] = {}  # every update ever pushed
        self._pending: list[int] = []  # unconfirmed update ids, ascending
        # Forced duplicates -> delivered yet; kept until a later poll confirms them.
        self._redeliver: dict[int, bool] = {}
        self._confirmations_lost = False
        self._allowed_updates: list[str] | None = None
        self._next_update_id = 100_001
        self._message_ids = itertools.count(1001)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._users: dict[int, dict[str, Any]] = {}

        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._drops: dict[str, deque[bool]] = defaultdict(deque)
        self._blocked: set[int | str] = set()

        self._bucket_tokens = max(1.0, float(global_rate_per_s or 0.0))  # starts full
        self._bucket_updated = time.monotonic()
        self._last_send_per_chat: dict[int | str, float] = {}
        self._group_sends: dict[int | str, deque[float]] = defaultdict(deque)

        self._updates_pushed = asyncio.Event()
        self._call_recorded = asyncio.Event()
        self._closing = False
        # Webhook delivery (setWebhook): what each POST was answered, which updates were
        # confirmed by a 2xx (in order of confirmation), how long to wait before a retry.
        self._webhook_task: asyncio.Task[None] | None = None
        self.webhook_answers: list[int] = []
        self.webhook_delivered: list[int] = []
        self.webhook_retry_s = 0.5
        self.webhook_timeout_s = 60.0
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Bind a socket (port 0 = any free port) and return the base URL for the bot."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_post("/_fake/push_message", self._control_push_message)
        app.router.add_post("/_fake/push_callback", self._control_push_callback)
        app.router.add_get("/_fake/calls", self._control_calls)
        # handler_cancellation: a long poll of a killed bot process must not keep taking
        # updates; a short shutdown timeout: stop() must not wait for such a poll either.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._closing = False
        self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    async def stop(self) -> None:
        """Wake every long poll (they answer empty) and close the server."""
        self._closing = True
        self._pulse(self._updates_pushed)
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspection

    def calls_of(self, method: str) -> list[Call]:
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def count(self, method: str) -> int:
        """How many times the bot called ``method`` (any outcome)."""
        return len(self.calls_of(method))

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Params of every *delivered* sendMessage, optionally for one chat."""
        return [
            c.params
            for c in self.calls_of("sendMessage")
            if c.ok and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of delivered sendMessage calls, the most common assertion."""
        return [p.get("text", "") for p in self.sent_messages(chat_id)]

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """The current state of a message as Telegram would show it (after edits)."""
        return self._messages.get((chat_id, message_id))

    def update(self, update_id: int) -> dict[str, Any]:
        return self._updates[update_id]

    @property
    def pending_update_ids(self) -> list[int]:
        """Update ids not yet confirmed by the bot (they will be delivered again), including
        forced duplicates."""
        return sorted(set(self._pending) | set(self._redeliver))

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value.

        Re-checked on every recorded call and every 50 ms (the predicate may look at a
        database). On timeout raises ``TimeoutError`` listing the last calls, so a failing
        test says what the bot did instead.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(
                    f"{c.method}({c.params.get('chat_id', '')})"
                    + ("" if c.ok else f"->{c.error_code}")
                    for c in self.calls[-15:]
                )
                raise TimeoutError(f"condition not met within {timeout}s; last calls: [{recent}]")
            event = self._call_recorded
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this error (checked first)."""
        self._failures[method.lower()].append(
            _Failure(error_code, description, retry_after, times)
        )

    def block_chat(self, chat_id: int | str) -> None:
        """The user blocked the bot: every send to that chat answers 403."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int | str) -> None:
        self._blocked.discard(chat_id)

    def drop_connection_next(self, method: str, *, delivered: bool = True) -> None:
        """Record the next call of ``method``, then close the socket without answering.

        ``delivered=True`` (default) applies the call first, the ambiguous case a sender must
        survive: Telegram did send the message but the bot saw a network error.
        """
        self._drops[method.lower()].append(delivered)

    def lose_confirmations(self, lost: bool = True) -> None:
        """While on, offsets position each poll but confirm nothing, as if every confirming
        getUpdates was lost: after a crash the next process gets all those updates again.

        Makes "handled but not yet confirmed" deterministic; with aiogram the confirming poll
        normally follows within milliseconds, so a real crash only sometimes hits that window.
        """
        self._confirmations_lost = lost

    # ------------------------------------------------------------------ injecting updates

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; assigns the next ``update_id`` when absent."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        update_id = int(update["update_id"])
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._updates[update_id] = update
        if update_id not in self._pending:
            self._pending.append(update_id)
            self._pending.sort()
        self._pulse(self._updates_pushed)
        return update_id

    def push_raw_duplicate(self, update_id: int) -> None:
        """Deliver an already delivered (even confirmed) update once more, as Telegram may."""
        if update_id not in self._updates:
            raise KeyError(f"update {update_id} was never pushed")
        self._redeliver[update_id] = False
        self._pulse(self._updates_pushed)

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "测试",
        language_code: str = "zh-hans",
        message_id: int | None = None,
    ) -> int:
        """A text from a user; a leading ``/command`` gets its bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._push_user_message(
            user_id, content, chat_id, first_name, language_code, message_id
        )

    def push_contact(
        self,
        user_id: int,
        phone: str,
        *,
        chat_id: int | None = None,
        first_name: str = "测试",
        language_code: str = "zh-hans",
    ) -> int:
        """The user shares their own contact (``contact.user_id`` equals the sender)."""
        contact = {"phone_number": phone, "first_name": first_name, "user_id": user_id}
        return self._push_user_message(
            user_id, {"contact": contact}, chat_id, first_name, language_code, None
        )

    def push_document(
        self,
        user_id: int,
        file_name: str,
        mime_type: str,
        file_size: int,
        *,
        caption: str | None = None,
        content: bytes | None = None,
        chat_id: int | None = None,
        first_name: str = "测试",
        language_code: str = "zh-hans",
    ) -> int:
        stored = self._register_file(file_size, file_name, mime_type, content)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size,
        }
        message: dict[str, Any] = {"document": document}
        if caption is not None:
            message["caption"] = caption
        return self._push_user_message(user_id, message, chat_id, first_name, language_code, None)

    def push_photo(
        self,
        user_id: int,
        file_size: int,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        first_name: str = "测试",
        language_code: str = "zh-hans",
    ) -> int:
        """A photo in three sizes like Telegram sends; the largest has ``file_size``."""
        message: dict[str, Any] = {"photo": self._photo_sizes(file_size)}
        if caption is not None:
            message["caption"] = caption
        return self._push_user_message(user_id, message, chat_id, first_name, language_code, None)

    def push_callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        chat_id: int | None = None,
        message_text: str = "...",
        first_name: str = "测试",
        language_code: str = "zh-hans",
    ) -> int:
        """A press on an inline button of message ``message_id``.

        Uses the message as the bot last left it when it is known (text and keyboard),
        otherwise fabricates one from the bot with ``message_text``.
        """
        chat = chat_id if chat_id is not None else user_id
        user = self._user(user_id, first_name, language_code)
        message = self._messages.get((chat, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat),
                "from": self.bot_user(),
                "text": message_text,
            }
            self._messages[(chat, message_id)] = message
        query = {
            "id": str(next(self._callback_ids)),
            "from": user,
            "message": json.loads(json.dumps(message)),
            "chat_instance": str(-(abs(hash(("chat_instance", chat))) % 10**18)),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    # ------------------------------------------------------------------ objects

    def bot_id(self, token: str | None = None) -> int:
        token = token or self.token or ""
        prefix = token.split(":", 1)[0]
        return int(prefix) if prefix.isdigit() else 123456789

    def bot_user(self, token: str | None = None) -> dict[str, Any]:
        return {
            "id": self.bot_id(token),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _user(self, user_id: int, first_name: str, language_code: str) -> dict[str, Any]:
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if isinstance(chat_id, int) and chat_id > 0:
            chat: dict[str, Any] = {"id": chat_id, "type": "private"}
            if chat_id in self._users:
                chat["first_name"] = self._users[chat_id]["first_name"]
            return chat
        if isinstance(chat_id, str):  # "@channelusername"
            return {"id": -1001000000000, "type": "channel", "username": chat_id.lstrip("@")}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "测试群"}

    def _push_user_message(
        self,
        user_id: int,
        content: dict[str, Any],
        chat_id: int | None,
        first_name: str,
        language_code: str,
        message_id: int | None,
    ) -> int:
        chat = chat_id if chat_id is not None else user_id
        message = {
            "message_id": message_id if message_id is not None else next(self._message_ids),
            "date": int(time.time()),
            "chat": {},
            "from": self._user(user_id, first_name, language_code),
            **content,
        }
        message["chat"] = self._chat(chat)
        self._messages[(chat, message["message_id"])] = message
        return self.push_update({"message": message})

    def _register_file(
        self,
        file_size: int,
        file_name: str | None = None,
        mime_type: str | None = None,
        content: bytes | None = None,
    ) -> _StoredFile:
        n = next(self._file_ids)
        stored = _StoredFile(
            file_id=f"BQACAgUAAxkBAAI{n:08d}fake",
            file_unique_id=f"AgAD{n:06d}",
            file_size=file_size,
            file_name=file_name,
            mime_type=mime_type,
            content=content,
        )
        self._files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, largest_size: int) -> list[dict[str, Any]]:
        sizes = []
        for width, height, size in (
            (90, 68, max(1, largest_size // 40)),
            (320, 240, max(1, largest_size // 8)),
            (1280, 960, largest_size),
        ):
            stored = self._register_file(size, mime_type="image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": size,
                    "width": width,
                    "height": height,
                }
            )
        return sizes

    # ------------------------------------------------------------------ HTTP

    def _pulse(self, event: asyncio.Event) -> None:
        """Wake every waiter of ``event`` and give later waiters a fresh one.

        Not set() then clear(): ``asyncio.wait_for(event.wait(), …)`` starts the wait in a new
        task, and a pulse between capturing the event and that task's first step was lost — a
        long poll then slept its whole timeout with the update already there (a flaky process
        test). A captured event stays set, so such a waiter returns at once.
        """
        event.set()
        if event is self._updates_pushed:
            self._updates_pushed = asyncio.Event()
        elif event is self._call_recorded:
            self._call_recorded = asyncio.Event()

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for key, value in request.query.items():
            params[key] = _decode_field(key, value)
        if request.method != "POST" or not request.can_read_body:
            return params, files
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            else:
                params[key] = _decode_field(key, str(value))
        return params, files

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await self._read_params(request)
        call = Call(method=method, params=params, time=time.monotonic(), files=files)
        self.calls.append(call)
        self._pulse(self._call_recorded)
        try:
            if self.token is not None and token != self.token:
                raise BotAPIError(401, "Unauthorized")
            result = await self._dispatch(token, method.lower(), params, call)
        except BotAPIError as error:
            call.ok = False
            call.error_code = error.error_code
            call.description = error.description
            if error.error_code == 429:
                self.too_many_requests += 1
            self._pulse(self._call_recorded)
            return web.json_response(error.payload(), status=error.error_code)
        except _DropConnection:
            self._pulse(self._call_recorded)
            if request.transport is not None:
                request.transport.abort()
            # aiohttp cannot write to the aborted transport; the client sees a disconnect.
            raise asyncio.CancelledError from None
        call.result = result
        self._pulse(self._call_recorded)
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, token: str, method: str, params: dict[str, Any], call: Call) -> Any:
        failures = self._failures.get(method)
        if failures:
            failure = failures[0]
            failure.times -= 1
            if failure.times <= 0:
                failures.popleft()
            raise BotAPIError(failure.error_code, failure.description, failure.retry_after)

        drops = self._drops.get(method)
        drop_delivered: bool | None = drops.popleft() if drops else None
        if drop_delivered is False:
            call.ok = False
            raise _DropConnection

        chat_id = params.get("chat_id")
        if chat_id is not None and chat_id in self._blocked:
            raise BotAPIError(403, "Forbidden: bot was blocked by the user")

        handler = self._handlers().get(method)
        if handler is None:
            raise BotAPIError(404, "Not Found: method not found")

        if method in SEND_METHODS and chat_id is not None:
            validate_send(method, params)
            self._check_flood(chat_id)
        result = await handler(token, params, call)
        if drop_delivered:
            call.result = result
            call.ok = True
            raise _DropConnection
        return result

    def _handlers(
        self,
    ) -> dict[str, Callable[[str, dict[str, Any], Call], Awaitable[Any]]]:
        return {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._true,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendchataction": self._true,
            "deletemessage": self._delete_message,
            "getfile": self._get_file,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "close": self._true,
            "logout": self._true,
        }

    # ------------------------------------------------------------------ flood limits

    def _check_flood(self, chat_id: int | str) -> None:
        """Raise 429 when a limit is exceeded; otherwise charge the send to every budget."""
        now = time.monotonic()
        waits: list[float] = []
        rate = self.global_rate_per_s
        if rate:
            capacity = max(1.0, rate)
            self._bucket_tokens = min(
                capacity, self._bucket_tokens + (now - self._bucket_updated) * rate
            )
            self._bucket_updated = now
            if self._bucket_tokens < 1.0:
                waits.append((1.0 - self._bucket_tokens) / rate)
        interval = self.per_chat_interval_s
        last = self._last_send_per_chat.get(chat_id)
        if interval and last is not None and now - last < interval:
            waits.append(interval - (now - last))
        is_group = isinstance(chat_id, str) or chat_id < 0
        budget = self.per_group_per_minute
        if budget and is_group:
            sends = self._group_sends[chat_id]
            while sends and now - sends[0] >= 60.0:
                sends.popleft()
            if len(sends) >= budget:
                waits.append(60.0 - (now - sends[0]))
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            raise BotAPIError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if rate:
            self._bucket_tokens -= 1.0
        self._last_send_per_chat[chat_id] = now
        if budget and is_group:
            self._group_sends[chat_id].append(now)

    # ------------------------------------------------------------------ methods

    async def _true(self, token: str, params: dict[str, Any], call: Call) -> bool:
        return True

    async def _get_me(self, token: str, params: dict[str, Any], call: Call) -> dict[str, Any]:
        return {
            **self.bot_user(token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(
        self, token: str, params: dict[str, Any], call: Call
    ) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if "allowed_updates" in params and isinstance(params["allowed_updates"], list):
            self._allowed_updates = params["allowed_updates"] or None
        # With confirmations lost, the offset only positions this poll (Telegram never saw it).
        start_id = offset if self._confirmations_lost and offset > 0 else 0
        if not self._confirmations_lost:
            self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._take_batch(limit, start_id)
            if batch or self._closing:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._updates_pushed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        """Telegram: updates below ``offset`` are confirmed and forgotten; a negative offset
        keeps only the last ``-offset`` updates."""
        if offset > 0:
            self._pending = [u for u in self._pending if u >= offset]
            for update_id, delivered in list(self._redeliver.items()):
                if delivered and update_id < offset:
                    del self._redeliver[update_id]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in UPDATE_TYPES_OFF_BY_DEFAULT
        return kind in self._allowed_updates

    def _take_batch(self, limit: int, start_id: int = 0) -> list[dict[str, Any]]:
        duplicates = [self._updates[u] for u in self._redeliver]
        for update_id in self._redeliver:
            self._redeliver[update_id] = True
        fresh = [
            self._updates[u]
            for u in self._pending
            if u >= start_id and self._wanted(self._updates[u])
        ]
        return (duplicates + fresh)[:limit]

    async def _delete_webhook(self, token: str, params: dict[str, Any], call: Call) -> bool:
        self.webhook_url = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _set_webhook(self, token: str, params: dict[str, Any], call: Call) -> bool:
        self.webhook_url = str(params.get("url") or "") or None
        self.webhook_params = dict(params)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"] or None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if self.webhook_url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhook())
        self._pulse(self._updates_pushed)
        return True

    # ------------------------------------------------------------------ webhook delivery

    async def _deliver_webhook(self) -> None:
        """Telegram's side of a webhook: POST each unconfirmed update to the URL with the
        secret header, up to ``max_connections`` at once; a 2xx answer confirms it, anything
        else (an error, a refused connection, a replica killed mid-request) leaves it pending
        and it is sent again after ``webhook_retry_s``, to whichever replica the URL reaches.
        """
        import aiohttp

        in_flight: set[int] = set()
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession() as session:
            while self.webhook_url and not self._closing:
                limit = int(self.webhook_params.get("max_connections") or 40)
                ready = [
                    u
                    for u in self._pending
                    if u not in in_flight and self._wanted(self._updates[u])
                ][: max(0, limit - len(in_flight))]
                for update_id in ready:
                    in_flight.add(update_id)
                    task = asyncio.get_running_loop().create_task(
                        self._post_update(session, update_id, in_flight)
                    )
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                event = self._updates_pushed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), self.webhook_retry_s)
            for task in list(tasks):
                task.cancel()

    async def _post_update(self, session: Any, update_id: int, in_flight: set[int]) -> None:
        import aiohttp

        url = self.webhook_url
        headers = {}
        secret = self.webhook_params.get("secret_token")
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(secret)
        delivered = False
        try:
            if url:
                async with session.post(
                    url,
                    json=self._updates[update_id],
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout_s),
                ) as response:
                    delivered = 200 <= response.status < 300
                    self.webhook_answers.append(response.status)
        except (aiohttp.ClientError, TimeoutError, OSError):
            delivered = False
        finally:
            if delivered and update_id in self._pending:
                self._pending.remove(update_id)
                self.webhook_delivered.append(update_id)
            if not delivered:
                await asyncio.sleep(self.webhook_retry_s)
            in_flight.discard(update_id)
            self._pulse(self._updates_pushed)

    async def _get_webhook_info(
        self, token: str, params: dict[str, Any], call: Call
    ) -> dict[str, Any]:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    def _store_sent(
        self, token: str, params: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        chat_id = params["chat_id"]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user(token),
            **content,
        }
        markup = inline_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return json.loads(json.dumps(message))

    async def _send_message(
        self, token: str, params: dict[str, Any], call: Call
    ) -> dict[str, Any]:
        return self._store_sent(token, params, sent_content("sendmessage", params))

    def _find_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        message_id = params.get("message_id")
        if chat_id is None or message_id is None:
            raise BotAPIError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, int(message_id)))
        if message is None:
            raise BotAPIError(400, "Bad Request: message to edit not found")
        return message

    async def _edit_message_text(self, token: str, params: dict[str, Any], call: Call) -> Any:
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params)
        edit_text(message, params, int(time.time()))
        return json.loads(json.dumps(message))

    async def _edit_message_reply_markup(
        self, token: str, params: dict[str, Any], call: Call
    ) -> Any:
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params)
        edit_reply_markup(message, params, int(time.time()))
        return json.loads(json.dumps(message))

    async def _delete_message(self, token: str, params: dict[str, Any], call: Call) -> bool:
        key = (params.get("chat_id"), int(params.get("message_id") or 0))
        if self._messages.pop(key, None) is None:  # type: ignore[arg-type]
            raise BotAPIError(400, "Bad Request: message to delete not found")
        return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, token: str, params: dict[str, Any], call: Call) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise BotAPIError(400, 'Bad Request: parameter "commands" is required')
        self.commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(
        self, token: str, params: dict[str, Any], call: Call
    ) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, token: str, params: dict[str, Any], call: Call) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, token: str, params: dict[str, Any], call: Call) -> bool:
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(
        self, token: str, params: dict[str, Any], call: Call
    ) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        return (
            self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}
        )

    async def _get_file(self, token: str, params: dict[str, Any], call: Call) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise BotAPIError(400, "Bad Request: file is too big")
        if stored.file_path is None:
            folder = "photos" if stored.mime_type == "image/jpeg" else "documents"
            suffix = ""
            if stored.file_name and "." in stored.file_name:
                suffix = "." + stored.file_name.rsplit(".", 1)[1]
            elif folder == "photos":
                suffix = ".jpg"
            stored.file_path = f"{folder}/file_{stored.file_unique_id}{suffix}"
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    def file_content(self, stored: _StoredFile) -> bytes:
        return stored.content if stored.content is not None else _filler(stored)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path:
                return web.Response(body=self.file_content(stored))
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    def _sent_file(
        self, params: dict[str, Any], call: Call, field_name: str
    ) -> tuple[_StoredFile, str | None]:
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            filename, content = call.files.get(value.removeprefix("attach://"), ("", b""))
            stored = self._register_file(len(content), filename or None, None, content)
            return stored, filename or None
        if isinstance(value, str) and value in self._files:
            stored = self._files[value]
            return stored, stored.file_name
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            stored = self._register_file(1024, value.rsplit("/", 1)[-1] or None)
            return stored, stored.file_name
        raise BotAPIError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    async def _send_document(
        self, token: str, params: dict[str, Any], call: Call
    ) -> dict[str, Any]:
        stored, filename = self._sent_file(params, call, "document")
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if filename:
            document["file_name"] = filename
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        content: dict[str, Any] = {"document": document, **sent_content("senddocument", params)}
        return self._store_sent(token, params, content)

    async def _send_photo(self, token: str, params: dict[str, Any], call: Call) -> dict[str, Any]:
        stored, _ = self._sent_file(params, call, "photo")
        content: dict[str, Any] = {
            "photo": self._photo_sizes(max(1, stored.file_size)),
            **sent_content("sendphoto", params),
        }
        return self._store_sent(token, params, content)

    # ------------------------------------------------------------------ control API

    async def _control_push_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        update_id = self.push_message(int(body["user_id"]), str(body["text"]))
        return web.json_response({"ok": True, "update_id": update_id})

    async def _control_push_callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        update_id = self.push_callback(
            int(body["user_id"]), str(body["data"]), message_id=int(body["message_id"])
        )
        return web.json_response({"ok": True, "update_id": update_id})

    async def _control_calls(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"method": c.method, "params": c.params, "ok": c.ok, "error": c.description}
                for c in self.calls
            ],
            dumps=lambda obj: json.dumps(obj, ensure_ascii=False, default=str),
        )


def _filler(stored: _StoredFile) -> bytes:
    """Deterministic bytes of the announced size, so a size check after download holds."""
    unit = b"%FAKE-" + stored.file_unique_id.encode() + b"\n"
    return (unit * (stored.file_size // len(unit) + 1))[: stored.file_size]


async def _serve(host: str, port: int) -> None:
    api = FakeBotAPI(host=host, port=port)
    base = await api.start()
    print(f"Fake Bot API listening on {base}  (TELEGRAM_API_BASE={base})", flush=True)
    print(
        'Push a message: curl -X POST -d \'{"user_id": 1, "text": "/start"}\' '
        f"{base}/_fake/push_message",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API for manual runs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
