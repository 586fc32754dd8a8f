"""The sync engine: retry a store's due logs, one run per store at a time.

A run takes the store's Redis lock (owner token, TTL refreshed after every chunk;
a run that finds it taken ends quietly as "already running" and emits nothing),
then works through due logs oldest first in chunks, and records the job, the
connection state and the sync.started / sync.completed / sync.failed events in the
same transactions as the state they describe.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from marketsync.errors import LockLostError
from marketsync.locks import LeasedLock
from marketsync.metrics import SYNC_LOGS_RETRIED, SYNC_RUNS
from marketsync.models import Job, Store, SyncLog
from marketsync.models.enums import (
    ConnectionStatus,
    JobStatus,
    SyncLogStatus,
    SyncStatus,
    WebhookEventType,
)
from marketsync.runtime import Runtime
from marketsync.services.orders.attempts import Outcome, record_outcomes, validate_with_marketplace
from marketsync.services.orders.status import store_sync_status
from marketsync.services.pagination import after_key
from marketsync.services.stores.connection import safe_error_text
from marketsync.services.webhooks.outbox import emit_event, ring_deliveries

log = structlog.get_logger(__name__)
DUE_ORDER = ("created_at", "id")
# A run waits this long for a token of the store's rate budget, then defers the log.
SYNC_BUDGET_WAIT_S = 60.0

RETRYABLE = (SyncLogStatus.PENDING, SyncLogStatus.FAILED, SyncLogStatus.RATE_LIMITED)


def due_filter(*, now: datetime, max_attempts: int) -> Q:
    """Logs a run should retry now, of any store: due, and not final."""
    return (
        Q(status__in=RETRYABLE)
        & (Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
        & (Q(status=SyncLogStatus.RATE_LIMITED) | Q(attempt__lt=max_attempts))
    )


def due_logs_filter(*, store_id: uuid.UUID, now: datetime, max_attempts: int) -> Q:
    """The store's logs a run should retry now."""
    return Q(store_id=store_id) & due_filter(now=now, max_attempts=max_attempts)


def lock_key(store_id: uuid.UUID) -> str:
    return f"marketsync:lock:store_sync:{store_id}"


@dataclass
class RunCounts:
    processed: int = 0
    success: int = 0
    failed: int = 0
    rate_limited: int = 0
    chunks: int = 0

    def merge(self, other: RunCounts) -> None:
        self.processed += other.processed
        self.success += other.success
        self.failed += other.failed
        self.rate_limited += other.rate_limited
        self.chunks += 1

    def add(self, status: SyncLogStatus) -> None:
        self.processed += 1
        if status == SyncLogStatus.SUCCESS:
            self.success += 1
        elif status == SyncLogStatus.RATE_LIMITED:
            self.rate_limited += 1
        else:
            self.failed += 1


async def run_store_sync(*, rt: Runtime, job_id: uuid.UUID) -> None:
    job = await Job.get_or_none(id=job_id)
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return  # unknown, or finished already: a redelivered message changes nothing
    store = await Store.get(id=job.store_id)
    lock = LeasedLock(rt.redis, lock_key(store.id), ttl_s=rt.settings.sync_lock_ttl_s)
    if not await lock.try_acquire():
        await _finish_skipped(job)
        log.info("store_sync_skipped", store_id=str(store.id), job_id=str(job.id))
        return
    try:
        await _run_locked(rt, job, store, lock)
    finally:
        try:
            await lock.release()
        except LockLostError:
            log.warning("store_sync_lock_lost", store_id=str(store.id), job_id=str(job.id))


async def _finish_skipped(job: Job) -> None:
    now = datetime.now(UTC)
    await Job.filter(id=job.id, status=JobStatus.QUEUED).update(
        status=JobStatus.SUCCESS,
        finished_at=now,
        updated_at=now,
        summary={"skipped": "already_running"},
        queued_slot=None,
    )


async def _run_locked(rt: Runtime, job: Job, store: Store, lock: LeasedLock) -> None:
    started = time.monotonic()
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        await (
            Job.filter(id=job.id)
            .using_db(conn)
            .update(
                status=JobStatus.RUNNING,
                started_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
                queued_slot=None,  # the store may queue its next sync now
            )
        )
        await (
            Store.filter(id=store.id)
            .using_db(conn)
            .update(
                conn_last_attempt_at=now,
                conn_last_status=ConnectionStatus.RUNNING,
                conn_last_job_id=job.id,
                conn_updated_at=now,
            )
        )
        started_ids = await emit_event(
            conn=conn,
            event=WebhookEventType.SYNC_STARTED,
            organization_id=store.organization_id,
            store_id=store.id,
            data={"jobId": str(job.id), "storeId": str(store.id)},
        )
    await ring_deliveries(rt=rt, delivery_ids=started_ids)
    counts = RunCounts()
    try:
        remaining = await _work_through(rt, store, lock, counts)
    except Exception as exc:
        await _finish(rt, job, store, counts, started, remaining=None, error=exc)
        raise
    await _finish(rt, job, store, counts, started, remaining=remaining, error=None)


