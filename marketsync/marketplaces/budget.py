"""Rate budgets: one token bucket per (marketplace, seller account), shared by every process.

Every live marketplace call takes a token first, so that however many workers run,
no deployment trips a marketplace's quota. Callers choose how long to wait:

    await budget.acquire(m, account, timeout_s=30)          # True, or False without taking
    await budget.acquire_within(m, account, timeout_s=2)    # None, or seconds until a token
    await budget.try_acquire(m, account)                    # None, or seconds until a token
    await budget.drain(m, account, retry_after_s)           # a 429 still happened

**Algorithm.** GCRA, the token bucket stored as one number: the bucket's theoretical
arrival time (TAT). With interval I = 1/rate, the next token is due in
``wait = max(TAT, now) - now - (burst - 1) * I``. A take that accepts waiting up to
``max_wait`` succeeds when ``wait <= max_wait``, moving TAT on by I: at once when
``wait <= 0``, else the token is reserved and the caller sleeps ``wait`` before its
call. Otherwise nothing is taken and the caller is told ``wait``. Reserving makes
waiters first come, first served with one round trip each, instead of a herd that
wakes at every token and asks again; a waiter cancelled in its sleep loses its token
(the budget is under-spent, never over-spent). A full bucket is TAT <= now, so the
stored value expires exactly when the bucket is full again. ``drain`` empties the
bucket and blocks it: the next token comes after ``max(Retry-After, I)``, then one
every I.

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

# KEYS[1]: the bucket. ARGV: interval (ms), burst, then "take", max wait (ms) or
# "drain", retry-after (ms). Returns {1, ms to sleep before the call} when a token was
# taken (0: at once), {0, ms until one is available} when none was.
TAKE_OR_TELL_WHEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = 0
if ARGV[3] == 'drain' then
  local blocked = now + math.max(tonumber(ARGV[4]), interval) + (burst - 1) * interval
  if blocked > tat then tat = blocked end
else
  wait = tat - now - (burst - 1) * interval
  if wait > tonumber(ARGV[4]) then return {0, math.ceil(wait)} end
  if wait < 0 then wait = 0 end
  tat = tat + interval
end
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.max(1, math.ceil(tat - now)))
return {1, math.ceil(wait)}
"""


class BudgetUnavailableError(Exception):
    """The shared bucket store did not answer (Redis error or timeout)."""


class Buckets(Protocol):
    """Where the buckets live.

    ``take`` answers (True, seconds to sleep before the call; 0.0 for at once) when it
    took a token, (False, seconds until one is available) when ``max_wait_s`` is too
    short; then nothing was taken.
    """

    async def take(self, key: str, limit: RateLimit, max_wait_s: float) -> tuple[bool, float]: ...

    async def drain(self, key: str, limit: RateLimit, retry_after_s: float) -> None: ...


class LocalBuckets:
    """In-process buckets (embedded mode, and the fall-back when Redis fails).

    Atomic because nothing in ``take`` awaits: one event loop runs one take at a time.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}

    async def take(self, key: str, limit: RateLimit, max_wait_s: float) -> tuple[bool, float]:
        now = self._clock()
        interval = 1 / limit.rate_per_s
        tat = max(self._tat.get(key, now), now)
        wait = tat - now - (limit.burst - 1) * interval
        if wait > max_wait_s:
            return False, max(wait, MIN_SLEEP_S)
        self._store(key, tat + interval, now)
        return True, max(wait, 0.0)

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

    async def take(self, key: str, limit: RateLimit, max_wait_s: float) -> tuple[bool, float]:
        taken, wait_ms = await self._run(key, limit, "take", math.floor(max_wait_s * 1000))
        if taken:
            return True, wait_ms / 1000
        return False, max(wait_ms / 1000, MIN_SLEEP_S)

    async def drain(self, key: str, limit: RateLimit, retry_after_s: float) -> None:
        await self._run(key, limit, "drain", math.ceil(retry_after_s * 1000))

    async def _run(self, key: str, limit: RateLimit, mode: str, ms: int) -> tuple[bool, int]:
        interval_ms = 1000 / limit.rate_per_s
        call: Awaitable[Any] = self._script(
            keys=[key], args=[repr(interval_ms), limit.burst, mode, ms]
        )
        try:
            taken, wait_ms = await asyncio.wait_for(call, self._timeout)
        except (RedisError, OSError, TimeoutError) as error:
            raise BudgetUnavailableError(type(error).__name__) from error
        return bool(taken), int(wait_ms)


class Budget:
    """The rate budgets of one process. A marketplace without a limit is not budgeted.

    ``clock`` is the in-process fall-back's clock and ``sleep`` how a reserved token is
    waited for; tests pass a fake pair, so bucket arithmetic is checked without waiting.
    """

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
        key = self.bucket_key(marketplace, account)
        taken, wait = await self._take(marketplace, key, limit, 0.0)
        return None if taken else wait

    async def acquire_within(
        self, marketplace: str, account: str, *, timeout_s: float
    ) -> float | None:
        """Wait up to ``timeout_s`` for a token: None when taken, else (taking nothing)
        the seconds from now until the budget allows one.

        One round trip: the token is reserved and this sleeps until it is due; when it
        is due later than the timeout, this answers at once instead of sleeping to the
        deadline for nothing.
        """
        limit = self.limit_for(marketplace)
        if limit is None:
            return None
        key = self.bucket_key(marketplace, account)
        taken, wait = await self._take(marketplace, key, limit, max(timeout_s, 0.0))
        if not taken:
            TIMEOUTS.labels(marketplace.lower()).inc()
            return wait
        if wait > 0:
            await self._sleep(wait)
        return None

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

    async def _take(
        self, marketplace: str, key: str, limit: RateLimit, max_wait_s: float
    ) -> tuple[bool, float]:
        assert self._buckets is not None  # a limit implies buckets (see __init__)
        try:
            answer = await self._buckets.take(key, limit, max_wait_s)
        except BudgetUnavailableError as error:
            self._fell_back(marketplace, error)
            return await self._fallback.take(key, limit, max_wait_s)
        self._recovered()
        return answer

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
