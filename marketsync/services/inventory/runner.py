"""Running inventory jobs: push a chunk, poll its batch, re-ring lost doorbells.

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
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from marketsync.errors import MarketplaceError, RateLimitError
from marketsync.ids import new_id
from marketsync.models import InventoryBatch, InventoryItemState, Job, Store
from marketsync.models.enums import InventoryItemStatus, JobStatus, JobType
from marketsync.runtime import Runtime
from marketsync.services.inventory.push import (
    POLL_ACTOR,
    PUSH_ACTOR,
    InventoryItem,
    body_hash,
    chunk_body,
    release_dedup_claim,
)
from marketsync.services.retry import INVENTORY_PUSH_RETRY

log = structlog.get_logger(__name__)

PUSH_MAX_ATTEMPTS = 5
STALE_GRACE_S = 60
POLL_RUNNING_STALE_S = 600
SWEEP_LIMIT = 500
_FINAL = frozenset({InventoryItemStatus.SUCCESS.value, InventoryItemStatus.FAILED.value})
_STATE_FIELDS = ("quantity", "sale_price", "list_price", "currency_type", "confirmed_at")
_ACTORS = {JobType.INVENTORY_PUSH: PUSH_ACTOR, JobType.INVENTORY_POLL: POLL_ACTOR}


def batch_results(
    pushed: Sequence[Mapping[str, Any]], answer: Mapping[str, Any]
) -> list[dict[str, Any]] | None:
    """The pushed items with their final status and reasons, or None while any pushed
    item has no final status in the marketplace's answer."""
    outcomes: dict[str, tuple[str, list[str]]] = {}
    for entry in answer.get("items") or []:
        if not isinstance(entry, dict):
            continue
        request, status = entry.get("requestItem"), entry.get("status")
        if (
            isinstance(request, dict)
            and isinstance(request.get("barcode"), str)
            and (status in _FINAL)
        ):
            reasons = entry.get("failureReasons")
            reasons = [str(r) for r in reasons] if isinstance(reasons, list) else []
            outcomes[request["barcode"]] = (str(status), reasons)
    results: list[dict[str, Any]] = []
    for item in pushed:
        outcome = outcomes.get(str(item["barcode"]))
        if outcome is None:
            return None
        results.append({**item, "status": outcome[0], "failureReasons": outcome[1]})
    return results


def push_retry_delay(attempts: int, error: MarketplaceError) -> float:
    """Seconds before the next push call, after ``attempts`` calls."""
    retry_after = error.retry_after if isinstance(error, RateLimitError) else None
    delay = INVENTORY_PUSH_RETRY.delay_s(attempt=attempts, retry_after_s=retry_after)
    assert delay is not None  # repeat_last: never exhausted
    return delay


def _describe(error: MarketplaceError) -> str:
    return f"{error.error_detail}: {error}"[:500]


def _now() -> datetime:
    return datetime.now(UTC)


# --- push ---------------------------------------------------------------------------


async def run_inventory_push(*, rt: Runtime, job_id: uuid.UUID) -> None:
    job = await _claim(job_id, JobType.INVENTORY_PUSH)
    if job is None:
        return  # unknown, finished, or another run holds it
    try:
        await _push(rt, job)
    except Exception as exc:
        # The dedup claim stays: whether the body reached the marketplace is unknown.
        await _fail(job, f"internal_error: {type(exc).__name__}", None)
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
        await _finish(job, {**summary, "remoteCall": False})
        return
    if body_hash(chunk_body(items)) != job.body_hash:
        await _fail(job, "body_mismatch: the stored items no longer give the planned body", summary)
        await release_dedup_claim(rt=rt, job=job)
        return
    store = await Store.get(id=job.store_id)
    try:
        batch_request_id = await rt.marketplace.push_inventory(
            marketplace=store.marketplace.value,
            access_token=rt.vault.store_tokens.decrypt(store.access_token_encrypted),
            items=[item.wire() for item in items],
        )
    except MarketplaceError as exc:
        if exc.retryable and job.attempts < PUSH_MAX_ATTEMPTS:
            await _retry_later(
                rt, job, push_retry_delay(job.attempts, exc), _describe(exc), summary
            )
        else:
            await _fail(job, _describe(exc), summary)
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
    now = _now()
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
            summary={
                "batchRequestId": batch_request_id,
                "nextRunAt": (now + timedelta(seconds=interval)).isoformat(),
            },
            using_db=conn,
        )
        await _finish(
            job,
            {
                **summary,
                "remoteCall": True,
                "batchRequestId": batch_request_id,
                "pollJobId": str(poll_id),
            },
            conn=conn,
        )
    await rt.dispatcher.send_delayed(POLL_ACTOR, str(poll_id), delay_s=interval)


# --- poll ---------------------------------------------------------------------------


