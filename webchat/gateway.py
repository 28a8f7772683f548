"""The Bot API side: the part of api.telegram.org the bot uses, served for web chats.

Answers follow Telegram's shapes and errors (400 for bad HTML or limits, 403 for a closed
chat, 429 with ``retry_after`` under per-chat pacing) so the bot's own handling of each is the
one tested against Telegram. tests/test_webchat_conformance.py runs the same calls against
this and the in-repo fake and expects the same answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import mimetypes
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from webchat import telegram_html
from webchat.bot_api import (
    FIRST_MESSAGE_ID,
    FIRST_UPDATE_ID,
    MAX_DOWNLOAD_BYTES,
    NOT_MODIFIED,
    SEND_METHODS,
    UPDATE_TYPES_OFF_BY_DEFAULT,
    WEB_FIRST_NAME,
    BotAPIError,
    Bucket,
    GatewayConfig,
    PendingQuery,
    Pulse,
    buttons_view,
    copy_value,
    decode_field,
    reply_keyboard_view,
)
from webchat.citizen_side import CitizenSide
from webchat.store import Store

log = logging.getLogger("webchat.gateway")


class Gateway(CitizenSide):
    """State shared by the Bot API routes and the browser routes (one event loop)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.files_dir = config.data_dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(config.data_dir / "webchat.sqlite3")
        self._updates = Pulse()
        self._chat_pulses: dict[int, Pulse] = {}
        self._queries: dict[str, PendingQuery] = {}
        self._buckets: dict[int, Bucket] = {}
        self._allowed_updates: list[str] | None = None
        self.closing = False

    def wake_all(self) -> None:
        """At shutdown: every long poll (the bot's and the browsers') answers now."""
        self.closing = True
        self._updates.fire()
        for pulse in list(self._chat_pulses.values()):
            pulse.fire()

    # ================================================================ Bot API over HTTP

    def bot_user(self) -> dict[str, Any]:
        token = self.config.token or ""
        prefix = token.split(":", 1)[0]
        return {
            "id": int(prefix) if prefix.isdigit() else 123456789,
            "is_bot": True,
            "first_name": self.config.bot_first_name,
            "username": self.config.bot_username,
        }

    async def handle_method(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"].lower()
        try:
            if self.config.token is not None and not secrets.compare_digest(
                token, self.config.token
            ):
                raise BotAPIError(401, "Unauthorized")
            params, files = await self._read_params(request)
            handler = self._handlers().get(method)
            if handler is None:
                raise BotAPIError(404, "Not Found: method not found")
            chat_id = params.get("chat_id")
            if method in SEND_METHODS and chat_id is not None:
                self._chat_for_send(chat_id)
                self._validate_send(method, params)
                self._check_flood(int(chat_id))
            result = await handler(params, files)
        except BotAPIError as error:
            if error.error_code >= 500 or error.error_code == 401:
                log.warning("bot api %s answered %d", method, error.error_code)
            return web.json_response(error.payload(), status=error.error_code)
        return web.json_response(
            {"ok": True, "result": result},
            dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
        )

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if self.config.token is not None and not secrets.compare_digest(token, self.config.token):
            return web.json_response(BotAPIError(401, "Unauthorized").payload(), status=401)
        row = self.store.file_by_path(request.match_info["path"])
        if row is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.FileResponse(self.files_dir / row["disk_name"])

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for key, value in request.query.items():
            params[key] = decode_field(key, value)
        if request.method != "POST" or not request.can_read_body:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise BotAPIError(400, "Bad Request: invalid JSON") from None
            if isinstance(body, dict):
                params.update(body)
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            else:
                params[key] = decode_field(key, str(value))
        return params, files

    def _handlers(
        self,
    ) -> dict[str, Callable[[dict[str, Any], dict[str, tuple[str, bytes]]], Awaitable[Any]]]:
        return {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": self._true,
            "setmyshortdescription": self._true,
            "setchatmenubutton": self._true,
            "sendchataction": self._true,
            "getfile": self._get_file,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendvoice": self._send_voice,
            "close": self._true,
            "logout": self._true,
        }

    async def _true(self, params: dict[str, Any], files: Any) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ---------------------------------------------------------------- updates

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in UPDATE_TYPES_OFF_BY_DEFAULT
        return kind in self._allowed_updates

    async def _get_updates(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = min(self.config.long_poll_max_s, max(0.0, float(params.get("timeout") or 0)))
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"] or None
        self.store.confirm_updates(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = [u for u in self.store.pending_updates(0, limit) if self._wanted(u)]
            if batch or self.closing:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._updates.wait(remaining)

    async def _delete_webhook(self, params: dict[str, Any], files: Any) -> bool:
        if params.get("drop_pending_updates"):
            self.store.drop_updates()
        return True

    async def _get_webhook_info(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": self.store.pending_count(),
        }

    def push_update(self, content: dict[str, Any]) -> int:
        update_id = self.store.next_id("update_id", FIRST_UPDATE_ID)
        self.store.add_update({"update_id": update_id, **content})
        self._updates.fire()
        return update_id

    # ---------------------------------------------------------------- chats and pacing

    def _chat_for_send(self, chat_id: Any) -> Any:
        """The chat row, or Telegram's answer for a chat the bot cannot write to."""
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise BotAPIError(400, "Bad Request: chat not found")
        chat = self.store.chat(chat_id)
        if chat is None:
            raise BotAPIError(400, "Bad Request: chat not found")
        if chat["closed"]:
            raise BotAPIError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _check_flood(self, chat_id: int) -> None:
        now = time.monotonic()
        burst = float(max(1, self.config.per_chat_burst))
        rate = self.config.per_chat_rate
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = self._buckets[chat_id] = Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            retry_after = max(1, math.ceil((1.0 - bucket.tokens) / rate))
            raise BotAPIError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        bucket.tokens -= 1.0

    def _validate_send(self, method: str, params: dict[str, Any]) -> None:
        if method == "sendmessage":
            text = params.get("text")
            if not text or not str(text).strip():
                raise BotAPIError(400, "Bad Request: message text is empty")
            visible, _ = self._parse(str(text), params.get("parse_mode"))
            if telegram_html.utf16_len(visible) > telegram_html.MAX_TEXT_UTF16:
                raise BotAPIError(400, "Bad Request: message is too long")
        caption = params.get("caption")
        if caption:
            visible, _ = self._parse(str(caption), params.get("parse_mode"))
            if telegram_html.utf16_len(visible) > telegram_html.MAX_CAPTION_UTF16:
                raise BotAPIError(400, "Bad Request: message caption is too long")
        self._validate_markup(params.get("reply_markup"))

    @staticmethod
    def _validate_markup(markup: Any) -> None:
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if (
                    data is not None
                    and len(str(data).encode()) > telegram_html.MAX_CALLBACK_DATA_BYTES
                ):
                    raise BotAPIError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise BotAPIError(400, "Bad Request: text buttons are unallowed")

    @staticmethod
    def _parse(text: str, parse_mode: str | None) -> tuple[str, list[Any]]:
        try:
            return telegram_html.parse(text, parse_mode)
        except telegram_html.HTMLRejected as exc:
            raise BotAPIError(400, f"Bad Request: can't parse entities: {exc}") from None

    # ---------------------------------------------------------------- events to the browser

    def pulse(self, chat_id: int) -> Pulse:
        pulse = self._chat_pulses.get(chat_id)
        if pulse is None:
            pulse = self._chat_pulses[chat_id] = Pulse()
        return pulse

    def emit(self, chat_id: int, event: dict[str, Any]) -> None:
        self.store.add_event(chat_id, event)
        self.pulse(chat_id).fire()

    # ---------------------------------------------------------------- sending

    def _chat_object(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": WEB_FIRST_NAME}

    def _store_bot_message(
        self,
        params: dict[str, Any],
        content: dict[str, Any],
        view: dict[str, Any],
    ) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": self.store.next_id("message_id", FIRST_MESSAGE_ID),
            "date": int(time.time()),
            "chat": self._chat_object(chat_id),
            "from": self.bot_user(),
            **content,
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        view = {
            "id": message["message_id"],
            "mine": False,
            **view,
            "buttons": buttons_view(message.get("reply_markup")),
        }
        self.store.put_message(chat_id, message, view)
        self.emit(chat_id, {"type": "message", "message": view})
        if isinstance(markup, dict):
            if "keyboard" in markup:
                keyboard = reply_keyboard_view(markup)
                self.store.set_keyboard(chat_id, keyboard)
                self.emit(chat_id, {"type": "keyboard", "keyboard": keyboard})
            elif markup.get("remove_keyboard"):
                self.store.set_keyboard(chat_id, None)
                self.emit(chat_id, {"type": "keyboard", "keyboard": None})
        return copy_value(message)

    async def _send_message(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        visible, tree = self._parse(str(params["text"]), params.get("parse_mode"))
        return self._store_bot_message(params, {"text": visible}, {"kind": "text", "rich": tree})

    def _find_message(self, params: dict[str, Any], missing: str) -> tuple[int, dict, dict]:
        chat_id = params.get("chat_id")
        message_id = params.get("message_id")
        if chat_id is None or message_id is None:
            raise BotAPIError(400, "Bad Request: message identifier is not specified")
        try:
            message, view = self.store.message(int(chat_id), int(message_id))
        except (KeyError, ValueError, TypeError):
            raise BotAPIError(400, f"Bad Request: {missing}") from None
        return int(chat_id), message, view

    def _save_edit(self, chat_id: int, message: dict[str, Any], view: dict[str, Any]) -> None:
        message["edit_date"] = int(time.time())
        view["buttons"] = buttons_view(message.get("reply_markup"))
        view["edited"] = True
        self.store.put_message(chat_id, message, view)
        self.emit(chat_id, {"type": "message", "message": view})

    async def _edit_message_text(self, params: dict[str, Any], files: Any) -> Any:
        if params.get("inline_message_id"):
            return True
        chat_id, message, view = self._find_message(params, "message to edit not found")
        text = params.get("text")
        if not text:
            raise BotAPIError(400, "Bad Request: message text is empty")
        visible, tree = self._parse(str(text), params.get("parse_mode"))
        if telegram_html.utf16_len(visible) > telegram_html.MAX_TEXT_UTF16:
            raise BotAPIError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = params.get("reply_markup")
        self._validate_markup(markup)
        new_markup = markup if isinstance(markup, dict) and markup.get("inline_keyboard") else None
        if message.get("text") == visible and message.get("reply_markup") == new_markup:
            raise BotAPIError(400, NOT_MODIFIED)
        message["text"] = visible
        view["rich"] = tree
        if new_markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = new_markup
        self._save_edit(chat_id, message, view)
        return copy_value(message)

    async def _edit_message_reply_markup(self, params: dict[str, Any], files: Any) -> Any:
        if params.get("inline_message_id"):
            return True
        chat_id, message, view = self._find_message(params, "message to edit not found")
        markup = params.get("reply_markup")
        self._validate_markup(markup)
        new_markup = markup if isinstance(markup, dict) and markup.get("inline_keyboard") else None
        if message.get("reply_markup") == new_markup:
            raise BotAPIError(400, NOT_MODIFIED)
        if new_markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = new_markup
        self._save_edit(chat_id, message, view)
        return copy_value(message)

    async def _delete_message(self, params: dict[str, Any], files: Any) -> bool:
        try:
            chat_id, message_id = int(params.get("chat_id")), int(params.get("message_id") or 0)
        except (TypeError, ValueError):
            raise BotAPIError(400, "Bad Request: message to delete not found") from None
        if not self.store.delete_message(chat_id, message_id):
            raise BotAPIError(400, "Bad Request: message to delete not found")
        self.emit(chat_id, {"type": "delete", "id": message_id})
        return True

    async def _answer_callback_query(self, params: dict[str, Any], files: Any) -> bool:
        query = self._queries.pop(str(params.get("callback_query_id") or ""), None)
        if query is None:
            raise BotAPIError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is"
                " invalid",
            )
        text = params.get("text")
        if text:
            self.emit(
                query.chat_id,
                {
                    "type": "toast",
                    "text": str(text)[:200],
                    "alert": bool(params.get("show_alert")),
                },
            )
        return True

    # ---------------------------------------------------------------- commands

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: dict[str, Any], files: Any) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise BotAPIError(400, 'Bad Request: parameter "commands" is required')
        self.store.set_commands(*self._scope_key(params), commands)
        return True

    async def _get_my_commands(self, params: dict[str, Any], files: Any) -> list[Any]:
        return self.store.commands(*self._scope_key(params)) or []

    async def _delete_my_commands(self, params: dict[str, Any], files: Any) -> bool:
        self.store.delete_commands(*self._scope_key(params))
        return True

    def commands_for(self, chat_id: int, language: str) -> list[dict[str, str]]:
        """Telegram's order: the chat's own scope, then private chats, then default; each
        with the person's language first."""
        scopes = [
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats"},
            {"type": "default"},
        ]
        for scope in scopes:
            key = json.dumps(scope, sort_keys=True)
            for lang in (language, ""):
                found = self.store.commands(key, lang)
                if found:
                    return [
                        {
                            "command": str(c.get("command", "")),
                            "description": str(c.get("description", "")),
                        }
                        for c in found
                        if isinstance(c, dict)
                    ]
        return []

    # ---------------------------------------------------------------- files

    def register_file(self, content: bytes, name: str | None, mime: str | None) -> dict[str, Any]:
        unique = secrets.token_hex(8)
        disk_name = unique
        (self.files_dir / disk_name).write_bytes(content)
        row = {
            "file_id": "WC" + secrets.token_urlsafe(24),
            "file_unique_id": "AgW" + unique,
            "size": len(content),
            "name": name,
            "mime": mime,
            "disk_name": disk_name,
            "file_path": None,
        }
        self.store.add_file(row)
        return row

    def _sent_file(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes]], field_name: str
    ) -> dict[str, Any]:
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            filename, content = files.get(value.removeprefix("attach://"), ("", b""))
            mime = mimetypes.guess_type(filename)[0] if filename else None
            return self.register_file(content, filename or None, mime)
        if isinstance(value, str):
            row = self.store.file(value)
            if row is not None:
                return dict(row)
        raise BotAPIError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _caption(self, params: dict[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
        if not params.get("caption"):
            return {}, None
        visible, tree = self._parse(str(params["caption"]), params.get("parse_mode"))
        return {"caption": visible}, tree

    @staticmethod
    def _file_object(row: dict[str, Any], with_name: bool = True) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "file_id": row["file_id"],
            "file_unique_id": row["file_unique_id"],
            "file_size": row["size"],
        }
        if with_name and row.get("name"):
            obj["file_name"] = row["name"]
        if row.get("mime"):
            obj["mime_type"] = row["mime"]
        return obj

    def _file_view(self, kind: str, row: dict[str, Any], caption: list[Any] | None) -> dict:
        return {
            "kind": kind,
            "rich": caption or [],
            "file": {"name": row.get("name") or "", "size": row["size"], "id": row["file_id"]},
        }

    async def _send_document(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        row = self._sent_file(params, files, "document")
        caption, tree = self._caption(params)
        content = {"document": self._file_object(row), **caption}
        return self._store_bot_message(params, content, self._file_view("document", row, tree))

    async def _send_voice(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        row = self._sent_file(params, files, "voice")
        caption, tree = self._caption(params)
        voice = {**self._file_object(row, with_name=False), "duration": 0}
        content = {"voice": voice, **caption}
        return self._store_bot_message(params, content, self._file_view("voice", row, tree))

    async def _send_photo(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        row = self._sent_file(params, files, "photo")
        caption, tree = self._caption(params)
        content = {"photo": [self._photo_size(row)], **caption}
        return self._store_bot_message(params, content, self._file_view("photo", row, tree))

    @staticmethod
    def _photo_size(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "file_id": row["file_id"],
            "file_unique_id": row["file_unique_id"],
            "file_size": row["size"],
            "width": 1280,
            "height": 960,
        }

    async def _get_file(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        row = self.store.file(str(params.get("file_id") or ""))
        if row is None:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        if row["size"] > MAX_DOWNLOAD_BYTES:
            raise BotAPIError(400, "Bad Request: file is too big")
        file_path = row["file_path"]
        if file_path is None:
            folder = "photos" if row["mime"] in ("image/jpeg", "image/png") else "documents"
            suffix = Path(row["name"] or "").suffix[:10] or (".jpg" if folder == "photos" else "")
            file_path = f"{folder}/file_{row['file_unique_id']}{suffix}"
            self.store.set_file_path(row["file_id"], file_path)
        return {
            "file_id": row["file_id"],
            "file_unique_id": row["file_unique_id"],
            "file_size": row["size"],
            "file_path": file_path,
        }
