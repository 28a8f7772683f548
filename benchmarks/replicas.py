"""Replicas (issue 14): updates/s and reminders/s of ``bot.py`` processes against the fake Bot
API, in four set-ups:

* ``sqlite×1``: one process on the SQLite file, polling (the default on one machine);
* ``postgres×1``: one process on PostgreSQL, polling;
* ``postgres+redis×1 (webhook)``: one webhook replica on PostgreSQL and Redis behind the
  balancer, to tell the cost of replica mode from the gain of three processes;
* ``postgres+redis×3 (webhook)``: three such replicas behind a round-robin balancer.

Updates (after ``--warm-up`` citizens, not measured): ``--citizens`` citizens each answer the
first ten steps of the petition form, each step as soon as the bot's replies to the last one
arrived (a closed loop: the figure is what the set-up sustains, not an offered load; latency
then grows with the citizens at once). Latency: from pushing the update to its last reply.
Reminders: ``--reminders`` case notices due at once to as many chats, the fake API enforcing
30 messages/s and 1/s per chat with 429s (the sender's budget is 25/s): reminders/s from the
first send to the last, and the seconds until the first (the next tick, every 5 s here).

Where the time goes: each bot process runs with benchmarks/probe/sitecustomize.py (through
PYTHONPATH), which times per update the units of work (queueing, writer lock, statements,
commit), reads, Bot API calls and Redis, and per process the writer lock and the outbox's
steps. ``--profile`` also writes a cProfile of each process (the first replica's top functions
are printed).

    python benchmarks/replicas.py [--citizens 100] [--reminders 1500]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
        [--redis-url redis://127.0.0.1:6379/14] [--only sqlite×1,...] [--profile]

Needs the PostgreSQL and Redis servers for all but the first set-up (each PostgreSQL set-up
gets a schema of its own, dropped afterwards). A 2-core machine runs the fake API, the
balancer, the bots, PostgreSQL and Redis together: the figures are about ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cases.store.db import Database  # noqa: E402
from cases.store.postgres import PostgresDatabase  # noqa: E402
from cases.store.sqlite import SqliteDatabase  # noqa: E402
from cases.store.time import to_db  # noqa: E402
from tests.fakes.bot_api_server import FakeBotAPI  # noqa: E402
from tests.scale_support import (  # noqa: E402
    Citizen,
    forget_bot,
    new_bot_token,
    postgres_schema,
    replicas_behind_balancer,
)
from tests.support import BotProcess  # noqa: E402

PROBE = ROOT / "benchmarks" / "probe"
SETUPS = (
    "sqlite×1",
    "postgres×1",
    "postgres+redis×1 (webhook)",
    "postgres+redis×3 (webhook)",
)
FIRST_CHAT = 2_000_000
TELEGRAM_RATE = 30.0
IDLE_SECONDS = 5.0


class CountingAPI(FakeBotAPI):
    """The fake Bot API, telling the benchmark at once when a chat got a message (scanning
    every call per step would cost the benchmark more than the bots)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: defaultdict[int, int] = defaultdict(int)
        self.arrived: dict[int, asyncio.Event] = {}
        self.sent_at: list[float] = []

    async def _send_message(self, token: str, params: dict[str, Any], call: Any) -> Any:
        result = await super()._send_message(token, params, call)
        chat = int(params["chat_id"])
        self.received[chat] += 1
        self.sent_at.append(time.monotonic())
        event = self.arrived.get(chat)
        if event is not None:
            event.set()
        return result

    async def until(self, chat: int, count: int, within: float) -> None:
        deadline = time.monotonic() + within
        while self.received[chat] < count:
            event = self.arrived.setdefault(chat, asyncio.Event())
            event.clear()
            if self.received[chat] >= count:
                return
            await asyncio.wait_for(event.wait(), max(0.0, deadline - time.monotonic()))


