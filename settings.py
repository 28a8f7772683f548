"""Settings from the environment and `.env` (every field is documented in `.env.example`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cases.law.deadline_rules import LocalPeriods
from cases.mediation.common import MediationSettings
from cases.reception.booking import BookingSettings
from scheduling.policy import QuietHours

ROOT = Path(__file__).resolve().parent
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

PLACEHOLDER_TOKEN = "123456789:replace-me-with-the-token-from-botfather"
"""The ``BOT_TOKEN`` line of .env.example: well-formed, so only this check stops a copied
example from reaching Telegram (and failing there with a traceback)."""

CHANNEL_CHAT_IDS: dict[str, tuple[int, int]] = {
    # Telegram user ids have at most 52 significant bits; groups are negative.
    "telegram": (-(2**63), 2**52 - 1),
    # webchat/: web users get ids from 2**52 up, so the two channels never share an id.
    "web": (2**52, 2**63 - 1),
}

ENV_FILE_VARIABLE = "BOT_ENV_FILE"
"""Names the settings file instead of ``.env`` next to bot.py (tests point it at a temporary
file, so a developer's own .env never leaks into them)."""


def env_file() -> Path:
    """``$BOT_ENV_FILE``, else ``.env`` beside bot.py: found whatever the working directory."""
    configured = os.environ.get(ENV_FILE_VARIABLE, "").strip()
    return Path(configured) if configured else ROOT / ".env"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_nested_delimiter="__",
    )

    bot_token: SecretStr
    telegram_api_base: str | None = None
    database_path: Path = ROOT / "data" / "bot.sqlite3"
    timezone: str = "Asia/Shanghai"
    default_locale: Literal["zh", "en"] = "zh"
    admin_ids: Annotated[list[int], NoDecode] = []

    organisation_path: Path | None = None
    calendar_overrides_path: Path | None = None
    reminder_tick_seconds: int = Field(default=30, ge=1, le=3600)
    backup_dir: Path = ROOT / "data" / "backups"
    backup_keep: int = Field(default=7, ge=1, le=365)
    escalation_hours: int = Field(default=24, ge=1, le=24 * 14)
    processed_updates_keep_hours: int = Field(default=48, ge=24)
    flood_limit: int = Field(default=20, ge=5, le=10_000)
    local_periods: LocalPeriods = LocalPeriods()
    """信访 figures and the 行政调解 period: local rules, national defaults (domain §2, §5)."""
    mediation: MediationSettings = MediationSettings()
    """行政调解: the other party's link, the follow-up visit, and assignment (default maximum
    load, offer hours, office hours, contact days)."""
    booking: BookingSettings = BookingSettings()
    """局长接待日: slot length and seats (per agency), booking window, waitlist hold (issue 9)."""
    webhooks_path: Path | None = None
    """Receivers of signed webhooks and senders of inbound requests (README, "Webhooks")."""
    webhooks_max_attempts: int = Field(default=20, ge=1, le=100)
    webhooks_retry_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    webhooks_retry_cap_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhooks_concurrency: int = Field(default=8, ge=1, le=100)
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=1, le=65_535)
    """The inbound endpoint (aiohttp); off unless set."""
    quiet_hours: Annotated[QuietHours, NoDecode] = QuietHours()  # "21:00-08:00", not JSON
    """The night (office time zone) in which citizens are not written to and staff only about
    what is due that day: the planner, the outbox, notices and bookings read this one value."""
    invitation_days: int = Field(default=7, ge=1, le=90)
    """How long a staff invitation link (/invite) stays valid."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    channel: Literal["telegram", "web"] = "telegram"
    """Whose reminders this process delivers (README, "Web chat"): with a Telegram process and
    a web gateway process on one database, each sends only to its own channel's chat ids."""

    webhook_url: str | None = None
    """Running at scale (README): Telegram posts updates to this public HTTPS address (its
    path is the one served) instead of the bot polling; several replicas behind a load
    balancer share the work. Empty: polling, as on one machine."""
    webhook_secret: SecretStr | None = None
    """Required with WEBHOOK_URL: Telegram sends it in X-Telegram-Bot-Api-Secret-Token; a
    request without it is refused with 401."""
    webhook_listen: str = "127.0.0.1:8088"
    """host:port the webhook server listens on (behind the load balancer); also /healthz."""
    database_url: SecretStr | None = None
    """postgresql://user:password@host:port/database: PostgreSQL instead of the SQLite file at
    DATABASE_PATH (README, "Running at scale"). A secret: it may hold a password."""
    redis_url: str | None = None
    """redis://…: conversation state and per-chat update isolation shared by the replicas, and
    one send-rate budget for all of them (Telegram's ~30 messages/s is per bot)."""

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value is not None and not _SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        scheme = urlsplit(value.get_secret_value().strip()).scheme
        if scheme not in ("postgresql", "postgres"):
            raise ValueError("DATABASE_URL must be a postgresql:// address (or empty: SQLite)")
        return SecretStr(value.get_secret_value().strip())

    @property
    def database_dsn(self) -> str | None:
        return None if self.database_url is None else self.database_url.get_secret_value()

    @field_validator("webhook_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("WEBHOOK_LISTEN must be host:port, e.g. 127.0.0.1:8088")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.webhook_url is None:
            return self
        if self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_URL needs WEBHOOK_SECRET (Telegram sends it with every update)"
            )
        scheme = urlsplit(self.webhook_url).scheme
        # Telegram delivers only to HTTPS; plain HTTP only with a self-hosted or test Bot API.
        if scheme != "https" and not (scheme == "http" and self.telegram_api_base):
            raise ValueError("WEBHOOK_URL must be an https:// address")
        return self

    @property
    def replicas(self) -> bool:
        """Several bot processes may serve this database (webhook mode behind a balancer, or
        state shared in Redis): nothing a person changes may be remembered per process."""
        return self.webhook_url is not None or self.redis_url is not None

    @property
    def webhook_path(self) -> str:
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def listen(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        # aiogram refuses anything but digits:rest; say so before it does, without echoing it.
        token = value.get_secret_value().strip()
        if token == PLACEHOLDER_TOKEN:
            raise PydanticCustomError(
                "placeholder_token", "BOT_TOKEN is still the example value from .env.example"
            )
        if not _TOKEN.fullmatch(token):
            raise ValueError("BOT_TOKEN must look like 123456789:ABC-def_ghi")
        return SecretStr(token)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object, info: ValidationInfo) -> object:
        """``KEY=`` (as .env.example leaves the optional lines) means "not set".

        Without this an empty path became ``Path('.')`` (the working directory, which the
        calendar then tried to read as a file) and an empty zone or number was an error.
        """
        if isinstance(value, str) and not value.strip():
            field = cls.model_fields[info.field_name or ""]
            if field.is_required():
                return value  # BOT_TOKEN: reported as missing by its own check
            return field.get_default(call_default_factory=True)
        if isinstance(value, dict):
            # Nested settings (LOCAL_PERIODS__ADMIN_MEDIATION=): drop the empty keys.
            return {key: item for key, item in value.items() if not _is_blank(item)}
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if value else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def chat_ids(self) -> tuple[int, int]:
        return CHANNEL_CHAT_IDS[self.channel]


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()
