"""A Telegram stand-in for flow tests: a session that records every API call, and a client
that feeds the real Dispatcher with Updates the way Telegram would.

The session fabricates plausible results and runs aiogram's own ``check_response``, so error
codes (429, 403) become the real aiogram exceptions. It refuses what Telegram refuses, with the
checks of the fake Bot API server (tests/fakes/limits.py): HTML Telegram cannot parse, an empty
or too long text or caption, callback data over 64 bytes, and an edit that changes nothing (it
remembers what each message currently holds). A refused call raises ``TelegramBadRequest`` in
the handler, as in production, and does not count as seen by the user.
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

from tests.fakes.limits import (
    BotAPIError,
    edit_reply_markup,
    edit_text,
    inline_markup,
    sent_content,
    validate_send,
)

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
        self.refused: dict[int, str] = {}  # index in requests -> the error answered (any)
        self.sent_ids: dict[int, int] = {}  # index in requests -> message_id of the result
        self.failures: list[Failure] = []
        self.files: dict[str, bytes] = {}
        # (chat_id, message_id) -> the Message as Telegram holds it now (visible text).
        self.messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._message_ids = itertools.count(1000)

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

    def params(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
        """The method's fields as the Bot API receives them (bot defaults such as parse_mode
        applied, markup as a dict)."""
        files: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                params[key] = prepared
        return params

    def known_message(self, chat_id: int | str, message_id: int, text: str) -> dict[str, Any]:
        """The message a button press comes from: as the bot last left it, or (a message the
        test made up) stored with ``text`` so that later edits are compared with it."""
        key = (chat_id, message_id)
        if key not in self.messages:
            self.messages[key] = {
                "message_id": message_id,
                "date": _now(),
                "chat": {"id": chat_id, "type": "private"},
                "from": _BOT_USER,
                "text": text,
            }
        return json.loads(json.dumps(self.messages[key]))

    def _store(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": _now(),
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": _BOT_USER,
            **content,
        }
        markup = inline_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[(params["chat_id"], message["message_id"])] = message
        return message

    def _edited(self, params: dict[str, Any]) -> dict[str, Any]:
        """The stored message an edit applies to; one the session never saw (a test fed the
        update by hand) is taken as empty, so only a real repeat counts as not modified."""
        key = (params["chat_id"], int(params["message_id"]))
        return self.messages.setdefault(
            key,
            {
                "message_id": key[1],
                "date": _now(),
                "chat": {"id": key[0], "type": "private"},
                "from": _BOT_USER,
            },
        )

    def _answer(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        """What Telegram would answer, or BotAPIError for what it refuses."""
        name = type(method).__name__.lower()
        if isinstance(method, SendMessage | SendDocument | SendPhoto | SendVoice):
            params = self.params(bot, method)
            validate_send(name, params)
            content = sent_content(name, params)
            if not isinstance(method, SendMessage):
                content[name.removeprefix("send")] = _attachment(method)
            return self._store(params, content)
        if isinstance(method, EditMessageText | EditMessageReplyMarkup):
            params = self.params(bot, method)
            if params.get("inline_message_id"):
                return True
            message = self._edited(params)
            if isinstance(method, EditMessageText):
                edit_text(message, params, _now())
            else:
                edit_reply_markup(message, params, _now())
            return json.loads(json.dumps(message))
        if isinstance(method, GetFile):
            content = self.files.get(method.file_id, b"")
            return {
                "file_id": method.file_id,
                "file_unique_id": "u" + method.file_id,
                "file_size": len(content),
                "file_path": f"files/{method.file_id}",
            }
        if isinstance(method, GetMe):
            return _BOT_USER
        return True

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.requests.append(method)
        failure = self._failure_for(method)
        try:
            if failure is not None:
                raise BotAPIError(failure.error_code, failure.description, failure.retry_after)
            result = self._answer(bot, method)
            if isinstance(result, dict) and "message_id" in result:
                self.sent_ids[len(self.requests) - 1] = result["message_id"]
        except BotAPIError as error:
            self.refused[len(self.requests) - 1] = error.description
            self.check_response(bot, method, error.error_code, json.dumps(error.payload()))
            raise AssertionError("check_response accepted an error") from error
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
        for index, request in enumerate(self.requests):
            if index in self.refused:
                continue
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
                        message_id=self.sent_ids.get(index, 0),
                    )
                )
        return out

    def alerts(self) -> list[str]:
        return [
            r.text or ""
            for i, r in enumerate(self.requests)
            if isinstance(r, AnswerCallbackQuery) and r.text and i not in self.refused
        ]


_BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": "test_bot"}


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def _attachment(method: SendDocument | SendPhoto | SendVoice) -> Any:
    """The sent file as Telegram echoes it (the content is not kept)."""
    if isinstance(method, SendDocument):
        sent: Any = method.document
    elif isinstance(method, SendPhoto):
        sent = method.photo
    else:
        sent = method.voice
    file_id = sent if isinstance(sent, str) else f"sent-{id(sent)}"
    item = {"file_id": file_id, "file_unique_id": "u" + file_id}
    if isinstance(method, SendPhoto):
        return [{**item, "width": 800, "height": 600}]
    if isinstance(method, SendVoice):
        return {**item, "duration": 1}
    return item


@dataclass
class BotClient:
    """One Telegram user talking to the bot in a private chat."""

    dp: Dispatcher
    bot: Bot
    user_id: int = 1001
    language_code: str = "zh-hans"
    first_name: str = "张三"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _last_press: tuple[str, int] | None = None

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
            # The message as the bot last left it (text and keyboard), like Telegram sends it.
            "message": self.session.known_message(self.user_id, message_id, "…"),
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
                        self._last_press = (button.callback_data, sent.message_id)
                        return await self.click(button.callback_data, message_id=sent.message_id)
            break
        raise AssertionError(f"no button {label!r} on the last keyboard: {self.buttons()}")

    async def press_again(self) -> Any:
        """The same button of the same message once more: a double tap, or a press on a
        keyboard the bot has replaced meanwhile (Telegram delivers both)."""
        assert self._last_press is not None, "no button was pressed yet"
        data, message_id = self._last_press
        return await self.click(data, message_id=message_id)

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
        """Forget what was said so far (the messages keep their current content)."""
        self.session.requests.clear()
        self.session.refused.clear()
        self.session.sent_ids.clear()


_update_ids = itertools.count(1)


def _next_update_id() -> int:
    return next(_update_ids)
