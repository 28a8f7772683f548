"""The browser side: one static page and a small JSON API for it.

Internet-facing by design (issue 12): a signed HttpOnly SameSite=Strict session cookie, a
custom request header on every POST (a cross-site form cannot set it, so no CSRF), per-IP and
per-session rate limits, upload sizes checked from Content-Length before the body is read, a
Content-Security-Policy without inline script, no redirects at all, and logs without personal
data (no ids, texts, phone numbers, file names or addresses).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from webchat.gateway import Gateway

log = logging.getLogger("webchat.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
COOKIE = "wc_session"
CSRF_HEADER = "X-WebChat"
MAX_TEXT_CHARS = 4096
MAX_JSON_BYTES = 32 * 1024
PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,22}")
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:;"
    " media-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none';"
    " base-uri 'none'"
)
IMAGE_MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


@dataclass
class WebLimits:
    """Generous per IP (a whole village may share one mobile-carrier address), tighter per
    session; both answer 429 with Retry-After, which the page waits out."""

    ip_burst: int = 120
    ip_per_s: float = 20.0
    new_sessions_burst: int = 30
    new_sessions_per_s: float = 0.5
    session_burst: int = 20
    session_per_s: float = 2.0
    max_upload_bytes: int = 20 * 1024 * 1024
    long_poll_s: float = 25.0
    trust_proxy: bool = False
    secure_cookie: bool = False


class _Buckets:
    def __init__(self, burst: int, per_s: float) -> None:
        self.burst = float(burst)
        self.per_s = per_s
        self.state: dict[Any, tuple[float, float]] = {}

    def take(self, key: Any) -> float:
        """0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        tokens, updated = self.state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.per_s)
        if tokens < 1.0:
            self.state[key] = (tokens, now)
            return (1.0 - tokens) / self.per_s
        self.state[key] = (tokens - 1.0, now)
        if len(self.state) > 100_000:  # forget full buckets; an attacker cannot grow memory
            self.state = {k: v for k, v in self.state.items() if v[0] < self.burst - 1}
        return 0.0


def _too_many(wait: float) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "rate_limited", "retry_after": math.ceil(wait)},
        status=429,
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


