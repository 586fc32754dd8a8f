"""Running inventory jobs: push a chunk, poll its batch (the sweep: ``job_rows.py``).

A message carries a job id; the job row is the truth. Each run first claims its job
(QUEUED → RUNNING by a conditional update), so a redelivered or duplicated message
does nothing. Retry policy (Dramatiq's retries are off):

- push: a chunk without an effective write succeeds without a remote call. A
  RateLimitError or TransportError puts the job back to QUEUED with a delayed
  doorbell (Retry-After, else 5, 10, 20, 40 s), at most PUSH_MAX_ATTEMPTS calls in
  all; resending the same body is safe, since the marketplace deduplicates it.
  DuplicateRequestError (the marketplace saw this body within its window; an
  earlier attempt may have landed), AuthError and other answers fail the job at
  once with ``"<errorDetails>: <message>"``. A failed push releases its dedup claim,
  so a later identical push is sent rather than pointed at the failure.
- poll: the batch is read every INVENTORY_POLL_INTERVAL_S until every pushed item
  has a final status, at most INVENTORY_POLL_MAX_ATTEMPTS reads (retryable errors
  use a read); then the SUCCESS items become the confirmed state, in the same
  transaction as the batch's result and the job's end.
- the scheduler re-rings QUEUED jobs whose doorbell is overdue by STALE_GRACE_S and
  puts back polls stuck in RUNNING; a push stuck in RUNNING is left alone, since
  whether it reached the marketplace is unknown.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import structlog
from tortoise.transactions import in_transaction

from marketsync.errors import DuplicateRequestError, MarketplaceError, RateLimitError
from marketsync.ids import new_id
from marketsync.messages import Actor
from marketsync.models import InventoryBatch, Job, Store
from marketsync.models.enums import InventoryItemStatus, JobType
from marketsync.runtime import Runtime
from marketsync.services.inventory.batches import batch_results, confirm_batch
from marketsync.services.inventory.items import InventoryItem
from marketsync.services.inventory.job_rows import (
    claim_job,
    fail_job,
    finish_job,
    retry_job_later,
    utc_now,
)
from marketsync.services.inventory.planning import body_hash, chunk_body
from marketsync.services.inventory.push import release_dedup_claim
from marketsync.services.retry import INVENTORY_PUSH_RETRY

log = structlog.get_logger(__name__)

PUSH_MAX_ATTEMPTS = 5
INVENTORY_BUDGET_WAIT_S = 60.0  # a job waits this long for a rate-budget token, then retries later
BUDGET_WAIT_REASON = "rate_budget: waiting for the store's rate budget"
INVENTORY_BUDGET_WAIT_S = 60.0
BUDGET_WAIT_REASON = "rate_budget: waiting for the store's rate budget"


async def _take_budget(rt: Runtime, store: Store) -> float | None:
    """A token of the store's rate budget (waiting up to INVENTORY_BUDGET_WAIT_S), or the
    seconds until one is available."""
    return await rt.budget.acquire_within(
        store.marketplace.value, store.external_store_id, timeout_s=INVENTORY_BUDGET_WAIT_S
    )


async def _drain_on_rate_limit(rt: Runtime, store: Store, error: MarketplaceError) -> None:
    if isinstance(error, RateLimitError):
        await rt.budget.drain(store.marketplace.value, store.external_store_id, error.retry_after)


def push_retry_delay(attempts: int, error: MarketplaceError) -> float:
    """Seconds before the next push call, after ``attempts`` calls."""
    retry_after = error.retry_after if isinstance(error, RateLimitError) else None
    delay = INVENTORY_PUSH_RETRY.delay_s(attempt=attempts, retry_after_s=retry_after)
    assert delay is not None  # repeat_last: never exhausted
    return delay


def _describe(error: MarketplaceError) -> str:
    return f"{error.error_detail}: {error}"[:500]


# --- push ---------------------------------------------------------------------------


async def run_inventory_push(*, rt: Runtime, job_id: uuid.UUID) -> None:
    job = await claim_job(job_id, JobType.INVENTORY_PUSH)
    if job is None:
        return  # unknown, finished, or another run holds it
    try:
        await _push(rt, job)
    except Exception as exc:
        # The dedup claim stays: whether the body reached the marketplace is unknown.
        await fail_job(job, f"internal_error: {type(exc).__name__}", None)
        raise


async def _push(rt: Runtime, job: Job) -> None:
    payload = job.payload or {}
    raw = payload.get("items")
    stored: list[dict[str, Any]] = [dict(item) for item in raw] if isinstance(raw, list) else []
    items = [InventoryItem.from_stored(data) for data in stored]
    summary: dict[str, Any] = {
        "chunkIndex": job.chunk_index,
        "itemCount": len(items),
        "bodyHash": job.body_hash,
        "dryRun": bool(payload.get("dryRun")),
        "writeEffective": job.write_effective,
    }
    if not job.write_effective:
        await finish_job(job, {**summary, "remoteCall": False})
        return
    if body_hash(chunk_body(items)) != job.body_hash:
        await fail_job(
            job, "body_mismatch: the stored items no longer give the planned body", summary
        )
        await release_dedup_claim(rt=rt, job=job)
        return
    store = await Store.get(id=job.store_id)
    if (wait_s := await _take_budget(rt, store)) is not None:
        await retry_job_later(
            rt, job, wait_s, "rate_budget: waiting for the store's budget", summary
        )
        return
    try:
        adapter = rt.marketplace_for(store)
        batch_request_id = await adapter.push_inventory([item.wire() for item in items])
    except DuplicateRequestError:
        # The marketplace saw this exact body within its window (an earlier attempt
        # landed): a dedup, not a failure. The dedup claim stays with this job.
        await finish_job(job, {**summary, "dedup": "marketplace_duplicate"})
        return
    except MarketplaceError as exc:
        await _drain_on_rate_limit(rt, store, exc)
        if exc.retryable and job.attempts < PUSH_MAX_ATTEMPTS:
            await retry_job_later(
                rt, job, push_retry_delay(job.attempts, exc), _describe(exc), summary
            )
        else:
            await fail_job(job, _describe(exc), summary)
            await release_dedup_claim(rt=rt, job=job)
        return
    await _record_batch(rt, job, stored, batch_request_id, summary)


async def _record_batch(
    rt: Runtime,
    job: Job,
    stored: list[dict[str, Any]],
    batch_request_id: str,
    summary: dict[str, Any],
) -> None:
    now = utc_now()
    interval = rt.settings.inventory_poll_interval_s
    poll_id = new_id()
    pending = [
        {**item, "status": InventoryItemStatus.PENDING.value, "failureReasons": []}
        for item in stored
    ]
    async with in_transaction() as conn:
        await InventoryBatch.create(
            store_id=job.store_id,
            batch_request_id=batch_request_id,
            push_job_id=job.id,
            item_count=len(stored),
            items=pending,
            using_db=conn,
        )
        await Job.create(
            id=poll_id,
            store_id=job.store_id,
            type=JobType.INVENTORY_POLL,
            parent_job_id=job.id,
            payload={"batchRequestId": batch_request_id},
            summary={"batchRequestId": batch_request_id},
            next_run_at=now + timedelta(seconds=interval),
            using_db=conn,
        )
        await finish_job(
            job,
            {
                **summary,
                "remoteCall": True,
                "batchRequestId": batch_request_id,
                "pollJobId": str(poll_id),
            },
            conn=conn,
        )
    await rt.dispatcher.send_delayed(Actor.POLL_INVENTORY, str(poll_id), delay_s=interval)


# --- poll ---------------------------------------------------------------------------


async def run_inventory_poll(*, rt: Runtime, job_id: uuid.UUID) -> None:
    job = await claim_job(job_id, JobType.INVENTORY_POLL)
    if job is None:
        return
    try:
        await _poll(rt, job)
    except Exception as exc:
        await fail_job(job, f"internal_error: {type(exc).__name__}", None)
        raise


async def _poll(rt: Runtime, job: Job) -> None:
    settings = rt.settings
    batch_request_id = str((job.payload or {})["batchRequestId"])
    summary: dict[str, Any] = {"batchRequestId": batch_request_id, "polls": job.attempts}
    batch = await InventoryBatch.get(store_id=job.store_id, batch_request_id=batch_request_id)
    store = await Store.get(id=job.store_id)
    last_poll = job.attempts >= settings.inventory_poll_max_attempts
    if (wait_s := await _take_budget(rt, store)) is not None:
        await retry_job_later(
            rt, job, wait_s, "rate_budget: waiting for the store's budget", summary
        )
        return
    try:
        answer = await rt.marketplace_for(store).get_inventory_batch(batch_request_id)
    except MarketplaceError as exc:
        await _drain_on_rate_limit(rt, store, exc)
        if exc.retryable and not last_poll:
            retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
            delay = max(settings.inventory_poll_interval_s, retry_after or 0.0)
            await retry_job_later(rt, job, delay, _describe(exc), summary)
        else:
            await fail_job(job, _describe(exc), summary)
        return
    results = batch_results(batch.items, answer)
    if results is None:
        if last_poll:
            await fail_job(
                job,
                f"incomplete: the batch had items without a final status after "
                f"{job.attempts} polls",
                summary,
            )
        else:
            await retry_job_later(rt, job, settings.inventory_poll_interval_s, None, summary)
        return
    await confirm_batch(job, batch, results, summary)


# --- job rows -----------------------------------------------------------------------


# --- the scheduler's sweep ----------------------------------------------------------
