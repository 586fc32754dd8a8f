"""A process that spends one rate budget: ``python -m tests.support.budget_client``.

Arguments: REDIS_URL SECRET_KEY ACCOUNT RATE BURST COUNT CONCURRENCY. Once imported and
connected it prints ``ready`` and waits for a line on stdin (so that several such
processes contend from the same moment, however slowly each started), then takes COUNT
tokens of the AMAZON bucket of ACCOUNT with CONCURRENCY callers and prints one JSON
line: the Redis time after each grant, and how many acquires gave up.
"""

from __future__ import annotations

import asyncio
import json
import sys

import redis.asyncio as aioredis

from marketsync.config import RateLimit
from marketsync.marketplaces.budget import Budget, RedisBuckets

ACQUIRE_TIMEOUT_S = 30.0


async def redis_now(client: aioredis.Redis) -> float:
    seconds, micros = await client.time()
    return float(seconds) + micros / 1_000_000


async def main(argv: list[str]) -> None:
    url, secret, account, rate, burst, count, concurrency = argv
    client = aioredis.Redis.from_url(url)
    try:
        budget = Budget(
            {"amazon": RateLimit(float(rate), int(burst))},
            RedisBuckets(client, call_timeout_s=30.0),
            secret_key=secret,
        )
        await client.ping()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        granted: list[float] = []
        refused = 0
        slots = asyncio.Semaphore(int(concurrency))

        async def one() -> None:
            nonlocal refused
            async with slots:
                if await budget.acquire("amazon", account, timeout_s=ACQUIRE_TIMEOUT_S):
                    granted.append(await redis_now(client))
                else:
                    refused += 1

        await asyncio.gather(*(one() for _ in range(int(count))))
        print(json.dumps({"granted": granted, "refused": refused}))
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
