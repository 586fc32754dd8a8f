"""Leased locks in Redis, behind the error tree: services never see redis errors here.

A lock has an owner token and a TTL (so a dead holder frees it); the holder renews the
lease while it works. A lease that ran out and was taken by another holder is a
``LockLostError``: the caller stops, because someone else now does the work.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import LockError

from marketsync.errors import LockLostError


class LeasedLock:
    def __init__(self, redis: aioredis.Redis, key: str, *, ttl_s: float) -> None:
        self._lock = redis.lock(key, timeout=ttl_s, blocking=False)

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        return bool(await self._lock.acquire())

    async def renew(self) -> None:
        """A full TTL again from now; ``LockLostError`` when the lease was lost."""
        try:
            await self._lock.reacquire()
        except LockError as error:
            raise LockLostError("the lock's lease ran out") from error

    async def release(self) -> None:
        try:
            await self._lock.release()
        except LockError as error:
            raise LockLostError("the lock's lease ran out") from error
