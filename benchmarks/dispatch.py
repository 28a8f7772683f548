"""Updates per second through the real Dispatcher, middlewares and SQLite store.

(a) a bare aiogram echo router, no middlewares, MemoryStorage: the ceiling of aiogram itself;
(b) /start through the bot's Dispatcher (update dedup, user, locale, menu);
(c) one step of a multi-step form: FSM read, answer validated, draft written, next question.

Every commit is durable (WAL, synchronous=FULL). The process is tuned as the bot tunes itself
before polling (``bot.tune_runtime``: garbage collector, aiogram's response classes), so the
echo router gets the same benefit as the bot. Telegram is the recording fake session, so
network time is not measured. Run: ``python benchmarks/dispatch.py [N]``.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher, Router  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402
from aiogram.types import Message, Update  # noqa: E402

from bot import create_dispatcher, tune_runtime  # noqa: E402
from cases.intake.form_engine import Procedure  # noqa: E402
from cases.intake.service import IntakeService  # noqa: E402
from cases.org.users import UserRepository  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import FakeClock  # noqa: E402
from handlers.replies import RetryRateLimitedReplies  # noqa: E402
from scripts.compile_locales import compile_all  # noqa: E402
from settings import Settings  # noqa: E402
from tests.fakes.telegram import TOKEN, RecordingSession  # noqa: E402

_ids = itertools.count(1)


def message_update(user_id: int, text: str) -> Update:
    content: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "测试", "language_code": "zh"},
        "text": text,
    }
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return Update(update_id=next(_ids), message=content)


BATCH = 100  # what one getUpdates call returns at most; polling handles each as a task


async def run(dp: Dispatcher, bot: Bot, updates: list[Update], *, concurrent: bool) -> float:
    """Updates per second. ``concurrent``: each batch of 100 handled as parallel tasks, as
    aiogram's polling does (handle_as_tasks=True); otherwise one after another."""
    started = time.perf_counter()
    if concurrent:
        for i in range(0, len(updates), BATCH):
            await asyncio.gather(*(dp.feed_update(bot, u) for u in updates[i : i + BATCH]))
    else:
        for update in updates:
            await dp.feed_update(bot, update)
    return len(updates) / (time.perf_counter() - started)


def echo_dispatcher() -> Dispatcher:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def scenarios(n: int, *, concurrent: bool) -> tuple[float, float, float]:
    bot = Bot(
        TOKEN, session=RecordingSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    bot.session.middleware(RetryRateLimitedReplies())  # as bot.poll() sets up the handlers' Bot
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
        db = SqliteDatabase(Path(tmp) / "bench.sqlite3")
        await db.open()
        await migrate(db, clock=clock)
        settings = Settings(
            bot_token=TOKEN, database_path=db.path, flood_limit=10_000, _env_file=None
        )
        dp = create_dispatcher(settings, db, clock)
        intake: IntakeService = dp["intake"]
        users: UserRepository = dp["users"]
        mode = {"concurrent": concurrent}

        # Warm-up, so imports and first-time costs are not measured.
        await run(echo_dispatcher(), bot, [message_update(1, "hi") for _ in range(50)], **mode)
        await run(dp, bot, [message_update(2, "/start") for _ in range(50)], **mode)
        tune_runtime()  # as bot.run() does once started; it applies to all three scenarios

        echo = await run(
            echo_dispatcher(), bot, [message_update(10 + i, f"m{i}") for i in range(n)], **mode
        )
        start = await run(
            dp, bot, [message_update(100_000 + i, "/start") for i in range(n)], **mode
        )

        # (c): n citizens, each inside the mediation form at the "other side" question.
        form_users = [200_000 + i for i in range(n)]
        for user_id in form_users:
            await users.ensure(user_id)
            await dp.feed_update(bot, message_update(user_id, "/mediation"))
            draft, _ = await intake.open_draft(user_id, Procedure.mediation)
            for key, value in PRE_ANSWERED:
                await intake.save_answer(draft.id, user_id=user_id, key=key, value=value)
        form_step = await run(dp, bot, [message_update(u, "李四") for u in form_users], **mode)
        saved = await db.fetch_value("SELECT count(*) FROM drafts WHERE step = 'facts'")
        await db.close()
    await bot.session.close()
    assert saved == n, "every form step must have been saved"
    return echo, start, form_step


PRE_ANSWERED = (
    ("elsewhere", "none"),
    ("other_side_agrees", "yes"),
    ("category_id", "neighbour"),
    ("township_id", "chengguan"),
    ("applicant_name", "张三"),
    ("id_type", "resident_id"),
    ("id_number", "420625198503120018"),
    ("phone", "13800001234"),
    ("address", "城关镇东街1号"),
)


REPEAT = 3  # runs per mode; the best of each scenario is reported (least disturbed by load)


async def main(n: int) -> None:
    compile_all()
    print(
        f"updates: {n} per scenario, best of {REPEAT} runs; SQLite WAL + synchronous=FULL; "
        "fake Telegram session"
    )
    for concurrent in (True, False):
        runs = [await scenarios(n, concurrent=concurrent) for _ in range(REPEAT)]
        echo, start, form_step = (max(column) for column in zip(*runs, strict=True))
        label = "batches of 100 as tasks (like polling)" if concurrent else "one at a time"
        print(f"-- {label}")
        print(f"(a) bare echo router, no middlewares : {echo:7.0f} updates/s  ratio 1.00")
        print(
            f"(b) /start, full middleware stack    : {start:7.0f} updates/s  "
            f"ratio {start / echo:.2f}"
        )
        print(
            f"(c) one form step (FSM, draft write) : {form_step:7.0f} updates/s  "
            f"ratio {form_step / echo:.2f}  (target >= 0.40)"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
