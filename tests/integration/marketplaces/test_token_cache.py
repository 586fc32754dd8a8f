"""The shared token cache: one exchange for many callers, in one process and across
processes (two caches on one real Redis stand for two processes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from marketsync.crypto import Purpose, SecretBox
from marketsync.errors import AuthError
from marketsync.marketplaces.tokens import KEY_PREFIX, LOCK_PREFIX, IssuedToken, TokenCache
from tests.support.backends import REDIS_TEST_URL, redis_available, require

BOX = SecretBox("token-cache-tests-secret-key-0123456789abcdef", Purpose.TOKEN_CACHE)


class Exchanges:
    """An exchange that takes a moment and counts how often it ran."""

    def __init__(self, *, expires_in: float = 3600, refuse: bool = False) -> None:
        self.count = 0
        self.expires_in = expires_in
        self.refuse = refuse

    async def __call__(self) -> IssuedToken:
        self.count += 1
        await asyncio.sleep(0.05)
        if self.refuse:
            raise AuthError("refused")
        return IssuedToken(access_token=f"token-{self.count}", expires_in=self.expires_in)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    require(redis_available(), "Redis")
    client = Redis.from_url(REDIS_TEST_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def key() -> str:
    return f"TEST:{uuid.uuid4()}"


async def test_fifty_concurrent_callers_in_one_process_make_one_exchange(key: str) -> None:
    cache = TokenCache(cipher=BOX, redis=None)
    exchange = Exchanges()

    tokens = await asyncio.wait_for(
        asyncio.gather(*(cache.get(key, exchange) for _ in range(50))), 10
    )

    assert set(tokens) == {"token-1"}
    assert exchange.count == 1


async def test_two_processes_share_one_exchange_through_redis(redis: Redis, key: str) -> None:
    first = TokenCache(cipher=BOX, redis=redis, poll_s=0.01)
    second = TokenCache(cipher=BOX, redis=redis, poll_s=0.01)
    exchange = Exchanges()
    try:
        tokens = await asyncio.wait_for(
            asyncio.gather(
                *(cache.get(key, exchange) for _ in range(25) for cache in (first, second))
            ),
            10,
        )
        stored = await redis.get(KEY_PREFIX + key)
        ttl_ms = await redis.pttl(KEY_PREFIX + key)
        lock_left = await redis.exists(LOCK_PREFIX + key)
    finally:
        await redis.delete(KEY_PREFIX + key, LOCK_PREFIX + key)

    assert set(tokens) == {"token-1"}
    assert exchange.count == 1
    assert stored is not None
    assert b"token-1" not in stored  # encrypted at rest
    assert 3_500_000 < ttl_ms <= 3_540_000  # an hour, less the 60 s margin
    assert lock_left == 0


async def test_a_refused_exchange_reaches_every_waiter_and_is_not_cached(key: str) -> None:
    cache = TokenCache(cipher=BOX, redis=None)
    exchange = Exchanges(refuse=True)

    results = await asyncio.gather(
        *(cache.get(key, exchange) for _ in range(20)), return_exceptions=True
    )

    assert all(isinstance(result, AuthError) for result in results)
    assert exchange.count == 1
    with pytest.raises(AuthError):
        await cache.get(key, exchange)
    assert exchange.count == 2


async def test_a_token_near_its_expiry_is_exchanged_again_once(redis: Redis, key: str) -> None:
    cache = TokenCache(cipher=BOX, redis=redis, early_s=60, poll_s=0.01)
    exchange = Exchanges(expires_in=60.2)
    try:
        assert await cache.get(key, exchange) == "token-1"
        await asyncio.sleep(0.3)  # past 60.2 s less the 60 s margin

        tokens = await asyncio.gather(*(cache.get(key, exchange) for _ in range(50)))
    finally:
        await redis.delete(KEY_PREFIX + key, LOCK_PREFIX + key)

    assert set(tokens) == {"token-2"}
    assert exchange.count == 2


async def test_a_lock_whose_holder_vanished_costs_one_bounded_wait(redis: Redis, key: str) -> None:
    await redis.set(LOCK_PREFIX + key, "crashed-process", px=60_000)
    cache = TokenCache(cipher=BOX, redis=redis, lock_wait_s=0.2, poll_s=0.02)
    exchange = Exchanges()
    try:
        token = await asyncio.wait_for(cache.get(key, exchange), 5)
        holder = await redis.get(LOCK_PREFIX + key)
    finally:
        await redis.delete(KEY_PREFIX + key, LOCK_PREFIX + key)

    assert token == "token-1"
    assert exchange.count == 1
    assert holder == b"crashed-process"  # another's lock is never released by us


async def test_an_entry_under_another_secret_key_is_exchanged_again(redis: Redis, key: str) -> None:
    old = TokenCache(
        cipher=SecretBox("an-earlier-secret-key-0123456789abcdefgh", Purpose.TOKEN_CACHE),
        redis=redis,
    )
    new = TokenCache(cipher=BOX, redis=redis)
    try:
        await old.get(key, Exchanges())
        exchange = Exchanges()
        token = await new.get(key, exchange)
    finally:
        await redis.delete(KEY_PREFIX + key, LOCK_PREFIX + key)

    assert (token, exchange.count) == ("token-1", 1)
