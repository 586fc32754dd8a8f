"""What a scheduler tick asks for: due store syncs, queued syncs whose message was lost,
overdue webhook deliveries and inventory jobs. It only rings doorbells; workers work.

Stores are scanned by keyset pagination on (created_at, id), never OFFSET. A store
is skipped when it was synced within SCHEDULER_THROTTLE_S, when a sync of it is
already queued or running, or when none of its logs is due.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from marketsync.models import Store, SyncLog
from marketsync.runtime import Runtime
from marketsync.services.inventory.job_rows import ring_stale_inventory_jobs
from marketsync.services.pagination import after_key
from marketsync.services.sync.engine import due_logs_filter
from marketsync.services.sync.enqueue import (
    active_sync_job,
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
            query = query.filter(after_key(SCAN_KEY, last))
        page = (
            await query.order_by(*SCAN_KEY).limit(PAGE).values("id", "created_at", "last_sync_at")
        )
        if not page:
            break
        last = (page[-1]["created_at"], page[-1]["id"])
        scanned += len(page)
        for row in page:
            if row["last_sync_at"] is not None and row["last_sync_at"] > throttle_before:
                continue
            store_id = row["id"]
            has_due = await SyncLog.filter(
                due_logs_filter(store_id=store_id, now=now, max_attempts=settings.sync_max_attempts)
            ).exists()
            if has_due and await active_sync_job(rt=rt, store_id=store_id) is None:
                due.append(store_id)
    return scanned, due


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
