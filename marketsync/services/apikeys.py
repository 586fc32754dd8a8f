"""API keys: shown once, stored as SHA-256 (long random keys need no slow hash).

Every request looks its key up in the database (no cache across requests or
processes), so a revocation takes effect at the next request, in every process.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from marketsync.errors import NotFoundError, UserInputError
from marketsync.models import ApiKey

KEY_PREFIX = "msk_"
MAX_ORGANIZATION = 255
MAX_NAME = 100
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Revocation:
    key: ApiKey
    already_revoked: bool


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _text(value: str, field: str, limit: int) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise UserInputError("INVALID_INPUT", f"{field} must not be empty", [field])
    if len(cleaned) > limit:
        raise UserInputError(
            "INVALID_INPUT", f"{field} must be at most {limit} characters", [field]
        )
    if not cleaned.isprintable():
        raise UserInputError("INVALID_INPUT", f"{field} must be printable text", [field])
    return cleaned


async def create_api_key(*, organization_id: str, name: str | None = None) -> str:
    organization_id = _text(organization_id, "organization", MAX_ORGANIZATION)
    label = None if name is None else _text(name, "name", MAX_NAME)
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    await ApiKey.create(
        organization_id=organization_id,
        name=label,
        key_hash=hash_key(raw_key),
        prefix=raw_key[:12],
    )
    return raw_key


async def list_api_keys(*, organization_id: str | None = None) -> list[ApiKey]:
    """Every key (of one organization when given), oldest first."""
    query = (
        ApiKey.all() if organization_id is None else ApiKey.filter(organization_id=organization_id)
    )
    return await query.order_by("created_at", "id")


async def revoke_api_key(*, key_id: str) -> Revocation:
    """Revoke a key (idempotent: a revoked key keeps its first revocation time)."""
    try:
        parsed = uuid.UUID(key_id.strip())
    except ValueError:
        raise NotFoundError(f"no API key with id {key_id!r}") from None
    revoked = await ApiKey.filter(id=parsed, revoked_at=None).update(revoked_at=datetime.now(UTC))
    key = await ApiKey.get_or_none(id=parsed)
    if key is None:
        raise NotFoundError(f"no API key with id {key_id!r}")
    return Revocation(key=key, already_revoked=not revoked)


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
