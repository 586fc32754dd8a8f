"""Rate budget cost: Budget.acquire on Redis against bare PING and a no-op EVALSHA.

Same run, same client and pool, same concurrency; each load stops after --count
calls or --max-seconds. The budget under test is set far above the achieved rate, so
every acquire is granted at once and what is measured is the cost of asking. A last
load paces acquires at --paced-rate to show that the granted rate matches the limit.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python -m bench.budget
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import redis.asyncio as aioredis

from bench.harness import REDIS_URL, Result, load
from marketsync.config import RateLimit
from marketsync.marketplaces.budget import Budget, LocalBuckets, RedisBuckets

SECRET = "bench-budget-secret-key-0123456789-abcdef"  # noqa: S105  (a bench-only key)
UNBOUNDED = RateLimit(1e9, 1_000_000_000)


async def main(args: argparse.Namespace) -> None:
    pool = aioredis.BlockingConnectionPool.from_url(
        REDIS_URL, max_connections=args.concurrency, timeout=10
    )
    client = aioredis.Redis.from_pool(pool)
    account = f"bench-{uuid.uuid4().hex[:8]}"
    budget = Budget({"amazon": UNBOUNDED}, RedisBuckets(client), secret_key=SECRET)
    local = Budget({"amazon": UNBOUNDED}, LocalBuckets(), secret_key=SECRET)
    paced = Budget(
        {"amazon": RateLimit(args.paced_rate, 1)}, RedisBuckets(client), secret_key=SECRET
    )
    noop = client.register_script("return 0")
    runs = {"total": args.count, "concurrency": args.concurrency, "max_seconds": args.max_seconds}

    async def ping(_: int) -> bool:
        return bool(await client.ping())

    async def evalsha(_: int) -> bool:
        return await noop(keys=["bench"], args=[]) == 0

    async def acquire(_: int) -> bool:
        return await budget.acquire("amazon", account, timeout_s=1)

    async def acquire_local(_: int) -> bool:
        return await local.acquire("amazon", account, timeout_s=1)

    try:
        await load("warm-up", ping, total=500, concurrency=args.concurrency)
        await noop(keys=["bench"], args=[])
        baseline = await load("redis PING", ping, **runs)
        floor = await load("redis EVALSHA (no-op script)", evalsha, **runs)
        redis_budget = await load("Budget.acquire (Redis)", acquire, **runs)
        local_budget = await load("Budget.acquire (in-process)", acquire_local, **runs)

        paced_total = int(args.paced_rate * args.paced_seconds)
        started = time.perf_counter()

        async def paced_acquire(_: int) -> bool:
            return await paced.acquire("amazon", f"{account}-paced", timeout_s=60)

        paced_run = await load(
            "Budget.acquire paced",
            paced_acquire,
            total=paced_total,
            concurrency=args.concurrency,
            max_seconds=args.paced_seconds * 3,
        )
        paced_seconds = time.perf_counter() - started
    finally:
        await client.delete(
            budget.bucket_key("amazon", account), paced.bucket_key("amazon", f"{account}-paced")
        )
        await client.aclose()

    print(f"redis {REDIS_URL}; concurrency {args.concurrency}; up to {args.count} calls each")
    for result in (baseline, floor, redis_budget, local_budget):
        print(result.line() + f"  {per_call_us(result):8.1f} us/call")
    print(
        f"ratio acquire/PING    = {redis_budget.rate / baseline.rate:.2f}  "
        f"(throughput; 1.00 = a token costs one PING)"
    )
    print(f"ratio acquire/EVALSHA = {redis_budget.rate / floor.rate:.2f}")
    overhead = per_call_us(redis_budget) - per_call_us(baseline)
    print(f"overhead per acquire over PING: {overhead:.1f} us")
    achieved = paced_run.count / paced_seconds
    print(
        f"paced at {args.paced_rate:.0f}/s burst 1: {paced_run.count} grants in "
        f"{paced_seconds:.2f} s = {achieved:.1f}/s (ratio to the limit "
        f"{achieved / args.paced_rate:.3f}; errors={paced_run.errors})"
    )


def per_call_us(result: Result) -> float:
    return result.seconds / result.count * 1e6 if result.count else 0.0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=15)
    parser.add_argument("--paced-rate", type=float, default=500)
    parser.add_argument("--paced-seconds", type=float, default=3)
    asyncio.run(main(parser.parse_args()))
