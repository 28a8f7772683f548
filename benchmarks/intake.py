"""Complete reconsideration applications per second, through the real Dispatcher and SQLite.

Every step of the form is a Telegram update (text, button press, shared contact, photo),
every answer is a durable commit (WAL, synchronous=FULL), and the last press creates the case
with its number, parties, evidence and F5 deadline. Prints throughput and the latency of one
step (p50/p99). Run: ``python benchmarks/intake.py [applications] [concurrent citizens]``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402

from bot import create_dispatcher, tune_runtime  # noqa: E402
from cases.store.migrate import migrate  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import FakeClock  # noqa: E402
from scripts.compile_locales import compile_all  # noqa: E402
from settings import Settings  # noqa: E402
from tests.fakes.telegram import TOKEN, BotClient, RecordingSession  # noqa: E402


class TimedClient(BotClient):
    """Records how long the bot took for each update it was fed."""

    latencies: list[float]

    async def feed(self, update: dict[str, Any], update_id: int | None = None) -> Any:
        started = time.perf_counter()
        try:
            return await super().feed(update, update_id)
        finally:
            self.latencies.append(time.perf_counter() - started)


async def apply(client: TimedClient) -> None:
    """The same answers a citizen gives in tests/test_intake_flows.py."""
    await client.send("/reconsider")
    await client.press("没有")
    await client.press("为本人申请")
    await client.send("张三")
    await client.send("420625198503120018")
    await client.send_contact("+86 138 0000 1234")
    await client.send("湖北省谷城县城关镇东街1号")
    await client.press("谷城县公安局")
    await client.press("作出的决定")
    await client.send("谷公(治)决字〔2026〕123号")
    await client.send("2026年11月1日")
    await client.send("11月3日")
    await client.send("撤销罚款决定")
    await client.send("我没有违反治安管理规定，处罚认定的事实不清。")
    await client.press("以上都没有")
    await client.send_photo(b"\x89PNG photo of the decision " + str(client.user_id).encode())
    await client.press("是")
    await client.press("提交")


async def main(applications: int, concurrency: int) -> None:
    compile_all()
    bot = Bot(
        TOKEN, session=RecordingSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
        db = SqliteDatabase(Path(tmp) / "bench.sqlite3")
        await db.open()
        await migrate(db, clock=clock)
        settings = Settings(
            bot_token=TOKEN, database_path=db.path, flood_limit=10_000, _env_file=None
        )
        dp = create_dispatcher(settings, db, clock)
        latencies: list[float] = []

        def citizen(user_id: int) -> TimedClient:
            client = TimedClient(dp, bot, user_id=user_id)
            client.latencies = latencies
            return client

        await apply(citizen(1))  # warm-up
        tune_runtime()  # as bot.run() does once started
        latencies.clear()
        started = time.perf_counter()
        next_id = 1000
        remaining = applications
        while remaining:
            batch = min(concurrency, remaining)
            await asyncio.gather(*(apply(citizen(next_id + i)) for i in range(batch)))
            next_id += batch
            remaining -= batch
        elapsed = time.perf_counter() - started
        cases = await db.fetch_value("SELECT count(*) FROM cases") - 1
        numbers = await db.fetch_value("SELECT count(DISTINCT number) FROM cases") - 1
        await db.close()
    await bot.session.close()
    assert cases == applications == numbers, (cases, numbers)

    steps = sorted(latencies)
    p99 = steps[min(len(steps) - 1, int(len(steps) * 0.99))]
    print(
        f"{applications} reconsideration applications, {concurrency} citizens at a time, "
        f"{len(steps)} updates; SQLite WAL + synchronous=FULL"
    )
    print(f"applications/s : {applications / elapsed:7.1f}")
    print(f"updates/s      : {len(steps) / elapsed:7.1f}")
    print(f"step p50       : {statistics.median(steps) * 1000:7.2f} ms")
    print(f"step p99       : {p99 * 1000:7.2f} ms")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    parallel = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    asyncio.run(main(count, parallel))
