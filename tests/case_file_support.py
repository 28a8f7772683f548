"""Helpers for the case file tests (issue 15) and the tests built on them (the respondent's
reply): people in given roles, a reconsideration with hostile text in every free-text field and
one file of each kind, and what the reader sees of the bot's HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import SendMessage

from cases.org.users import Role
from cases.store.db import Database
from cases.store.time import FakeClock
from tests.fakes.limits import (
    MAX_TEXT_UTF16,
    BotAPIError,
    _TelegramHTMLChecker,
)
from tests.fakes.limits import utf16_len as _utf16_len
from tests.fakes.limits import visible_text as _visible_text
from tests.fakes.telegram import BotClient

CITIZEN = 1001
OFFICE = 7001
MEDIATOR = 7002
LIAISON = 7003
VALID_ID = "420625198503120018"
NOT_AVAILABLE = "您无权查看这个案件。"

# Text a citizen might type that must reach staff exactly as written: markup-like text,
# entities, an unclosed tag, a zero-width space and a bidi isolate (U+2066..U+2069 survive the
# intake's cleaning; the page must still show them).
HOSTILE = "<b>粗体</b> &amp; <script>alert(1)</script> <i 未闭合 a\u2066b\u2069c x<y>z &lt;"
PDF = b"%PDF-1.4 contract bytes \x00\x01\x02"
PHOTO = b"\x89PNG fake photo of the scene"
VOICE = b"OggS fake voice note"


@dataclass
class Paced(BotClient):
    """A person who takes a second per message (flood control stays quiet)."""

    clock: FakeClock | None = None

    async def feed(self, update: dict[str, Any], update_id: int | None = None) -> Any:
        if self.clock is not None:
            self.clock.advance(timedelta(seconds=1))
        return await super().feed(update, update_id)


async def person(
    dispatcher: Dispatcher,
    bot: Bot,
    clock: FakeClock,
    user_id: int,
    role: Role = Role.citizen,
    unit: str | None = None,
    *,
    lead: bool = False,
) -> Paced:
    if role is not Role.citizen:
        await dispatcher["users"].set_role(user_id, role, unit, lead=lead)
    return Paced(dispatcher, bot, user_id=user_id, language_code="zh-hans", clock=clock)


def assert_telegram_accepts(bot: Bot) -> None:
    """Every text and caption the bot sent would be accepted by Telegram (parsable HTML within
    the length limits), as the fake Bot API server checks them."""
    for request in bot.session.requests:  # type: ignore[attr-defined]
        text = getattr(request, "text", None) or getattr(request, "caption", None)
        if not isinstance(text, str):
            continue
        try:
            visible = _visible_text(text, "HTML")
        except BotAPIError as error:  # pragma: no cover - the assertion message
            raise AssertionError(f"Telegram would refuse {text!r}: {error}") from error
        limit = MAX_TEXT_UTF16 if isinstance(request, SendMessage) else 1024
        assert _utf16_len(visible) <= limit, f"too long: {len(visible)}"


def visible(texts: list[str]) -> str:
    """What the reader sees: tags applied, entities decoded once (as Telegram does)."""
    shown = []
    for text in texts:
        checker = _TelegramHTMLChecker()
        checker.feed(text)
        checker.close()
        assert checker.error is None and not checker.stack, text
        shown.append("".join(checker.visible))
    return "\n".join(shown)


async def file_reconsideration(citizen: Paced, db: Database, *, facts: str = HOSTILE) -> int:
    """A reconsideration with hostile text in every free-text field and one file of each kind."""
    await citizen.send("/reconsider")
    await citizen.press("没有")
    await citizen.press("为单位申请")
    await citizen.send("谷城<县>某某&公司")  # organisation
    await citizen.send("李总 <经理>")  # legal representative
    await citizen.send("张三<b>")
    await citizen.send(VALID_ID)  # a resident ID: the document type follows from it
    await citizen.send_contact("+86 138 0000 1234")
    await citizen.send("城关镇东街1号 <楼>")
    await citizen.press("谷城县公安局")
    await citizen.press("作出的决定")
    await citizen.send("谷公(治)决字〔2026〕123号 <x>")
    await citizen.send("2026年11月1日")
    await citizen.send("11月3日")
    await citizen.send("撤销 " + HOSTILE)  # request
    await citizen.send(facts)  # facts and reasons
    await citizen.press("有，一项或几项")  # compensation, third party or agent
    await citizen.press("是")  # compensation
    await citizen.send("赔偿 <800> 元 & 利息")
    await citizen.send("王五 <第三人>")  # third parties
    await citizen.send("赵六 13912345678 & 代理")  # agent with a phone number in free text
    await citizen.send_document("合同<1>.pdf", "application/pdf", PDF)
    await citizen.send_photo(PHOTO)
    await citizen.send_voice(VOICE)
    await citizen.press("是")  # electronic service
    assert "请核对" in citizen.last_text(), citizen.last_text()
    await citizen.press("提交")
    return int(await db.fetch_value("SELECT max(id) FROM cases"))


async def open_from_list(staff: Paced) -> None:
    await staff.send("/cases")
    await staff.press("FY-")


def file_buttons(client: Paced) -> list[str]:
    return [b for b in client.buttons() if b.startswith("📎")]
