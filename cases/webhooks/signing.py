"""The signature of the webhook contract, both ways (README, "Webhooks").

``X-Gucheng-Signature: sha256=<hex>``, the hex of HMAC-SHA256 with the shared secret over the
ASCII timestamp (Unix seconds, as in ``X-Gucheng-Timestamp``), a dot, and the raw body bytes.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="

HEADER_EVENT = "X-Gucheng-Event"
HEADER_DELIVERY = "X-Gucheng-Delivery"
HEADER_TIMESTAMP = "X-Gucheng-Timestamp"
HEADER_SIGNATURE = "X-Gucheng-Signature"
HEADER_SENDER = "X-Gucheng-Sender"


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


def signature_matches(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """Constant-time comparison, so the time taken reveals nothing of the right value."""
    return hmac.compare_digest(signature(secret, timestamp, body), given.strip())
