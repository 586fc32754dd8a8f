"""One `marketsync worker` syncing 2,000 due logs against the Trendyol fake, live mode:
without a rate budget, then with one 500/s above the rate it achieved (issue 8).

    .venv/bin/python bench/marketplaces.py [--logs 2000] [--burst 50]

The fake (tests/support/fakes/trendyol.py, a real HTTP server on 127.0.0.1) runs in
this process; the worker (`--processes 1 --threads 8`) runs with
MARKETPLACE_MODE=live and TRENDYOL_API_URL pointed at it, on PostgreSQL + Redis.
Round 1: MARKETPLACE_RATE_LIMITS=TRENDYOL=off. Round 2: TRENDYOL=(round 1 + 500)/s,
so the bucket never makes a call wait and what is left is its cost (one EVALSHA
per call). The rate is the job's own: started_at to finished_at. Target: with/without
>= 0.9. Every log must end SUCCESS at attempt 2, one call per log. Bounded by count
and a timeout; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import dramatiq
from dramatiq.brokers.redis import RedisBroker

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness import REDIS_URL, REGISTER, gql, stack

from marketsync.ids import new_id
from tests.support.fakes.trendyol import TrendyolFake

SELLER, API_KEY, API_SECRET = "734512", "bench-api-key", "bench-api-secret"


async def main(logs: int, burst: int) -> None:
    fake = TrendyolFake({SELLER: (API_KEY, API_SECRET)})
    for i in range(logs):
        fake.add_order(order_number(i), "149.90", "TRY")
    await fake.start()
    env = {"SYNC_CHUNK_SIZE": "100", "SYNC_MAX_ITERATIONS": "1000"}
    try:
        async with stack(extra_env=env) as bench:
            key = bench.run("apikey", "create", "--org", "bench").strip().splitlines()[-1]
            async with aiohttp.ClientSession() as session:
                body = await gql(
                    session,
                    bench.base_url,
                    REGISTER,
                    {
                        "i": {
                            "organizationId": "bench",
                            "marketplace": "TRENDYOL",
                            "externalStoreId": SELLER,
                            "storeName": "Bench",
                            "accessToken": f"{API_KEY}:{API_SECRET}",
                            "currency": "TRY",
                        }
                    },
                    key,
                )
            store_id = uuid.UUID(body["data"]["registerStore"]["storeId"])
            db = await asyncpg.connect(bench.database_url.replace("postgres://", "postgresql://"))
            broker = RedisBroker(url=REDIS_URL)
            live = {"MARKETPLACE_MODE": "live", "TRENDYOL_API_URL": fake.url}
            try:
                free = await one_round(
                    bench,
                    db,
                    broker,
                    fake,
                    store_id,
                    logs,
                    {**live, "MARKETPLACE_RATE_LIMITS": "TRENDYOL=off"},
                )
                budget = int(free + 500)
                limits = f"TRENDYOL={budget}/s:{burst}"
                budgeted = await one_round(
                    bench,
                    db,
                    broker,
                    fake,
                    store_id,
                    logs,
                    {**live, "MARKETPLACE_RATE_LIMITS": limits},
                )
            finally:
                broker.close()
                await db.close()
    finally:
        await fake.stop()
    print("(loopback; the machine is shared by other engineers: rely on the ratio)")
    print(f"{'no budget (TRENDYOL=off)':<34} {free:9.1f} logs/s  n={logs}")
    print(f"{f'budget {limits}':<34} {budgeted:9.1f} logs/s  n={logs}")
    print(f"ratio with/without budget = {budgeted / free:.2f}  (target >= 0.9)")


def order_number(i: int) -> str:
    return f"{10_000_000_000 + i}"


async def one_round(bench, db, broker, fake, store_id, logs, env) -> float:  # type: ignore[no-untyped-def]
    await db.execute("DELETE FROM sync_log")
    now = datetime.now(UTC)
    await db.executemany(
        "INSERT INTO sync_log (id, store_id, receipt, status, error_details, attempt,"
        " next_retry_at, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        [
            (
                new_id(),
                store_id,
                order_number(i),
                "FAILED",
                "transport_error",
                1,
                now - timedelta(minutes=1),
                now + timedelta(microseconds=i),
                now,
            )
            for i in range(logs)
        ],
    )
    job_id = new_id()
    await db.execute(
        "INSERT INTO job (id, store_id, type, status, attempts, write_effective,"
        " created_at, updated_at) VALUES ($1,$2,'STORE_SYNC','QUEUED',0,false,$3,$3)",
        job_id,
        store_id,
        now,
    )
    fake.reset()
    worker = bench.start("worker", "--processes", "1", "--threads", "8", env=env)
    try:
        broker.enqueue(
            dramatiq.Message(
                queue_name="sync",
                actor_name="sync_store",
                args=(str(job_id),),
                kwargs={},
                options={},
            )
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if await db.fetchval("SELECT finished_at FROM job WHERE id = $1", job_id):
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the sync did not finish in time")
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 30)
    started, finished, status = await db.fetchrow(
        "SELECT started_at, finished_at, status FROM job WHERE id = $1", job_id
    )
    good = await db.fetchval(
        "SELECT count(*) FROM sync_log WHERE status = 'SUCCESS' AND attempt = 2"
    )
    if status != "SUCCESS" or good != logs or fake.calls["api"] != logs:
        raise RuntimeError(f"job {status}, {good} SUCCESS logs, {fake.calls['api']} calls")
    return logs / (finished - started).total_seconds()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=50, help="the budget's burst (default's)")
    args = parser.parse_args()
    asyncio.run(main(args.logs, args.burst))
