"""Webhook signatures: Standard Webhooks, plus the legacy body-only HMAC.

Receivers that follow Standard Webhooks check ``webhook-signature`` with any of its
libraries; older ones check ``X-Webhook-Signature``. Both use the same key bytes,
so an endpoint has one secret whichever it checks. The Standard Webhooks part goes
through the ``standardwebhooks`` package so that our output is what its verifiers
expect, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  the format's prefix, not a secret
_SECRET_BYTES = 32


def generate_secret() -> str:
    """A new endpoint secret in the Standard Webhooks ``whsec_<base64>`` format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def _key_bytes(secret: str) -> bytes:
    # Decoded exactly as standardwebhooks.Webhook decodes it (lenient padding), so the
    # legacy HMAC and the Standard Webhooks one are keyed by the same bytes.
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")


def signature_headers(*, secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header a delivery carries besides those aiohttp adds itself.

    ``body`` must be the exact bytes sent (UTF-8 JSON): the Standard Webhooks package
    signs text, and UTF-8 is the one encoding that round-trips to those bytes.
    """
    signed_at = datetime.fromtimestamp(timestamp, tz=UTC)
    standard: str = Webhook(secret).sign(event_id, signed_at, body.decode("utf-8"))
    legacy = hmac.new(_key_bytes(secret), body, hashlib.sha256).hexdigest()
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
        "X-Event-Id": event_id,
        "X-Webhook-Signature": f"sha256={legacy}",
        "X-Webhook-Timestamp": str(timestamp),
        "Content-Type": "application/json",
    }


def verify(*, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the Standard Webhooks headers sign ``body`` with ``secret``.

    Any failure (missing or malformed header, stale timestamp, undecodable body, bad
    secret) is simply ``False``: a receiver only needs the verdict.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        Webhook(secret).verify(body, lowered, json_parse=False)
    except Exception:
        return False
    return True
