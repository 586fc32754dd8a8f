"""What a process holds while it runs: settings, the vault, Redis, HTTP clients, a dispatcher.

The API process and every worker build one ``Runtime`` at start-up and close it at
shutdown; services receive it as an argument. ``Dispatcher`` is how services ask
for background work without knowing about Dramatiq.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from marketsync.config import Settings
from marketsync.crypto import Vault
from marketsync.errors import ConfigurationError
from marketsync.marketplaces.adapters.base import (
    MarketplaceAdapter,
    StoreCredentials,
)
from marketsync.marketplaces.budget import Budget, build_budget
from marketsync.marketplaces.client import MarketplaceClient
from marketsync.marketplaces.registry import Marketplaces
from marketsync.models import Store
from marketsync.webhooks.sender import build_webhook_session

STATUS_CHANNEL_PREFIX = "marketsync:status:"
PUBLISH_TIMEOUT_S = 2.0
log = structlog.get_logger(__name__)


class Dispatcher(Protocol):
    async def send(self, actor_name: str, *args: Any) -> None: ...

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    vault: Vault
    redis: aioredis.Redis
    http: aiohttp.ClientSession
    marketplace: MarketplaceClient  # the mock dialect's client (MARKETPLACE_MODE=mock)
    webhook_http: aiohttp.ClientSession
    dispatcher: Dispatcher
    # Token buckets per (marketplace, seller account): services take one before a call.
    budget: Budget = field(default_factory=Budget.none)
    marketplaces: Marketplaces = field(init=False)

    def __post_init__(self) -> None:
        self.marketplaces = Marketplaces(
            settings=self.settings,
            http=self.http,
            mock=self.marketplace,
            cipher=self.vault.token_cache,
            redis=None if self.settings.embedded_redis else self.redis,
            store_rotated_token=self._store_rotated_token,
        )

    def marketplace_for(self, store: Store, access_token: str | None = None) -> MarketplaceAdapter:
        """The adapter that speaks for ``store``; ``access_token`` (decrypted) saves a
        decrypt when a caller makes many calls for one store."""
        return self.marketplaces.for_store(
            StoreCredentials(
                id=store.id,
                marketplace=store.marketplace.value,
                external_store_id=store.external_store_id,
                access_token=access_token
                or self.vault.store_tokens.decrypt(store.access_token_encrypted),
            )
        )

    async def _store_rotated_token(self, store_id: uuid.UUID, refresh_token: str) -> None:
        """A marketplace rotated the store's refresh token: the next exchange needs it."""
        await Store.filter(id=store_id).update(
            access_token_encrypted=self.vault.store_tokens.encrypt(refresh_token)
        )
        log.info("store_refresh_token_rotated", store_id=str(store_id))

    async def publish_status(self, store_id: object) -> None:
        """Ring the doorbell: a store's sync status may have changed.

        Best effort: the database already holds the change, so a Redis outage costs live
        subscribers one update, never the request that made the change.
        """
        try:
            await asyncio.wait_for(
                self.redis.publish(f"{STATUS_CHANNEL_PREFIX}{store_id}", "1"), PUBLISH_TIMEOUT_S
            )
        except (RedisError, OSError, TimeoutError) as error:
            log.warning(
                "status_doorbell_failed", store_id=str(store_id), error=type(error).__name__
            )

    async def aclose(self) -> None:
        await self.http.close()
        await self.webhook_http.close()
        await self.redis.aclose()


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    if _current is None:
        raise ConfigurationError("the runtime is not started in this process")
    return _current


MIN_SECRET_KEY_LENGTH = 32


def resolve_secret_key(settings: Settings) -> str:
    """SECRET_KEY, or under `dev` a generated one kept in a local file so restarts can decrypt.

    Either way the key has at least 32 characters: a short one (or a hand-edited file)
    is refused at start, never used.
    """
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError("SECRET_KEY must be at least 32 characters")
        return key
    if not settings.is_dev:
        raise ConfigurationError("SECRET_KEY is required outside `marketsync dev`")
    path = Path(settings.secret_key_file)
    try:
        # Created readable by its owner only, and never overwritten (O_EXCL).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                f"the dev key in {path} must be at least 32 characters (delete it to make one)"
            ) from None
        return key
    key = secrets.token_urlsafe(48)  # 64 characters
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def open_vault(settings: Settings) -> Vault:
    """The process's vault: SECRET_KEY to write and read, SECRET_KEY_FALLBACKS to read."""
    fallbacks = [key.get_secret_value() for key in settings.secret_key_fallbacks]
    return Vault(resolve_secret_key(settings), fallbacks=fallbacks)


_FAKE_SERVER: Any = None


def open_redis(settings: Settings) -> aioredis.Redis:
    """Redis from REDIS_URL, or the process's in-memory stand-in (fakeredis)."""
    if settings.redis_url:
        # Blocking: under load a caller waits for a pooled connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=64, timeout=10
        )
        return aioredis.Redis(connection_pool=pool)
    global _FAKE_SERVER
    import fakeredis

    if _FAKE_SERVER is None:
        _FAKE_SERVER = fakeredis.FakeServer()
    return fakeredis.FakeAsyncRedis(server=_FAKE_SERVER)


def open_runtime(
    settings: Settings,
    *,
    dispatcher: Dispatcher,
    marketplace_base_url: str,
    redis: aioredis.Redis | None = None,
) -> Runtime:
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100),
        timeout=aiohttp.ClientTimeout(total=settings.marketplace_timeout_s),
    )
    secret_key = resolve_secret_key(settings)
    client = redis if redis is not None else open_redis(settings)
    return Runtime(
        settings=settings,
        vault=open_vault(settings),
        redis=client,
        http=http,
        marketplace=MarketplaceClient(http, base_url=marketplace_base_url, settings=settings),
        webhook_http=build_webhook_session(allow_private=settings.allow_private_targets),
        dispatcher=dispatcher,
        budget=build_budget(
            settings,
            redis=None if settings.embedded_redis else client,
            live=settings.is_live,
            secret_key=secret_key,
        ),
    )
