"""The unmodified ``bot.py`` as a real process behind the web chat gateway (issue 12).

The bot only knows ``TELEGRAM_API_BASE``; a citizen in a browser (here: webchat.client, the
page's API in Python) files a reconsideration end to end, and the gateway can restart in the
middle without the citizen or the bot losing a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scripts.compile_locales import compile_all
from tests.webchat_support import (
    VALID_ID,
    Bot,
    file_reconsideration,
    gateway_config,
)
from webchat.client import WebClient
from webchat.server import WebChatServer


@pytest.fixture(scope="module", autouse=True)
def locales_compiled() -> None:
    compile_all()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[WebChatServer]:
    server = WebChatServer(gateway_config(tmp_path))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(gateway: WebChatServer, tmp_path: Path) -> AsyncIterator[Bot]:
    process = Bot(tmp_path, gateway.api_base)
    try:
        await process.start()
        yield process
    finally:
        await process.stop()


async def test_citizen_files_a_reconsideration_through_the_gateway(
    gateway: WebChatServer, bot: Bot
) -> None:
    async with WebClient(gateway.web_base) as citizen:
        await citizen.start()
        await citizen.act(citizen.send("/start"))
        assert "欢迎使用谷城县" in citizen.last_text()
        assert citizen.bot_messages()[-1]["buttons"]  # the main menu, as inline buttons
        commands = [c["command"] for c in await citizen.commands()]
        assert "reconsider" in commands  # setMyCommands reached the page's menu

        await file_reconsideration(citizen)

        receipt = citizen.last_text()
        assert "<code>" not in receipt and "FY-" in receipt, receipt
        assert "谷城县司法局" in receipt
        assert all(VALID_ID not in citizen.plain(m) for m in citizen.bot_messages())
    assert await bot.stop() == 0
    assert "Traceback" not in bot.log()


async def test_gateway_restart_mid_form_loses_nothing(tmp_path: Path) -> None:
    server = WebChatServer(gateway_config(tmp_path))
    await server.start()
    api_port = int(server.api_base.rsplit(":", 1)[1])
    web_port = int(server.web_base.rsplit(":", 1)[1])
    process = Bot(tmp_path, server.api_base)
    try:
        await process.start()
        async with WebClient(server.web_base) as citizen:
            await citizen.start()
            await citizen.act(citizen.send("/reconsider"))
            await citizen.act(citizen.press_text("没有"))
            asked = citizen.last_text()
            await server.stop()  # the bot's long poll fails; it keeps retrying
            await asyncio.sleep(1.0)
            server = WebChatServer(gateway_config(tmp_path, api_port, web_port))
            await server.start()
            await citizen.start()  # the page reloads: the same cookie, the same chat
            assert citizen.last_text() == asked
            await citizen.act(citizen.press_text("为本人申请"), within_s=60)
            assert "姓名" in citizen.last_text()
    finally:
        await process.stop()
        await server.stop()
