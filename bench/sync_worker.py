"""Logs retried per second by one `marketsync worker` process, against a raw aiohttp loop.

    .venv/bin/python bench/sync_worker.py [--stores 8] [--logs 250]

N stores x M due logs (valid receipts, so every retry succeeds and is written) on
PostgreSQL + Redis; the mock marketplace is served by `marketsync serve` on loopback.
The baseline makes the same validate calls with plain aiohttp and the same number in
flight, in the same run. Target: worker / raw >= 0.7. Bounded by count and a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
from harness import REDIS_URL, load, register_store, stack

from marketsync.ids import new_id

THREADS = 8
PER_STORE = 10  # SYNC_CONCURRENCY's default


async def main(stores: int, logs: int) -> None:
    env = {"SYNC_CHUNK_SIZE": "100", "SYNC_MAX_ITERATIONS": "100"}
    async with stack(extra_env=env) as bench:
        key = bench.run("apikey", "create", "--org", "bench").strip().splitlines()[-1]
        db = await asyncpg.connect(bench.database_url.replace("postgres://", "postgresql://"))
        store_ids: list[uuid.UUID] = []
        async with aiohttp.ClientSession() as session:
            for index in range(stores):
                store_id, _ = await register_store(session, bench.base_url, key, f"s{index}")
                store_ids.append(uuid.UUID(store_id))
            raw = await raw_loop(
                session, bench.base_url, stores * logs, min(stores, THREADS) * PER_STORE
            )
        now = datetime.now(UTC)
        rows = [
            (
                new_id(),
                store_id,
                f"B-{s}-{i}-1",
                "FAILED",
                "transport_error",
                1,
                now - timedelta(minutes=1),
                now,
                now,
            )
            for s, store_id in enumerate(store_ids)
            for i in range(logs)
        ]
        await db.executemany(
            "INSERT INTO sync_log (id, store_id, receipt, status, error_details, attempt,"
            " next_retry_at, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            rows,
        )
        jobs = []
        for store_id in store_ids:
            job_id = new_id()
            await db.execute(
                "INSERT INTO job (id, store_id, type, status, attempts, write_effective,"
                " created_at, updated_at) VALUES ($1,$2,'STORE_SYNC','QUEUED',0,false,$3,$3)",
                job_id,
                store_id,
                now,
            )
            jobs.append(job_id)
        worker = bench.start("worker", "--processes", "1", "--threads", str(THREADS))
        await wait_for_log(bench, "is ready for action")
        broker = RedisBroker(url=REDIS_URL)
        started = time.perf_counter()
        for job_id in jobs:
            broker.enqueue(
                dramatiq.Message(
                    queue_name="sync",
                    actor_name="sync_store",
                    args=(str(job_id),),
                    kwargs={},
                    options={},
                )
            )
        total = stores * logs
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = await db.fetchval("SELECT count(*) FROM sync_log WHERE status='SUCCESS'")
            if done == total:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        imported = await db.fetchval("SELECT sum(imported_orders) FROM store")
        broker.close()
        await db.close()
        del worker
        report(raw, done, elapsed, imported)


def report(raw, done: int, elapsed: float, imported: int) -> None:  # type: ignore[no-untyped-def]
    rate = done / elapsed
    print(raw.line())
    print(
        f"{'worker: logs retried':<34} {rate:9.1f}/s  n={done} in {elapsed:.2f} s "
        f"(importedOrders {imported})"
    )
    print(f"ratio worker/raw = {rate / raw.rate:.2f}  (target >= 0.7)")


async def raw_loop(session: aiohttp.ClientSession, base_url: str, total: int, concurrency: int):  # type: ignore[no-untyped-def]
    auth = "Basic " + base64.b64encode(b"etsy:etsy-dev-pass").decode()

    async def call(index: int) -> bool:
        async with session.post(
            f"{base_url}/mock/etsy/validate",
            json={"receipt": f"RAW-{index}-1", "currency": "USD"},
            headers={"Authorization": auth},
        ) as response:
            await response.read()
            return response.status == 200

    return await load("raw aiohttp validate loop", call, total=total, concurrency=concurrency)


async def wait_for_log(bench, text: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(300):
        logs = await asyncio.to_thread(
            lambda: "".join(
                p.read_text(errors="replace") for p in Path(bench.folder).glob("worker*")
            )
        )
        if text in logs:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the worker did not start")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--logs", type=int, default=250)
    args = parser.parse_args()
    asyncio.run(main(args.stores, args.logs))
