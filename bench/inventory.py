"""An inventory push of 100,000 items against the pure canonical JSON + sha256 of them.

    .venv/bin/python bench/inventory.py [--items 100000] [--changed 0.5] [--db both|sqlite|postgres]

One store holds ``--items`` confirmed rows; the push sends the same barcodes with a
share ``--changed`` of them modified, so ``push_inventory`` validates, coalesces,
diffs against 100,000 confirmed rows, chunks, hashes, claims its dedup keys in Redis
and writes the chunk jobs. The doorbells go to a counting dispatcher (one per chunk;
no worker runs). The baseline, in the same run, is the canonical JSON + sha256 of the
same items, cut into the same chunks, from plain dicts.

Target: push / baseline <= 2, peak RSS < 300 MB (ru_maxrss of this process, which
also holds the 100,000 inputs). PostgreSQL + Redis is the production case.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import pstats
import resource
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import on_each_database, open_bench_database  # noqa: I001

from tortoise import Tortoise

from marketsync.marketplaces.client import canonical_inventory_body
from marketsync.models import InventoryItemState, Job, Store
from marketsync.models.enums import Marketplace
from marketsync.runtime import open_runtime
from marketsync.services.inventory.items import ItemInput
from marketsync.services.inventory.push import push_inventory


class CountingDispatcher:
    def __init__(self) -> None:
        self.sent = 0

    async def send(self, actor_name: str, *args: Any) -> None:
        self.sent += 1

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        self.sent += 1


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def inputs(count: int, changed: float) -> tuple[list[ItemInput], list[tuple[Any, ...]]]:
    """(the items of the push, the confirmed rows: same barcodes, some different)."""
    every = max(1, round(1 / changed)) if changed > 0 else 0
    items: list[ItemInput] = []
    confirmed: list[tuple[Any, ...]] = []
    for index in range(count):
        barcode = f"BC{index:08d}"
        sale, listed = Decimal(f"{10 + index % 900}.{index % 100:02d}"), Decimal("999.99")
        items.append(ItemInput(barcode, index % 50, sale, listed, "TRY"))
        quantity = index % 50 + (1 if every and index % every == 0 else 0)
        confirmed.append((barcode, quantity, sale, listed, "TRY"))
    return items, confirmed


def baseline(items: list[ItemInput], chunk_size: int) -> float:
    """Seconds for canonical JSON + sha256 of the items as plain dicts, chunk by chunk."""
    wire = [
        {
            "barcode": item.barcode,
            "quantity": item.quantity,
            "salePrice": float(item.sale_price),
            "listPrice": float(item.list_price),
            "currencyType": item.currency_type,
        }
        for item in items
    ]
    started = time.perf_counter()
    for start in range(0, len(wire), chunk_size):
        hashlib.sha256(canonical_inventory_body(wire[start : start + chunk_size])).hexdigest()
    return time.perf_counter() - started


async def seed(database_url: str, rows: list[tuple[Any, ...]]) -> uuid.UUID:
    store = await Store.create(
        organization_id="bench",
        marketplace=Marketplace.TRENDYOL,
        external_store_id="inv",
        store_name="Bench",
        access_token_encrypted="not-a-token",  # noqa: S106  (never decrypted here)
        currency="TRY",
    )
    now = datetime.now(UTC)
    states = [
        InventoryItemState(
            store_id=store.id,
            barcode=barcode,
            quantity=quantity,
            sale_price=sale,
            list_price=listed,
            currency_type=currency,
            confirmed_at=now,
        )
        for barcode, quantity, sale, listed, currency in rows
    ]
    await InventoryItemState.bulk_create(states, batch_size=2000)
    return store.id


async def run_one(label: str, database_url: str, args: argparse.Namespace) -> None:
    settings = await open_bench_database(database_url)
    dispatcher = CountingDispatcher()
    rt = open_runtime(
        settings, dispatcher=dispatcher, marketplace_base_url="http://127.0.0.1:9/mock"
    )
    try:
        await rt.redis.flushdb()
        items, confirmed = inputs(args.items, args.changed)
        store_id = await seed(database_url, confirmed)
        del confirmed
        gc.collect()
        base = min(baseline(items, settings.inventory_chunk_size) for _ in range(3))
        profile = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        result = await push_inventory(
            rt=rt, organization_id="bench", store_id=store_id, items=items, dry_run=True
        )
        if profile:
            profile.disable()
        elapsed = time.perf_counter() - started
        jobs = await Job.filter(store_id=store_id).count()
        print(
            f"[{label}] push of {result.original_count} items: changed {result.changed_count},"
            f" skipped {result.skipped_count}, chunks {result.chunk_count}, jobs {jobs},"
            f" doorbells {dispatcher.sent}"
        )
        print(f"[{label}] baseline canonical JSON + sha256   {base * 1000:8.1f} ms")
        print(f"[{label}] push_inventory                     {elapsed * 1000:8.1f} ms")
        print(f"[{label}] ratio push/baseline = {elapsed / base:.2f}  (target <= 2)")
        print(f"[{label}] peak RSS {rss_mb():.0f} MB  (target < 300)")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        await rt.redis.flushdb()
    finally:
        await rt.aclose()
        await Tortoise.close_connections()


async def main(args: argparse.Namespace) -> None:
    argv = [
        "--items",
        str(args.items),
        "--changed",
        str(args.changed),
        *(["--profile"] if args.profile else []),
    ]

    async def run(label: str, database_url: str) -> None:
        await run_one(label, database_url, args)

    await on_each_database(args.db, __file__, argv, run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.5)
    parser.add_argument("--db", choices=("both", "sqlite", "postgres"), default="both")
    parser.add_argument("--profile", action="store_true")
    asyncio.run(main(parser.parse_args()))
