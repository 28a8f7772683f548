"""The chat page in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``),
driven over the W3C WebDriver protocol, with ``bot.py`` behind the gateway (issue 12).

A citizen opens the page, starts from the command menu, files a reconsideration with
buttons, typed answers, the phone field and a photo upload, reloads the page in the middle of
the form and continues, and sees the receipt. Each step leaves a screenshot in
tests/artifacts/webchat/ (git-ignored). WebDriver is spoken directly (a dozen HTTP calls), so
no Selenium package is needed.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import struct
import subprocess
import zlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.webchat_support import TOKEN, VALID_ID, Bot, cn_date, gateway_config
from webchat.server import WebChatServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "webchat"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="browser tests need Debian's chromium and chromium-driver (.ci/run installs them)",
)


class WebDriver:
    """The few W3C WebDriver commands these tests use."""

    def __init__(self, base: str, http: aiohttp.ClientSession) -> None:
        self.base = base
        self.http = http
        self.session = ""

    async def command(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.base}/session/{self.session}{path}" if self.session else self.base + path
        async with self.http.request(method, url, json=body) as resp:
            payload = await resp.json()
        if resp.status != 200:
            raise AssertionError(f"WebDriver {method} {path}: {payload.get('value')}")
        return payload["value"]

    async def open(self, profile: Path) -> None:
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--window-size=412,915",  # a common Android phone
            "--lang=zh-CN",
        ]
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}
        value = await self.command("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.session = value["sessionId"]

    async def close(self) -> None:
        if self.session:
            await self.command("DELETE", "")
            self.session = ""

    async def go(self, url: str) -> None:
        await self.command("POST", "/url", {"url": url})

    async def refresh(self) -> None:
        await self.command("POST", "/refresh", {})

    async def find(self, css: str) -> str:
        found = await self.command("POST", "/element", {"using": "css selector", "value": css})
        return found[ELEMENT]

    async def click(self, element: str) -> None:
        await self.command("POST", f"/element/{element}/click", {})

    async def type(self, element: str, text: str) -> None:
        await self.command("POST", f"/element/{element}/value", {"text": text})

    async def script(self, source: str, *args: Any) -> Any:
        return await self.command("POST", "/execute/sync", {"script": source, "args": list(args)})

    async def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        png = base64.b64decode(await self.command("GET", "/screenshot"))
        (ARTIFACTS / f"{name}.png").write_bytes(png)


BOT_TEXTS = "return [...document.querySelectorAll('.msg.bot')].map(m => m.textContent)"
FIND_BUTTON = """
const boxes = [...document.querySelectorAll('.msg.bot')].filter(b => b.querySelector('button'));
if (!boxes.length) return null;
const buttons = [...boxes[boxes.length - 1].querySelectorAll('button.inline-btn')];
return buttons.find(b => b.textContent === arguments[0])
    || buttons.find(b => b.textContent.includes(arguments[0])) || null;
"""


class Citizen:
    """A person at the page: reads the bubbles, presses buttons, types."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver
        self.shot = 0

    async def bot_texts(self) -> list[str]:
        return list(await self.driver.script(BOT_TEXTS))

    async def answered(self, action: Any, within_s: float = 30.0) -> None:
        """Do ``action`` and wait until the bot has answered and been quiet for a moment."""
        before = await self.bot_texts()
        await action
        async with asyncio.timeout(within_s):
            while True:
                await asyncio.sleep(0.3)
                now = await self.bot_texts()
                if now != before:
                    await asyncio.sleep(0.6)
                    if await self.bot_texts() == now:
                        return
                    before = now

    async def last(self) -> str:
        texts = await self.bot_texts()
        return texts[-1] if texts else ""

    async def snap(self, name: str) -> None:
        self.shot += 1
        await self.driver.screenshot(f"{self.shot:02d}-{name}")

    async def _send_text(self, text: str) -> None:
        await self.driver.type(await self.driver.find("#text"), text)
        await self.driver.click(await self.driver.find("#send"))

    async def _press(self, label: str) -> None:
        button = await self.driver.script(FIND_BUTTON, label)
        assert button, f"no button {label!r} under: {await self.last()!r}"
        await self.driver.click(button[ELEMENT])

    async def say(self, text: str) -> None:
        await self.answered(self._send_text(text))

    async def press(self, label: str) -> None:
        await self.answered(self._press(label))