class WebApp:
    def __init__(self, gateway: Gateway, secret: bytes, limits: WebLimits) -> None:
        self.gateway = gateway
        self.secret = secret
        self.limits = limits
        self.ip_buckets = _Buckets(limits.ip_burst, limits.ip_per_s)
        self.new_session_buckets = _Buckets(limits.new_sessions_burst, limits.new_sessions_per_s)
        self.session_buckets = _Buckets(limits.session_burst, limits.session_per_s)

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(self._headers_middleware)
        app.router.add_get("/", self.index)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_post("/api/start", self.start)
        app.router.add_get("/api/events", self.events)
        app.router.add_post("/api/message", self.message)
        app.router.add_post("/api/contact", self.contact)
        app.router.add_post("/api/press", self.press)
        app.router.add_post("/api/upload", self.upload)
        app.router.add_post("/api/locale", self.locale)
        app.router.add_get("/api/commands", self.commands)
        app.router.add_get("/api/file/{message_id}", self.file)
        app.router.add_post("/api/end", self.end)
        app.router.add_get("/healthz", self.health)

    # ---------------------------------------------------------------- plumbing

    @web.middleware
    async def _headers_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        wait = self.ip_buckets.take(self._ip(request))
        if wait:
            response: web.StreamResponse = _too_many(wait)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = web.Response(status=exc.status, text=exc.text, headers=exc.headers)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def _ip(self, request: web.Request) -> str:
        if self.limits.trust_proxy:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()
        return request.remote or "?"

    def _sign(self, token: str) -> str:
        mac = hmac.new(self.secret, token.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{token}.{mac}"

    def _session_token(self, request: web.Request) -> str | None:
        raw = request.cookies.get(COOKIE, "")
        token, _, _mac = raw.rpartition(".")
        if not token or not hmac.compare_digest(self._sign(token), raw):
            return None
        return token

    def _chat(self, request: web.Request) -> Any:
        token = self._session_token(request)
        chat = self.gateway.chat_for_session(token) if token else None
        if chat is None:
            raise web.HTTPUnauthorized(
                text='{"ok": false, "error": "no_session"}', content_type="application/json"
            )
        return chat

    def _post_guard(self, request: web.Request) -> Any:
        """The custom header (CSRF), a live session, and the session's rate limit."""
        if request.headers.get(CSRF_HEADER) != "1":
            raise web.HTTPForbidden(
                text='{"ok": false, "error": "forbidden"}', content_type="application/json"
            )
        chat = self._chat(request)
        wait = self.session_buckets.take(int(chat["chat_id"]))
        if wait:
            raise _too_many_exc(wait)
        return chat

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if (request.content_length or 0) > MAX_JSON_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_JSON_BYTES, request.content_length or 0)
        try:
            body = json.loads(await request.content.read(MAX_JSON_BYTES + 1) or b"{}")
        except ValueError:
            raise web.HTTPBadRequest(text='{"ok": false, "error": "bad_json"}') from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='{"ok": false, "error": "bad_json"}')
        return body

    @staticmethod
    def _client_id(body: dict[str, Any]) -> str:
        client_id = str(body.get("client_id") or "")
        if not CLIENT_ID.fullmatch(client_id):
            raise web.HTTPBadRequest(text='{"ok": false, "error": "client_id"}')
        return client_id

    # ---------------------------------------------------------------- page

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(
            STATIC_DIR / "index.html",
            headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"},
        )

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:  # a fixed list: no path ever reaches the file system
            raise web.HTTPNotFound()
        return web.FileResponse(
            STATIC_DIR / name,
            headers={"Content-Type": STATIC_FILES[name], "Cache-Control": "no-cache"},
        )

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    # ---------------------------------------------------------------- API

    async def start(self, request: web.Request) -> web.Response:
        """The page's first call: the chat of this cookie, or a new one."""
        if request.headers.get(CSRF_HEADER) != "1":
            raise web.HTTPForbidden()
        token = self._session_token(request)
        chat = self.gateway.chat_for_session(token) if token else None
        new_cookie = None
        if chat is None:
            wait = self.new_session_buckets.take(self._ip(request))
            if wait:
                return _too_many(wait)
            body = await self._json(request)
            locale = "en" if body.get("locale") == "en" else "zh"
            chat_id, new_cookie = self.gateway.open_chat(locale)
            chat = self.gateway.store.chat(chat_id)
            log.info("web chat opened")
        state = self.gateway.state(chat)
        state["max_upload_bytes"] = self.limits.max_upload_bytes
        response = web.json_response({"ok": True, **state})
        if new_cookie is not None:
            response.set_cookie(
                COOKIE,
                self._sign(new_cookie),
                max_age=180 * 24 * 3600,
                httponly=True,
                samesite="Strict",
                secure=self.limits.secure_cookie or request.secure,
                path="/",
            )
        return response

    async def events(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        try:
            after = max(0, int(request.query.get("after", "0")))
        except ValueError:
            raise web.HTTPBadRequest() from None
        found = await self.gateway.events(int(chat["chat_id"]), after, self.limits.long_poll_s)
        return web.json_response({"ok": True, "events": found}, dumps=_dumps)

    async def message(self, request: web.Request) -> web.Response:
        chat = self._post_guard(request)
        body = await self._json(request)
        text = str(body.get("text") or "").strip()
        if not text or len(text) > MAX_TEXT_CHARS:
            raise web.HTTPBadRequest(text='{"ok": false, "error": "text"}')
        message_id = self.gateway.user_text(chat, text, self._client_id(body))
        return web.json_response({"ok": True, "message_id": message_id})

    async def contact(self, request: web.Request) -> web.Response:
        chat = self._post_guard(request)
        body = await self._json(request)
        phone = str(body.get("phone") or "").strip()
        if not PHONE.fullmatch(phone):
            raise web.HTTPBadRequest(text='{"ok": false, "error": "phone"}')
        message_id = self.gateway.user_contact(chat, phone, self._client_id(body))
        return web.json_response({"ok": True, "message_id": message_id})

    async def press(self, request: web.Request) -> web.Response:
        chat = self._post_guard(request)
        body = await self._json(request)
        try:
            self.gateway.user_press(chat, int(body.get("message_id")), str(body.get("data")))
        except (LookupError, TypeError, ValueError):
            raise web.HTTPBadRequest(text='{"ok": false, "error": "button"}') from None
        return web.json_response({"ok": True})

    async def upload(self, request: web.Request) -> web.Response:
        """Raw body (the page sends the File as is, with progress); the size is checked from
        Content-Length before one byte is read, and again while reading."""
        chat = self._post_guard(request)
        limit = self.limits.max_upload_bytes
        length = request.content_length
        if length is None:
            raise web.HTTPLengthRequired()
        if length > limit:
            raise web.HTTPRequestEntityTooLarge(limit, length)
        client_id = self._client_id({"client_id": request.query.get("client_id")})
        name = unquote(request.query.get("name", ""))[:200] or "file"
        caption = unquote(request.query.get("caption", ""))[:1024]
        content = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            content.extend(chunk)
            if len(content) > limit:
                raise web.HTTPRequestEntityTooLarge(limit, len(content))
        if not content:
            raise web.HTTPBadRequest(text='{"ok": false, "error": "empty"}')
        image = _sniff_image(bytes(content[:16]))
        as_photo = request.query.get("photo") == "1" and image in ("image/jpeg", "image/png")
        mime = "image/jpeg" if as_photo else (image or _declared_mime(request))
        message_id = self.gateway.user_file(
            chat, bytes(content), name, mime, as_photo, caption, client_id
        )
        log.info("web upload received (%d kB)", len(content) // 1024)
        return web.json_response({"ok": True, "message_id": message_id})

    async def locale(self, request: web.Request) -> web.Response:
        chat = self._post_guard(request)
        body = await self._json(request)
        locale = "en" if body.get("locale") == "en" else "zh"
        self.gateway.store.set_locale(int(chat["chat_id"]), locale)
        return web.json_response({"ok": True, "locale": locale})

    async def commands(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        found = self.gateway.commands_for(int(chat["chat_id"]), str(chat["locale"]))
        return web.json_response({"ok": True, "commands": found}, dumps=_dumps)

    async def file(self, request: web.Request) -> web.StreamResponse:
        chat = self._chat(request)
        try:
            path, row = self.gateway.file_for_chat(
                int(chat["chat_id"]), int(request.match_info["message_id"])
            )
        except (KeyError, ValueError):
            raise web.HTTPNotFound() from None
        with path.open("rb") as handle:
            head = handle.read(16)
        image = _sniff_image(head)
        headers = {"Cache-Control": "private, max-age=3600"}
        if image and request.query.get("inline") == "1":
            headers["Content-Type"] = image
        else:
            headers["Content-Type"] = "application/octet-stream"
            headers["Content-Disposition"] = "attachment; filename*=UTF-8''" + _quote_name(
                row.get("name") or "file"
            )
        return web.FileResponse(path, headers=headers)

    async def end(self, request: web.Request) -> web.Response:
        chat = self._post_guard(request)
        self.gateway.close_chat(int(chat["chat_id"]))
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/")
        log.info("web chat ended by the citizen")
        return response


def _too_many_exc(wait: float) -> web.HTTPTooManyRequests:
    return web.HTTPTooManyRequests(
        text=json.dumps({"ok": False, "error": "rate_limited", "retry_after": math.ceil(wait)}),
        content_type="application/json",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _sniff_image(head: bytes) -> str | None:
    for magic, mime in IMAGE_MAGIC.items():
        if head.startswith(magic):
            return mime
    return None


def _declared_mime(request: web.Request) -> str:
    declared = request.content_type or ""
    if re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", declared) and declared != "application/octet-stream":
        return declared
    return "application/octet-stream"


def _quote_name(name: str) -> str:
    return quote(name.replace("/", "_").replace("\\", "_"), safe="")
