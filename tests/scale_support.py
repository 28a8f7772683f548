"""Helpers of the replica tests (tests/test_scale.py, tests/test_replicas_pg.py) and of
benchmarks/replicas.py: the servers replicas share (Redis; a PostgreSQL schema of their own),
a round-robin load balancer, and ``bot.py`` as a webhook replica behind it.

Each server is asked once; a test that needs one that does not answer is skipped with one line
saying which and why (a newcomer's machine may have neither).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from cases.intake.identity import resident_id_check_char
from tests.fakes.bot_api_server import FakeBotAPI
from tests.support import BotProcess

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "replica-secret_0123456789"
TOKEN = "123456:TEST-token_for-the-fake"


async def redis_or_skip(url: str = REDIS_URL) -> Redis:
    """A client of the test Redis; skips the test when none answers. Nothing is flushed:
    several checkouts' suites may share the server (see :func:`new_bot_token`)."""
    client = Redis.from_url(url)
    try:
        await asyncio.wait_for(client.ping(), 2)
    except Exception as exc:  # any failure to answer means: not on this machine
        await client.aclose()
        pytest.skip(f"no Redis server at {url} ({type(exc).__name__}): set TEST_REDIS_URL")
    return client


def new_bot_token() -> str:
    """A token for one test's bot. Every key the bot keeps in Redis (FSM state, chat locks,
    the send budget) carries the bot's id, so tests running at once on one Redis never share
    a key, and a test's keys can be deleted without flushing anyone else's."""
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:TEST-token_for-the-fake"


def bot_id_of(token: str) -> int:
    return int(token.split(":", 1)[0])


async def forget_bot(client: Redis, token: str) -> None:
    """Delete the keys of the bot with this token."""
    async for key in client.scan_iter(match=f"gucheng:*:{bot_id_of(token)}:*"):
        await client.delete(key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_search_path(url: str, schema: str) -> str:
    """DATABASE_URL naming the schema (cases/store/postgres.py reads ``?search_path=``)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, f"search_path={schema}") if q)
    return urlunsplit(parts._replace(query=query))


@asynccontextmanager
async def postgres_schema(url: str, prefix: str = "scale") -> AsyncIterator[str]:
    """A new, empty schema on the server at ``url``, dropped afterwards (after every replica
    has gone: a live connection would keep its locks); yields the DATABASE_URL for it."""
    import asyncpg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield with_search_path(url, schema)
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await admin.close()


class Balancer:
    """A round-robin load balancer in front of the replicas, as an operator would run one:
    a replica that does not answer (killed) gets a 502, and Telegram sends the update again."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._next = itertools.cycle(range(len(ports)))
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.answered: dict[int, int] = {}  # replica port -> updates it answered with 200
        self.cut_off: dict[int, int] = {}  # replica port -> requests that got no answer
        self.in_flight: dict[int, int] = {}  # replica port -> requests waiting for it now

    async def __aenter__(self) -> Balancer:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None and self._runner is not None
        await self._session.close()
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg"

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        port = self.ports[next(self._next)]
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        self.in_flight[port] = self.in_flight.get(port, 0) + 1
        try:
            async with self._session.request(
                request.method,
                f"http://127.0.0.1:{port}{request.rel_url}",
                data=body,
                headers=headers,
            ) as answer:
                if answer.status == 200:
                    self.answered[port] = self.answered.get(port, 0) + 1
                return web.Response(status=answer.status, body=await answer.read())
        except aiohttp.ClientError:
            self.cut_off[port] = self.cut_off.get(port, 0) + 1
            return web.Response(status=502)
        finally:
            self.in_flight[port] -= 1


def replica(
    api: FakeBotAPI, workdir: Path, database: Path, name: str, url: str, **more: str
) -> BotProcess:
    """``bot.py`` on webhooks (``url``: the balancer's address); ``database`` is the SQLite
    file, unused when ``more`` carries a DATABASE_URL."""
    return BotProcess(
        api,
        workdir,
        database_path=database,
        name=name,
        WEBHOOK_URL=url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN=f"127.0.0.1:{free_port()}",
        **more,
    )


def listen_port(process: BotProcess) -> int:
    return int(process.settings["WEBHOOK_LISTEN"].rsplit(":", 1)[1])


@asynccontextmanager
async def replicas_behind_balancer(
    api: FakeBotAPI, workdir: Path, count: int, *, together: bool = False, **settings: str
) -> AsyncIterator[tuple[list[BotProcess], Balancer]]:
    """``count`` replicas behind one balancer whose address is the webhook, started one after
    the other, or ``together`` as an orchestrator starts them (all migrating one new
    database at once); all stopped afterwards."""
    processes = [
        replica(api, workdir, workdir / "shared.sqlite3", f"r{i}", "", **settings)
        for i in range(count)
    ]
    async with Balancer([listen_port(p) for p in processes]) as balancer:
        for process in processes:
            process.settings["WEBHOOK_URL"] = balancer.url
        try:
            if together:
                await asyncio.gather(*(process.start() for process in processes))
            else:
                for process in processes:
                    await process.start()
            yield processes, balancer
        finally:
            for process in processes:
                await process.close()


# ---------------------------------------------------------------- citizens filling a form

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN_NAMES = "伟芳娜敏静丽强磊洋勇"
TOWNSHIP = ("石花镇", "shihua")


@dataclass(frozen=True)
class Citizen:
    """A citizen with answers of their own, so an answer applied to another question, twice,
    or to another person's draft shows."""

    n: int

    @property
    def chat(self) -> int:
        return 7000 + self.n

    def id_number(self) -> str:
        born = f"{1950 + self.n % 50}{self.n % 12 + 1:02d}{self.n % 28 + 1:02d}"
        first17 = f"420625{born}{self.n % 1000:03d}"
        return first17 + resident_id_check_char(first17)

    def answers(self) -> dict[str, Any]:
        """The draft's answers after the ten steps, in the order they are given."""
        return {
            "elsewhere": "none",
            "petition_kind": "complaint",
            "applicant_name": SURNAMES[self.n // 10 % 10] + GIVEN_NAMES[self.n % 10],
            "id_number": self.id_number(),
            "id_type": "resident_id",  # follows from a resident ID number
            "phone": f"138{self.n:08d}",
            "address": f"石花镇东街{self.n}号",
            "township_id": TOWNSHIP[1],
            "request": f"修复第{self.n}村道路面",
            "facts": f"第{self.n}村的村道损坏已有一年，孩子们每天走这条路上学。",
        }

    def steps(self) -> list[tuple[str, int]]:
        """What the citizen types (a button's label counts as pressing it) and how many
        messages the bot answers each with."""
        answers = self.answers()
        return [
            ("/petition", 1),
            ("没有，其他地方都没有受理", 1),
            ("为自己的事情申诉、求决", 1),
            (answers["applicant_name"], 1),
            (answers["id_number"], 1),
            (answers["phone"], 2),  # "saved" (the contact keyboard goes), then the next question
            (answers["address"], 1),
            (TOWNSHIP[0], 1),
            (answers["request"], 1),
            (answers["facts"], 1),
        ]
