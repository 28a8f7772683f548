"""What both sides of the web chat gateway share: the Bot API's errors and limits as the
gateway enforces them, its configuration, and the small pieces of state (rate buckets, pending
callback queries, long-poll pulses)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webchat import telegram_html

WEB_USER_ID_MIN = 2**52
"""Telegram user ids have at most 52 significant bits; web users get ids from 2**52 up to
2**53 - 1 (still exact in a JavaScript number), so the two channels never share an id."""
WEB_USER_ID_MAX = 2**53 - 1

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile's limit on the cloud Bot API
FIRST_MESSAGE_ID = 1001
FIRST_UPDATE_ID = 100_001
WEB_FIRST_NAME = "网页用户"

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
    }
)
SEND_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto", "sendvoice"})
UPDATE_TYPES_OFF_BY_DEFAULT = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)


def is_web_user(user_id: int) -> bool:
    return WEB_USER_ID_MIN <= user_id <= WEB_USER_ID_MAX


class BotAPIError(Exception):
    """An answer in Telegram's error shape."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class GatewayConfig:
    token: str | None
    """The bot's token; requests with another one answer 401. None accepts any (tests)."""
    data_dir: Path
    bot_username: str = "county_webchat_bot"
    bot_first_name: str = "网上信访复议调解"
    per_chat_burst: int = 20
    """Sends a chat may take at once (a reply plus its keyboard is two)…"""
    per_chat_rate: float = 1.0
    """…refilled at this many per second; beyond it the bot gets 429 with retry_after."""
    max_upload_bytes: int = MAX_DOWNLOAD_BYTES
    long_poll_max_s: float = 50.0


@dataclass
class Bucket:
    tokens: float
    updated: float


@dataclass
class PendingQuery:
    chat_id: int
    created: float


def decode_field(key: str, raw: str) -> Any:
    if key in STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def copy_value(value: Any) -> Any:
    return json.loads(json.dumps(value))


@dataclass
class Pulse:
    """Wake every waiter, give later waiters a fresh event (never lose a wake-up)."""

    event: asyncio.Event = field(default_factory=asyncio.Event)

    def fire(self) -> None:
        self.event.set()
        self.event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self.event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


# What the chat page shows of a message's keyboards.


def buttons_view(markup: Any) -> list[list[dict[str, str]]]:
    """Inline buttons as the page shows them: callback buttons and safe links only."""
    if not isinstance(markup, dict):
        return []
    rows = []
    for row in markup.get("inline_keyboard", []):
        shown = []
        for button in row:
            text = str(button.get("text", ""))
            if button.get("callback_data") is not None:
                shown.append({"text": text, "data": str(button["callback_data"])})
            elif button.get("url") and telegram_html.safe_url(str(button["url"])):
                shown.append({"text": text, "url": str(button["url"])})
        if shown:
            rows.append(shown)
    return rows


def reply_keyboard_view(markup: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for row in markup.get("keyboard", []):
        shown = []
        for button in row:
            if isinstance(button, str):
                shown.append({"text": button})
            elif isinstance(button, dict) and button.get("text"):
                entry: dict[str, Any] = {"text": str(button["text"])}
                if button.get("request_contact"):
                    entry["contact"] = True
                shown.append(entry)
        if shown:
            rows.append(shown)
    return {
        "rows": rows,
        "one_time": bool(markup.get("one_time_keyboard")),
        "placeholder": str(markup.get("input_field_placeholder") or ""),
    }
