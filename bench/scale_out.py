"""Due-log retries by 1 and by 2 `marketsync worker` processes, and where the ceiling is.

    .venv/bin/python bench/scale_out.py [--stores 32] [--logs 60] [--threads 8]

The scenario of bench/sync_worker.py (N stores x M due logs with valid receipts, one
queued sync job per store, the mock marketplace served by `marketsync serve` in its own
process), run twice on fresh stacks: once with ``worker --processes 1`` and once with
``--processes 2``. Target: rate(2) / rate(1) >= 1.7. A store's sync runs on one actor
thread at a time, so there must be more stores than one process's threads (8 stores
and 8 threads leave a second process nothing to do: 1.04 measured).

To say where the ceiling is, each run also reports the CPU seconds spent during the
measurement by: the worker processes, the API process serving the mock marketplace,
the PostgreSQL backends of the bench database, and the Redis server (its INFO), as a
share of the wall time (1.0 = one core busy). On a 2-core machine, two workers plus the
mock plus PostgreSQL compete for 2 cores: the figure is indicative, and the machine is
shared with other engineers (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import dramatiq
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REDIS_URL, register_store, stack

from marketsync.ids import new_id

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


class CpuMeter:
    """CPU seconds of process groups between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self.before: dict[str, dict[int, float]] = {}
        self.used: dict[str, float] = {}

    def sample(self, groups: dict[str, list[int]]) -> dict[str, dict[int, float]]:
        return {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}

    def start(self, groups: dict[str, list[int]]) -> None:
        self.before = self.sample(groups)

    def stop(self, groups: dict[str, list[int]]) -> None:
        after = self.sample(groups)
        for name, pids in after.items():
            old = self.before.get(name, {})
            self.used[name] = sum(max(0.0, cpu - old.get(pid, 0.0)) for pid, cpu in pids.items())


async def wait_for_workers(redis: aioredis.Redis, processes: int, max_seconds: float = 180) -> None:
    """Until ``processes`` Dramatiq worker processes are consuming: each one's broker
    writes its own heartbeat (a loaded machine takes longer than 30 s to get there)."""
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        if await redis.zcard("dramatiq:__heartbeats__") >= processes:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the workers did not start")


async def redis_cpu(redis: aioredis.Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def one_run(processes: int, args: argparse.Namespace) -> tuple[float, dict[str, float]]:
    env = {"SYNC_CHUNK_SIZE": "100", "SYNC_MAX_ITERATIONS": "100"}
    async with stack(extra_env=env) as bench:
        key = bench.run("apikey", "create", "--org", "bench").strip().splitlines()[-1]
        db_url = bench.database_url.replace("postgres://", "postgresql://")
        db = await asyncpg.connect(db_url)
        redis = aioredis.from_url(REDIS_URL)
        store_ids: list[uuid.UUID] = []
        async with aiohttp.ClientSession() as session:
            for index in range(args.stores):
                store_id, _ = await register_store(session, bench.base_url, key, f"s{index}")
                store_ids.append(uuid.UUID(store_id))
        now = datetime.now(UTC)
        await db.executemany(
            "INSERT INTO sync_log (id, store_id, receipt, status, error_details, attempt,"
            " next_retry_at, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            [
                (
                    new_id(),
                    sid,
                    f"B-{s}-{i}-1",
                    "FAILED",
                    "transport_error",
                    1,
                    now - timedelta(minutes=1),
                    now,
                    now,
                )
                for s, sid in enumerate(store_ids)
                for i in range(args.logs)
            ],
        )
        jobs = [new_id() for _ in store_ids]
        await db.executemany(
            "INSERT INTO job (id, store_id, type, status, attempts, write_effective,"
            " created_at, updated_at) VALUES ($1,$2,'STORE_SYNC','QUEUED',0,false,$3,$3)",
            [(job_id, sid, now) for job_id, sid in zip(jobs, store_ids, strict=True)],
        )
        worker = bench.start(
            "worker", "--processes", str(processes), "--threads", str(args.threads)
        )
        await wait_for_workers(redis, processes)
        name = bench.database_url.rsplit("/", 1)[1]
        groups = {
            "workers": descendants(worker.pid),
            "mock (serve)": descendants(bench.procs[0].pid),
            "postgres": [
                r["pid"]
                for r in await db.fetch("SELECT pid FROM pg_stat_activity WHERE datname=$1", name)
            ],
        }
        meter = CpuMeter()
        meter.start(groups)
        redis_before = await redis_cpu(redis)
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
        total = args.stores * args.logs
        deadline = time.monotonic() + args.max_seconds
        done = 0
        while time.monotonic() < deadline:
            done = await db.fetchval("SELECT count(*) FROM sync_log WHERE status='SUCCESS'")
            if done == total:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        groups["postgres"] = list(
            {*groups["postgres"]}
            | {
                r["pid"]
                for r in await db.fetch("SELECT pid FROM pg_stat_activity WHERE datname=$1", name)
            }
        )
        meter.stop(groups)
        meter.used["redis"] = await redis_cpu(redis) - redis_before
        broker.close()
        await redis.aclose()
        await db.close()
        if done != total:
            print(f"  [{processes}] only {done}/{total} logs retried in {args.max_seconds} s")
        return done / elapsed, {k: v / elapsed for k, v in meter.used.items()}


async def main(args: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared)")
    rates: dict[int, float] = {}
    for processes in (1, 2):
        rate, shares = await one_run(processes, args)
        rates[processes] = rate
        cores = "  ".join(f"{name} {share:.2f}" for name, share in shares.items())
        print(f"worker x{processes}: {rate:8.1f} logs/s   CPU cores busy: {cores}")
    print(f"ratio 2 processes / 1 = {rates[2] / rates[1]:.2f}  (target >= 1.7)")
    print(f"load average after: {os.getloadavg()[0]:.1f}; the figure is indicative")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=32)
    parser.add_argument("--logs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=300)
    asyncio.run(main(parser.parse_args()))
