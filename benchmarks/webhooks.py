"""Webhooks against a failing county system, and what that does to the chat.

10,000 events (5,000 cases: created + routed, captured by the real triggers) go to a receiver
in its own process on 127.0.0.1 that answers 500 for the first 30 s, then 200. The real pump
(scheduling/webhooks.py, the default retry policy and concurrency) delivers them. Meanwhile
citizens answer a form step through the real Dispatcher (as benchmarks/dispatch.py drives it)
at a steady pace; their latency p50/p99 while the receiver fails is compared with the same run
without webhooks. Printed: delivered, duplicates, order violations, attempts refused, time to
drain after recovery, and the latencies.

Run: ``python benchmarks/webhooks.py [--events 10000] [--fail-seconds 30] [--pace 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "benchmark-shared-secret-0123456789"


# --- the receiver, in its own process ------------------------------------------------------


def receiver_main(port: int, fail_seconds: float) -> None:
    from aiohttp import web

    started = time.monotonic()
    seen: set[str] = set()
    last_sequence: dict[str, int] = {}
    stats = {"accepted": 0, "refused": 0, "duplicates": 0, "out_of_order": 0, "bad_sig": 0}
    stats["recovered_at"] = 0.0

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        stamp = request.headers["X-Gucheng-Timestamp"]
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        if not hmac.compare_digest("sha256=" + mac.hexdigest(),
                                   request.headers["X-Gucheng-Signature"]):  # fmt: skip
            stats["bad_sig"] += 1
            return web.Response(status=401)
        if time.monotonic() - started < fail_seconds:
            stats["refused"] += 1
            return web.Response(status=500)
        body = json.loads(raw)
        delivery = request.headers["X-Gucheng-Delivery"]
        if delivery in seen:
            stats["duplicates"] += 1
            return web.Response(status=200)
        seen.add(delivery)
        stats["accepted"] += 1
        number = body["case"]["number"]
        if last_sequence.get(number, 0) > body["sequence"]:
            stats["out_of_order"] += 1
        last_sequence[number] = body["sequence"]
        return web.Response(status=200)

    async def report(request: web.Request) -> web.Response:
        return web.json_response({**stats, "since_start": time.monotonic() - started})

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/stats", report)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the bot side ------------------------------------------------------------------------------


async def seed_cases(db, cases: int) -> None:  # type: ignore[no-untyped-def]
    """``cases`` filed cases (with an applicant), in one unit: the triggers capture 2 each."""
    from cases.store.time import to_db

    stamp = to_db(__import__("datetime").datetime.now(__import__("datetime").UTC))

    def work(conn):  # type: ignore[no-untyped-def]
        conn.execute(
            "INSERT OR IGNORE INTO users(telegram_id, first_seen, last_seen) VALUES (7, ?, ?)",
            (stamp, stamp),
        )
        for i in range(cases):
            case_id = conn.execute(
                "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
                " created_at, updated_at, routed_to, routed_to_name) VALUES (?, 'mediation',"
                " 'submitted', 7, '邻里纠纷 13800001234', '2026-11-25', ?, ?, 'room:chengguan',"
                " '城关镇人民调解委员会')",
                (f"BM-2026-{i:06d}", stamp, stamp),
            ).lastrowid
            conn.execute(
                "INSERT INTO parties(case_id, role, name, id_number, phone) VALUES"
                " (?, 'applicant', '张三', '420625198503120018', '13800001234')",
                (case_id,),
            )

    await db.run(work)


async def form_latencies(dp, bot, users: list[int], pace: float, seconds: float) -> list[float]:  # type: ignore[no-untyped-def]
    """One form step per citizen, ``pace`` a second for ``seconds``: each update's time through
    the Dispatcher, in ms."""
    from benchmarks.dispatch import message_update

    out: list[float] = []
    step = 1.0 / pace
    begin = time.perf_counter()
    for i, user_id in enumerate(users):
        due = begin + i * step
        if due - begin > seconds:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        update = message_update(user_id, "李四")
        t0 = time.perf_counter()
        await dp.feed_update(bot, update)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def prepare_form_users(dp, count: int, base: int) -> list[int]:  # type: ignore[no-untyped-def]
    from benchmarks.dispatch import PRE_ANSWERED, message_update
    from cases.intake.forms import Procedure

    intake, users = dp["intake"], dp["users"]
    bot = dp["bench_bot"]
    ids = [base + i for i in range(count)]
    for user_id in ids:
        await users.ensure(user_id)
        await dp.feed_update(bot, message_update(user_id, "/mediation"))
        draft, _ = await intake.open_draft(user_id, Procedure.mediation)
        for key, value in PRE_ANSWERED:
            await intake.save_answer(draft.id, user_id=user_id, key=key, value=value)
    return ids


async def one_run(
    tmp: Path, *, webhooks: bool, events: int, fail_seconds: float, pace: float, port: int
) -> dict[str, float]:
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.enums import ParseMode

    from bot import create_dispatcher, tune_runtime
    from cases.store.migrate import migrate
    from cases.store.sqlite import SqliteDatabase
    from cases.store.time import SystemClock
    from cases.webhooks.config import WebhooksFile
    from handlers.replies import RetryRateLimitedReplies
    from scheduling.webhooks import WebhookPump
    from settings import Settings
    from tests.fakes.telegram import TOKEN, RecordingSession

    bot = Bot(
        TOKEN, session=RecordingSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    bot.session.middleware(RetryRateLimitedReplies())
    clock = SystemClock()
    db = SqliteDatabase(tmp / f"bench-{'on' if webhooks else 'off'}.sqlite3")
    await db.open()
    await migrate(db, clock=clock)
    file = WebhooksFile.model_validate(
        {
            "receivers": [
                {
                    "id": "county12345",
                    "url": f"http://127.0.0.1:{port}/hook",
                    "secret": SECRET,
                    "events": ["case.created", "case.routed"],
                }
            ]
        }
        if webhooks
        else {}
    )
    settings = Settings(bot_token=TOKEN, database_path=db.path, flood_limit=10_000, _env_file=None)
    dp = create_dispatcher(settings, db, clock, webhooks=file)
    dp["bench_bot"] = bot
    samples = int(fail_seconds * pace) + 5
    users = await prepare_form_users(dp, 2 * samples, 300_000)
    await seed_cases(db, events // 2)
    tune_runtime()
    result: dict[str, float] = {}
    receiver = None
    pump = WebhookPump(dp["webhooks"], clock)
    if webhooks:
        receiver = subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
            [
                sys.executable,
                __file__,
                "--receiver",
                str(port),
                "--fail-seconds",
                str(fail_seconds),
            ]
        )
        await asyncio.sleep(1.0)  # the receiver's own start; its failing time starts there
        started = time.monotonic()
        await pump.start()
    try:
        window = max(1.0, fail_seconds - 2.0)
        latencies = await form_latencies(dp, bot, users[:samples], pace, window)
        result["p50"] = statistics.median(latencies)
        result["p99"] = statistics.quantiles(latencies, n=100)[98]
        result["samples"] = len(latencies)
        # The next stretch of the same length: the receiver has recovered, the backlog drains.
        await asyncio.sleep(max(0.0, fail_seconds - window + 0.5))
        after = await form_latencies(dp, bot, users[samples:], pace, window)
        result["after_p50"] = statistics.median(after)
        result["after_p99"] = statistics.quantiles(after, n=100)[98]
        if webhooks:
            import httpx

            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = await db.fetch_value(
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
                )
                total = await db.fetch_value("SELECT count(*) FROM webhook_deliveries")
                if total == events and done == events:
                    break
                await asyncio.sleep(0.5)
            result["all_delivered_after"] = time.monotonic() - started
            async with httpx.AsyncClient() as http:
                stats = (await http.get(f"http://127.0.0.1:{port}/stats")).json()
            result.update({k: float(v) for k, v in stats.items()})
            result["dead"] = float(
                await db.fetch_value(
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'dead'"
                )
            )
    finally:
        await pump.stop()
        if receiver is not None:
            receiver.terminate()
            receiver.wait()
        await db.close()
        await bot.session.close()
    return result


async def main(args: argparse.Namespace) -> None:
    from scripts.compile_locales import compile_all

    compile_all()
    print(
        f"{args.events} events to a local receiver answering 500 for the first "
        f"{args.fail_seconds:.0f} s; form steps at {args.pace:.0f}/s through the real Dispatcher"
    )
    with tempfile.TemporaryDirectory() as tmp:
        common = {"events": args.events, "fail_seconds": args.fail_seconds, "pace": args.pace}
        off = await one_run(Path(tmp), webhooks=False, port=args.port, **common)
        on = await one_run(Path(tmp), webhooks=True, port=args.port, **common)
    print(
        f"delivered {on['accepted']:.0f} of {args.events}, duplicates {on['duplicates']:.0f}, "
        f"out of order {on['out_of_order']:.0f}, bad signatures {on['bad_sig']:.0f}, "
        f"dead letters {on['dead']:.0f}"
    )
    print(
        f"attempts refused while failing: {on['refused']:.0f}; all delivered "
        f"{on['all_delivered_after']:.1f} s after the pump started "
        f"({on['all_delivered_after'] - args.fail_seconds:.1f} s after the receiver recovered)"
    )
    print(
        f"form step while the receiver fails ({on['samples']:.0f} steps): "
        f"p50 {on['p50']:.1f} ms, p99 {on['p99']:.1f} ms"
    )
    print(
        f"form step without webhooks ({off['samples']:.0f} steps):           "
        f"p50 {off['p50']:.1f} ms, p99 {off['p99']:.1f} ms"
    )
    print(
        f"next {args.fail_seconds:.0f} s (receiver recovered, backlog draining): "
        f"p50 {on['after_p50']:.1f} ms, p99 {on['after_p99']:.1f} ms; without webhooks "
        f"p50 {off['after_p50']:.1f} ms, p99 {off['after_p99']:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--fail-seconds", type=float, default=30.0)
    parser.add_argument("--pace", type=float, default=20.0, help="form steps per second")
    parser.add_argument("--port", type=int, default=18_765)
    parser.add_argument("--receiver", type=int, default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.receiver is not None:
        receiver_main(arguments.receiver, arguments.fail_seconds)
    else:
        asyncio.run(main(arguments))
