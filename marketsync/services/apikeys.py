"""API keys: shown once, stored as SHA-256 (long random keys need no slow hash)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from marketsync.errors import UserInputError
from marketsync.models import ApiKey

KEY_PREFIX = "msk_"
_TOUCH_EVERY = timedelta(minutes=1)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


async def create_api_key(*, organization_id: str) -> str:
    organization_id = organization_id.strip()
    if not organization_id:
        raise UserInputError("INVALID_INPUT", "organization must not be empty", ["org"])
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    await ApiKey.create(
        organization_id=organization_id, key_hash=hash_key(raw_key), prefix=raw_key[:12]
    )
    return raw_key


async def organization_for_key(*, raw_key: str) -> str | None:
    """The organization of a valid, unrevoked key, or None."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    key = await ApiKey.get_or_none(key_hash=hash_key(raw_key), revoked_at=None)
    if key is None:
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        await ApiKey.filter(id=key.id).update(last_used_at=now)
    return key.organization_id
