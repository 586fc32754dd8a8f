"""Job records and enqueueing: a store sync is queued at most once at a time.

A fresh QUEUED/RUNNING job of a store means "already on its way"; an older one is
stale (its message or worker was lost) and no longer blocks. Concurrent enqueuers
(two scheduler replicas, a scheduler and triggerSync) are kept apart by a short
Redis ``SET NX`` per store.

Crash-safe: the job row is written first and is the truth; its message is a doorbell.
When the send fails (broker down) or the message is lost, the job stays QUEUED and the
scheduler sweep (``resend_stale_queued_syncs``) sends it again once it is older than
SYNC_RESEND_AFTER_S. A redelivered message is harmless: a finished job is ignored, and a
running one keeps the store's lock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import structlog
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from marketsync.errors import ContentionError, NotFoundError
from marketsync.messages import Actor
from marketsync.models import Job, Store
from marketsync.models.enums import JobStatus, JobType
from marketsync.runtime import Runtime
from marketsync.services.stores.connection import safe_error_text

log = structlog.get_logger(__name__)
_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
RESEND_BATCH = 500


def active_sync_filter(*, fresh_after: datetime) -> Q:
    """Store syncs queued or running, created after ``fresh_after`` (older ones are dead:
    their lock has expired)."""
    return Q(type=JobType.STORE_SYNC, status__in=_ACTIVE, created_at__gte=fresh_after)


async def active_sync_job(*, rt: Runtime, store_id: uuid.UUID) -> Job | None:
    fresh_after = datetime.now(UTC) - timedelta(seconds=rt.settings.sync_lock_ttl_s)
    query = Job.filter(active_sync_filter(fresh_after=fresh_after), store_id=store_id)
    return await query.order_by("-id").first()


async def enqueue_store_sync(*, rt: Runtime, store_id: uuid.UUID) -> tuple[Job, bool]:
    """The store's queued sync job and whether this call created it."""
    existing = await active_sync_job(rt=rt, store_id=store_id)
    if existing is not None and existing.status == JobStatus.QUEUED:
        return existing, False
    key = f"marketsync:enqueue:store_sync:{store_id}"
    try:
        first = await rt.redis.set(key, "1", nx=True, px=2000)
    except Exception as error:  # Redis down: the database check above is the guard left
        log.warning("sync_enqueue_guard_unavailable", store_id=str(store_id), error=_name(error))
        first = True
    if not first:
        racing = await active_sync_job(rt=rt, store_id=store_id)
        if racing is not None:
            return racing, False
    await _expire_stale_queued(rt, store_id)
    try:
        job = await Job.create(store_id=store_id, type=JobType.STORE_SYNC, queued_slot=store_id)
    except IntegrityError:  # another enqueuer won the store's queued slot
        holder = await Job.filter(queued_slot=store_id).first()
        if holder is None:
            raise ContentionError("the store's queued sync slot did not settle") from None
        return holder, False
    await _ring(rt, job)
    return job, True


async def _expire_stale_queued(rt: Runtime, store_id: uuid.UUID) -> None:
    """A QUEUED sync older than SYNC_LOCK_TTL_S never ran (its messages were lost or its
    worker died first): it ends FAILED with a safe reason and frees the store's slot."""
    now = datetime.now(UTC)
    expired = await Job.filter(
        queued_slot=store_id,
        status=JobStatus.QUEUED,
        created_at__lt=now - timedelta(seconds=rt.settings.sync_lock_ttl_s),
    ).update(
        status=JobStatus.FAILED,
        queued_slot=None,
        finished_at=now,
        updated_at=now,
        error="ExpiredError: the job did not start within SYNC_LOCK_TTL_S",
    )
    if expired:
        log.warning("sync_job_expired", store_id=str(store_id), count=expired)


async def _ring(rt: Runtime, job: Job) -> bool:
    """Send the job's doorbell; on failure the job stays QUEUED for the sweep."""
    try:
        await rt.dispatcher.send(Actor.SYNC_STORE, str(job.id))
    except Exception as error:
        log.warning(
            "sync_enqueue_deferred",
            job_id=str(job.id),
            store_id=str(job.store_id),
            error=_name(error),
        )
        return False
    return True


async def resend_stale_queued_syncs(*, rt: Runtime) -> int:
    """Send again the QUEUED store syncs whose message is older than SYNC_RESEND_AFTER_S.

    Each job is claimed by a conditional update of ``updated_at``, so two scheduler
    replicas never both resend it.
    """
    now = datetime.now(UTC)
    stale = await (
        Job.filter(
            type=JobType.STORE_SYNC,
            status=JobStatus.QUEUED,
            updated_at__lt=now - timedelta(seconds=rt.settings.sync_resend_after_s),
        )
        .order_by("updated_at")
        .limit(RESEND_BATCH)
    )
    resent = 0
    for job in stale:
        claimed = await Job.filter(
            id=job.id, status=JobStatus.QUEUED, updated_at=job.updated_at
        ).update(updated_at=now)
        if claimed and await _ring(rt, job):
            resent += 1
    if resent:
        log.info("sync_jobs_resent", count=resent)
    return resent


async def fail_unfinished_job(*, job_id: uuid.UUID, error: BaseException) -> bool:
    """End a QUEUED or RUNNING job (of any type) FAILED with a safe reason, when its
    actor gave up retrying; whether it was unfinished."""
    now = datetime.now(UTC)
    changed = await Job.filter(id=job_id, status__in=_ACTIVE).update(
        status=JobStatus.FAILED,
        finished_at=now,
        updated_at=now,
        error=safe_error_text(error),
        queued_slot=None,
    )
    return bool(changed)


def _name(error: BaseException) -> str:
    return type(error).__name__


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
