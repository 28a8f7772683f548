"""The receivers file (``WEBHOOKS_PATH``): who gets which events, who may send us requests.

Checked at start-up like the organisation file: every problem is listed by its place in the
file, and a secret never appears in a message (pydantic's errors name the place and the rule,
never the value, because only ``loc`` and ``msg`` are used).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]
MIN_SECRET = 16
"""Characters; a shorter shared secret is guessable."""


class EventType(StrEnum):
    """What the bot tells receivers (README, "Webhooks")."""

    case_created = "case.created"
    case_routed = "case.routed"
    case_status_changed = "case.status_changed"
    deadline_overdue = "deadline.overdue"
    hearing_recorded = "hearing.recorded"
    booking_created = "booking.created"


class InboundType(StrEnum):
    """What other systems may ask of the bot."""

    hearing_scheduled = "hearing.scheduled"
    case_note = "case.note"


class WebhookError(ValueError):
    """The receivers file cannot be used; the message lists every problem found."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _secret_long_enough(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value().strip()) < MIN_SECRET:
        raise ValueError(f"the secret must have at least {MIN_SECRET} characters")
    return SecretStr(value.get_secret_value().strip())


class Receiver(_Model):
    """A county system that receives events (the 12345 platform, a provincial platform)."""

    id: Slug
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
    secret: SecretStr
    events: Annotated[tuple[EventType, ...], Field(min_length=1)]
    may_receive_personal_data: bool = False
    """ID and phone numbers in full; otherwise masked as for staff who may not see them."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the url must start with https:// (or http://) and name a host")
        return value

    _secret = field_validator("secret")(_secret_long_enough)

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


class Sender(_Model):
    """A county system that may send signed requests to the inbound endpoint."""

    id: Slug
    secret: SecretStr
    may: Annotated[tuple[InboundType, ...], Field(min_length=1)]

    _secret = field_validator("secret")(_secret_long_enough)


class WebhooksFile(_Model):
    receivers: tuple[Receiver, ...] = ()
    senders: tuple[Sender, ...] = ()

    @field_validator("receivers", "senders")
    @classmethod
    def _unique_ids(cls, value: tuple[Receiver, ...] | tuple[Sender, ...]) -> object:
        ids = [item.id for item in value]
        doubles = sorted({i for i in ids if ids.count(i) > 1})
        if doubles:
            raise ValueError(f"ids must be unique: {', '.join(doubles)}")
        return value

    def receiver(self, receiver_id: str) -> Receiver | None:
        return next((r for r in self.receivers if r.id == receiver_id), None)

    def sender(self, sender_id: str) -> Sender | None:
        return next((s for s in self.senders if s.id == sender_id), None)


NO_WEBHOOKS = WebhooksFile()


def load_webhooks(path: Path | None) -> WebhooksFile:
    """Read and check the receivers file; no file configured means no webhooks."""
    if path is None:
        return NO_WEBHOOKS
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WebhookError(f"webhooks file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WebhookError(f"webhooks file {path} cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise WebhookError(
            f"webhooks file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None
    try:
        return WebhooksFile.model_validate(raw)
    except pydantic.ValidationError as exc:
        # loc and msg only: pydantic's input value could be a secret.
        lines = [
            f"{'.'.join(str(part) for part in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        ]
        listing = "; ".join(lines)
        raise WebhookError(
            f"webhooks file {path} has {len(lines)} problem(s): {listing}"
        ) from None
