"""Access tokens obtained by exchange (Etsy OAuth refresh, Amazon LWA), cached per store.

A token is reused until ``early_s`` seconds before it expires. The cache is shared
by every process through Redis (the value encrypted with the secret box it is
handed), or held in process memory when embedded (no REDIS_URL).

Single flight, so N callers make one exchange:

- in one process, concurrent callers for one key await one shared task (a caller
  that is cancelled does not cancel the exchange for the others; a refused exchange
  reaches every caller waiting on it);
- across processes, the task first takes a short Redis lock (``SET NX PX``); a process
  that finds it taken re-reads the cache every ``poll_s`` until the token appears or
  ``lock_wait_s`` passes, and only then exchanges itself (bounded: a crashed holder
  costs one wait, never a hang).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

KEY_PREFIX = "marketsync:mptoken:"
LOCK_PREFIX = "marketsync:mptoken-lock:"
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Cipher(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str = field(repr=False)
    expires_in: float


Exchange = Callable[[], Awaitable[IssuedToken]]


class TokenCache:
    def __init__(
        self,
        *,
        cipher: Cipher,
        redis: Redis | None,
        early_s: float = 60,
        lock_ttl_s: float = 15,
        lock_wait_s: float = 10,
        poll_s: float = 0.05,
    ) -> None:
        self._cipher = cipher
        self._redis = redis
        self._early_s = early_s
        self._lock_ttl_ms = int(lock_ttl_s * 1000)
        self._lock_wait_s = lock_wait_s
        self._poll_s = poll_s
        self._local: dict[str, tuple[str, float]] = {}  # key → (token, good until, epoch s)
        self._inflight: dict[str, asyncio.Future[str]] = {}

    async def get(self, key: str, exchange: Exchange) -> str:
        """A fresh access token for ``key``, exchanging at most once at a time."""
        token = self._fresh_local(key)
        if token is not None:
            return token
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fill(key, exchange))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(task)

    async def forget(self, key: str, token: str) -> None:
        """Drop ``token`` (the marketplace refused it) unless a newer one replaced it."""
        cached = self._local.get(key)
        if cached is not None and cached[0] == token:
            del self._local[key]
        if self._redis is None:
            return
        try:
            shared = await self._read_shared(key)
            if shared is not None and shared[0] == token:
                await self._redis.delete(KEY_PREFIX + key)
        except RedisError as error:
            log.warning("token_cache_unavailable", error=type(error).__name__)

    def _settled(self, key: str, done: asyncio.Future[str]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        if not done.cancelled():
            done.exception()  # retrieved: callers that were cancelled leave it unread

    def _fresh_local(self, key: str) -> str | None:
        cached = self._local.get(key)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        return None

    async def _fill(self, key: str, exchange: Exchange) -> str:
        if self._redis is None:
            return self._keep(key, await exchange())
        try:
            shared = await self._read_shared(key)
            if shared is not None:
                self._local[key] = shared
                return shared[0]
            owner = await self._lock(key)
        except RedisError as error:
            log.warning("token_cache_unavailable", error=type(error).__name__)
            return self._keep(key, await exchange())
        if owner is None:  # another process exchanged in the meantime
            cached = self._local[key]
            return cached[0]
        try:
            issued = await exchange()
            token = self._keep(key, issued)
            ttl_ms = int((self._local[key][1] - time.time()) * 1000)
            if ttl_ms > 0:
                value = json.dumps({"token": issued.access_token, "until": self._local[key][1]})
                await self._redis.set(KEY_PREFIX + key, self._cipher.encrypt(value), px=ttl_ms)
            return token
        finally:
            try:
                await self._redis.eval(_RELEASE, 1, LOCK_PREFIX + key, owner)
            except RedisError as error:
                log.warning("token_cache_unavailable", error=type(error).__name__)

    async def _lock(self, key: str) -> str | None:
        """The lock's owner token; or None once another process's token is cached."""
        assert self._redis is not None
        owner = secrets.token_hex(16)
        deadline = time.monotonic() + self._lock_wait_s
        while True:
            if await self._redis.set(LOCK_PREFIX + key, owner, nx=True, px=self._lock_ttl_ms):
                shared = await self._read_shared(key)  # filled between our read and the lock
                if shared is None:
                    return owner
                self._local[key] = shared
                await self._redis.eval(_RELEASE, 1, LOCK_PREFIX + key, owner)
                return None
            if time.monotonic() >= deadline:
                log.warning("token_lock_wait_exceeded", key=key)
                return owner  # the holder is gone or slow: exchange ourselves
            await asyncio.sleep(self._poll_s)
            shared = await self._read_shared(key)
            if shared is not None:
                self._local[key] = shared
                return None

    async def _read_shared(self, key: str) -> tuple[str, float] | None:
        assert self._redis is not None
        raw = await self._redis.get(KEY_PREFIX + key)
        if raw is None:
            return None
        try:
            value = json.loads(
                self._cipher.decrypt(raw.decode() if isinstance(raw, bytes) else raw)
            )
            token, until = str(value["token"]), float(value["until"])
        except Exception:  # an unreadable entry (e.g. after a key rotation): exchange again
            return None
        return (token, until) if until > time.time() else None

    def _keep(self, key: str, issued: IssuedToken) -> str:
        until = time.time() + max(0.0, issued.expires_in - self._early_s)
        self._local[key] = (issued.access_token, until)
        return issued.access_token