async def run_inventory_poll(*, rt: Runtime, job_id: uuid.UUID) -> None:
    job = await _claim(job_id, JobType.INVENTORY_POLL)
    if job is None:
        return
    try:
        await _poll(rt, job)
    except Exception as exc:
        await _fail(job, f"internal_error: {type(exc).__name__}", None)
        raise


async def _poll(rt: Runtime, job: Job) -> None:
    settings = rt.settings
    batch_request_id = str((job.payload or {})["batchRequestId"])
    summary: dict[str, Any] = {"batchRequestId": batch_request_id, "polls": job.attempts}
    batch = await InventoryBatch.get(store_id=job.store_id, batch_request_id=batch_request_id)
    store = await Store.get(id=job.store_id)
    last_poll = job.attempts >= settings.inventory_poll_max_attempts
    try:
        answer = await rt.marketplace.get_inventory_batch(
            marketplace=store.marketplace.value,
            access_token=rt.vault.store_tokens.decrypt(store.access_token_encrypted),
            batch_request_id=batch_request_id,
        )
    except MarketplaceError as exc:
        if exc.retryable and not last_poll:
            retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
            delay = max(settings.inventory_poll_interval_s, retry_after or 0.0)
            await _retry_later(rt, job, delay, _describe(exc), summary)
        else:
            await _fail(job, _describe(exc), summary)
        return
    results = batch_results(batch.items, answer)
    if results is None:
        if last_poll:
            await _fail(
                job,
                f"incomplete: the batch had items without a final status after "
                f"{job.attempts} polls",
                summary,
            )
        else:
            await _retry_later(rt, job, settings.inventory_poll_interval_s, None, summary)
        return
    await _confirm(job, batch, results, summary)


async def _confirm(
    job: Job, batch: InventoryBatch, results: list[dict[str, Any]], summary: dict[str, Any]
) -> None:
    now = _now()
    confirmed = [
        InventoryItem.from_stored(result)
        for result in results
        if result["status"] == InventoryItemStatus.SUCCESS.value
    ]
    failed = len(results) - len(confirmed)
    async with in_transaction() as conn:
        upserted = await _upsert_states(conn, batch.store_id, confirmed, now)
        await (
            InventoryBatch.filter(id=batch.id)
            .using_db(conn)
            .update(
                complete=True,
                item_count=len(results),
                failed_item_count=failed,
                items=results,
                confirmed_upserted=upserted,
                updated_at=now,
            )
        )
        await _finish(
            job,
            {
                **summary,
                "itemCount": len(results),
                "failedItemCount": failed,
                "confirmedUpserted": upserted,
            },
            conn=conn,
        )


async def _upsert_states(
    conn: BaseDBAsyncClient, store_id: object, items: list[InventoryItem], now: datetime
) -> int:
    """The confirmed state of these items: one INSERT … ON CONFLICT per 500 rows."""
    rows = [
        InventoryItemState(
            store_id=store_id,
            barcode=item.barcode,
            quantity=item.quantity,
            sale_price=item.sale_price,
            list_price=item.list_price,
            currency_type=item.currency_type,
            confirmed_at=now,
        )
        for item in items
    ]
    if rows:
        await InventoryItemState.bulk_create(
            rows,
            batch_size=500,
            on_conflict=("store_id", "barcode"),
            update_fields=_STATE_FIELDS,
            using_db=conn,
        )
    return len(rows)


# --- job rows -----------------------------------------------------------------------


async def _claim(job_id: uuid.UUID, job_type: JobType) -> Job | None:
    """The job, now RUNNING with one more attempt; None when it is not QUEUED."""
    job = await Job.get_or_none(id=job_id, type=job_type)
    if job is None or job.status != JobStatus.QUEUED:
        return None
    now = _now()
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


async def _finish(
    job: Job, summary: dict[str, Any], *, conn: BaseDBAsyncClient | None = None
) -> None:
    now = _now()
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


async def _fail(job: Job, error: str, summary: dict[str, Any] | None) -> None:
    now = _now()
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


async def _retry_later(
    rt: Runtime, job: Job, delay_s: float, error: str | None, summary: dict[str, Any]
) -> None:
    now = _now()
    next_run = now + timedelta(seconds=delay_s)
    await Job.filter(id=job.id, status=JobStatus.RUNNING).update(
        status=JobStatus.QUEUED,
        updated_at=now,
        error=error,
        summary={**summary, "nextRunAt": next_run.isoformat()},
    )
    await rt.dispatcher.send_delayed(_ACTORS[job.type], str(job.id), delay_s=delay_s)


# --- the scheduler's sweep ----------------------------------------------------------


async def ring_stale_inventory_jobs(*, rt: Runtime) -> int:
    """Ring again for inventory jobs whose doorbell was lost; returns how many."""
    now = _now()
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
    next_run = (job.summary or {}).get("nextRunAt")
    if isinstance(next_run, str):
        try:
            return datetime.fromisoformat(next_run)
        except ValueError:
            pass
    return job.updated_at
