"""The sync engine against the real mock marketplace, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from marketsync.models import Job, Store, SyncLog, WebhookEventRecord
from marketsync.models.enums import JobStatus, JobType, SyncLogStatus
from marketsync.runtime import Runtime
from marketsync.services.sync.engine import lock_key, run_store_sync
from marketsync.services.sync.enqueue import enqueue_store_sync
from tests.conftest import Api, register_store

PAST = timedelta(minutes=1)


async def due_log(store_id: str, receipt: str, **fields: Any) -> SyncLog:
    values: dict[str, Any] = {
        "status": SyncLogStatus.FAILED,
        "error_details": "transport_error",
        "attempt": 1,
        "next_retry_at": datetime.now(UTC) - PAST,
    }
    values.update(fields)
    return await SyncLog.create(store_id=uuid.UUID(store_id), receipt=receipt, **values)


async def run_job(rt: Runtime, store_id: str) -> Job:
    job = await Job.create(store_id=uuid.UUID(store_id), type=JobType.STORE_SYNC)
    await run_store_sync(rt=rt, job_id=job.id)
    return await Job.get(id=job.id)


def tuned(api: Api, **settings: Any) -> Runtime:
    return dataclasses.replace(api.rt, settings=api.settings.model_copy(update=settings))


async def test_due_logs_heal_and_counters_stay_exact(api: Api) -> None:
    store = await register_store(api)
    healed = await due_log(store.id, "R-1")
    still_invalid = await due_log(store.id, "R-2", error_details="invalid_receipt")
    limited = await due_log(store.id, "R-15", status=SyncLogStatus.RATE_LIMITED, attempt=3)
    crashed_import = await due_log(store.id, "R-3", status=SyncLogStatus.PENDING, attempt=0)

    job = await run_job(api.rt, store.id)

    assert job.status == JobStatus.SUCCESS
    assert job.attempts == 1
    assert job.summary is not None
    assert {k: job.summary[k] for k in ("processed", "success", "failed", "rateLimited")} == {
        "processed": 4,
        "success": 2,
        "failed": 1,
        "rateLimited": 1,
    }
    assert job.summary["remainingBacklog"] == 0
    healed = await SyncLog.get(id=healed.id)
    assert (healed.status, healed.attempt, healed.next_retry_at) == (SyncLogStatus.SUCCESS, 2, None)
    assert healed.order_id is not None
    invalid = await SyncLog.get(id=still_invalid.id)
    assert (invalid.status, invalid.attempt) == (SyncLogStatus.FAILED, 2)
    assert invalid.next_retry_at is not None
    assert invalid.next_retry_at - datetime.now(UTC) > timedelta(minutes=9)
    limited = await SyncLog.get(id=limited.id)
    assert (limited.status, limited.attempt) == (SyncLogStatus.RATE_LIMITED, 4)
    assert limited.next_retry_at is not None
    assert limited.next_retry_at - datetime.now(UTC) > timedelta(minutes=39)
    assert (await SyncLog.get(id=crashed_import.id)).status == SyncLogStatus.SUCCESS
    fresh = await Store.get(id=store.id)
    assert fresh.imported_orders == 2
    assert fresh.conn_last_status == "SUCCESS"
    assert fresh.conn_last_job_id == job.id
    assert fresh.last_sync_at is not None
    events = await WebhookEventRecord.filter(store_id=uuid.UUID(store.id)).order_by("created_at")
    assert [e.event.value for e in events] == ["sync.started", "sync.completed"]
    assert events[1].payload["data"]["importedOrders"] == 2
    assert events[1].payload["data"]["syncStatus"] == "PARTIAL"


async def test_final_and_not_yet_due_logs_are_left_alone(api: Api) -> None:
    store = await register_store(api)
    final = await due_log(store.id, "R-2", attempt=5, next_retry_at=None)
    later = await due_log(store.id, "R-1", next_retry_at=datetime.now(UTC) + PAST)
    done = await due_log(store.id, "R-3", status=SyncLogStatus.SUCCESS, next_retry_at=None)
    limited_many = await due_log(store.id, "R-33", status=SyncLogStatus.RATE_LIMITED, attempt=9)

    job = await run_job(api.rt, store.id)

    assert job.summary is not None
    assert job.summary["processed"] == 1
    assert (await SyncLog.get(id=final.id)).attempt == 5
    assert (await SyncLog.get(id=later.id)).attempt == 1
    assert (await SyncLog.get(id=done.id)).attempt == 1
    assert (await SyncLog.get(id=limited_many.id)).attempt == 10
    calls = (await api.mock_calls())["validate"]
    assert calls == {"etsy/R-33": 1}
    assert (await Store.get(id=store.id)).imported_orders == 0


async def test_a_failed_log_on_its_last_attempt_becomes_final(api: Api) -> None:
    store = await register_store(api)
    last = await due_log(store.id, "R-2", attempt=4)

    await run_job(api.rt, store.id)

    final = await SyncLog.get(id=last.id)
    assert (final.status, final.attempt, final.next_retry_at) == (SyncLogStatus.FAILED, 5, None)


async def test_chunks_and_iterations_bound_a_run_and_report_the_backlog(api: Api) -> None:
    store = await register_store(api)
    for index in range(7):
        await due_log(store.id, f"R-{index}-1")
    rt = tuned(api, sync_chunk_size=2, sync_max_iterations=3)

    job = await run_job(rt, store.id)

    assert job.summary is not None
    assert job.summary["processed"] == 6
    assert job.summary["chunks"] == 3
    assert job.summary["remainingBacklog"] == 1
    oldest_first = await SyncLog.filter(store_id=uuid.UUID(store.id)).order_by("created_at")
    assert [log.status for log in oldest_first] == [SyncLogStatus.SUCCESS] * 6 + [
        SyncLogStatus.FAILED
    ]


async def test_a_locked_store_is_skipped_quietly(api: Api) -> None:
    store = await register_store(api)
    await due_log(store.id, "R-1")
    await api.rt.redis.set(lock_key(uuid.UUID(store.id)), "someone-else", ex=60)

    job = await run_job(api.rt, store.id)

    assert job.status == JobStatus.SUCCESS
    assert job.summary == {"skipped": "already_running"}
    assert await WebhookEventRecord.all().count() == 0
    assert (await api.mock_calls())["validate"] == {}
    assert await api.rt.redis.get(lock_key(uuid.UUID(store.id))) == b"someone-else"


async def test_enqueue_is_once_per_store_and_trigger_sync_reuses_the_queued_job(api: Api) -> None:
    store = await register_store(api)
    await due_log(store.id, "R-1")
    sent: list[tuple[str, tuple[Any, ...]]] = []

    class Recorder:
        async def send(self, actor_name: str, *args: Any) -> None:
            sent.append((actor_name, args))

    rt = dataclasses.replace(api.rt, dispatcher=Recorder())
    first, created = await enqueue_store_sync(rt=rt, store_id=uuid.UUID(store.id))
    second, created_again = await enqueue_store_sync(rt=rt, store_id=uuid.UUID(store.id))
    body = await api.gql(
        "mutation($id: UUID!) { triggerSync(storeId: $id) { id type status } }",
        {"id": store.id},
        key=api.key,
    )

    assert created is True
    assert created_again is False
    assert second.id == first.id
    assert sent == [("sync_store", (str(first.id),))]
    assert body["data"]["triggerSync"] == {
        "id": str(first.id),
        "type": "STORE_SYNC",
        "status": "QUEUED",
    }


async def test_trigger_sync_runs_on_the_embedded_worker(api: Api) -> None:
    store = await register_store(api)
    await due_log(store.id, "R-1")
    query = "query($id: UUID!) { job(id: $id) { status summary } }"

    body = await api.gql(
        "mutation($id: UUID!) { triggerSync(storeId: $id) { id status } }",
        {"id": store.id},
        key=api.key,
    )
    job_id = body["data"]["triggerSync"]["id"]
    for _ in range(100):
        job = (await api.gql(query, {"id": job_id}, key=api.key))["data"]["job"]
        if job["status"] in ("SUCCESS", "FAILED"):
            break
        await _sleep()
    state = await api.gql(
        "query($id: UUID!) { store(id: $id) { importedOrders lastJob { id } "
        "connectionState { lastStatus lastJobId lastSuccessAt } } }",
        {"id": store.id},
        key=api.key,
    )
    foreign = await api.gql(query, {"id": job_id}, key=api.other_key)

    assert job["status"] == "SUCCESS"
    assert job["summary"]["success"] == 1
    assert state["data"]["store"]["importedOrders"] == 1
    assert state["data"]["store"]["lastJob"]["id"] == job_id
    assert state["data"]["store"]["connectionState"]["lastStatus"] == "SUCCESS"
    assert state["data"]["store"]["connectionState"]["lastJobId"] == job_id
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.05)
