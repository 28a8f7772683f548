"""How updates reach the dispatcher when several replicas run: Telegram's webhook.

Polling (bot.py) stays the default for one machine. With ``WEBHOOK_URL`` set, each replica
serves an aiohttp application behind the load balancer:

* ``POST <path of WEBHOOK_URL>``: one update per request. The secret Telegram sends in
  ``X-Telegram-Bot-Api-Secret-Token`` is checked first (401 without it, logged once per
  process so a scanner cannot flood the log). The update is handled *before* the response
  (``handle_in_background=False``): Telegram sees 200 only once the update's effect and its
  processed-update record have committed, so a replica killed mid-update loses nothing —
  Telegram sends the update again, to whichever replica, and the record makes it act once.
* ``GET /healthz``: 200 when the database (and Redis, if used) answer; 503 otherwise, so the
  load balancer takes a sick replica out.

SIGTERM stops accepting requests and waits for the updates in flight before the store closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from cases.store.db import Database
from settings import Settings
from startup import EXIT_SETTINGS, StartupError, reason

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
DRAIN_SECONDS = 30.0
"""How long SIGTERM waits for updates in flight (a handler's longest work is a PDF or a
Telegram retry after a flood wait)."""


class CheckedWebhookHandler(SimpleRequestHandler):
    """aiogram's handler, with the refusal of a request without the secret logged once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused = 0

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if super().verify_secret(telegram_secret_token, bot):
            return True
        self.refused += 1
        if self.refused == 1:
            log.warning("refused a webhook request without the secret token (401); logged once")
        return False


async def health(request: web.Request) -> web.Response:
    db: Database = request.app["db"]
    redis = request.app.get("redis")
    try:
        await db.fetch_value("SELECT 1")
        if redis is not None:
            await redis.ping()
    except Exception as exc:  # any failure means: take this replica out
        log.warning("health check failed: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


def build_application(
    dp: Dispatcher, bot: Bot, settings: Settings, db: Database, redis: Any = None
) -> tuple[web.Application, CheckedWebhookHandler]:
    app = web.Application()
    app["db"] = db
    app["redis"] = redis
    assert settings.webhook_secret is not None  # settings refuse a URL without it
    handler = CheckedWebhookHandler(
        dispatcher=dp,
        bot=bot,
        secret_token=settings.webhook_secret.get_secret_value(),
        handle_in_background=False,
    )
    handler.register(app, path=settings.webhook_path)
    app.router.add_get(HEALTH_PATH, health)
    setup_application(app, dp, bot=bot)
    return app, handler


async def serve_webhook(
    dp: Dispatcher, bot: Bot, settings: Settings, db: Database, redis: Any = None
) -> None:
    """Serve until SIGTERM/SIGINT, then drain. The webhook is set on every start (the same
    URL and secret from every replica) and never deleted on stop: the other replicas keep
    serving it."""
    app, _handler = build_application(dp, bot, settings, db, redis)
    runner = web.AppRunner(app, shutdown_timeout=DRAIN_SECONDS, handle_signals=False)
    await runner.setup()
    host, port = settings.listen
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(
            f"WEBHOOK_LISTEN {settings.webhook_listen} cannot be used ({reason(exc)}): another "
            "process listens there, or the host is not this machine's; choose a free host:port",
            EXIT_SETTINGS,
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        await bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=dp.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        log.info("serving the webhook on %s:%d%s", host, port, settings.webhook_path)
        await stop.wait()
        log.info("stopping: draining the updates in flight")
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        await runner.cleanup()
