"""Job records and enqueueing: a store sync is queued at most once at a time.

A fresh QUEUED/RUNNING job of a store means "already on its way"; an older one is
stale (its message or worker was lost) and no longer blocks. Concurrent enqueuers
(two scheduler replicas, a scheduler and triggerSync) are kept apart by a short
Redis ``SET NX`` per store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from marketsync.errors import NotFoundError
from marketsync.models import Job, Store
from marketsync.models.enums import JobStatus, JobType
from marketsync.runtime import Runtime

SYNC_ACTOR = "sync_store"
_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


async def active_sync_job(*, rt: Runtime, store_id: uuid.UUID) -> Job | None:
    fresh_after = datetime.now(UTC) - timedelta(seconds=rt.settings.sync_lock_ttl_s)
    return await (
        Job.filter(
            store_id=store_id,
            type=JobType.STORE_SYNC,
            status__in=_ACTIVE,
            created_at__gte=fresh_after,
        )
        .order_by("-id")
        .first()
    )


async def enqueue_store_sync(*, rt: Runtime, store_id: uuid.UUID) -> tuple[Job, bool]:
    """The store's queued sync job and whether this call created it."""
    existing = await active_sync_job(rt=rt, store_id=store_id)
    if existing is not None and existing.status == JobStatus.QUEUED:
        return existing, False
    key = f"marketsync:enqueue:store_sync:{store_id}"
    if not await rt.redis.set(key, "1", nx=True, px=2000):
        racing = await active_sync_job(rt=rt, store_id=store_id)
        if racing is not None:
            return racing, False
    job = await Job.create(store_id=store_id, type=JobType.STORE_SYNC)
    await rt.dispatcher.send(SYNC_ACTOR, str(job.id))
    return job, True


async def trigger_sync(*, rt: Runtime, store_id: uuid.UUID, organization_id: str) -> Job:
    if not await Store.exists(id=store_id, organization_id=organization_id):
        raise NotFoundError("store not found")
    job, _ = await enqueue_store_sync(rt=rt, store_id=store_id)
    return job


async def get_job(*, job_id: uuid.UUID, organization_id: str) -> Job:
    job = await Job.get_or_none(id=job_id, store__organization_id=organization_id)
    if job is None:
        raise NotFoundError("job not found")
    return job
