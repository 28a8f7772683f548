"""What Telegram refuses, checked the same way by both fakes.

The recording session (tests/fakes/telegram.py) and the fake Bot API server
(tests/fakes/bot_api_server.py) import these checks, so a flow test fails on a message Telegram
would refuse exactly as a process test does: HTML that Telegram cannot parse (``parse_mode``
HTML is the bot's default), an empty text, more than 4,096 UTF-16 units of text or 1,024 of
caption, ``callback_data`` over 64 bytes of UTF-8, and an edit that changes nothing.

Parameters are given as the Bot API receives them: ``parse_mode`` a string, ``reply_markup``
a dict. Messages are stored as Bot API ``Message`` dicts holding the *visible* text (entities
parsed out), which is what Telegram compares when it answers "message is not modified".
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

# Telegram's limits and HTML tags: one definition, the gateway's (the production counterpart
# of these fakes), so the fakes and the web chat cannot drift apart.
from webchat.telegram_html import (
    HTML_TAGS,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_UTF16,
    MAX_TEXT_UTF16,
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)


class BotAPIError(Exception):
    """An error answered in Telegram's shape: ``{"ok": false, "error_code", "description"}``."""

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


class _TelegramHTMLChecker(HTMLParser):
    """Rejects what Telegram rejects in parse_mode=HTML and collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error: str | None = None
        self.visible: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error:
            return
        if tag not in HTML_TAGS:
            self.error = f'Unsupported start tag "{tag}"'
            return
        if tag == "span" and ("class", "tg-spoiler") not in attrs:
            self.error = 'Unsupported start tag "span"'
            return
        if tag != "br":
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.error or tag == "br":
            return
        if not self.stack or self.stack[-1] != tag:
            self.error = f'Unexpected end tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.visible.append(data)


def utf16_len(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as Telegram stores it, raising 400 like Telegram for unparsable HTML."""
    if not parse_mode or parse_mode.lower() != "html":
        return text
    checker = _TelegramHTMLChecker()
    checker.feed(text)
    checker.close()
    if checker.error is None and checker.stack:
        checker.error = f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"'
    if checker.error:
        raise BotAPIError(400, f"Bad Request: can't parse entities: {checker.error}")
    return html.unescape("".join(checker.visible))


def validate_markup(markup: Any) -> None:
    """Inline buttons: a label each and at most 64 bytes of callback data."""
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                raise BotAPIError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise BotAPIError(400, "Bad Request: text buttons are unallowed")


def validate_send(method: str, params: dict[str, Any]) -> None:
    """Checks of a method that posts a new message (``method`` lower-case, e.g. sendmessage)."""
    if method == "sendmessage":
        text = params.get("text")
        if not text or not str(text).strip():
            raise BotAPIError(400, "Bad Request: message text is empty")
        if utf16_len(visible_text(str(text), params.get("parse_mode"))) > MAX_TEXT_UTF16:
            raise BotAPIError(400, "Bad Request: message is too long")
    caption = params.get("caption")
    if caption:
        visible = visible_text(str(caption), params.get("parse_mode"))
        if utf16_len(visible) > MAX_CAPTION_UTF16:
            raise BotAPIError(400, "Bad Request: message caption is too long")
    validate_markup(params.get("reply_markup"))


def sent_content(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The text or caption a new message will hold (visible text, HTML parsed)."""
    content: dict[str, Any] = {}
    if method == "sendmessage":
        content["text"] = visible_text(str(params["text"]), params.get("parse_mode"))
    elif params.get("caption"):
        content["caption"] = visible_text(str(params["caption"]), params.get("parse_mode"))
    return content


def inline_markup(markup: Any) -> dict[str, Any] | None:
    """Only inline keyboards are part of a Message; reply keyboards are not echoed."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


def edit_text(message: dict[str, Any], params: dict[str, Any], now: int) -> None:
    """Apply editMessageText to a stored message, refusing what Telegram refuses."""
    text = params.get("text")
    if not text:
        raise BotAPIError(400, "Bad Request: message text is empty")
    visible = visible_text(str(text), params.get("parse_mode"))
    if utf16_len(visible) > MAX_TEXT_UTF16:
        raise BotAPIError(400, "Bad Request: MESSAGE_TOO_LONG")
    markup = params.get("reply_markup")
    validate_markup(markup)
    new_markup = inline_markup(markup)
    if message.get("text") == visible and message.get("reply_markup") == new_markup:
        raise BotAPIError(400, NOT_MODIFIED)
    message["text"] = visible
    message["edit_date"] = now
    if new_markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = new_markup


def edit_reply_markup(message: dict[str, Any], params: dict[str, Any], now: int) -> None:
    """Apply editMessageReplyMarkup to a stored message, refusing what Telegram refuses."""
    markup = params.get("reply_markup")
    validate_markup(markup)
    new_markup = inline_markup(markup)
    if message.get("reply_markup") == new_markup:
        raise BotAPIError(400, NOT_MODIFIED)
    if new_markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = new_markup
    message["edit_date"] = now
