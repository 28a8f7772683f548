"""The inbound endpoint: ``POST /webhooks/inbound`` on ``HTTP_HOST:HTTP_PORT`` (aiohttp).

Off unless ``HTTP_PORT`` is set. Every answer is JSON, refusals included (unknown path, wrong
method, body too large); what a request may do is decided by cases/webhooks/inbound.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from cases.webhooks.inbound import MAX_BODY, InboundService

log = logging.getLogger(__name__)

PATH = "/webhooks/inbound"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": error, "message": message}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals (404, 405, 413) as JSON like ours."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "too_large", f"the body may have at most {MAX_BODY} bytes")
    except web.HTTPMethodNotAllowed:
        return _error(405, "method_not_allowed", f"use POST {PATH}")
    except web.HTTPNotFound:
        return _error(404, "not_found", f"the only endpoint is POST {PATH}")


def build_app(service: InboundService) -> web.Application:
    async def inbound(request: web.Request) -> web.Response:
        body = await request.read()
        code, answer = await service.handle(request.headers, body)
        if code >= 400:
            # The sender and the error only: never the body (it may name people).
            log.info(
                "inbound request refused: %s %s", answer.get("error"), request.headers.get(
                    "X-Gucheng-Sender", "?")[:40]
            )  # fmt: skip
        return web.json_response(answer, status=code, dumps=_dumps)

    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app.router.add_post(PATH, inbound)
    return app


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


class InboundServer:
    def __init__(self, service: InboundService, host: str, port: int) -> None:
        self._runner = web.AppRunner(build_app(service), access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("inbound webhook endpoint listening on %s:%s%s", self.host, self.port, PATH)

    async def stop(self) -> None:
        await self._runner.cleanup()
