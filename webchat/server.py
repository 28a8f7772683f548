"""Both sides in one process: the Bot API for the bot (bind it to localhost or a private
network) and the chat page for browsers (behind the county's HTTPS reverse proxy)."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web

from webchat.bot_api import GatewayConfig
from webchat.gateway import Gateway
from webchat.web import WebApp, WebLimits

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ServerConfig:
    gateway: GatewayConfig
    limits: WebLimits = field(default_factory=WebLimits)
    api_host: str = "127.0.0.1"
    api_port: int = 8081
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    secret: bytes | None = None
    """Signs session cookies; read from ``data_dir/cookie-secret`` (made once) when None."""


def load_secret(data_dir: Path) -> bytes:
    """A per-installation key kept beside the gateway's database, readable by its owner only."""
    path = data_dir / "cookie-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class WebChatServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.gateway: Gateway | None = None
        self.web: WebApp | None = None
        self.api_base = ""
        self.web_base = ""
        self._runners: list[web.AppRunner] = []

    async def start(self) -> Self:
        config = self.config
        self.gateway = Gateway(config.gateway)
        secret = config.secret or load_secret(config.gateway.data_dir)
        api = web.Application(client_max_size=64 * 1024 * 1024)
        api.router.add_route("*", "/bot{token}/{method}", self.gateway.handle_method)
        api.router.add_get("/file/bot{token}/{path:.+}", self.gateway.handle_file)
        page = web.Application(client_max_size=64 * 1024)
        self.web = WebApp(self.gateway, secret, config.limits)
        self.web.routes(page)
        for app, host, port, attr in (
            (api, config.api_host, config.api_port, "api_base"),
            (page, config.web_host, config.web_port, "web_base"),
        ):
            # No access log: it would carry addresses and paths (personal data).
            runner = web.AppRunner(
                app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
            )
            await runner.setup()
            self._runners.append(runner)
            sock = _bound_socket(host, port)
            await web.SockSite(runner, sock).start()
            setattr(self, attr, f"http://{host}:{sock.getsockname()[1]}")
        return self

    async def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.wake_all()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self.gateway is not None:
            self.gateway.store.close()
            self.gateway = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
