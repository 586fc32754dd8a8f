"""What a scheduler tick asks for: due store syncs, queued syncs whose message was lost,
overdue webhook deliveries and inventory jobs. It only rings doorbells; workers work.

Stores are scanned by keyset pagination on (created_at, id), never OFFSET. A store
is skipped when it was synced within SCHEDULER_THROTTLE_S, when a sync of it is
already queued or running (``active_sync_job``: a QUEUED/RUNNING job younger than
SYNC_LOCK_TTL_S), or when none of its logs is due (``due_logs_filter``).

The scan is set-based: three queries per page of PAGE stores (the page, which of its
stores have a due log, which of those have an active sync job), never one per store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from marketsync.models import Job, Store, SyncLog
from marketsync.runtime import Runtime
from marketsync.services.inventory.job_rows import ring_stale_inventory_jobs
from marketsync.services.pagination import after_key
from marketsync.services.sync.engine import due_filter
from marketsync.services.sync.enqueue import (
    active_sync_filter,
    enqueue_store_sync,
    resend_stale_queued_syncs,
)
from marketsync.services.webhooks.delivery import ring_due_deliveries

PAGE = 500
SCAN_KEY = ("created_at", "id")


async def stores_with_due_work(*, rt: Runtime) -> tuple[int, list[uuid.UUID]]:
    """(stores scanned, stores to enqueue), in (created_at, id) order."""
    settings = rt.settings
    now = datetime.now(UTC)
    throttle_before = now - timedelta(seconds=settings.scheduler_throttle_s)
    scanned = 0
    due: list[uuid.UUID] = []
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = Store.all()
        if last is not None:
            # The redundant lower bound lets the (created_at, id) index start the page
            # where the last one ended: the OR of after_key alone made SQLite scan from
            # the first store on every page (quadratic over 100,000 stores).
            query = query.filter(Q(created_at__gte=last[0]) & after_key(SCAN_KEY, last))
        page = (
            await query.order_by(*SCAN_KEY).limit(PAGE).values("id", "created_at", "last_sync_at")
        )
        if not page:
            break
        last = (page[-1]["created_at"], page[-1]["id"])
        scanned += len(page)
        candidates = [
            row["id"]
            for row in page
            if row["last_sync_at"] is None or row["last_sync_at"] <= throttle_before
        ]
        with_due = await _stores_with_due_logs(
            candidates, now=now, max_attempts=settings.sync_max_attempts
        )
        busy = await _stores_with_active_sync(
            list(with_due),
            fresh_after=datetime.now(UTC) - timedelta(seconds=settings.sync_lock_ttl_s),
        )
        due.extend(
            store_id for store_id in candidates if store_id in with_due and store_id not in busy
        )
    return scanned, due


async def _stores_with_due_logs(
    store_ids: list[uuid.UUID], *, now: datetime, max_attempts: int
) -> set[uuid.UUID]:
    if not store_ids:
        return set()
    rows = (
        await SyncLog.filter(due_filter(now=now, max_attempts=max_attempts), store_id__in=store_ids)
        .distinct()
        .values_list("store_id", flat=True)
    )
    return {_uuid(value) for value in rows}


async def _stores_with_active_sync(
    store_ids: list[uuid.UUID], *, fresh_after: datetime
) -> set[uuid.UUID]:
    if not store_ids:
        return set()
    rows = (
        await Job.filter(active_sync_filter(fresh_after=fresh_after), store_id__in=store_ids)
        .distinct()
        .values_list("store_id", flat=True)
    )
    return {_uuid(value) for value in rows}


def _uuid(value: object) -> uuid.UUID:
    """SQLite answers a UUID column as text, asyncpg as a UUID."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def enqueue_due_work(*, rt: Runtime) -> dict[str, int]:
    scanned, due = await stores_with_due_work(rt=rt)
    enqueued = 0
    for store_id in due:
        _, created = await enqueue_store_sync(rt=rt, store_id=store_id)
        enqueued += created
    resent = await resend_stale_queued_syncs(rt=rt)
    due_deliveries = await ring_due_deliveries(rt=rt)
    inventory_jobs = await ring_stale_inventory_jobs(rt=rt)
    return {
        "scannedStores": scanned,
        "enqueuedJobs": enqueued,
        "resentJobs": resent,
        "dueDeliveries": due_deliveries,
        "inventoryJobs": inventory_jobs,
    }