@dataclass
class Figures:
    setup: str
    updates: int = 0
    updates_s: float = 0.0
    runs: list[float] = field(default_factory=list)  # updates/s of each run
    latency_ms: list[float] = field(default_factory=list)
    reminders: int = 0
    reminders_s: float = 0.0
    first_reminder_s: float = 0.0
    reminders_429: int = 0
    probes: list[dict[str, Any]] = field(default_factory=list)
    reminder_probes: list[dict[str, Any]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    idle_cpu: dict[str, float] = field(default_factory=dict)
    reminders_cpu: dict[str, float] = field(default_factory=dict)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run_updates(api: CountingAPI, citizens: list[Citizen]) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def fill(citizen: Citizen) -> None:
        for text, replies in citizen.steps():
            target = api.received[citizen.chat] + replies
            pushed = time.perf_counter()
            api.push_message(citizen.chat, text)
            await api.until(citizen.chat, target, within=60)
            latencies.append((time.perf_counter() - pushed) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(fill(c) for c in citizens))
    return time.perf_counter() - started, latencies


async def queue_notices(db: Database, count: int) -> None:
    """Case notices to citizens, due now (the planner cancels deadline reminders it did not
    plan, so the benchmark queues what a case event queues)."""
    stamp = to_db(datetime.now(UTC))
    payload = json.dumps(
        {
            "notice": "accepted",
            "case_number": "谷复〔2026〕7号",
            "params": {"accepted_on": "2026-11-20", "decision_due": "2027-01-19"},
        },
        ensure_ascii=False,
    )
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO reminders(dedup_key, kind, source_kind, source_id, step, audience,"
            " chat_id, locale, quiet, payload, due_at, created_at, updated_at)"
            " VALUES (?, 'notice', 'notice', ?, 'accepted', 'citizen', ?, 'zh', 'none', ?, ?,"
            " ?, ?)",
            [
                (f"bench:{n}", n, FIRST_CHAT + n, payload, stamp, stamp, stamp)
                for n in range(count)
            ],
        )


async def run_reminders(api: CountingAPI, db: Database, count: int) -> tuple[float, float, int]:
    """Reminders/s from the first send to the last (the steady rate; the first waits for a
    tick), seconds until the first, and the 429s the fake answered."""
    api.global_rate_per_s = TELEGRAM_RATE  # from now on, as Telegram: 30/s, 1/s per chat
    api.per_chat_interval_s = 1.0
    before_429 = api.too_many_requests
    first = len(api.sent_at)
    await queue_notices(db, count)
    queued = time.monotonic()
    deadline = queued + count / 20 + 120
    while sum(api.received[FIRST_CHAT + n] >= 1 for n in range(count)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the reminders were not all sent")
        await asyncio.sleep(0.2)
    sends = api.sent_at[first:]
    return (
        (count - 1) / (max(sends) - min(sends)),
        min(sends) - queued,
        api.too_many_requests - before_429,
    )


@asynccontextmanager
async def processes(
    setup: str, api: CountingAPI, workdir: Path, args: argparse.Namespace
) -> AsyncIterator[tuple[list[BotProcess], Database]]:
    """The set-up's bot processes, started, with the benchmark's own store on their data."""
    async with AsyncExitStack() as stack:
        settings = {
            "FLOOD_LIMIT": "10000",
            # Not the 30 s default, to keep the reminders phase short; ticks cost little
            # (the idle column) and add few statements to an update's share.
            "REMINDER_TICK_SECONDS": "5",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(PROBE),
            **args.probe_settings,
        }
        if setup != "sqlite×1":
            url = await stack.enter_async_context(postgres_schema(args.database_url, "scale"))
            settings["DATABASE_URL"] = url
        if "redis" in setup:
            from redis.asyncio import Redis

            # A bot of its own: its keys in Redis carry its id (no flush of anyone's keys).
            token = settings["BOT_TOKEN"] = new_bot_token()
            redis = Redis.from_url(args.redis_url)
            stack.push_async_callback(redis.aclose)
            stack.push_async_callback(forget_bot, redis, token)
            settings["REDIS_URL"] = args.redis_url
            count = 3 if setup.endswith("×3 (webhook)") else 1
            started, _balancer = await stack.enter_async_context(
                replicas_behind_balancer(api, workdir, count, **settings)
            )
        else:
            process = BotProcess(
                api, workdir, database_path=workdir / "shared.sqlite3", **settings
            )
            stack.push_async_callback(process.close)
            await process.start()
            started = [process]
        db: Database = (
            PostgresDatabase(settings["DATABASE_URL"], pool_size=2)
            if "DATABASE_URL" in settings
            else SqliteDatabase(workdir / "shared.sqlite3")
        )
        await db.open()
        stack.push_async_callback(db.close)
        yield started, db


def read_probes(workdir: Path, snapshot: int = 0) -> list[dict[str, Any]]:
    """What each bot process counted: at exit (``probe-<pid>.json``), or when told
    (``probe-<pid>-<n>.json``, written on SIGUSR1); in the order of the pids."""
    name = re.compile(rf"probe-(\d+)-{snapshot}\.json" if snapshot else r"probe-(\d+)\.json")
    found = sorted(
        (int(m.group(1)), path) for path in workdir.iterdir() if (m := name.fullmatch(path.name))
    )
    return [json.loads(path.read_text(encoding="utf-8")) for _, path in found]


async def snapshot_probes(
    bots: list[BotProcess], workdir: Path, number: int
) -> list[dict[str, Any]]:
    """The ``number``-th snapshot of what every bot process counted so far."""
    for bot in bots:
        if bot.process is not None:
            bot.process.send_signal(signal.SIGUSR1)
    for _ in range(100):
        found = read_probes(workdir, snapshot=number)
        if len(found) == len(bots):
            return found
        await asyncio.sleep(0.05)
    raise RuntimeError("the bot processes wrote no probe snapshot")


def minus(later: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """What a process counted between two snapshots."""
    return {
        part: {k: v - earlier[part].get(k, 0) for k, v in later[part].items()}
        for part in ("totals", "counts", "threads", "statements")
    } | {"updates": later["updates"][len(earlier["updates"]) :]}


def cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc); None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def backends_of(pids: list[int]) -> list[int]:
    """The PostgreSQL backends serving these processes (found by their client ports, which a
    backend shows in its title), not the other work on the server."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[9] in inodes and int(cols[2].rsplit(":", 1)[1], 16) == 5432:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    found = []
    for pid in pids_named("postgres"):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if any(f"({port})" in title for port in ports):
            found.append(pid)
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / tick, sum(values) / tick


class CpuMeter:
    """Cores kept busy during a phase, per party: the bots, this process (fake Bot API,
    balancer, citizens), the bots' PostgreSQL backends, Redis, and the whole machine (other
    work included). A process that ends within the phase is left out."""

    def __init__(self, bots: list[BotProcess]) -> None:
        self.bots = [b.process.pid for b in bots if b.process is not None]
        self.started = time.monotonic()
        self.before = {k: self._cpu(v) for k, v in self._parties().items()}
        self.machine = machine_busy()

    def _parties(self) -> dict[str, list[int]]:
        return {
            "bots": self.bots,
            "benchmark": [os.getpid()],
            "postgres": backends_of(self.bots),
            "redis": pids_named("redis-server"),
        }

    @staticmethod
    def _cpu(pids: list[int]) -> dict[int, float]:
        return {pid: used for pid in pids if (used := cpu_of(pid)) is not None}

    def cores(self) -> dict[str, float]:
        wall = time.monotonic() - self.started
        used = {}
        for party, pids in self._parties().items():
            now = self._cpu(pids)
            before = self.before[party]
            used[party] = sum(now[p] - before.get(p, 0.0) for p in now) / wall
        busy, total = machine_busy()
        used["machine"] = (busy - self.machine[0]) / wall
        used["of"] = (total - self.machine[1]) / wall  # the cores there are
        return used


async def run_setup(setup: str, args: argparse.Namespace) -> Figures:
    figures = Figures(setup)
    with tempfile.TemporaryDirectory(prefix="replicas-") as tmp:
        workdir = Path(tmp)
        args.probe_settings = {"REPLICA_PROBE_OUT": str(workdir)}
        if args.profile:
            args.probe_settings["REPLICA_PROBE_PROFILE"] = "1"
        async with CountingAPI() as api, processes(setup, api, workdir, args) as (bots, db):
            # Warm-up, not measured: first statements prepared on each connection, first
            # models built, first translations read, in every process.
            await run_updates(api, [Citizen(n) for n in range(500, 500 + args.warm_up)])
            warm = await snapshot_probes(bots, workdir, 1)
            meter = CpuMeter(bots)
            await asyncio.sleep(IDLE_SECONDS)  # what the processes cost doing nothing
            figures.idle_cpu = meter.cores()
            meter = CpuMeter(bots)
            for run in range(args.repeat):  # new citizens each time
                citizens = [Citizen(run * args.citizens + n) for n in range(args.citizens)]
                elapsed, latencies = await run_updates(api, citizens)
                figures.runs.append(len(latencies) / elapsed)
                figures.latency_ms.extend(latencies)
            figures.cpu = meter.cores()
            measured = await snapshot_probes(bots, workdir, 2)
            figures.probes = [minus(m, w) for m, w in zip(measured, warm, strict=True)]
            figures.updates = len(figures.latency_ms)
            figures.updates_s = statistics.median(figures.runs)
            figures.reminders = args.reminders
            meter = CpuMeter(bots)
            sent = await run_reminders(api, db, args.reminders)
            figures.reminders_s, figures.first_reminder_s, figures.reminders_429 = sent
            figures.reminders_cpu = meter.cores()
            first_pid = bots[0].process.pid if bots[0].process is not None else 0
        # Written at exit, once the processes have stopped: the reminders phase is the rest.
        pairs = zip(read_probes(workdir), measured, strict=True)
        figures.reminder_probes = [minus(final, phase) for final, phase in pairs]
        profile = workdir / f"probe-{first_pid}.prof"
        if profile.exists():
            print(f"\n--- cProfile of {setup}, its first process: top 25 by own time")
            pstats.Stats(str(profile)).sort_stats("tottime").print_stats(25)
    return figures


# --- the report ----------------------------------------------------------------------------

PARTIES = ("bots", "benchmark", "postgres", "redis")
UPDATE_PARTS = (
    ("db_write", "units of work (queue + writer lock + statements + commit)"),
    ("db_read", "reads"),
    ("telegram", "Bot API calls (the replies)"),
    ("redis", "Redis (FSM state, the chat's lock)"),
)


def update_breakdown(probes: list[dict[str, Any]]) -> dict[str, float]:
    """Mean milliseconds per update in each part, over every process of the set-up."""
    records = [r for probe in probes for r in probe["updates"]]
    if not records:
        return {}
    shares = {
        key: statistics.fmean(r.get(key, 0.0) for r in records) * 1000 for key, _ in UPDATE_PARTS
    }
    shares["total"] = statistics.fmean(r["total"] for r in records) * 1000
    shares["other"] = shares["total"] - sum(shares[key] for key, _ in UPDATE_PARTS)
    shares["p50"] = percentile([r["total"] * 1000 for r in records], 50)
    shares["p99"] = percentile([r["total"] * 1000 for r in records], 99)
    return shares


def writer_figures(probes: list[dict[str, Any]]) -> dict[str, float]:
    totals: defaultdict[str, float] = defaultdict(float)
    counts: defaultdict[str, int] = defaultdict(int)
    for probe in probes:
        for key, value in probe["totals"].items():
            totals[key] += value
        for key, value in probe["counts"].items():
            counts[key] += value
    units = max(1, counts["units"])
    sends = max(1, counts["send_deliver"])
    return {
        "units": counts["units"],
        "units_per_batch": counts["units"] / max(1, counts["groups"]),
        "unit_queue_ms": totals["unit_queue"] / units * 1000,
        "batch_ms": totals["writer_held"] / max(1, counts["groups"]) * 1000,
        "lock_ms": totals["writer_lock"] / max(1, counts["writer_lock"]) * 1000,
        "lock_share": totals["writer_lock"] / totals["writer_held"]
        if totals["writer_held"]
        else 0,
        "tx_enter_ms": totals["db_write_enter"] / max(1, counts["db_write_enter"]) * 1000,
        "send_limiter_ms": totals["send_limiter"] / sends * 1000,
        "send_claim_ms": totals["send_claim"] / sends * 1000,
        "send_deliver_ms": totals["send_deliver"] / sends * 1000,
        "send_mark_ms": totals["send_mark"] / sends * 1000,
        "sends": counts["send_deliver"],
        "pg_statements": counts["pg_statement"] + counts["db_read"] + counts["db_lease"],
        "redis_commands": counts["redis_command"],
        "bot_api_calls": counts["telegram"],
        "updates": sum(len(p["updates"]) for p in probes),
        "main_thread_s": sum(p["threads"].get("MainThread", 0.0) for p in probes),
        "writer_thread_s": sum(p["threads"].get("pg-writer", 0.0) for p in probes),
    }


def report(results: list[Figures], args: argparse.Namespace) -> None:
    base = results[0]
    print(
        f"\nreplicas: {args.citizens} citizens × 10 petition-form steps; {args.reminders}"
        f" notices due at once, fake Bot API at {TELEGRAM_RATE:g}/s and 1/s per chat"
    )
    print(
        f"\nupdates/s: the median of {args.repeat} runs (the runs' figures after it);"
        " latencies of all runs"
    )
    print(
        f"\n{'set-up':28} {'updates/s':>9} {'ratio':>6} {'p50 ms':>7} {'p90 ms':>7}"
        f" {'p99 ms':>7} {'reminders/s':>11} {'ratio':>6} {'first s':>7} {'429s':>5}"
    )
    for f in results:
        print(
            f"{f.setup:28} {f.updates_s:9.1f} {f.updates_s / base.updates_s:6.2f}"
            f" {percentile(f.latency_ms, 50):7.1f} {percentile(f.latency_ms, 90):7.1f}"
            f" {percentile(f.latency_ms, 99):7.1f} {f.reminders_s:11.2f}"
            f" {f.reminders_s / base.reminders_s:6.2f} {f.first_reminder_s:7.1f}"
            f" {f.reminders_429:5d}   ({', '.join(f'{r:.0f}' for r in f.runs)})"
        )
    print("\nwhere an update's time goes (ms per update, mean over the processes; inside bot.py)")
    print(
        f"{'set-up':28} {'total':>6} {'p50':>6} {'p99':>6} {'writes':>7} {'reads':>6}"
        f" {'BotAPI':>7} {'Redis':>6} {'other':>6}"
    )
    for f in results:
        b = update_breakdown(f.probes)
        if not b:
            continue
        print(
            f"{f.setup:28} {b['total']:6.1f} {b['p50']:6.1f} {b['p99']:6.1f}"
            f" {b['db_write']:7.1f} {b['db_read']:6.1f} {b['telegram']:7.1f}"
            f" {b['redis']:6.1f} {b['other']:6.1f}"
        )
    print(
        "\nthe writer in the updates phase (all processes of the set-up): units of work, units"
        " per batch (group commit), ms a unit queued in its process before its batch began,"
        " ms a batch held the writer, ms of that acquiring the writer lock (BEGIN + advisory"
        " lock / BEGIN IMMEDIATE) and its share; ms to enter a transaction() block"
    )
    print(
        f"{'set-up':28} {'units':>6} {'/batch':>6} {'queued':>7} {'batch':>6} {'lock':>6}"
        f" {'share':>6} {'tx in':>6}"
    )
    for f in results:
        w = writer_figures(f.probes)
        print(
            f"{f.setup:28} {w['units']:6d} {w['units_per_batch']:6.2f} {w['unit_queue_ms']:7.2f}"
            f" {w['batch_ms']:6.2f} {w['lock_ms']:6.2f} {w['lock_share']:6.0%}"
            f" {w['tx_enter_ms']:6.2f}"
        )
    print(
        "\ncores kept busy, idle (5 s before the citizens) / updates phase / reminders phase:"
        " bot processes, this benchmark (fake Bot API, balancer, citizens), the bots'"
        " PostgreSQL backends, Redis; the whole machine (other work included) of its cores"
    )
    print(
        f"{'set-up':28} {'bots':>15} {'bench':>15} {'postgres':>15} {'redis':>15} {'machine':>16}"
    )
    for f in results:
        i, c, r = f.idle_cpu, f.cpu, f.reminders_cpu
        print(
            f"{f.setup:28}"
            + "".join(f" {i[k]:4.2f}/{c[k]:4.2f}/{r[k]:4.2f}" for k in (*PARTIES, "machine"))
            + f" of {c['of']:.0f}"
        )
    print(
        "\nCPU ms per update (updates phase, less the idle cost): bots, benchmark, PostgreSQL,"
        " Redis"
    )
    print(f"{'set-up':28} {'bots':>6} {'bench':>6} {'postgres':>8} {'redis':>6}")
    for f in results:
        per = {k: (f.cpu[k] - f.idle_cpu[k]) / f.updates_s * 1000 for k in PARTIES}
        print(
            f"{f.setup:28} {per['bots']:6.2f} {per['benchmark']:6.2f} {per['postgres']:8.2f}"
            f" {per['redis']:6.2f}"
        )
    print(
        "\nper update (updates phase): round trips to PostgreSQL (statements and reads), Redis"
        " commands, Bot API calls; CPU ms of the bots' event loops and PostgreSQL writer threads"
    )
    print(f"{'set-up':28} {'pg':>6} {'redis':>6} {'botapi':>6} {'loop ms':>8} {'writer ms':>9}")
    for f in results:
        w = writer_figures(f.probes)
        n = max(1, w["updates"])
        print(
            f"{f.setup:28} {w['pg_statements'] / n:6.1f} {w['redis_commands'] / n:6.1f}"
            f" {w['bot_api_calls'] / n:6.1f} {w['main_thread_s'] / n * 1000:8.2f}"
            f" {w['writer_thread_s'] / n * 1000:9.2f}"
        )
    last = results[-1]
    n = max(1, writer_figures(last.probes)["updates"])
    by_text: defaultdict[str, int] = defaultdict(int)
    for probe in last.probes:
        for text, count in probe.get("statements", {}).items():
            by_text[text] += count
    if by_text:
        print(f"\nPostgreSQL statements per update in {last.setup} (updates phase, top 15)")
        for text, count in sorted(by_text.items(), key=lambda item: -item[1])[:15]:
            print(f"  {count / n:5.2f}  {text}")
    print("\na reminder's send (ms per send): waiting for the budget, claim, Bot API, mark sent")
    print(f"{'set-up':28} {'sends':>6} {'budget':>7} {'claim':>6} {'BotAPI':>7} {'mark':>6}")
    for f in results:
        w = writer_figures(f.reminder_probes)
        print(
            f"{f.setup:28} {w['sends']:6d} {w['send_limiter_ms']:7.1f} {w['send_claim_ms']:6.1f}"
            f" {w['send_deliver_ms']:7.1f} {w['send_mark_ms']:6.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=100)
    parser.add_argument("--reminders", type=int, default=1500)
    parser.add_argument("--warm-up", type=int, default=30, help="citizens, not measured")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the updates phase")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--only", default=",".join(SETUPS), help="comma-separated set-ups")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    wanted = [s for s in SETUPS if s in args.only.split(",")]
    results = []
    for setup in wanted:
        print(f"running {setup} …", flush=True)
        results.append(asyncio.run(run_setup(setup, args)))
    report(results, args)


if __name__ == "__main__":
    main()
