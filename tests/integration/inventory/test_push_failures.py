"""Inventory jobs when things go wrong: refusals, lost connections, slow batches, lost
doorbells. The jobs run here by direct call on a runtime whose dispatcher only records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from marketsync.marketplaces.client import MarketplaceClient
from marketsync.models import InventoryBatch, InventoryItemState, Job
from marketsync.models.enums import JobStatus, JobType
from marketsync.runtime import Runtime
from marketsync.services.due_work import enqueue_due_work
from marketsync.services.inventory.items import InventoryItem, ItemInput
from marketsync.services.inventory.job_rows import ring_stale_inventory_jobs
from marketsync.services.inventory.planning import dedup_key
from marketsync.services.inventory.push import push_inventory
from marketsync.services.inventory.runner import (
    PUSH_MAX_ATTEMPTS,
    run_inventory_poll,
    run_inventory_push,
)
from tests.conftest import ORG, Api, RegisteredStore
from tests.integration.inventory.conftest import (
    Tune,
    inventory_calls,
    item,
    offline,
    push,
    settled,
)
from tests.support.servers import free_port

GOOD = InventoryItem("GOOD-1", 7, Decimal("10.50"), Decimal("12.00"), "USD")


def as_input(value: InventoryItem) -> ItemInput:
    return ItemInput(
        value.barcode, value.quantity, value.sale_price, value.list_price, value.currency_type
    )


async def plan(rt: Runtime, store: RegisteredStore, *items: InventoryItem) -> uuid.UUID:
    result = await push_inventory(
        rt=rt,
        organization_id=ORG,
        store_id=uuid.UUID(store.id),
        items=[as_input(i) for i in items or (GOOD,)],
    )
    assert result.enqueued_count == 1
    return result.chunks[0].job_id


class SlowMarketplace:
    """Accepts every push; answers the batch PENDING for the first ``pending_reads``."""

    def __init__(self, pending_reads: int) -> None:
        self.pending_reads = pending_reads
        self.reads = 0

    async def push_inventory(
        self, *, marketplace: str, access_token: str, items: list[dict[str, Any]]
    ) -> str:
        self.items = items
        return "slow-batch-1"

    async def get_inventory_batch(
        self, *, marketplace: str, access_token: str, batch_request_id: str
    ) -> dict[str, Any]:
        self.reads += 1
        status = "PENDING" if self.reads <= self.pending_reads else "SUCCESS"
        return {
            "batchRequestId": batch_request_id,
            "items": [
                {"requestItem": i, "status": status, "failureReasons": []} for i in self.items
            ],
        }


def tuned(api: Api, **settings: Any) -> Any:
    return api.rt.settings.model_copy(update={"inventory_write_enabled": True, **settings})


async def test_a_body_the_marketplace_already_saw_is_a_dedup_not_a_failure(
    api: Api, store: RegisteredStore, tune: Tune
) -> None:
    tune(inventory_write_enabled=True, inventory_poll_interval_s=0.05)
    await api.rt.marketplace.push_inventory(
        marketplace="etsy", access_token="x", items=[GOOD.wire()]
    )
    wire = item("GOOD-1", quantity=7, sale="10.50", list_="12.00", currencyType="USD")

    first = await push(api, store.id, [wire])
    job = await settled(first["chunks"][0]["jobId"])
    again = await push(api, store.id, [wire])

    # The marketplace's 15-minute duplicate answer ends the job as a dedup (contract)
    assert (job.status, job.attempts, job.error) == (JobStatus.SUCCESS, 1, None)
    assert job.summary is not None
    assert job.summary["dedup"] == "marketplace_duplicate"
    # and its dedup claim stays: the same push again is deduplicated here, not sent
    assert again["dedupCount"] == 1
    assert again["chunks"][0]["jobId"] == first["chunks"][0]["jobId"]
    assert await inventory_calls(api) == 2
    assert await Job.filter(type=JobType.INVENTORY_POLL).count() == 0
    assert await InventoryBatch.all().count() == 0
    assert await Job.filter(type=JobType.INVENTORY_POLL).count() == 0


async def test_a_lost_connection_is_retried_then_fails(api: Api, store: RegisteredStore) -> None:
    unreachable = MarketplaceClient(
        api.rt.http, base_url=f"http://127.0.0.1:{free_port()}/mock", settings=api.rt.settings
    )
    rt, dispatcher = offline(api, marketplace=unreachable, settings=tuned(api))
    job_id = await plan(rt, store)
    assert dispatcher.sent == [("push_inventory", (str(job_id),), None)]

    await run_inventory_push(rt=rt, job_id=job_id)

    job = await Job.get(id=job_id)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.QUEUED, 1, None)
    assert job.error is not None
    assert job.error.startswith("transport_error: ")
    assert job.next_run_at is not None
    assert job.next_run_at - job.updated_at == timedelta(seconds=5)
    assert dispatcher.sent[-1] == ("push_inventory", (str(job_id),), 5.0)

    for _ in range(PUSH_MAX_ATTEMPTS - 1):
        await run_inventory_push(rt=rt, job_id=job_id)

    job = await Job.get(id=job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, PUSH_MAX_ATTEMPTS)
    assert [delay for _, _, delay in dispatcher.sent] == [None, 5.0, 10.0, 20.0, 40.0]
    assert job.body_hash is not None
    assert await api.rt.redis.get(dedup_key(store.id, job.body_hash, True)) is None


async def test_a_redelivered_message_changes_nothing(api: Api, store: RegisteredStore) -> None:
    rt, dispatcher = offline(api, settings=tuned(api))
    job_id = await plan(rt, store)
    await run_inventory_push(rt=rt, job_id=job_id)

    await run_inventory_push(rt=rt, job_id=job_id)
    await run_inventory_push(rt=rt, job_id=uuid.uuid4())

    job = await Job.get(id=job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCESS, 1)
    assert await inventory_calls(api) == 1
    assert [name for name, _, _ in dispatcher.sent] == ["push_inventory", "poll_inventory"]


async def test_a_slow_batch_is_polled_again_until_complete(
    api: Api, store: RegisteredStore
) -> None:
    marketplace = SlowMarketplace(pending_reads=2)
    rt, dispatcher = offline(
        api,
        marketplace=marketplace,
        settings=tuned(api, inventory_poll_interval_s=7, inventory_poll_max_attempts=3),
    )
    await run_inventory_push(rt=rt, job_id=await plan(rt, store))
    (poll,) = await Job.filter(type=JobType.INVENTORY_POLL)
    assert dispatcher.sent[-1] == ("poll_inventory", (str(poll.id),), 7)

    await run_inventory_poll(rt=rt, job_id=poll.id)
    waiting = await Job.get(id=poll.id)
    await run_inventory_poll(rt=rt, job_id=poll.id)
    await run_inventory_poll(rt=rt, job_id=poll.id)

    assert (waiting.status, waiting.attempts) == (JobStatus.QUEUED, 1)
    assert waiting.error is None
    done = await Job.get(id=poll.id)
    assert (done.status, done.attempts, marketplace.reads) == (JobStatus.SUCCESS, 3, 3)
    assert [delay for name, _, delay in dispatcher.sent if name == "poll_inventory"] == [7, 7, 7]
    batch = await InventoryBatch.get(batch_request_id="slow-batch-1")
    assert (batch.complete, batch.confirmed_upserted) == (True, 1)
    assert await InventoryItemState.filter(barcode="GOOD-1").count() == 1


async def test_a_batch_never_complete_fails_after_the_last_poll(
    api: Api, store: RegisteredStore
) -> None:
    rt, _ = offline(
        api,
        marketplace=SlowMarketplace(pending_reads=99),
        settings=tuned(api, inventory_poll_max_attempts=2),
    )
    await run_inventory_push(rt=rt, job_id=await plan(rt, store))
    (poll,) = await Job.filter(type=JobType.INVENTORY_POLL)

    await run_inventory_poll(rt=rt, job_id=poll.id)
    await run_inventory_poll(rt=rt, job_id=poll.id)

    failed = await Job.get(id=poll.id)
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, 2)
    assert failed.error == "incomplete: the batch had items without a final status after 2 polls"
    assert (await InventoryBatch.get(batch_request_id="slow-batch-1")).complete is False
    assert await InventoryItemState.all().count() == 0


async def test_the_scheduler_rings_again_only_for_overdue_jobs(
    api: Api, store: RegisteredStore
) -> None:
    rt, dispatcher = offline(api, settings=tuned(api))
    overdue = await plan(rt, store, GOOD)
    fresh = await plan(rt, store, InventoryItem("B", 1, Decimal(1), Decimal(1), "TRY"))
    later = await plan(rt, store, InventoryItem("C", 1, Decimal(1), Decimal(1), "TRY"))
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    await Job.filter(id__in=[overdue, later]).update(updated_at=long_ago)
    await Job.filter(id=later).update(next_run_at=datetime.now(UTC) + timedelta(minutes=5))
    dispatcher.sent.clear()

    counts = await enqueue_due_work(rt=rt)
    again = await ring_stale_inventory_jobs(rt=rt)

    assert counts["inventoryJobs"] == 1
    assert again == 0
    assert dispatcher.sent == [("push_inventory", (str(overdue),), None)]
    assert {j.id: j.status for j in await Job.filter(id__in=[overdue, fresh, later])} == {
        overdue: JobStatus.QUEUED,
        fresh: JobStatus.QUEUED,
        later: JobStatus.QUEUED,
    }


async def test_a_poll_stuck_running_is_put_back_and_rung(api: Api, store: RegisteredStore) -> None:
    rt, dispatcher = offline(api, marketplace=SlowMarketplace(pending_reads=0), settings=tuned(api))
    await run_inventory_push(rt=rt, job_id=await plan(rt, store))
    (poll,) = await Job.filter(type=JobType.INVENTORY_POLL)
    await Job.filter(id=poll.id).update(
        status=JobStatus.RUNNING, updated_at=datetime.now(UTC) - timedelta(hours=1)
    )
    dispatcher.sent.clear()

    rung = await ring_stale_inventory_jobs(rt=rt)

    assert rung == 1
    assert dispatcher.sent == [("poll_inventory", (str(poll.id),), None)]
    await run_inventory_poll(rt=rt, job_id=poll.id)
    assert (await Job.get(id=poll.id)).status == JobStatus.SUCCESS


async def test_a_push_stuck_running_is_left_alone(api: Api, store: RegisteredStore) -> None:
    # Whether it reached the marketplace is unknown; a resend could only be refused.
    rt, dispatcher = offline(api, settings=tuned(api))
    job_id = await plan(rt, store)
    await Job.filter(id=job_id).update(
        status=JobStatus.RUNNING, updated_at=datetime.now(UTC) - timedelta(hours=1)
    )
    dispatcher.sent.clear()

    assert await ring_stale_inventory_jobs(rt=rt) == 0
    assert dispatcher.sent == []
    assert (await Job.get(id=job_id)).status == JobStatus.RUNNING
