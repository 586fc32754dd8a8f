"""Rate budgets: one token bucket per (marketplace, seller account), shared by every process.

Every live marketplace call takes a token first, so that however many workers run,
no deployment trips a marketplace's quota. Callers choose how long to wait:

    await budget.acquire(m, account, timeout_s=30)          # True, or False without taking
    await budget.acquire_within(m, account, timeout_s=2)    # None, or seconds until a token
    await budget.try_acquire(m, account)                    # None, or seconds until a token
    await budget.drain(m, account, retry_after_s)           # a 429 still happened

**Algorithm.** GCRA, the token bucket stored as one number: the bucket's theoretical
arrival time (TAT). With interval I = 1/rate, a take at ``now`` succeeds when
``max(TAT, now) - now <= (burst - 1) * I`` and then moves TAT on by I; otherwise the
caller is told ``TAT - now - (burst - 1) * I``, the time until one token is back. A
full bucket is TAT <= now, so the stored value expires exactly when the bucket is
full again. ``drain`` empties the bucket and blocks it: the next token comes after
``max(Retry-After, I)``, one at a time after that.

**Where the buckets live.** With REDIS_URL: in Redis, taken by one Lua script that
reads the Redis server's clock (``TIME``), so the processes' own clocks never matter
and take-or-tell-me-when is one atomic round trip. Embedded (no REDIS_URL): in this
process, the same arithmetic on ``time.monotonic``.

**Whose bucket.** ``account`` is who the marketplace meters: the store's
externalStoreId (Trendyol sellerId, Etsy shop_id, Shopify shop, Amazon selling
partner id). Two stores on one seller account share a bucket, as they share the
quota. Not the access token: Etsy rotates its refresh token at every exchange (a new
token would be a new, full bucket), and a secret has no business in a key name. The
account is keyed with HMAC-SHA256 under a key derived (HKDF) from SECRET_KEY before
it names a Redis key, so neither Redis nor a log line shows which seller it is, and a
seller id (often a small number) cannot be recovered by hashing guesses.

**When Redis fails.** A Redis error, or no answer within ``REDIS_CALL_TIMEOUT_S``,
while taking or draining falls back to this process's in-process bucket with the same
limits, until Redis answers again. So a call never waits on a dead Redis, and each
process still keeps the budget on its own: N processes may together spend N times the
budget during the outage (bounded, and a marketplace 429 is still handled as
RATE_LIMITED), rather than none at all. Failing closed instead would make every
importOrder PENDING through a Redis blip. The fall-back is logged once when it starts
(``rate_budget_redis_unavailable``) and once when Redis is back, and every fallen-back
call counts in ``marketsync_rate_budget_fallbacks_total``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from prometheus_client import Counter
from redis.exceptions import RedisError

from marketsync.config import RateLimit, Settings, effective_rate_limits

KEY_PREFIX = "marketsync:budget:"
REDIS_CALL_TIMEOUT_S = 1.0
MIN_SLEEP_S = 0.001  # a told wait is never below a millisecond: no busy loop
_LOCAL_SWEEP_AT = 10_000  # in-process buckets kept before full ones are forgotten

log = structlog.get_logger(__name__)

FALLBACKS = Counter(
    "marketsync_rate_budget_fallbacks_total",
    "token takes served by the in-process bucket because Redis failed",
    ["marketplace"],
)
TIMEOUTS = Counter(
    "marketsync_rate_budget_timeouts_total",
    "acquires that gave up: no token within their timeout",
    ["marketplace"],
)

# KEYS[1]: the bucket. ARGV: interval (ms), burst, "take" | "drain", retry-after (ms).
# Returns 0 when a token was taken (or the bucket drained), else the ms until one is back.
TAKE_OR_TELL_WHEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if ARGV[3] == 'drain' then
  local blocked = now + math.max(tonumber(ARGV[4]), interval) + (burst - 1) * interval
  if blocked > tat then tat = blocked end
else
  local wait = tat - now - (burst - 1) * interval
  if wait > 0 then return math.ceil(wait) end
  tat = tat + interval
end
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now))
return 0
"""


class BudgetUnavailableError(Exception):
    """The shared bucket store did not answer (Redis error or timeout)."""


class Buckets(Protocol):
    """Where the buckets live: ``take`` answers 0.0 (taken) or the seconds until a token."""

    async def take(self, key: str, limit: RateLimit) -> float: ...

    async def drain(self, key: str, limit: RateLimit, retry_after_s: float) -> None: ...


