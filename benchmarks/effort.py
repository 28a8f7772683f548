"""How much a citizen must do to file: typed answers and button presses until the case number.

A scripted citizen files each procedure through the real Dispatcher on a real SQLite file:
first as a new citizen (who then agrees to keep their details), then again as a returning one.
Every typed answer and every button press counts, the final "submit" included; the command
that opens the form and files sent as evidence do not. The citizen answers whatever the form
asks next (read from the draft's current step), so the count is what this version of the form
asks of this citizen, not a fixed script.

The citizens (issue 11): a reconsideration of a fine handed over on the spot, learned of two
days after it was made and within the 60 days (F1), no compensation, third party or agent; a
petition about one's own matter, naming no agency, not raised before, for oneself only; a
mediation of a traffic accident with the other side's phone number known and no preferred
time. The "before" column is issue 11's count of the form before it (for the petition the
issue counted 17; this citizen, who names no agency and was alone, took 16 on that form).

Run: ``python benchmarks/effort.py``. tests/test_effort.py fails if a count rises above its
target.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402

from cases.store.db import Database  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402

VALID_ID = "420625198503120018"

# What the citizen does when the form asks for a field: ("send", text), ("press", label) or
# ("contact", phone). A field missing here fails loudly: the form asked something new.
Answer = tuple[str, str]

APPLICANT: dict[str, Answer] = {
    "_use_saved": ("press", "使用这些信息"),
    "applicant_name": ("send", "张三"),
    "id_type": ("press", "居民身份证"),
    "id_number": ("send", VALID_ID),
    "phone": ("contact", "+86 138 0000 1234"),
    "address": ("send", "湖北省谷城县城关镇东街1号"),
    "evidence": ("press", "完成"),  # the form before issue 11 asked for files as a step
}

SCENARIOS: dict[str, tuple[str, dict[str, Answer]]] = {
    "reconsideration": (
        "/reconsider",
        {
            **APPLICANT,
            "elsewhere": ("press", "没有"),
            "applicant_kind": ("press", "为本人申请"),
            "respondent_id": ("press", "谷城县公安局"),
            "act_kind": ("press", "作出的决定"),
            "act_title": ("send", "谷公(治)决字〔2026〕123号"),
            "act_date": ("send", "2026年11月1日"),
            "known_date": ("send", "11月3日"),
            "how_received": ("press", "当面送达"),
            "rights_notified": ("press", "是"),
            "request": ("send", "撤销罚款决定"),
            "facts": ("send", "我没有违反治安管理规定，处罚认定的事实不清。"),
            "extras": ("press", "以上都没有"),
            "compensation": ("press", "否"),
            "third_parties": ("press", "跳过"),
            "agent": ("press", "跳过"),
            "electronic_service": ("press", "是"),
        },
    ),
    "petition": (
        "/petition",
        {
            **APPLICANT,
            "elsewhere": ("press", "没有"),
            "petition_kind": ("press", "申诉"),
            "township_id": ("press", "城关镇"),
            "body_concerned": ("press", "跳过"),
            "request": ("send", "修复村道路面"),
            "facts": ("send", "村道损坏已有一年，孩子们每天走这条路上学。"),
            "reasons": ("send", "孩子们每天走这条路上学。"),
            "extras": ("press", "以上都没有"),
            "raised_before": ("press", "否"),
            "group_size": ("send", "1"),
        },
    ),
    "mediation": (
        "/mediation",
        {
            **APPLICANT,
            "elsewhere": ("press", "没有"),
            "other_side_agrees": ("press", "同意"),
            "category_id": ("press", "交通事故"),
            "township_id": ("press", "城关镇"),
            "other_party_name": ("send", "李四 13900002222"),
            "other_party_contact": ("send", "13900002222"),
            "facts": ("send", "对方驾车撞坏了我的电动车，要求赔偿修车费800元。"),
            "claims": ("send", "赔偿修车费800元"),
            "preferred_time": ("press", "跳过"),
        },
    ),
}

BEFORE: dict[str, int] = {"reconsideration": 22, "petition": 17, "mediation": 16}
"""Issue 11's counts of the form before it (first filing; returning was the same)."""

