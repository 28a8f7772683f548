"""The operator's files in deploy/ agree with the code, and the image keeps secrets and
citizens' data out (README, "Running at scale"). Docker is not needed: the files are read."""

from __future__ import annotations

import re

import pytest

from serving import DRAIN_SECONDS, HEALTH_PATH
from settings import Settings
from tests.support import ROOT

DEPLOY = ROOT / "deploy"


def _pattern(line: str) -> re.Pattern[str]:
    """A .dockerignore line as Docker reads it: anchored at the context root, ``*`` and ``?``
    within one path element, ``**`` across any number of them (also none)."""
    parts = []
    for piece in re.split(r"(\*\*/|\*\*|\*|\?)", line.strip("/")):
        parts.append(
            {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(piece)
            or re.escape(piece)
        )
    return re.compile("".join(parts))


def ignored(path: str) -> bool:
    """Whether ``docker build`` leaves ``path`` (relative to the repository) out: it or one of
    its folders matches a pattern (this file has no ``!`` exceptions)."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [_pattern(line) for line in lines if line.strip() and not line.startswith("#")]
    assert not any(line.startswith("!") for line in lines)
    elements = path.split("/")
    prefixes = ["/".join(elements[: n + 1]) for n in range(len(elements))]
    return any(p.fullmatch(prefix) for p in patterns for prefix in prefixes)


def test_the_image_gets_no_settings_file_database_or_local_environment() -> None:
    assert "COPY . ." in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for secret in (
        ".env",
        ".env.web",
        "data/bot.sqlite3",
        "data/bot.sqlite3-wal",
        "data/backups/bot-20261206-180205.sqlite3",
        "data/webchat/sessions.json",
        "somewhere/else/copy.sqlite3",
        ".venv/bin/python",
        ".git/config",
        "tests/artifacts/webchat/shot.png",
    ):
        assert ignored(secret), secret
    for needed in (
        "bot.py",
        "requirements.txt",
        "cases/data/gucheng.json",
        "cases/data/calendar_overrides.json",
        "cases/store/migrations/postgresql/0001_foundation.sql",
        "locales/src/zh/admin.po",
        "scripts/compile_locales.py",
    ):
        assert not ignored(needed), needed


def test_compose_settings_exist_and_the_probes_use_the_served_port() -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with pymupdf (requirements-dev.txt)
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    bot = compose["services"]["bot"]
    fields = set(Settings.model_fields)
    for name in bot["environment"]:
        assert name.lower() in fields, name
    listen = bot["environment"]["WEBHOOK_LISTEN"]
    port = listen.rpartition(":")[2]
    assert listen.startswith("0.0.0.0:")  # reachable from the balancer's container
    assert f"127.0.0.1:{port}{HEALTH_PATH}" in " ".join(bot["healthcheck"]["test"])
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert f"server bot:{port}" in nginx
    assert "X-Telegram-Bot-Api-Secret-Token" in nginx
    grace = bot["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > DRAIN_SECONDS