class LocalBuckets:
    """In-process buckets (embedded mode, and the fall-back when Redis fails).

    Atomic because nothing in ``take`` awaits: one event loop runs one take at a time.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}

    async def take(self, key: str, limit: RateLimit) -> float:
        now = self._clock()
        interval = 1 / limit.rate_per_s
        tat = max(self._tat.get(key, now), now)
        wait = tat - now - (limit.burst - 1) * interval
        if wait > 0:
            return max(wait, MIN_SLEEP_S)
        self._store(key, tat + interval, now)
        return 0.0

    async def drain(self, key: str, limit: RateLimit, retry_after_s: float) -> None:
        now = self._clock()
        interval = 1 / limit.rate_per_s
        blocked = now + max(retry_after_s, interval) + (limit.burst - 1) * interval
        self._store(key, max(self._tat.get(key, now), blocked), now)

    def _store(self, key: str, tat: float, now: float) -> None:
        self._tat[key] = tat
        if len(self._tat) > _LOCAL_SWEEP_AT:  # a full bucket needs no state, as in Redis
            self._tat = {k: v for k, v in self._tat.items() if v > now}


class RedisBuckets:
    """Buckets in Redis, shared by every process; one EVALSHA per take."""

    def __init__(self, redis: Any, *, call_timeout_s: float = REDIS_CALL_TIMEOUT_S) -> None:
        self._script = redis.register_script(TAKE_OR_TELL_WHEN)
        self._timeout = call_timeout_s

    async def take(self, key: str, limit: RateLimit) -> float:
        wait_ms = await self._run(key, limit, "take", 0)
        return max(wait_ms / 1000, MIN_SLEEP_S) if wait_ms > 0 else 0.0

    async def drain(self, key: str, limit: RateLimit, retry_after_s: float) -> None:
        await self._run(key, limit, "drain", math.ceil(retry_after_s * 1000))

    async def _run(self, key: str, limit: RateLimit, mode: str, retry_after_ms: int) -> int:
        interval_ms = 1000 / limit.rate_per_s
        call: Awaitable[Any] = self._script(
            keys=[key], args=[repr(interval_ms), limit.burst, mode, retry_after_ms]
        )
        try:
            return int(await asyncio.wait_for(call, self._timeout))
        except (RedisError, OSError, TimeoutError) as error:
            raise BudgetUnavailableError(type(error).__name__) from error


class Budget:
    """The rate budgets of one process. A marketplace without a limit is not budgeted."""

    def __init__(
        self,
        limits: dict[str, RateLimit],
        buckets: Buckets | None,
        *,
        secret_key: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limits and buckets is None:
            raise ValueError("a budget with limits needs buckets")
        self._limits = {name.lower(): limit for name, limit in limits.items()}
        self._buckets = buckets
        self._fallback = LocalBuckets(clock=clock)
        self._degraded = False
        self._clock = clock
        self._sleep = sleep
        self._hmac_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"marketsync rate budget"
        ).derive(secret_key.encode())

    @classmethod
    def none(cls) -> Budget:
        """The null budget: every call may go at once."""
        return cls({}, None, secret_key="")

    def limit_for(self, marketplace: str) -> RateLimit | None:
        return self._limits.get(marketplace.lower())

    def bucket_key(self, marketplace: str, account: str) -> str:
        """The bucket's name: the account never appears in it in clear (see the module doc)."""
        name = marketplace.lower()
        digest = hmac.new(self._hmac_key, f"{name}\0{account}".encode(), hashlib.sha256)
        return f"{KEY_PREFIX}{name}:{digest.hexdigest()[:32]}"

    async def try_acquire(self, marketplace: str, account: str) -> float | None:
        """Take a token now: None when taken, else the seconds until one is available."""
        limit = self.limit_for(marketplace)
        if limit is None:
            return None
        wait = await self._take(marketplace, self.bucket_key(marketplace, account), limit)
        return wait if wait > 0 else None

    async def acquire_within(
        self, marketplace: str, account: str, *, timeout_s: float
    ) -> float | None:
        """Wait up to ``timeout_s`` for a token: None when taken, else (taking nothing)
        the seconds from now until the budget allows one.

        Sleeps for the time the bucket tells, never polls; gives up at once when the
        told time is past the timeout, instead of sleeping to the deadline for nothing.
        """
        limit = self.limit_for(marketplace)
        if limit is None:
            return None
        key = self.bucket_key(marketplace, account)
        deadline = self._clock() + timeout_s
        while True:
            wait = await self._take(marketplace, key, limit)
            if wait <= 0:
                return None
            if wait > deadline - self._clock():
                TIMEOUTS.labels(marketplace.lower()).inc()
                return wait
            await self._sleep(wait)

    async def acquire(self, marketplace: str, account: str, *, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a token; False (nothing taken) when none came."""
        return await self.acquire_within(marketplace, account, timeout_s=timeout_s) is None

    async def drain(self, marketplace: str, account: str, retry_after_s: float | None) -> None:
        """A 429 happened anyway: empty the bucket, no token before Retry-After."""
        limit = self.limit_for(marketplace)
        if limit is None or self._buckets is None:
            return
        key = self.bucket_key(marketplace, account)
        retry_after = max(retry_after_s or 0.0, 0.0)
        await self._fallback.drain(key, limit, retry_after)  # also when Redis is fine:
        try:  # a later fall-back then starts from the drained state
            await self._buckets.drain(key, limit, retry_after)
        except BudgetUnavailableError as error:
            self._fell_back(marketplace, error)
        else:
            self._recovered()

    async def _take(self, marketplace: str, key: str, limit: RateLimit) -> float:
        assert self._buckets is not None  # a limit implies buckets (see __init__)
        try:
            wait = await self._buckets.take(key, limit)
        except BudgetUnavailableError as error:
            self._fell_back(marketplace, error)
            return await self._fallback.take(key, limit)
        self._recovered()
        return wait

    def _fell_back(self, marketplace: str, error: BudgetUnavailableError) -> None:
        FALLBACKS.labels(marketplace.lower()).inc()
        if not self._degraded:
            self._degraded = True
            log.warning(
                "rate_budget_redis_unavailable",
                error=str(error),
                fallback="in-process buckets until Redis answers",
            )

    def _recovered(self) -> None:
        if self._degraded:
            self._degraded = False
            log.info("rate_budget_redis_recovered")


def build_budget(settings: Settings, *, redis: Any, live: bool, secret_key: str) -> Budget:
    """The process's budget: Redis buckets with REDIS_URL, in-process ones when embedded,
    the null budget when no limit applies (mock mode without MARKETPLACE_RATE_LIMITS)."""
    limits = effective_rate_limits(settings.marketplace_rate_limits, live=live)
    if not limits:
        return Budget.none()
    buckets: Buckets = LocalBuckets() if settings.embedded_redis else RedisBuckets(redis)
    return Budget(limits, buckets, secret_key=secret_key)
