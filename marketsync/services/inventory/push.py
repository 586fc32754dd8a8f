"""Inventory push planning: validate, coalesce, diff, chunk, hash, deduplicate, enqueue.

The steps up to the chunk bodies are pure functions of plain values, so they are
tested without a database. ``push_inventory`` adds the I/O around them:

1. the items are validated and coalesced by barcode (the last occurrence wins);
2. items equal to the store's last confirmed state are skipped, unless ``force``;
3. the rest, sorted by barcode, are cut into chunks of INVENTORY_CHUNK_SIZE; a
   chunk's body is the exact bytes the marketplace client sends, and its
   ``bodyHash`` is their sha256, so the same items give the same hash whatever
   their order in the request;
4. each chunk claims ``SET NX EX`` on (store, bodyHash, writeEffective) for
   INVENTORY_DEDUP_WINDOW_S; a chunk whose claim is held answers the holder's job
   and is not enqueued again (two identical concurrent pushes: one sends);
5. the chunk jobs are written in one transaction, and only then are their
   doorbells rung (``runner.py`` runs them).

Prices are fixed-point with two decimals in the database and in job payloads
(strings), and JSON numbers on the wire (the marketplace compares them as numbers).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from marketsync.errors import ContentionError, NotFoundError, UserInputError
from marketsync.ids import new_id
from marketsync.messages import Actor
from marketsync.models import InventoryBatch, InventoryItemState, Job
from marketsync.models.enums import JobType
from marketsync.runtime import Runtime
from marketsync.services.inventory.items import (
    CENT,
    InventoryItem,
    ItemInput,
    coalesce,
    validate_items,
)
from marketsync.services.inventory.planning import (
    PlannedChunk,
    chunk_items,
    dedup_key,
    is_write_effective,
    select_changed,
)
from marketsync.services.stores.registry import get_store

STATE_LOOKUP_BATCH = 500  # barcodes per IN (...) query, well under SQLite's variable limit
PG_STATE_LOOKUP_BATCH = 10_000  # barcodes per array parameter on PostgreSQL
_STATE_SQL = (
    "SELECT barcode, quantity, sale_price, list_price, currency_type"
    " FROM inventory_item_state WHERE store_id = {key} AND barcode {barcodes}"
)


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    chunk_index: int
    item_count: int
    body_hash: str
    dedup: bool
    job_id: uuid.UUID


@dataclass
class PushResult:
    dry_run: bool
    write_effective: bool
    original_count: int
    coalesced_count: int
    changed_count: int
    skipped_count: int
    chunk_size: int
    chunk_count: int
    enqueued_count: int
    dedup_count: int
    dedup_window_ms: int
    chunks: list[ChunkOutcome] = field(default_factory=list)


# --- pure steps ---------------------------------------------------------------------


# --- with the database and Redis ----------------------------------------------------


async def load_confirmed(
    *, store_id: uuid.UUID, barcodes: Sequence[str]
) -> dict[str, InventoryItem]:
    """The last confirmed state of these barcodes, by barcode.

    The ORM is kept off this query: a 100,000-item push reads up to 100,000 rows, and
    building the IN (...) list and the rows through Tortoise cost more than the rest of
    the push (cProfile: bench/inventory.py --profile). PostgreSQL takes each batch as
    one array parameter; SQLite as STATE_LOOKUP_BATCH placeholders.
    """
    db = InventoryItemState._meta.db
    postgres = db.capabilities.dialect == "postgres"
    batch = PG_STATE_LOOKUP_BATCH if postgres else STATE_LOOKUP_BATCH
    confirmed: dict[str, InventoryItem] = {}
    for start in range(0, len(barcodes), batch):
        part = list(barcodes[start : start + batch])
        if postgres:
            sql = _STATE_SQL.format(key="$1", barcodes="= ANY($2::varchar[])")
            values: list[Any] = [store_id, part]
        else:
            sql = _STATE_SQL.format(key="?", barcodes=f"IN ({','.join('?' * len(part))})")
            values = [str(store_id), *part]
        _, rows = await db.execute_query(sql, values)
        for barcode, quantity, sale_price, list_price, currency_type in rows:
            confirmed[barcode] = InventoryItem(
                barcode=barcode,
                quantity=quantity,
                sale_price=_cents(sale_price),
                list_price=_cents(list_price),
                currency_type=currency_type,
            )
    return confirmed


def _cents(value: object) -> Decimal:
    """A price column as read: Decimal on PostgreSQL, text or a number on SQLite."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return exact.quantize(CENT)


