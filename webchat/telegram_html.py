"""Telegram's HTML subset: what the Bot API accepts, and a safe tree for the browser.

The bot formats with ``parse_mode=HTML``. Telegram refuses tags outside its list (400 "can't
parse entities"); the gateway must refuse the same so the bot's own error handling is tested
unchanged. The browser never receives HTML: it gets a tree of allow-listed nodes and builds the
DOM with ``createElement``/``textContent`` only, so no text from the bot (or a citizen echoed
by it) can become markup or script.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

MAX_TEXT_UTF16 = 4096
MAX_CAPTION_UTF16 = 1024
MAX_CALLBACK_DATA_BYTES = 64

# core.telegram.org/bots/api#html-style
HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
        "br",
    }
)

# What the browser may build, by Telegram tag: the browser's own allow-list is the same set.
BROWSER_TAG = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "a",
    "tg-emoji": "span",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}

SAFE_URL_SCHEMES = frozenset({"http", "https"})

Node = str | dict[str, Any]


class HTMLRejected(ValueError):
    """Telegram would answer 400 "can't parse entities" with this reason."""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: list[Node] = []
        self.stack: list[tuple[str, list[Node]]] = []
        self.visible: list[str] = []
        self.error: str | None = None

    def _children(self) -> list[Node]:
        return self.stack[-1][1] if self.stack else self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error:
            return
        if tag not in HTML_TAGS:
            self.error = f'Unsupported start tag "{tag}"'
            return
        if tag == "span" and ("class", "tg-spoiler") not in attrs:
            self.error = 'Unsupported start tag "span"'
            return
        if tag == "br":
            self._children().append("\n")
            self.visible.append("\n")
            return
        node: dict[str, Any] = {"t": BROWSER_TAG[tag], "c": []}
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if safe_url(href):
                node["href"] = href
            else:
                node["t"] = "span"  # tg://user?id=… and the like: the text, not a link
        self._children().append(node)
        self.stack.append((tag, node["c"]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag != "br" and not self.error and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if self.error or tag == "br":
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.error = f'Unexpected end tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.visible.append(data)
        self._children().append(data)


def safe_url(url: str) -> bool:
    """Only absolute http(s) links become links: no javascript:, data:, or relative paths
    that would point into the gateway itself."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in SAFE_URL_SCHEMES and bool(parts.netloc)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Node]]:
    """(visible text as Telegram stores it, browser tree). Raises HTMLRejected like Telegram."""
    if not parse_mode or parse_mode.lower() != "html":
        return text, [text]
    parser = _Parser()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.stack:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"'
    if parser.error:
        raise HTMLRejected(parser.error)
    # convert_charrefs already decoded each entity once ("&amp;lt;" stays "&lt;").
    return "".join(parser.visible), parser.root
