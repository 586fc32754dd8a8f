"""The inventory job rows' state machine, and the scheduler's sweep over them.

QUEUED → RUNNING is a conditional update (a duplicated message claims nothing);
RUNNING ends SUCCESS or FAILED, or goes back to QUEUED with ``next_run_at`` and a
delayed doorbell. The sweep rings again for QUEUED jobs whose doorbell is overdue by
STALE_GRACE_S and puts back polls stuck in RUNNING; a push stuck in RUNNING is left
alone, since whether it reached the marketplace is unknown.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from marketsync.messages import Actor
from marketsync.models import Job
from marketsync.models.enums import JobStatus, JobType
from marketsync.runtime import Runtime

log = structlog.get_logger(__name__)

STALE_GRACE_S = 60


POLL_RUNNING_STALE_S = 600


SWEEP_LIMIT = 500


_ACTORS = {
    JobType.INVENTORY_PUSH: Actor.PUSH_INVENTORY,
    JobType.INVENTORY_POLL: Actor.POLL_INVENTORY,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


async def claim_job(job_id: uuid.UUID, job_type: JobType) -> Job | None:
    """The job, now RUNNING with one more attempt; None when it is not QUEUED."""
    job = await Job.get_or_none(id=job_id, type=job_type)
    if job is None or job.status != JobStatus.QUEUED:
        return None
    now = utc_now()
    started_at = job.started_at or now
    claimed = await Job.filter(id=job.id, status=JobStatus.QUEUED, attempts=job.attempts).update(
        status=JobStatus.RUNNING,
        attempts=job.attempts + 1,
        started_at=started_at,
        updated_at=now,
    )
    if not claimed:
        return None
    job.status, job.attempts, job.started_at = JobStatus.RUNNING, job.attempts + 1, started_at
    return job


async def finish_job(
    job: Job, summary: dict[str, Any], *, conn: BaseDBAsyncClient | None = None
) -> None:
    now = utc_now()
    await (
        Job.filter(id=job.id, status=JobStatus.RUNNING)
        .using_db(conn)
        .update(
            status=JobStatus.SUCCESS,
            finished_at=now,
            updated_at=now,
            summary=summary,
            error=None,
        )
    )


async def fail_job(job: Job, error: str, summary: dict[str, Any] | None) -> None:
    now = utc_now()
    changes: dict[str, Any] = {
        "status": JobStatus.FAILED,
        "finished_at": now,
        "updated_at": now,
        "error": error,
    }
    if summary is not None:
        changes["summary"] = summary
    await Job.filter(id=job.id, status=JobStatus.RUNNING).update(**changes)
    log.warning("inventory_job_failed", job_id=str(job.id), type=job.type.value, error=error)


async def retry_job_later(
    rt: Runtime, job: Job, delay_s: float, error: str | None, summary: dict[str, Any]
) -> None:
    now = utc_now()
    next_run = now + timedelta(seconds=delay_s)
    await Job.filter(id=job.id, status=JobStatus.RUNNING).update(
        status=JobStatus.QUEUED,
        updated_at=now,
        error=error,
        summary=summary,
        next_run_at=next_run,
    )
    await rt.dispatcher.send_delayed(_ACTORS[job.type], str(job.id), delay_s=delay_s)


async def ring_stale_inventory_jobs(*, rt: Runtime) -> int:
    """Ring again for inventory jobs whose doorbell was lost; returns how many."""
    now = utc_now()
    overdue_before = now - timedelta(seconds=STALE_GRACE_S)
    stuck = (
        await Job.filter(
            type=JobType.INVENTORY_POLL,
            status=JobStatus.RUNNING,
            updated_at__lt=now - timedelta(seconds=POLL_RUNNING_STALE_S),
        )
        .order_by("updated_at")
        .limit(SWEEP_LIMIT)
    )
    queued = (
        await Job.filter(
            Q(type__in=tuple(_ACTORS)),
            status=JobStatus.QUEUED,
            updated_at__lt=overdue_before,
        )
        .order_by("updated_at")
        .limit(SWEEP_LIMIT)
    )
    rung = 0
    for job in [*stuck, *queued]:
        if job.status == JobStatus.QUEUED and _due_at(job) > overdue_before:
            continue  # a delayed doorbell is still on its way
        # Conditional on the row as read, so two sweeps never ring one job twice.
        if await Job.filter(id=job.id, status=job.status, updated_at=job.updated_at).update(
            status=JobStatus.QUEUED, updated_at=now
        ):
            await rt.dispatcher.send(_ACTORS[job.type], str(job.id))
            rung += 1
    if rung:
        log.info("inventory_jobs_rung", count=rung)
    return rung


def _due_at(job: Job) -> datetime:
    return job.next_run_at or job.updated_at
