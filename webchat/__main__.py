"""``python -m webchat``: the gateway with settings from the environment and ``.env``.

WEBCHAT_* variables (README, "Web chat"); BOT_TOKEN is the bot's own, shared through .env.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from webchat.bot_api import GatewayConfig
from webchat.server import ROOT, ServerConfig, WebChatServer
from webchat.web import WebLimits

log = logging.getLogger("webchat")


def _dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.strip().startswith("#"):
                values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def config_from_env(environ: dict[str, str]) -> ServerConfig:
    def get(key: str, default: str = "") -> str:
        return (environ.get(key) or "").strip() or default

    token = get("BOT_TOKEN") or None
    data_dir = Path(get("WEBCHAT_DATA_DIR", str(ROOT / "data" / "webchat")))
    return ServerConfig(
        gateway=GatewayConfig(token=token, data_dir=data_dir),
        limits=WebLimits(
            trust_proxy=get("WEBCHAT_TRUST_PROXY") in ("1", "true", "yes"),
            secure_cookie=get("WEBCHAT_SECURE_COOKIE", "1") in ("1", "true", "yes"),
        ),
        api_host=get("WEBCHAT_API_HOST", "127.0.0.1"),
        api_port=int(get("WEBCHAT_API_PORT", "8081")),
        web_host=get("WEBCHAT_HOST", "127.0.0.1"),
        web_port=int(get("WEBCHAT_PORT", "8080")),
    )


async def serve(config: ServerConfig) -> None:
    server = await WebChatServer(config).start()
    log.info(
        "web chat gateway ready: chat page on %s, Bot API for the bot on %s"
        " (TELEGRAM_API_BASE=%s)",
        server.web_base,
        server.api_base,
        server.api_base,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        log.info("web chat gateway stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Web chat gateway (issue 12).")
    parser.add_argument("--env-file", default=os.environ.get("BOT_ENV_FILE") or str(ROOT / ".env"))
    args = parser.parse_args(argv)
    environ = {**_dotenv(Path(args.env_file)), **os.environ}
    if not (environ.get("BOT_TOKEN") or "").strip():
        # Without it any caller could act as the bot; the gateway must know the bot's token.
        print(
            "error: BOT_TOKEN is missing: the gateway accepts Bot API calls only with the "
            "bot's own token; put it in .env (the same file the bot reads).",
            file=sys.stderr,
        )
        raise SystemExit(2)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config_from_env(environ)))


if __name__ == "__main__":
    main()
