"""Logs retried per second by one `marketsync worker` process, against a raw aiohttp loop.

    .venv/bin/python bench/sync_worker.py [--stores 8] [--sizes 250,1000] [--profile]

For each size M: N stores x M due logs (valid receipts, so every retry succeeds and is
written) on PostgreSQL + Redis; the mock marketplace is served by `marketsync serve` on
loopback. The baseline makes the same validate calls with plain aiohttp, the same
number in flight, right before the worker's round, in the same run. The worker's time
is the jobs' own: first started_at to last finished_at (written by the worker), so
its start-up is not counted. Target: worker / raw >= 0.7 at every size. Bounded by
count and a timeout. ``--profile`` records the worker with py-spy (if on PATH or in
.venv/bin) into the run's folder.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import shutil
import signal
import subprocess
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
from harness import REDIS_URL, Result, load, register_store, stack

from marketsync.ids import new_id

THREADS = 8
PER_STORE = 10  # SYNC_CONCURRENCY's default


async def main(stores: int, sizes: list[int], profile: bool) -> None:
    env = {"SYNC_CHUNK_SIZE": "100", "SYNC_MAX_ITERATIONS": "100"}
    async with stack(extra_env=env) as bench:
        key = bench.run("apikey", "create", "--org", "bench").strip().splitlines()[-1]
        db = await asyncpg.connect(bench.database_url.replace("postgres://", "postgresql://"))
        store_ids: list[uuid.UUID] = []
        async with aiohttp.ClientSession() as session:
            for index in range(stores):
                store_id, _ = await register_store(session, bench.base_url, key, f"s{index}")
                store_ids.append(uuid.UUID(store_id))
        worker = bench.start("worker", "--processes", "1", "--threads", str(THREADS))
        spy = None
        if profile:
            spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = await asyncio.create_subprocess_exec(
                spy_bin,
                "record",
                "--subprocesses",
                "--pid",
                str(worker.pid),
                "--format",
                "speedscope",
                "-o",
                f"{bench.folder}/worker.speedscope.json",
                "--rate",
                "200",
                "--nonblocking",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        broker = RedisBroker(url=REDIS_URL)
        lines: list[str] = []
        try:
            for round_no, logs in enumerate(sizes):
                async with aiohttp.ClientSession() as session:
                    raw = await raw_loop(
                        session, bench.base_url, stores * logs, min(stores, THREADS) * PER_STORE
                    )
                rate, done, elapsed, imported = await worker_round(
                    db, broker, store_ids, logs, round_no
                )
                lines.append(report(f"{stores} x {logs}", raw, rate, done, elapsed, imported))
        finally:
            broker.close()
            await db.close()
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                await asyncio.wait_for(spy.wait(), 120)
        del worker
        print(f"(run folder {bench.folder}; the machine is shared: rely on the ratios)")
        for line in lines:
            print(line)


async def worker_round(
    db: asyncpg.Connection,
    broker: RedisBroker,
    store_ids: list[uuid.UUID],
    logs: int,
    round_no: int,
) -> tuple[float, int, float, int]:
    await db.execute("DELETE FROM sync_log")
    await db.execute("UPDATE store SET imported_orders = 0")
    now = datetime.now(UTC)
    rows = [
        (
            new_id(),
            store_id,
            f"B{round_no}-{s}-{i}-1",
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
    total = len(rows)
    deadline = time.monotonic() + 300
    finished = 0
    while time.monotonic() < deadline:
        finished = await db.fetchval(
            "SELECT count(*) FROM job WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL",
            jobs,
        )
        if finished == len(jobs):
            break
        await asyncio.sleep(0.05)
    if finished != len(jobs):
        raise RuntimeError(f"only {finished} of {len(jobs)} syncs finished in time")
    first, last = await db.fetchrow(
        "SELECT min(started_at), max(finished_at) FROM job WHERE id = ANY($1::uuid[])", jobs
    )
    elapsed = (last - first).total_seconds()
    done = await db.fetchval("SELECT count(*) FROM sync_log WHERE status='SUCCESS'")
    imported = await db.fetchval("SELECT sum(imported_orders) FROM store")
    if done != total or imported != total:
        raise RuntimeError(f"{done} SUCCESS logs, importedOrders {imported}, expected {total}")
    return done / elapsed, done, elapsed, imported


def report(label: str, raw: Result, rate: float, done: int, elapsed: float, imported: int) -> str:
    return "\n".join(
        (
            f"--- {label} logs",
            raw.line(),
            f"{'worker: logs retried':<34} {rate:9.1f}/s  n={done} in {elapsed:.2f} s "
            f"(importedOrders {imported})",
            f"ratio worker/raw = {rate / raw.rate:.2f}  (target >= 0.7)",
        )
    )


async def raw_loop(
    session: aiohttp.ClientSession, base_url: str, total: int, concurrency: int
) -> Result:
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--sizes", default="250,1000", help="logs per store, one round each")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.stores, [int(n) for n in args.sizes.split(",")], args.profile))