async def _work_through(rt: Runtime, store: Store, lock: LeasedLock, counts: RunCounts) -> int:
    """Retry due logs chunk by chunk; two chunks overlap so no call slot idles at a boundary.

    Chunks are taken by keyset on (created_at, id), so the next chunk never picks up
    logs of the one still in flight. Each chunk's outcomes are written together.
    """
    settings = rt.settings
    limiter = asyncio.Semaphore(settings.sync_concurrency)
    access_token = rt.vault.store_tokens.decrypt(store.access_token_encrypted)

    async def attempt(sync_log: SyncLog) -> tuple[SyncLog, Outcome]:
        async with limiter:
            return sync_log, await validate_with_marketplace(
                rt=rt,
                store=store,
                receipt=sync_log.receipt,
                budget_wait_s=SYNC_BUDGET_WAIT_S,
                access_token=access_token,
            )

    async def work(chunk: list[SyncLog]) -> None:
        results = await asyncio.gather(*(attempt(sync_log) for sync_log in chunk))
        await record_outcomes(
            store_id=store.id, results=list(results), max_attempts=settings.sync_max_attempts
        )
        batch = RunCounts()
        for _, outcome in results:
            batch.add(outcome.status)
            SYNC_LOGS_RETRIED.labels(outcome.status.value).inc()
        counts.merge(batch)
        await lock.renew()
        await rt.publish_status(store.id)
        log.info(
            "store_sync_batch",
            store_id=str(store.id),
            processedCount=batch.processed,
            successCount=batch.success,
            failedCount=batch.failed,
            rateLimitedCount=batch.rate_limited,
        )

    in_flight: list[asyncio.Task[None]] = []
    after: tuple[datetime, uuid.UUID] | None = None
    try:
        for _ in range(settings.sync_max_iterations):
            due = due_logs_filter(
                store_id=store.id, now=datetime.now(UTC), max_attempts=settings.sync_max_attempts
            )
            if after is not None:
                due &= after_key(DUE_ORDER, after)
            chunk = await SyncLog.filter(due).order_by(*DUE_ORDER).limit(settings.sync_chunk_size)
            if not chunk:
                break
            after = (chunk[-1].created_at, chunk[-1].id)
            in_flight.append(asyncio.create_task(work(chunk)))
            if len(in_flight) == 2:
                await in_flight.pop(0)
        while in_flight:
            await in_flight.pop(0)
    finally:
        for task in in_flight:
            task.cancel()
    due = due_logs_filter(
        store_id=store.id, now=datetime.now(UTC), max_attempts=settings.sync_max_attempts
    )
    remaining = await SyncLog.filter(due).count()
    if remaining:
        log.info("store_sync_backlog", store_id=str(store.id), remainingBacklog=remaining)
    return remaining


async def _finish(
    rt: Runtime,
    job: Job,
    store: Store,
    counts: RunCounts,
    started: float,
    *,
    remaining: int | None,
    error: Exception | None,
) -> None:
    now = datetime.now(UTC)
    fresh = await Store.get(id=store.id)
    status = await store_sync_status(store_id=store.id, window=rt.settings.sync_status_window)
    summary: dict[str, Any] = {
        "processed": counts.processed,
        "success": counts.success,
        "failed": counts.failed,
        "rateLimited": counts.rate_limited,
        "remainingBacklog": remaining,
        "chunks": counts.chunks,
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    failed_run = error is not None or status == SyncStatus.FAILED
    event = WebhookEventType.SYNC_FAILED if failed_run else WebhookEventType.SYNC_COMPLETED
    error_text = safe_error_text(error) if error else None
    if error is not None:
        log.error(
            "store_sync_error",
            store_id=str(store.id),
            job_id=str(job.id),
            error=type(error).__name__,
            exc_info=error,
        )
    store_changes: dict[str, Any] = {
        "conn_last_status": ConnectionStatus.FAILED if error else ConnectionStatus.SUCCESS,
        "conn_last_error": error_text,
        "conn_updated_at": now,
    }
    if error is None:
        store_changes["conn_last_success_at"] = now
    async with in_transaction() as conn:
        await (
            Job.filter(id=job.id)
            .using_db(conn)
            .update(
                status=JobStatus.FAILED if error else JobStatus.SUCCESS,
                finished_at=now,
                summary=summary,
                error=error_text,
                updated_at=now,
            )
        )
        await Store.filter(id=store.id).using_db(conn).update(**store_changes)
        delivery_ids = await emit_event(
            conn=conn,
            event=event,
            organization_id=store.organization_id,
            store_id=store.id,
            data={
                "jobId": str(job.id),
                "storeId": str(store.id),
                "syncStatus": status.value,
                "importedOrders": fresh.imported_orders,
                **summary,
                **({"error": error_text} if error_text else {}),
            },
        )
    await ring_deliveries(rt=rt, delivery_ids=delivery_ids)
    await rt.publish_status(store.id)
    SYNC_RUNS.labels("failed" if error else event.value.removeprefix("sync.")).inc()
    log.info("store_sync_finished", store_id=str(store.id), job_id=str(job.id), **summary)