async def push_inventory(
    *,
    rt: Runtime,
    organization_id: str,
    store_id: uuid.UUID,
    items: Sequence[ItemInput],
    dry_run: bool = False,
    force: bool = False,
    force_write: bool = False,
) -> PushResult:
    """Plan the push and enqueue one job per chunk that was not sent within the window."""
    store = await get_store(store_id=store_id, organization_id=organization_id)
    if not rt.marketplaces.supports_inventory(store.marketplace.value):
        raise UserInputError(
            "UNSUPPORTED_MARKETPLACE",
            f"inventory cannot be pushed to {store.marketplace.value} in live mode",
            ["input", "storeId"],
        )
    settings = rt.settings
    coalesced = coalesce(validate_items(items, max_items=settings.inventory_max_items))
    confirmed = (
        {}
        if force
        else await load_confirmed(store_id=store.id, barcodes=[item.barcode for item in coalesced])
    )
    changed, skipped = select_changed(coalesced, confirmed, force=force)
    chunks = chunk_items(changed, settings.inventory_chunk_size)
    write_effective = is_write_effective(
        dry_run=dry_run,
        force_write=force_write,
        write_enabled=settings.inventory_write_enabled,
        force_write_allowed=settings.inventory_force_write_allowed,
    )
    outcomes = await _enqueue_chunks(
        rt, store.id, chunks, dry_run=dry_run, write_effective=write_effective
    )
    dedup_count = sum(1 for outcome in outcomes if outcome.dedup)
    return PushResult(
        dry_run=dry_run,
        write_effective=write_effective,
        original_count=len(items),
        coalesced_count=len(coalesced),
        changed_count=len(changed),
        skipped_count=skipped,
        chunk_size=settings.inventory_chunk_size,
        chunk_count=len(chunks),
        enqueued_count=len(outcomes) - dedup_count,
        dedup_count=dedup_count,
        dedup_window_ms=settings.inventory_dedup_window_s * 1000,
        chunks=outcomes,
    )


async def _enqueue_chunks(
    rt: Runtime,
    store_id: uuid.UUID,
    chunks: Sequence[PlannedChunk],
    *,
    dry_run: bool,
    write_effective: bool,
) -> list[ChunkOutcome]:
    window = rt.settings.inventory_dedup_window_s
    outcomes: list[ChunkOutcome] = []
    jobs: list[Job] = []
    claimed: list[str] = []
    try:
        for chunk in chunks:
            job_id = new_id()
            key = dedup_key(store_id, chunk.body_hash, write_effective)
            holder = await _claim(rt, key, job_id, window)
            if holder is None:
                claimed.append(key)
                jobs.append(
                    Job(
                        id=job_id,
                        store_id=store_id,
                        type=JobType.INVENTORY_PUSH,
                        body_hash=chunk.body_hash,
                        write_effective=write_effective,
                        chunk_index=chunk.index,
                        payload={
                            "dryRun": dry_run,
                            "items": [item.stored() for item in chunk.items],
                        },
                    )
                )
            outcomes.append(
                ChunkOutcome(
                    chunk_index=chunk.index,
                    item_count=len(chunk.items),
                    body_hash=chunk.body_hash,
                    dedup=holder is not None,
                    job_id=holder or job_id,
                )
            )
        if jobs:
            async with in_transaction() as conn:
                await Job.bulk_create(jobs, using_db=conn)
    except BaseException:
        if claimed and window > 0:
            await rt.redis.delete(*claimed)  # nothing was enqueued: later pushes may send
        raise
    for job in jobs:  # doorbells after commit; the scheduler re-rings any that get lost
        await rt.dispatcher.send(Actor.PUSH_INVENTORY, str(job.id))
    return outcomes


async def _claim(rt: Runtime, key: str, job_id: uuid.UUID, window: int) -> uuid.UUID | None:
    """None when ``job_id`` now holds the dedup key, else the job that holds it."""
    if window <= 0:
        return None
    for _ in range(3):
        if await rt.redis.set(key, str(job_id), nx=True, ex=window):
            return None
        holder = await rt.redis.get(key)
        if holder is not None:  # else it expired between the two calls: claim again
            return uuid.UUID(_text(holder))
    raise ContentionError("inventory dedup claim did not settle")


async def release_dedup_claim(*, rt: Runtime, job: Job) -> None:
    """Let a later push send this body again: ``job`` failed without a batch."""
    if job.body_hash is None:
        return
    key = dedup_key(job.store_id, job.body_hash, job.write_effective)
    holder = await rt.redis.get(key)
    if holder is not None and _text(holder) == str(job.id):
        await rt.redis.delete(key)


async def get_inventory_batch(
    *, store_id: uuid.UUID, organization_id: str, batch_request_id: str
) -> InventoryBatch:
    batch = await InventoryBatch.get_or_none(
        store_id=store_id,
        store__organization_id=organization_id,
        batch_request_id=batch_request_id,
    )
    if batch is None:
        raise NotFoundError("inventory batch not found")
    return batch


def _text(value: bytes | str) -> str:
    """Redis answers bytes or str depending on the client's decode_responses."""
    return value.decode() if isinstance(value, bytes) else value
