"""Start-up as an operator meets it: ``python bot.py`` from another folder, a copied
.env.example, a forgotten token, a broken database or organisation file, Telegram rejecting the
token or not reachable yet. Each must end in one clear line and a documented exit code, or in
polling, never in a traceback or a process that hangs (README, "Exit codes")."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bot_api_server import FakeBotAPI
from tests.support import (
    ROOT,
    START_TIMEOUT,
    STOP_TIMEOUT,
    TOKEN,
    BotProcess,
    isolated_environment,
    start_bot,
)

pytestmark = pytest.mark.slow  # each test starts bot.py as a process

EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")


def env_from_example(workdir: Path, **lines: str) -> dict[str, str]:
    """An environment whose only settings are .env.example copied to ``workdir/.env``, with
    ``lines`` replaced, as the README's Quick start does it."""
    text = EXAMPLE
    for key, value in lines.items():
        before = text
        text = "\n".join(
            f"{key}={value}" if line.startswith(f"{key}=") else line for line in text.splitlines()
        )
        assert text != before, f"{key} is not a line of .env.example"
    env_file = workdir / ".env"
    env_file.write_text(text + "\n", encoding="utf-8")
    env = isolated_environment(workdir)
    env["BOT_ENV_FILE"] = str(env_file)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def run_to_exit(workdir: Path, env: dict[str, str]) -> tuple[int, list[str], bytes]:
    """Run bot.py until it exits by itself (bounded: a hang fails the test)."""
    process = await start_bot(
        workdir, env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("bot.py did not exit (hung after a start-up failure)") from None
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert process.returncode is not None
    return process.returncode, lines, stdout


def log_records(lines: list[str]) -> list[dict[str, Any]]:
    """Every stderr line must be one JSON log record (a traceback would not be)."""
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a log line: {line!r}\n" + "\n".join(lines)) from None
    return records


def errors(lines: list[str]) -> list[str]:
    return [r["message"] for r in log_records(lines) if r["level"] == "ERROR"]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


async def wait_for_text(path: Path, text: str, process: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while text not in read(path):
        assert process.returncode is None, read(path)
        assert loop.time() < deadline, read(path)
        await asyncio.sleep(0.05)


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("bot.py ignored SIGTERM") from None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def polls(api: FakeBotAPI, process: asyncio.subprocess.Process, log: Path) -> None:
    def polling() -> bool:
        assert process.returncode is None, log.read_text(encoding="utf-8")
        return bool(api.calls_of("getUpdates"))

    await api.wait_for(polling, timeout=START_TIMEOUT)


# ---------------------------------------------------------------- tests


async def test_copied_example_with_a_token_starts_polling_from_another_folder(
    tmp_path: Path,
) -> None:
    """The Quick start: every line of .env.example as it is (empty ORGANISATION_PATH and
    CALENDAR_OVERRIDES_PATH mean the bundled files), only the token filled in."""
    async with FakeBotAPI() as api:
        env = env_from_example(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base_url)
        log = tmp_path / "stderr"
        with log.open("wb") as stderr:
            process = await start_bot(tmp_path, env, stdout=stderr, stderr=stderr)
            try:
                await polls(api, process, log)
                api.push_message(5001, "/start")
                answers = await api.wait_for(lambda: api.texts(5001), timeout=START_TIMEOUT)
            finally:
                exit_code = await stop(process)

    assert "欢迎使用谷城县" in answers[0]  # locales found from another working directory
    assert exit_code == 0, log.read_text(encoding="utf-8")
    messages = [r["message"] for r in log_records(log.read_text("utf-8").splitlines())]
    assert "bot ready" in messages
    assert (tmp_path / "data" / "bot.sqlite3").is_file()  # DATABASE_PATH=data/bot.sqlite3


async def test_placeholder_token_of_the_example_exits_2_with_one_line(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = env_from_example(tmp_path, TELEGRAM_API_BASE=api.base_url)  # token untouched
        exit_code, lines, stdout = await run_to_exit(tmp_path, env)
        api_calls = api.calls

    assert exit_code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: BOT_TOKEN is still the example value")
    assert ".env.example" in lines[0]
    assert "@BotFather" in lines[0]
    assert stdout == b""
    assert api_calls == []  # it never talked to Telegram
    assert not (tmp_path / "data").exists()  # nor created a database


async def test_database_file_that_is_not_sqlite_exits_4_without_hanging(tmp_path: Path) -> None:
    garbage = tmp_path / "bot.sqlite3"
    garbage.write_text("these are somebody's notes, not a database\n", encoding="utf-8")
    async with FakeBotAPI() as api:
        env = BotProcess(api, tmp_path).env(DATABASE_PATH=str(garbage))
        exit_code, lines, _ = await run_to_exit(tmp_path, env)
        api_calls = api.calls

    assert exit_code == 4, lines
    assert len(lines) == 1, lines
    [message] = errors(lines)
    assert f"database {garbage} cannot be used (file is not a database)" in message
    assert "DATABASE_PATH" in message and "BACKUP_DIR" in message
    assert garbage.read_text(encoding="utf-8").startswith("these are somebody's notes")
    assert api_calls == []


async def test_unreachable_postgresql_exits_4_with_one_line_and_no_password(
    tmp_path: Path,
) -> None:
    url = f"postgresql://bot:Pw-in-url@127.0.0.1:{free_port()}/gucheng?password=Pw-in-query"
    async with FakeBotAPI() as api:
        env = BotProcess(api, tmp_path).env(DATABASE_URL=url)
        exit_code, lines, stdout = await run_to_exit(tmp_path, env)
        api_calls = api.calls

    assert exit_code == 4, lines
    assert len(lines) == 1, lines
    [message] = errors(lines)
    assert "database postgresql://bot:***@127.0.0.1:" in message
    assert "?password=***" in message and "DATABASE_URL" in message
    assert "Pw-in" not in "\n".join(lines) + stdout.decode()
    assert api_calls == []


@pytest.mark.parametrize("query", ["", "?sslmode=sometimes"])
async def test_malformed_database_url_exits_2_with_one_line_and_no_password(
    tmp_path: Path, query: str
) -> None:
    """asyncpg refuses such an address with a ValueError of its own: it was exit code 1 and a
    traceback (a port that is not a number, an unknown sslmode)."""
    port = "5432" if query else "five"
    url = f"postgresql://bot:Pw-in-url@127.0.0.1:{port}/gucheng{query}"
    async with FakeBotAPI() as api:
        env = BotProcess(api, tmp_path).env(DATABASE_URL=url)
        exit_code, lines, stdout = await run_to_exit(tmp_path, env)

    assert exit_code == 2, lines
    assert len(lines) == 1, lines
    [message] = errors(lines)
    assert message.startswith("not starting: DATABASE_URL postgresql://bot:***@127.0.0.1:")
    assert "is not a usable PostgreSQL address" in message
    assert "Pw-in-url" not in "\n".join(lines) + stdout.decode()


async def test_unreachable_redis_exits_4_with_one_line_before_anything_is_opened(
    tmp_path: Path,
) -> None:
    """It started, said "bot ready", and then failed every update on its chat lock (polling
    confirmed each to Telegram: the citizens' messages were lost without an answer)."""
    url = f"redis://:Pw-of-redis@127.0.0.1:{free_port()}/0"
    async with FakeBotAPI() as api:
        process = BotProcess(api, tmp_path)
        exit_code, lines, stdout = await run_to_exit(tmp_path, process.env(REDIS_URL=url))
        api_calls = api.calls

    assert exit_code == 4, lines
    assert len(lines) == 1, lines
    [message] = errors(lines)
    assert message.startswith("not starting: Redis at redis://:***@127.0.0.1:")
    assert "REDIS_URL" in message
    assert "Pw-of-redis" not in "\n".join(lines) + stdout.decode()
    assert api_calls == []
    assert not process.database_path.exists()


async def test_a_replica_that_cannot_start_leaves_the_others_webhook_alone(
    tmp_path: Path,
) -> None:
    """A second webhook replica whose WEBHOOK_LISTEN is taken: it deleted the webhook the
    first one serves (every update stopped for all replicas) and exited 1 with a traceback."""
    port = free_port()
    webhook = {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/updates",
        "WEBHOOK_SECRET": "replica-secret_0123456789",
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
    }
    async with FakeBotAPI() as api:
        first = BotProcess(api, tmp_path, name="first", **webhook)
        try:
            await first.start()
            second = BotProcess(api, tmp_path, name="second", **webhook)
            exit_code, lines, _ = await run_to_exit(tmp_path, second.env())
            assert exit_code == 2, lines
            [message] = errors(lines)
            assert f"WEBHOOK_LISTEN 127.0.0.1:{port} cannot be used" in message
            assert api.webhook_url == webhook["WEBHOOK_URL"]
            assert api.count("deleteWebhook") == 0
            api.push_message(5001, "/start")
            await api.wait_for(lambda: api.sent_messages(5001))  # the first still serves
        finally:
            await first.close()


async def test_invalid_organisation_file_lists_its_problems_and_exits_4(tmp_path: Path) -> None:
    organisation = tmp_path / "county.json"
    organisation.write_text(json.dumps({"schema_version": 1, "townships": 3}), "utf-8")
    async with FakeBotAPI() as api:
        process = BotProcess(api, tmp_path)
        env = process.env(ORGANISATION_PATH=str(organisation))
        exit_code, lines, _ = await run_to_exit(tmp_path, env)

    assert exit_code == 4, lines
    assert len(lines) == 1, lines
    [message] = errors(lines)
    assert f"organisation file {organisation} has" in message
    assert "\n  - townships: " in message  # every problem, one per line
    assert "ORGANISATION_PATH" in message
    assert not process.database_path.exists()  # checked before the database is touched


async def test_telegram_rejecting_the_token_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    async with FakeBotAPI(token="42:the-real-token") as api:  # ours is another one: 401
        exit_code, lines, _ = await run_to_exit(tmp_path, BotProcess(api, tmp_path).env())
        methods = [call.method for call in api.calls]

    assert exit_code == 2, lines
    [message] = errors(lines)
    assert message.startswith("not starting: Telegram rejected BOT_TOKEN (Unauthorized)")
    assert "@BotFather" in message
    assert methods == ["getMe"]  # no retries: waiting cannot fix a wrong token


async def test_unreachable_telegram_is_retried_until_it_answers(tmp_path: Path) -> None:
    """A county server may boot before its network: the bot waits, then starts normally."""
    port = free_port()
    api = FakeBotAPI(port=port)
    bot = BotProcess(api, tmp_path)
    env = bot.env(TELEGRAM_API_BASE=f"http://127.0.0.1:{port}")
    log = tmp_path / "stderr"
    with log.open("wb") as stderr:
        process = await start_bot(tmp_path, env, stdout=stderr, stderr=stderr)
        try:
            await wait_for_text(log, "cannot reach Telegram yet", process)
            async with api:
                await polls(api, process, log)
                assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]
        finally:
            exit_code = await stop(process)

    assert exit_code == 0
    text = log.read_text("utf-8")
    assert "Traceback" not in text
    warnings = [r for r in log_records(text.splitlines()) if r["level"] == "WARNING"]
    assert any("trying again in" in r["message"] for r in warnings)


async def test_stop_signal_while_waiting_for_telegram_exits_0(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = BotProcess(FakeBotAPI(), tmp_path).env(TELEGRAM_API_BASE=f"http://127.0.0.1:{port}")
    log = tmp_path / "stderr"
    with log.open("wb") as stderr:
        process = await start_bot(tmp_path, env, stdout=stderr, stderr=stderr)
        await wait_for_text(log, "cannot reach Telegram yet", process)
        exit_code = await stop(process)

    assert exit_code == 0
    records = log_records(log.read_text("utf-8").splitlines())
    assert records[-1]["message"] == "stopped while waiting for Telegram"
    assert not [r for r in records if r["level"] == "ERROR"]


def test_missing_translation_catalogues_are_compiled_at_start(tmp_path: Path) -> None:
    """Regression: started as ``python bot.py`` without the install step, the catalogues were
    not compiled and Chinese-speaking citizens were answered in English without a word."""
    import gettext
    import shutil

    from bot import ensure_catalogues

    locales = tmp_path / "locales"
    shutil.copytree(ROOT / "locales" / "src", locales / "src")
    assert ensure_catalogues(locales) is True
    zh = gettext.translation("messages", locales, languages=["zh"])
    assert zh.gettext("Yes") == "是"
    assert ensure_catalogues(locales) is False  # up to date: nothing to do
    source = next((locales / "src" / "zh").glob("*.po"))
    later = (locales / "zh" / "LC_MESSAGES" / "messages.mo").stat().st_mtime + 10
    import os

    os.utime(source, (later, later))
    assert ensure_catalogues(locales) is True  # a newer source is compiled again


def test_uncompilable_catalogues_refuse_start_with_what_to_run(tmp_path: Path) -> None:
    import pytest

    from bot import StartupError, ensure_catalogues

    locales = tmp_path / "locales"
    (locales / "src" / "zh").mkdir(parents=True)
    (locales / "src" / "zh" / "a.po").write_text('msgid "Yes"\nmsgstr ""\n', encoding="utf-8")
    with pytest.raises(StartupError, match=r"compile_locales\.py"):
        ensure_catalogues(locales)
