"""Rate budgets on a real Redis: one contract for the in-process and Redis buckets,
atomicity under concurrent callers and across OS processes, expiry, and a Redis that
is down or does not answer.

Grants are timed on the Redis clock, read after each grant, so a reading is never
earlier than its grant. The GCRA bound says the k-th grant since a full bucket at T0
comes no earlier than T0 + (k - burst)/rate; reading the clock late only moves grants
later, so checking the k-th smallest reading against that bound (with one token of
slack) holds on a loaded machine and still fails for a bucket that over-grants.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import math
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from marketsync.config import RateLimit
from marketsync.marketplaces.budget import (
    KEY_PREFIX,
    Buckets,
    Budget,
    LocalBuckets,
    RedisBuckets,
)
from tests.support.backends import REDIS_TEST_URL, redis_available, require
from tests.support.servers import free_port

pytestmark = pytest.mark.redis

SECRET = "budget-redis-test-secret-key-0123456789-abcdef"
ROOT = Path(__file__).resolve().parents[3]
WAIT_S = 60  # bound on every wait in this module


# Pacing tests measure the Redis buckets: a loaded machine must not push them onto the
# in-process fallback (its own test below uses a short timeout on purpose).
PACING_CALL_TIMEOUT_S = 30.0


def open_client(max_connections: int = 8) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        REDIS_TEST_URL, max_connections=max_connections, timeout=10
    )
    return aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes its connections


async def redis_now(client: aioredis.Redis) -> float:
    seconds, micros = await client.time()
    return float(seconds) + micros / 1_000_000


def assert_within_budget(readings: list[float], *, start: float, limit: RateLimit) -> None:
    """The k-th grant (1-based) read no earlier than start + (k - burst - 1)/rate."""
    for k, reading in enumerate(sorted(readings), start=1):
        earliest = start + (k - limit.burst - 1) / limit.rate_per_s
        assert reading >= earliest, (k, reading - start, earliest - start)


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    require(redis_available(), "Redis")
    client = open_client()
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{KEY_PREFIX}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def account() -> str:
    return f"seller-{uuid.uuid4().hex[:8]}"


# --- one contract, both implementations --------------------------------------------


@pytest.fixture(params=["in-process", "redis"])
async def make_budget(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[dict[str, RateLimit]], Budget]]:
    client: aioredis.Redis | None = None
    if request.param == "redis":
        require(redis_available(), "Redis")
        client = open_client()
    buckets: Buckets = (
        LocalBuckets()
        if client is None
        else RedisBuckets(client, call_timeout_s=PACING_CALL_TIMEOUT_S)
    )

    def make(limits: dict[str, RateLimit]) -> Budget:
        return Budget(limits, buckets, secret_key=SECRET)

    try:
        yield make
    finally:
        if client is not None:
            keys = [key async for key in client.scan_iter(match=f"{KEY_PREFIX}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


async def test_contract_burst_then_wait(
    make_budget: Callable[[dict[str, RateLimit]], Budget], account: str
) -> None:
    budget = make_budget({"amazon": RateLimit(2, 3)})
    assert [await budget.try_acquire("amazon", account) for _ in range(3)] == [None] * 3
    wait = await budget.try_acquire("amazon", account)
    assert wait is not None
    assert 0.25 < wait <= 0.5  # 1/rate, less the moments since the burst
    assert await budget.acquire("amazon", account, timeout_s=0.1) is False
    assert await budget.acquire("amazon", account, timeout_s=WAIT_S) is True
    again = await budget.try_acquire("amazon", account)
    assert again is not None
    assert 0.25 < again <= 0.5  # the waiter took the token that came back, no more
    assert await budget.try_acquire("amazon", f"{account}-other") is None
    assert await budget.try_acquire("trendyol", account) is None  # no limit, no bucket


async def test_contract_timeout_takes_nothing(
    make_budget: Callable[[dict[str, RateLimit]], Budget], account: str
) -> None:
    budget = make_budget({"etsy": RateLimit(1, 1)})
    assert await budget.try_acquire("etsy", account) is None
    told = await budget.acquire_within("etsy", account, timeout_s=0.2)
    assert told is not None
    assert 0.5 < told <= 1.0
    assert await budget.acquire("etsy", account, timeout_s=0.2) is False
    # The refusals took nothing: the next token is still the first one after 1 s.
    after = await budget.try_acquire("etsy", account)
    assert after is not None
    assert 0.5 < after <= told


async def test_contract_drain_honours_retry_after(
    make_budget: Callable[[dict[str, RateLimit]], Budget], account: str
) -> None:
    budget = make_budget({"shopify": RateLimit(10, 40)})
    assert await budget.try_acquire("shopify", account) is None  # 39 tokens left
    await budget.drain("shopify", account, 2.0)
    told = await budget.try_acquire("shopify", account)
    assert told is not None
    assert 1.5 < told <= 2.0
    assert await budget.acquire("shopify", account, timeout_s=1.0) is False
    await budget.drain("shopify", account, 0.5)  # a shorter Retry-After shortens nothing
    later = await budget.try_acquire("shopify", account)
    assert later is not None
    assert 1.0 < later <= told
    # Without Retry-After the bucket is still emptied: the next token after 1/rate.
    await budget.drain("shopify", f"{account}-2", None)
    empty = await budget.try_acquire("shopify", f"{account}-2")
    assert empty is not None
    assert 0.05 < empty <= 0.1


async def test_contract_extreme_rates(
    make_budget: Callable[[dict[str, RateLimit]], Budget], account: str
) -> None:
    before = REGISTRY.get_sample_value(
        "marketsync_rate_budget_fallbacks_total", {"marketplace": "trendyol"}
    )
    fast = make_budget({"trendyol": RateLimit(1e9, 1), "etsy": RateLimit(0.001, 1)})
    # An interval below the clock's resolution still grants (and still names a TTL).
    assert [await fast.try_acquire("trendyol", account) for _ in range(50)] == [None] * 50
    assert await fast.try_acquire("etsy", account) is None
    slow = await fast.try_acquire("etsy", account)
    assert slow is not None
    assert 999 < slow <= 1000
    after = REGISTRY.get_sample_value(
        "marketsync_rate_budget_fallbacks_total", {"marketplace": "trendyol"}
    )
    assert after == before  # answered by the buckets under test, not the fall-back


# --- Redis itself ---------------------------------------------------------------------


async def test_key_is_hashed_and_expires_when_the_bucket_is_full(
    redis: aioredis.Redis, account: str
) -> None:
    budget = Budget(
        {"etsy": RateLimit(10, 5)},
        RedisBuckets(redis, call_timeout_s=PACING_CALL_TIMEOUT_S),
        secret_key=SECRET,
    )
    key = budget.bucket_key("etsy", account)
    assert account not in key
    assert await redis.exists(key) == 0  # a full bucket is no key at all
    assert await budget.try_acquire("etsy", account) is None
    assert 0 < await redis.pttl(key) <= 100  # full again after one interval
    assert await budget.try_acquire("etsy", account) is None
    assert 100 < await redis.pttl(key) <= 200
    await budget.drain("etsy", account, 30)
    assert 30_000 < await redis.pttl(key) <= 30_000 + 5 * 100


async def test_200_concurrent_acquires_from_4_clients_never_exceed_the_bucket(
    account: str,
) -> None:
    require(redis_available(), "Redis")
    limit = RateLimit(40, 20)
    callers = 200
    clients = [open_client() for _ in range(4)]
    slept: contextvars.ContextVar[float] = contextvars.ContextVar("slept", default=0.0)

    async def recorded_sleep(seconds: float) -> None:
        slept.set(seconds)  # each caller is a task of its own, with its own context
        await asyncio.sleep(seconds)

    budgets = [
        Budget(
            {"amazon": limit},
            RedisBuckets(client, call_timeout_s=PACING_CALL_TIMEOUT_S),
            secret_key=SECRET,
            sleep=recorded_sleep,
        )
        for client in clients
    ]

    async def one(index: int) -> tuple[bool, float, float]:
        granted = await budgets[index % 4].acquire("amazon", account, timeout_s=WAIT_S)
        return granted, await redis_now(clients[index % 4]), slept.get()

    try:
        start = await redis_now(clients[0])
        results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(callers))), WAIT_S)
        assert [granted for granted, _, _ in results] == [True] * callers
        assert_within_budget([reading for _, reading, _ in results], start=start, limit=limit)
        # The burst went at once, plus at most the tokens that came back while the first
        # calls were made (counted up to the last of them, on the Redis clock).
        at_once = [reading for _, reading, sleep in results if sleep == 0.0]
        refilled = math.floor((max(at_once) - start) * limit.rate_per_s) + 1
        assert limit.burst <= len(at_once) <= limit.burst + refilled
        # Every other caller slept once, for a slot of its own: the slots are contiguous,
        # so no one waits longer than the tokens before it take to come back.
        sleeps = [sleep for _, _, sleep in results if sleep > 0.0]
        assert len(sleeps) == callers - len(at_once)
        assert max(sleeps) <= (callers - limit.burst) / limit.rate_per_s + 0.001
    finally:
        await clients[0].delete(budgets[0].bucket_key("amazon", account))
        for client in clients:
            await client.aclose()


async def test_two_processes_sharing_a_bucket_never_exceed_it_together(
    redis: aioredis.Redis, account: str
) -> None:
    limit = RateLimit(20, 5)
    per_process = 30
    args = [REDIS_TEST_URL, SECRET, account, "20", "5", str(per_process), "5"]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.budget_client",
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:  # both imported and connected before either takes a token
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), WAIT_S)
            assert line == b"ready\n", line
        start = await redis_now(redis)
        answers = await asyncio.wait_for(
            asyncio.gather(*(proc.communicate(b"go\n") for proc in procs)), WAIT_S
        )
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0], [err.decode() for _, err in answers]
    first, second = (json.loads(out.decode().strip().splitlines()[-1]) for out, _ in answers)
    assert (first["refused"], second["refused"]) == (0, 0)
    assert (len(first["granted"]), len(second["granted"])) == (per_process, per_process)
    # They really contended: each process was granted tokens while the other was.
    assert max(min(first["granted"]), min(second["granted"])) < min(
        max(first["granted"]), max(second["granted"])
    )
    assert_within_budget([*first["granted"], *second["granted"]], start=start, limit=limit)


# --- Redis failing ----------------------------------------------------------------------


async def silent_server() -> tuple[asyncio.Server, int, Callable[[], Awaitable[None]]]:
    """Accepts connections and never answers: a Redis that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def close() -> None:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    return server, port, close


async def test_redis_down_falls_back_without_hanging(account: str) -> None:
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    _, port, close = await silent_server()
    silent = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        for client in (dead, silent):
            budget = Budget(
                {"amazon": RateLimit(1, 2)},
                RedisBuckets(client, call_timeout_s=0.3),
                secret_key=SECRET,
            )
            # The in-process bucket with the same limits: the burst, then 1/s.
            answers = await asyncio.wait_for(
                asyncio.gather(*(budget.try_acquire("amazon", account) for _ in range(3))),
                WAIT_S,
            )
            assert answers[:2] == [None, None]
            assert answers[2] is not None
            assert 0.5 < answers[2] <= 1.0
            assert (
                await asyncio.wait_for(budget.acquire("amazon", account, timeout_s=0.1), WAIT_S)
                is False
            )
            await asyncio.wait_for(budget.drain("amazon", account, 5), WAIT_S)
    finally:
        await dead.aclose()
        await silent.aclose()
        await close()