def tiny_png(width: int = 64, height: int = 48) -> bytes:
    """A real, decodable PNG (a blue field), so the page can be seen showing the photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x00\x3a\x8c" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[WebDriver]:
    port = _free_port()
    log = (tmp_path / "chromedriver.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        CHROMEDRIVER, f"--port={port}", stdout=log, stderr=subprocess.STDOUT
    )
    http = aiohttp.ClientSession()
    web_driver = WebDriver(f"http://127.0.0.1:{port}", http)
    try:
        async with asyncio.timeout(20):
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/status") as resp:
                        if (await resp.json())["value"]["ready"]:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        await web_driver.open(tmp_path / "chromium-profile")
        yield web_driver
    finally:
        try:
            await web_driver.close()
        finally:
            await http.close()
            process.terminate()
            await process.wait()
            log.close()


async def test_citizen_files_a_reconsideration_in_the_browser(
    driver: WebDriver, tmp_path: Path
) -> None:
    server = WebChatServer(gateway_config(tmp_path))
    await server.start()
    bot = Bot(tmp_path, server.api_base)
    citizen = Citizen(driver)
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(tiny_png())
    today = date.today()
    try:
        await bot.start()
        await driver.go(server.web_base + "/")
        await citizen.say("/start")
        assert "欢迎使用谷城县" in await citizen.last()
        assert await driver.script("return document.documentElement.lang") == "zh-CN"
        await citizen.snap("welcome")

        await driver.click(await driver.find("#menu-btn"))  # the command menu
        await asyncio.sleep(0.5)
        await citizen.snap("command-menu")
        entry = await driver.script(
            "return [...document.querySelectorAll('#menu button')]"
            ".find(b => b.textContent.startsWith('/reconsider')) || null"
        )
        assert entry, "no /reconsider in the command menu"
        await citizen.answered(driver.click(entry[ELEMENT]))
        await citizen.press("没有")
        await citizen.press("为本人申请")
        await citizen.say("张三")
        await citizen.snap("buttons-and-answers")
        await citizen.say(VALID_ID)  # a resident ID: the document type follows from it

        # The bot asks for the phone with Telegram's "share my number" button: a phone field.
        share = await driver.script(
            "return [...document.querySelectorAll('.kb-btn')].find(b => b.textContent"
            ".includes('手机')) || null"
        )
        assert share, "no share-phone button"
        await driver.click(share[ELEMENT])
        await citizen.snap("phone-field")
        await driver.type(await driver.find("#phone"), "+86 138 0000 1234")
        await citizen.answered(driver.click(await driver.find("#phone-send")))
        asked_address = await citizen.last()

        # Reload in the middle of the form: the conversation is still there, and it goes on.
        await driver.refresh()
        await asyncio.sleep(1.5)
        assert (await citizen.bot_texts())[-1] == asked_address
        await citizen.snap("after-reload")
        await citizen.say("湖北省谷城县城关镇东街1号")
        await citizen.press("谷城县公安局")
        await citizen.press("作出的决定")
        await citizen.say("谷公(治)决字〔2026〕123号")
        await citizen.say(cn_date(today - timedelta(days=10)))
        await citizen.say(cn_date(today - timedelta(days=8)))  # within F1: no F2 questions
        await citizen.say("撤销罚款决定")
        await citizen.say("我没有违反治安管理规定，处罚认定的事实不清。")
        await citizen.press("以上都没有")  # no compensation, third party or agent

        await citizen.answered(driver.type(await driver.find("#file"), str(photo)))
        await asyncio.sleep(0.5)
        width = await driver.script(
            "const img = document.querySelector('.msg.mine img'); return img && img.naturalWidth"
        )
        assert width == 64, "the uploaded photo is not shown"
        await citizen.snap("photo-uploaded")
        await citizen.press("是")  # electronic service
        await citizen.snap("summary")
        await citizen.press("提交")
        receipt = await citizen.last()
        await citizen.snap("receipt")
        assert "FY-" in receipt and "谷城县司法局" in receipt, receipt
        assert all(VALID_ID not in text for text in await citizen.bot_texts())
    finally:
        await bot.stop()
        await server.stop()


async def test_page_survives_a_network_drop_and_renders_only_telegram_tags(
    driver: WebDriver, tmp_path: Path
) -> None:
    """The test is the bot here (Bot API calls over HTTP): hostile HTML stays text, a gateway
    outage shows the offline banner, and the reply sent after it appears once; the English
    choice survives a reload."""
    server = WebChatServer(gateway_config(tmp_path))
    await server.start()
    api_port = int(server.api_base.rsplit(":", 1)[1])
    web_port = int(server.web_base.rsplit(":", 1)[1])
    citizen = Citizen(driver)
    async with aiohttp.ClientSession() as http:

        async def bot_call(method: str, **params: Any) -> Any:
            url = f"{server.api_base}/bot{TOKEN}/{method}"
            async with http.post(url, json=params) as resp:
                return (await resp.json())["result"]

        try:
            await driver.go(server.web_base + "/")
            await asyncio.sleep(1.0)
            await citizen._send_text("你好")
            updates = await bot_call("getUpdates", timeout=10)
            chat_id = updates[0]["message"]["chat"]["id"]
            hostile = (
                "&lt;script&gt;window.pwned=1&lt;/script&gt;"
                " &lt;img src=x onerror=window.pwned=2&gt;"
                ' <a href="javascript:window.pwned=3">点我</a> <b>粗体</b>'
                ' <a href="https://www.gov.cn/">政府网</a>'
            )
            await citizen.answered(
                bot_call("sendMessage", chat_id=chat_id, text=hostile, parse_mode="HTML")
            )
            dom = await driver.script(
                "const m = document.querySelector('.msg.bot');"
                "return {scripts: m.querySelectorAll('script, img').length,"
                " links: [...m.querySelectorAll('a')].map(a => a.href),"
                " bold: m.querySelector('b').textContent, text: m.textContent,"
                " pwned: window.pwned === undefined ? null : window.pwned}"
            )
            assert dom["scripts"] == 0 and dom["pwned"] is None
            assert dom["links"] == ["https://www.gov.cn/"]
            assert dom["bold"] == "粗体" and "<script>window.pwned=1</script>" in dom["text"]
            await citizen.snap("hostile-html-as-text")

            await server.stop()  # the network drops
            await asyncio.sleep(2.0)
            assert await driver.script("return !document.getElementById('status').hidden")
            await citizen.snap("offline-banner")
            server = WebChatServer(gateway_config(tmp_path, api_port, web_port))
            await server.start()
            await citizen.answered(
                bot_call("sendMessage", chat_id=chat_id, text="网络恢复后的回复"), within_s=20
            )
            texts = await citizen.bot_texts()
            assert len(texts) == 2 and texts.count("网络恢复后的回复") == 1, texts
            assert await driver.script("return document.getElementById('status').hidden")

            await driver.click(await driver.find("#lang-btn"))
            await asyncio.sleep(0.5)
            await driver.refresh()
            await asyncio.sleep(1.5)
            assert await driver.script("return document.getElementById('send').textContent") == (
                "Send"
            )
            assert await driver.script("return document.documentElement.lang") == "en"
            assert len(await citizen.bot_texts()) == 2  # the reload shows the same chat
            await citizen.snap("english-after-reload")
        finally:
            await server.stop()
