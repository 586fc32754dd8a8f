"""One scheduler scan of 100,000 stores against a bare keyset SELECT over the same rows.

    .venv/bin/python bench/scheduler.py [--stores 100000] [--due 0.1] [--db both|sqlite|postgres]

``--stores`` stores, a share ``--due`` of them with one due sync log, a tenth of
those with a fresh QUEUED sync job and a tenth synced within the throttle. The tick is
``services.due_work.stores_with_due_work`` (what ``enqueue_due_work`` scans before it
enqueues); the baseline, in the same run, pages the same rows by (created_at, id) with
the same page size in plain SQL through the same Tortoise connection. The tick's
statements are counted from Tortoise's query log (``tortoise.db_client`` at DEBUG).

Target: tick / baseline < 2, and the statement count 3 per page + 1 (no N+1).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import on_each_database, open_bench_database  # noqa: I001

from tortoise import Tortoise

from marketsync.ids import new_id
from marketsync.models import Job, Store, SyncLog
from marketsync.models.enums import JobType, Marketplace, SyncLogStatus
from marketsync.runtime import open_runtime
from marketsync.services.due_work import PAGE, stores_with_due_work


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().lstrip().upper().startswith("SELECT"):
            self.count += 1


class NoDispatcher:
    async def send(self, actor_name: str, *args: Any) -> None:
        raise AssertionError("the scan sends nothing")

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        raise AssertionError("the scan sends nothing")


async def seed(count: int, due_share: float) -> int:
    start = datetime.now(UTC) - timedelta(days=1)
    now = datetime.now(UTC)
    every = max(1, round(1 / due_share))
    expected = 0
    for offset in range(0, count, 5000):
        stores = [
            Store(
                id=new_id(),
                organization_id="bench",
                marketplace=Marketplace.ETSY,
                external_store_id=f"s{index}",
                store_name="Bench",
                access_token_encrypted="not-a-token",  # noqa: S106  (never decrypted)
                currency="USD",
                created_at=start + timedelta(microseconds=index),
                last_sync_at=now if index % (every * 10) == every else None,
            )
            for index in range(offset, min(count, offset + 5000))
        ]
        await Store.bulk_create(stores, batch_size=1000)
        due = [s for i, s in enumerate(stores, offset) if i % every == 0]
        logs, jobs = [], []
        for index, store in enumerate(due):
            logs.append(
                SyncLog(
                    store_id=store.id,
                    receipt="R-1",
                    status=SyncLogStatus.FAILED,
                    attempt=1,
                    next_retry_at=now - timedelta(minutes=1),
                )
            )
            if index % 10 == 3:
                jobs.append(Job(store_id=store.id, type=JobType.STORE_SYNC))
        await SyncLog.bulk_create(logs, batch_size=1000)
        await Job.bulk_create(jobs, batch_size=1000)
        busy = {job.store_id for job in jobs}
        expected += sum(1 for s in due if s.id not in busy and s.last_sync_at is None)
    return expected


async def bare_scan(database_url: str) -> tuple[int, float]:
    db = Tortoise.get_connection("default")
    postgres = database_url.startswith("postgres")
    mark = "$1" if postgres else "?"
    mark2 = "$2" if postgres else "?"
    first = f"SELECT id, created_at, last_sync_at FROM store ORDER BY created_at, id LIMIT {PAGE}"  # noqa: S608  (a constant)
    after = (
        "SELECT id, created_at, last_sync_at FROM store WHERE (created_at, id) > "  # noqa: S608
        f"({mark}, {mark2}) ORDER BY created_at, id LIMIT {PAGE}"
    )
    started = time.perf_counter()
    rows_seen = 0
    _, rows = await db.execute_query(first)
    while rows:
        rows_seen += len(rows)
        last = rows[-1]
        _, rows = await db.execute_query(after, [last[1], last[0]])
    return rows_seen, time.perf_counter() - started


async def run_one(label: str, database_url: str, args: argparse.Namespace) -> None:
    settings = await open_bench_database(database_url)
    rt = open_runtime(
        settings, dispatcher=NoDispatcher(), marketplace_base_url="http://127.0.0.1:9"
    )
    try:
        expected = await seed(args.stores, args.due)
        await bare_scan(database_url)  # warm the cache for both
        base_rows, base = min([await bare_scan(database_url) for _ in range(3)], key=lambda r: r[1])
        logger = logging.getLogger("tortoise.db_client")
        counter = Counter()
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(counter)
        started = time.perf_counter()
        scanned, due = await stores_with_due_work(rt=rt)
        tick = time.perf_counter() - started
        logger.removeHandler(counter)
        pages = -(-scanned // PAGE)
        print(f"[{label}] bare keyset SELECT of {base_rows} stores   {base * 1000:8.1f} ms")
        print(
            f"[{label}] tick: {scanned} scanned, {len(due)} due (expected {expected})"
            f"  {tick * 1000:8.1f} ms"
        )
        print(
            f"[{label}] queries: {counter.count} for {pages} pages"
            f" (3 per page + 1 = {3 * pages + 1}; before: 1 + ~2 per unthrottled due store)"
        )
        print(f"[{label}] ratio tick/bare = {tick / base:.2f}  (target < 2)")
    finally:
        await rt.aclose()
        await Tortoise.close_connections()


async def main(args: argparse.Namespace) -> None:
    argv = ["--stores", str(args.stores), "--due", str(args.due)]

    async def run(label: str, database_url: str) -> None:
        await run_one(label, database_url, args)

    await on_each_database(args.db, __file__, argv, run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=100_000)
    parser.add_argument("--due", type=float, default=0.1)
    parser.add_argument("--db", choices=("both", "sqlite", "postgres"), default="both")
    asyncio.run(main(parser.parse_args()))
