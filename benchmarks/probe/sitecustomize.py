"""A timing probe for benchmarks/replicas.py, loaded into ``bot.py`` unchanged: the benchmark
puts this folder on the bot process's PYTHONPATH, and Python imports ``sitecustomize`` at
start-up. Does nothing unless ``REPLICA_PROBE_OUT`` names a folder, where each process writes
``probe-<pid>.json`` at exit.

Per update (``Dispatcher.feed_update``, in the update's own task): its whole duration, and of
that the time awaiting units of work (``Database.run`` and ``transaction()``: queueing behind
this process's other units, the writer lock, the statements, the commit), reads (the pool or
the reader), Bot API calls and Redis (FSM state and the chat's lock). Per process: how long
write batches held the writer, how much of that was spent acquiring the writer lock (BEGIN plus
PostgreSQL's advisory lock or SQLite's BEGIN IMMEDIATE), and how long units queued before
their batch started. The outbox: time in the send limiter, claims, sends and leases.

SIGUSR1 writes what was counted so far to ``probe-<pid>-<n>.json`` (the benchmark's phases).
With ``REPLICA_PROBE_PROFILE=1`` the process also runs under cProfile (``probe-<pid>.prof``).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

OUT = os.environ.get("REPLICA_PROBE_OUT")
ROOT = Path(__file__).resolve().parents[2]

_update: ContextVar[dict[str, float] | None] = ContextVar("probe_update", default=None)
totals: defaultdict[str, float] = defaultdict(float)
counts: defaultdict[str, int] = defaultdict(int)
updates: list[dict[str, float]] = []
statements: defaultdict[str, int] = defaultdict(int)


def add(key: str, seconds: float) -> None:
    totals[key] += seconds
    counts[key] += 1
    current = _update.get()
    if current is not None:
        current[key] = current.get(key, 0.0) + seconds


def timed(owner: Any, name: str, key: str) -> None:
    """Replace the coroutine method ``owner.name`` by one that adds its duration to ``key``."""
    original = getattr(owner, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            add(key, time.perf_counter() - started)

    setattr(owner, name, wrapper)


def counted_sql(owner: Any, name: str, position: int) -> None:
    """Count the statements ``owner.name`` runs (its argument at ``position``), by their text."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        statements[" ".join(str(args[position]).split())[:70]] += 1
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def timed_context(owner: Any, name: str, key: str, enter_key: str) -> None:
    """The same for a method returning an async context manager; ``enter_key``: the wait
    until the block starts (for a transaction: this process's lock and the writer lock)."""
    original = getattr(owner, name)

    @asynccontextmanager
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            async with original(*args, **kwargs) as value:
                add(enter_key, time.perf_counter() - started)
                yield value
        finally:
            add(key, time.perf_counter() - started)

    setattr(owner, name, wrapper)


def install() -> None:
    sys.path.insert(0, str(ROOT))
    from aiogram import Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
    from redis.asyncio.client import Redis

    from cases.store import db as store
    from cases.store import postgres
    from cases.store.postgres import PostgresDatabase
    from cases.store.sqlite import SqliteDatabase
    from scheduling.outbox import Outbox
    from scheduling.sender import TelegramSender

    class Unit(store._Unit):
        __slots__ = ("created",)

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.created = time.perf_counter()

    store._Unit = Unit  # type: ignore[misc]
    original_group = store.Database._commit_group

    async def commit_group(self: Any, batch: list[Any]) -> None:
        started = time.perf_counter()
        for unit in batch:
            totals["unit_queue"] += started - unit.created
        counts["units"] += len(batch)
        try:
            await original_group(self, batch)
        finally:
            totals["writer_held"] += time.perf_counter() - started
            counts["groups"] += 1

    store.Database._commit_group = commit_group  # type: ignore[method-assign]

    for cls in (PostgresDatabase, SqliteDatabase):
        original_begin = cls._begin

        def begin(self: Any, raw: Any, _original: Any = original_begin) -> None:
            started = time.perf_counter()  # in the writer's thread: no update context here
            try:
                _original(self, raw)
            finally:
                totals["writer_lock"] += time.perf_counter() - started
                counts["writer_lock"] += 1

        cls._begin = begin  # type: ignore[method-assign]
        timed(cls, "fetch_all", "db_read")
        timed_context(cls, "transaction", "db_write", "db_write_enter")
    timed(PostgresDatabase, "take_rows", "db_lease")
    # Round trips: every statement of a unit of work is one (from the writer's thread, through
    # the event loop); every Redis command is one.
    timed(postgres, "run_statement", "pg_statement")
    counted_sql(postgres, "run_statement", 1)
    counted_sql(PostgresDatabase, "fetch_all", 1)
    counted_sql(PostgresDatabase, "take_rows", 1)
    timed(Redis, "execute_command", "redis_command")
    timed(store.Database, "run", "db_write")
    timed(AiohttpSession, "make_request", "telegram")
    for name in ("get_state", "set_state", "get_data", "set_data"):
        timed(RedisStorage, name, "redis")
    timed_context(RedisEventIsolation, "lock", "redis_lock_held", "redis")
    timed(TelegramSender, "wait_turn", "send_limiter")
    timed(TelegramSender, "deliver", "send_deliver")
    timed(Outbox, "_claim", "send_claim")
    timed(Outbox, "_mark_sent", "send_mark")
    timed(Outbox, "_lease", "send_lease")

    original_feed = Dispatcher.feed_update

    async def feed_update(self: Any, *args: Any, **kwargs: Any) -> Any:
        record: dict[str, float] = {}
        token = _update.set(record)
        started = time.perf_counter()
        try:
            return await original_feed(self, *args, **kwargs)
        finally:
            record["total"] = time.perf_counter() - started
            _update.reset(token)
            updates.append(record)

    Dispatcher.feed_update = feed_update  # type: ignore[method-assign]


def target(suffix: str) -> Path:
    assert OUT
    return Path(OUT) / f"probe-{os.getpid()}.{suffix}"


def thread_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads so far, by thread name (Linux /proc)."""
    import threading

    names = {t.native_id: t.name.split("_")[0] for t in threading.enumerate()}
    found: defaultdict[str, float] = defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name), "other")
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[name] += (int(fields[11]) + int(fields[12])) / tick
    return dict(found)


def dump(path: Path | None = None) -> None:
    counted = {"totals": dict(totals), "counts": dict(counts), "updates": updates}
    counted["threads"] = thread_cpu()
    counted["statements"] = dict(statements)
    (path or target("json")).write_text(json.dumps(counted), encoding="utf-8")


snapshots = 0


def snapshot(*_: Any) -> None:
    global snapshots
    snapshots += 1
    assert OUT
    dump(Path(OUT) / f"probe-{os.getpid()}-{snapshots}.json")


if OUT:
    import signal

    install()
    atexit.register(dump)
    signal.signal(signal.SIGUSR1, snapshot)
    if os.environ.get("REPLICA_PROBE_PROFILE") == "1":
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        atexit.register(lambda: profiler.dump_stats(target("prof")))