TARGETS: dict[str, tuple[int, int]] = {
    "reconsideration": (17, 12),
    "petition": (13, 9),
    "mediation": (13, 9),
}
"""(first filing, returning citizen) at most, from issue 11."""

MAX_STEPS = 60


@dataclass(frozen=True)
class Effort:
    procedure: str
    first: int
    returning: int


async def file_once(client, db: Database, procedure: str) -> int:  # type: ignore[no-untyped-def]
    """File one case as the scenario's citizen; the number of answers and presses."""
    command, answers = SCENARIOS[procedure]
    before = await db.fetch_value("SELECT count(*) FROM cases")
    await client.send(command)
    count = 0
    for _ in range(MAX_STEPS):
        row = await db.fetch_one(
            "SELECT step FROM drafts WHERE user_id = ? AND status = 'open'", (client.user_id,)
        )
        if row is None:
            raise AssertionError(f"{procedure}: the form closed: {client.last_text()}")
        step = row[0]
        count += 1
        if step is None:
            await client.press("提交")
            break
        if step not in answers:
            raise AssertionError(f"{procedure}: no scripted answer for {step!r}")
        how, value = answers[step]
        if how == "press":
            await client.press(value)
        elif how == "contact":
            await client.send_contact(value)
        else:
            await client.send(value)
    else:
        raise AssertionError(f"{procedure}: no summary after {MAX_STEPS} steps")
    if await db.fetch_value("SELECT count(*) FROM cases") != before + 1:
        raise AssertionError(f"{procedure}: no case filed: {client.last_text()}")
    return count


async def measure(dispatcher: Dispatcher, bot: Bot, db: Database) -> list[Effort]:
    """Each procedure by its own new citizen, who keeps their details, then files again."""
    from tests.fakes.telegram import BotClient

    results = []
    for index, procedure in enumerate(SCENARIOS):
        client = BotClient(dispatcher, bot, user_id=7000 + index)
        first = await file_once(client, db, procedure)
        keep = [label for label in client.buttons() if "保存我的信息" in label]
        if keep:  # the form before issue 11 kept nothing
            await client.press(keep[0])
        returning = await file_once(client, db, procedure)
        results.append(Effort(procedure, first, returning))
    return results


def table(results: list[Effort]) -> str:
    lines = [
        f"{'procedure':<16} {'before':>6} {'first filing':>13} {'returning':>10}   targets",
        "-" * 66,
    ]
    for r in results:
        first_target, returning_target = TARGETS[r.procedure]
        lines.append(
            f"{r.procedure:<16} {BEFORE[r.procedure]:>6} {r.first:>13} {r.returning:>10}"
            f"   ≤ {first_target} / ≤ {returning_target}"
        )
    return "\n".join(lines)


async def main() -> None:
    from bot import create_dispatcher
    from cases.store.migrate import migrate
    from cases.store.time import FakeClock
    from scripts.compile_locales import compile_all
    from settings import Settings
    from tests.fakes.telegram import TOKEN, RecordingSession

    compile_all()
    bot = Bot(
        TOKEN, session=RecordingSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
        db = SqliteDatabase(Path(tmp) / "effort.sqlite3")
        await db.open()
        await migrate(db, clock=clock)
        settings = Settings(
            bot_token=TOKEN, database_path=db.path, flood_limit=10_000, _env_file=None
        )
        results = await measure(create_dispatcher(settings, db, clock), bot, db)
        await db.close()
    await bot.session.close()
    print("typed answers and button presses until the case number (issue 11)")
    print(table(results))


if __name__ == "__main__":
    asyncio.run(main())
