"""A Telegram stand-in for flow tests: a session that records every API call, and a client
that feeds the real Dispatcher with Updates the way Telegram would.

The session fabricates plausible results and runs aiogram's own ``check_response``, so error
codes (429, 403) become the real aiogram exceptions. Like Telegram (and the fake Bot API
server), it refuses an edit that would leave a message exactly as it is: 400 "message is not
modified".
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup, Update

from tests.fakes.bot_api_server import NOT_MODIFIED

BOT_ID = 42
TOKEN = f"{BOT_ID}:TEST-token"


@dataclass
class Failure:
    method: type[TelegramMethod[Any]]
    error_code: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None


@dataclass
class Sent:
    """One message the user saw (a send or an edit)."""

    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None
    method: str
    message_id: int


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.failures: list[Failure] = []
        self.files: dict[str, bytes] = {}
        self._message_ids = itertools.count(1000)
        self._shown: dict[tuple[int, int], tuple[str, Any]] = {}
        """What each message the bot sent shows now: (chat, message id) → (text, keyboard)."""
        self._message_id_of: dict[int, int] = {}
        """The message id Telegram gave each send (by request), so a press edits that one."""

    def fail_next(
        self,
        method: type[TelegramMethod[Any]],
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        self.failures.append(Failure(method, error_code, description, retry_after, chat_id))

    async def close(self) -> None:
        return None

    def _failure_for(self, method: TelegramMethod[Any]) -> Failure | None:
        for failure in self.failures:
            if isinstance(method, failure.method) and (
                failure.chat_id is None or getattr(method, "chat_id", None) == failure.chat_id
            ):
                self.failures.remove(failure)
                return failure
        return None

    def _message(self, bot: Bot, method: Any, **extra: Any) -> dict[str, Any]:
        markup = getattr(method, "reply_markup", None)
        result: dict[str, Any] = {
            "message_id": getattr(method, "message_id", None) or next(self._message_ids),
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": method.chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": "test_bot"},
            **extra,
        }
        if isinstance(markup, InlineKeyboardMarkup):
            result["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
        return result

    @staticmethod
    def _content(method: SendMessage | EditMessageText) -> tuple[str, Any]:
        """Kept as objects, compared only on an edit: benchmarks send through this session."""
        markup = method.reply_markup
        keyboard = (
            markup if isinstance(markup, InlineKeyboardMarkup) and markup.inline_keyboard else None
        )
        return method.text, keyboard

    def _not_modified(self, method: TelegramMethod[Any]) -> Failure | None:
        if not isinstance(method, EditMessageText) or method.message_id is None:
            return None
        shown = self._shown.get((int(method.chat_id or 0), method.message_id))
        if shown is None or shown != self._content(method):
            return None
        return Failure(EditMessageText, 400, NOT_MODIFIED)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.requests.append(method)
        self._message_id_of.pop(id(method), None)  # an id() reused after clear()
        failure = self._failure_for(method) or self._not_modified(method)
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.error_code,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            self.check_response(bot, method, failure.error_code, json.dumps(body))  # raises
        result: Any = True
        if isinstance(method, SendMessage | EditMessageText):
            result = self._message(bot, method, text=method.text)
            key = (int(method.chat_id or 0), result["message_id"])
            self._shown[key] = self._content(method)
            self._message_id_of[id(method)] = result["message_id"]
        elif isinstance(method, EditMessageReplyMarkup):
            result = self._message(bot, method, text="")
        elif isinstance(method, SendDocument | SendPhoto | SendVoice):
            result = self._message(bot, method, **_media(method))
        elif isinstance(method, GetFile):
            content = self.files.get(method.file_id, b"")
            result = {
                "file_id": method.file_id,
                "file_unique_id": "u" + method.file_id,
                "file_size": len(content),
                "file_path": f"files/{method.file_id}",
            }
        elif isinstance(method, GetMe):
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": "test_bot"}
        response = self.check_response(
            bot, method, 200, json.dumps({"ok": True, "result": result})
        )
        return response.result

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        file_id = url.rsplit("/", 1)[-1]
        yield self.files.get(file_id, b"")

    # What the user saw -------------------------------------------------------------------

    def seen(self, chat_id: int | None = None) -> list[Sent]:
        out: list[Sent] = []
        for request in self.requests:
            if isinstance(request, SendMessage | EditMessageText):
                if chat_id is not None and request.chat_id != chat_id:
                    continue
                markup = request.reply_markup
                out.append(
                    Sent(
                        chat_id=int(request.chat_id or 0),
                        text=request.text,
                        markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                        method=type(request).__name__,
                        message_id=self._message_id_of.get(id(request), 0),
                    )
                )
        return out

    def alerts(self) -> list[str]:
        return [
            r.text or "" for r in self.requests if isinstance(r, AnswerCallbackQuery) and r.text
        ]


@dataclass
class BotClient:
    """One Telegram user talking to the bot in a private chat."""

    dp: Dispatcher
    bot: Bot
    user_id: int = 1001
    language_code: str = "zh-hans"
    first_name: str = "张三"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def session(self) -> RecordingSession:
        assert isinstance(self.bot.session, RecordingSession)
        return self.bot.session

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": self.user_id, "type": "private"},
            "from": self._user(),
            **content,
        }

    async def feed(self, update: dict[str, Any], update_id: int | None = None) -> Any:
        update_id = update_id if update_id is not None else _next_update_id()
        return await self.dp.feed_update(self.bot, Update(update_id=update_id, **update))

    async def send(self, text: str, *, update_id: int | None = None) -> Any:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.feed({"message": self._message(**content)}, update_id)

    async def edit(self, text: str) -> Any:
        message = self._message(text=text, edit_date=int(datetime.now(UTC).timestamp()))
        return await self.feed({"edited_message": message})

    async def click(
        self,
        data: str | CallbackData,
        *,
        message_id: int = 1,
        update_id: int | None = None,
        from_user_id: int | None = None,
    ) -> Any:
        packed = data.pack() if isinstance(data, CallbackData) else data
        user = self._user() if from_user_id is None else {**self._user(), "id": from_user_id}
        query = {
            "id": f"cq{next(self._ids)}",
            "from": user,
            "chat_instance": "ci",
            "data": packed,
            "message": {
                "message_id": message_id,
                "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": self.user_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
                "text": "…",
            },
        }
        return await self.feed({"callback_query": query}, update_id)

    async def press(self, label: str) -> Any:
        """Press the button with this label on the last keyboard the user saw."""
        for sent in reversed(self.session.seen(self.user_id)):
            if sent.markup is None:
                continue
            for row in sent.markup.inline_keyboard:
                for button in row:
                    if button.text == label or label in button.text:
                        assert button.callback_data is not None
                        return await self.click(button.callback_data, message_id=sent.message_id)
            break
        raise AssertionError(f"no button {label!r} on the last keyboard: {self.buttons()}")

    async def send_contact(self, phone: str, *, user_id: int | None = None) -> Any:
        contact = {
            "phone_number": phone,
            "first_name": self.first_name,
            "user_id": self.user_id if user_id is None else user_id,
        }
        return await self.feed({"message": self._message(contact=contact)})

    async def send_document(
        self,
        file_name: str,
        mime_type: str,
        content: bytes,
        *,
        size: int | None = None,
        caption: str | None = None,
    ) -> Any:
        file_id = "doc-" + hashlib.sha1(content + file_name.encode()).hexdigest()[:12]
        self.session.files[file_id] = content
        document = {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content) if size is None else size,
        }
        extra = {} if caption is None else {"caption": caption}
        return await self.feed({"message": self._message(document=document, **extra)})

    async def send_photo(self, content: bytes, *, size: int | None = None) -> Any:
        file_id = "photo-" + hashlib.sha1(content).hexdigest()[:12]
        self.session.files[file_id] = content
        sizes = [
            {
                "file_id": file_id,
                "file_unique_id": "u" + file_id,
                "width": 800,
                "height": 600,
                "file_size": len(content) if size is None else size,
            }
        ]
        return await self.feed({"message": self._message(photo=sizes)})

    async def send_voice(self, content: bytes, *, duration: int = 5) -> Any:
        file_id = "voice-" + hashlib.sha1(content).hexdigest()[:12]
        self.session.files[file_id] = content
        voice = {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        return await self.feed({"message": self._message(voice=voice)})

    async def send_sticker(self) -> Any:
        sticker = {
            "file_id": "stk",
            "file_unique_id": "ustk",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self.feed({"message": self._message(sticker=sticker)})

    # Reading the chat ----------------------------------------------------------------------

    def texts(self) -> list[str]:
        return [s.text for s in self.session.seen(self.user_id)]

    def last_text(self) -> str:
        seen = self.session.seen(self.user_id)
        assert seen, "the bot said nothing"
        return seen[-1].text

    def buttons(self) -> list[str]:
        for sent in reversed(self.session.seen(self.user_id)):
            if sent.markup is not None:
                return [b.text for row in sent.markup.inline_keyboard for b in row]
        return []

    def clear(self) -> None:
        self.session.requests.clear()


def _media(method: SendDocument | SendPhoto | SendVoice) -> dict[str, Any]:
    """The sent file as Telegram echoes it back, so aiogram can parse the returned Message."""
    file_id = str(getattr(method, "document", None) or getattr(method, "photo", None) or "")
    file_id = file_id or str(getattr(method, "voice", ""))
    caption = {"caption": method.caption} if method.caption else {}
    meta = {"file_id": file_id, "file_unique_id": "u" + file_id}
    if isinstance(method, SendPhoto):
        return {"photo": [{**meta, "width": 800, "height": 600}], **caption}
    if isinstance(method, SendVoice):
        return {"voice": {**meta, "duration": 1}, **caption}
    return {"document": meta, **caption}


_update_ids = itertools.count(1)


def _next_update_id() -> int:
    return next(_update_ids)
