"""The citizen's side of the gateway: what the chat page's server (webchat/web.py) calls to
open a chat, pass on what the citizen types, sends or presses, and show the chat's state."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

from webchat import telegram_html
from webchat.bot_api import (
    FIRST_MESSAGE_ID,
    WEB_FIRST_NAME,
    WEB_USER_ID_MAX,
    WEB_USER_ID_MIN,
    PendingQuery,
    session_hash,
)


class CitizenSide:
    """Mixed into :class:`webchat.gateway.Gateway`, whose state it shares."""

    def open_chat(self, locale: str) -> tuple[int, str]:
        """A new web chat: (user id in the web range, session token for the cookie)."""
        token = secrets.token_urlsafe(32)
        while True:
            chat_id = WEB_USER_ID_MIN + secrets.randbelow(WEB_USER_ID_MAX - WEB_USER_ID_MIN)
            if self.store.chat(chat_id) is None:
                break
        self.store.add_chat(chat_id, session_hash(token), locale, int(time.time()))
        return chat_id, token

    def chat_for_session(self, token: str) -> Any:
        row = self.store.chat_by_session(session_hash(token))
        if row is None or row["closed"]:
            return None
        return row

    def close_chat(self, chat_id: int) -> None:
        """The citizen ended the chat: the bot now gets 403 like a blocked bot."""
        self.store.close_chat(chat_id)
        self.pulse(chat_id).fire()

    def _user(self, chat: Any) -> dict[str, Any]:
        return {
            "id": chat["chat_id"],
            "is_bot": False,
            "first_name": WEB_FIRST_NAME,
            "language_code": "en" if chat["locale"] == "en" else "zh-hans",
        }

    def _push_user_message(
        self, chat: Any, content: dict[str, Any], view: dict[str, Any], client_id: str
    ) -> int:
        chat_id = int(chat["chat_id"])
        known = self.store.seen_client_id(chat_id, client_id)
        if known is not None:
            return known  # the browser retried after a network drop: not a second message
        message_id = self.store.next_id("message_id", FIRST_MESSAGE_ID)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat_object(chat_id),
            "from": self._user(chat),
            **content,
        }
        view = {"id": message_id, "mine": True, "buttons": [], **view}
        self.store.remember_client_id(chat_id, client_id, message_id)
        self.store.put_message(chat_id, message, view)
        self.emit(chat_id, {"type": "message", "message": view})
        keyboard = chat["keyboard"]
        if keyboard and json.loads(keyboard).get("one_time"):
            self.store.set_keyboard(chat_id, None)
            self.emit(chat_id, {"type": "keyboard", "keyboard": None})
        self.push_update({"message": message})
        return message_id

    def user_text(self, chat: Any, text: str, client_id: str) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": telegram_html.utf16_len(command)}
            ]
        return self._push_user_message(chat, content, {"kind": "text", "rich": [text]}, client_id)

    def user_contact(self, chat: Any, phone: str, client_id: str) -> int:
        contact = {
            "phone_number": phone,
            "first_name": WEB_FIRST_NAME,
            "user_id": int(chat["chat_id"]),
        }
        view = {"kind": "contact", "rich": [phone]}
        return self._push_user_message(chat, {"contact": contact}, view, client_id)

    def user_file(
        self,
        chat: Any,
        content: bytes,
        name: str,
        mime: str,
        as_photo: bool,
        caption: str,
        client_id: str,
    ) -> int:
        known = self.store.seen_client_id(int(chat["chat_id"]), client_id)
        if known is not None:
            return known
        row = self.register_file(content, name, mime)
        body: dict[str, Any]
        if as_photo:
            body = {"photo": [self._photo_size(row)]}
            kind = "photo"
        else:
            body = {"document": self._file_object(row)}
            kind = "document"
        if caption:
            body["caption"] = caption
        view = self._file_view(kind, row, [caption] if caption else None)
        return self._push_user_message(chat, body, view, client_id)

    def user_press(self, chat: Any, message_id: int, data: str) -> str:
        """A press on an inline button the bot really showed in this chat (no forged data)."""
        chat_id = int(chat["chat_id"])
        try:
            message, _ = self.store.message(chat_id, message_id)
        except KeyError:
            raise LookupError("message not found") from None
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == data for row in rows for b in row):
            raise LookupError("button not found")
        query_id = secrets.token_hex(8)
        self._queries[query_id] = PendingQuery(chat_id, time.monotonic())
        if len(self._queries) > 10_000:  # unanswered queries: keep the newest
            for old in list(self._queries)[:5_000]:
                del self._queries[old]
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(chat),
                    "message": message,
                    "chat_instance": str(chat_id),
                    "data": data,
                }
            }
        )
        return query_id

    def file_for_chat(self, chat_id: int, message_id: int) -> tuple[Path, dict[str, Any]]:
        """A file shown in this chat only: a session never reaches another chat's files."""
        _, view = self.store.message(chat_id, message_id)
        file = view.get("file")
        if not file:
            raise KeyError(message_id)
        row = self.store.file(file["id"])
        if row is None:
            raise KeyError(message_id)
        return self.files_dir / row["disk_name"], dict(row)

    def state(self, chat: Any, limit: int = 200) -> dict[str, Any]:
        chat_id = int(chat["chat_id"])
        keyboard = chat["keyboard"]
        return {
            "seq": self.store.last_seq(chat_id),
            "messages": self.store.recent_views(chat_id, limit),
            "keyboard": json.loads(keyboard) if keyboard else None,
            "locale": chat["locale"],
        }

    async def events(self, chat_id: int, after: int, wait_s: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            found = self.store.events_after(chat_id, after)
            if found or self.closing:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self.pulse(chat_id).wait(remaining)
