"""Webhooks with bot.py as a process: delivery across a crash, the inbound endpoint, a bad file."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot import EXIT_DATA
from scheduling.inbound import PATH
from tests.fakes.bot_api_server import FakeBotAPI
from tests.support import START_TIMEOUT, BotProcess, start_bot
from tests.webhooks_support import (
    COURT_SECRET,
    SECRET,
    CountySystem,
    hearing_body,
    signed_headers,
)

pytestmark = pytest.mark.slow  # each test starts bot.py as a process


@pytest.fixture
async def system() -> AsyncIterator[CountySystem]:
    receiver = await CountySystem(SECRET).start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebhookBotProcess(BotProcess):
    def __init__(self, api: FakeBotAPI, workdir: Path, **settings: str) -> None:
        super().__init__(api, workdir)
        self.settings = settings

    def env(self, **overrides: str | None) -> dict[str, str]:
        return super().env(**{**self.settings, **overrides})


def _write_file(path: Path, system: CountySystem) -> None:
    path.write_text(
        json.dumps(
            {
                "receivers": [
                    {"id": "c12345", "url": system.url, "secret": SECRET,
                     "events": ["case.created", "case.status_changed"]}
                ],
                "senders": [{"id": "court", "secret": COURT_SECRET, "may": ["hearing.scheduled"]}],
            }
        ),
        encoding="utf-8",
    )  # fmt: skip


def _insert_case(path: Path, number: str) -> None:
    """Another writer on the same file (the trigger captures whoever writes)."""
    conn = sqlite3.connect(path, timeout=10)
    try:
        with conn:
            now = datetime.now(UTC).isoformat(timespec="microseconds")
            conn.execute(
                "INSERT OR IGNORE INTO users(telegram_id, first_seen, last_seen) VALUES (7, ?, ?)",
                (now, now),
            )
            conn.execute(
                "INSERT INTO cases(number, procedure, status, citizen_id, subject, received_on,"
                " created_at, updated_at) VALUES (?, 'mediation', 'submitted', 7, '邻里纠纷',"
                " '2026-11-25', ?, ?)",
                (number, now, now),
            )
    finally:
        conn.close()


async def test_the_running_bot_delivers_events_even_across_a_crash_and_listens_inbound(
    tmp_path: Path, system: CountySystem
) -> None:
    path = tmp_path / "webhooks.json"
    _write_file(path, system)
    port = _free_port()
    async with FakeBotAPI() as api:
        process = WebhookBotProcess(api, tmp_path, WEBHOOKS_PATH=str(path), HTTP_PORT=str(port))
        try:
            await process.start()
            _insert_case(process.database_path, "TJ-2026-000001")
            await api.wait_for(lambda: len(system.accepted) == 1, timeout=15)
            await process.crash()  # kill -9
            _insert_case(process.database_path, "TJ-2026-000002")  # while the bot is down
            await process.start()
            await api.wait_for(lambda: len(system.accepted) == 2, timeout=15)
            body = hearing_body("court-9")
            now = int(datetime.now(UTC).timestamp())
            headers = signed_headers(COURT_SECRET, "court", "hearing.scheduled", "court-9",
                                     body, now)  # fmt: skip
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    f"http://127.0.0.1:{port}{PATH}", content=body, headers=headers
                )
            assert (answer.status_code, answer.json()["error"]) == (404, "court_case_not_found")
            assert await process.terminate() == 0
        finally:
            await process.close()
    numbers = [r.body["case"]["number"] for r in system.accepted]
    assert numbers == ["TJ-2026-000001", "TJ-2026-000002"] and system.duplicates == 0
    assert SECRET not in process.log() and COURT_SECRET not in process.log()
    assert system.url not in process.log()  # a receiver's URL may carry a token


async def test_a_bad_receivers_file_exits_4_with_one_line_and_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.json"
    path.write_text(
        json.dumps({"receivers": [{"id": "Bad Id", "url": "https://x.example/h",
                                   "secret": "tiny-secret", "events": []}]}),
        encoding="utf-8",
    )  # fmt: skip
    async with FakeBotAPI() as api:
        env = BotProcess(api, tmp_path).env(WEBHOOKS_PATH=str(path))
        process = await start_bot(
            tmp_path, env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert process.returncode == EXIT_DATA
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["level"] == "ERROR" and "webhooks file" in record["message"]
    assert "WEBHOOKS_PATH" in record["message"] and "tiny-secret" not in lines[0]
