"""Written pushes end to end: push → batch → poll → confirmed state; dedup; force."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from marketsync.models import InventoryBatch, InventoryItemState, Job
from marketsync.models.enums import JobStatus, JobType
from tests.conftest import Api, RegisteredStore
from tests.integration.inventory.conftest import (
    BATCH,
    Tune,
    batch_calls,
    inventory_calls,
    item,
    money,
    push,
    settled,
    settled_poll,
)

GOOD = item("GOOD-1", quantity=7, sale="10.50", list_="12.00", currencyType="USD")
BAD = item("BAD-1", quantity=3, sale="20.00", list_="10.00")


@pytest.fixture
def writes(tune: Tune) -> None:
    tune(inventory_write_enabled=True, inventory_poll_interval_s=0.05)


@pytest.mark.usefixtures("writes")
async def test_a_written_push_is_polled_until_confirmed(api: Api, store: RegisteredStore) -> None:
    payload = await push(api, store.id, [GOOD, BAD])

    assert (payload["writeEffective"], payload["enqueuedCount"], payload["chunkCount"]) == (
        True,
        1,
        1,
    )
    pushed, poll = await settled_poll(payload["chunks"][0]["jobId"])
    assert pushed.summary is not None
    batch_request_id = pushed.summary["batchRequestId"]
    assert isinstance(batch_request_id, str)
    assert batch_request_id
    assert pushed.summary["remoteCall"] is True
    assert (poll.type, poll.status, poll.parent_job_id) == (
        JobType.INVENTORY_POLL,
        JobStatus.SUCCESS,
        pushed.id,
    )
    assert poll.summary is not None
    assert {
        k: poll.summary[k]
        for k in ("batchRequestId", "itemCount", "failedItemCount", "confirmedUpserted")
    } == {
        "batchRequestId": batch_request_id,
        "itemCount": 2,
        "failedItemCount": 1,
        "confirmedUpserted": 1,
    }
    assert await inventory_calls(api) == 1
    assert await batch_calls(api) == poll.attempts == 1

    states = await InventoryItemState.filter(store_id=uuid.UUID(store.id))
    assert [
        (s.barcode, s.quantity, s.sale_price, s.list_price, s.currency_type) for s in states
    ] == [("GOOD-1", 7, money("10.50"), money("12.00"), "USD")]

    body = await api.gql(BATCH, {"storeId": store.id, "id": batch_request_id}, key=api.key)
    assert body["data"]["inventoryBatch"] == {
        "batchRequestId": batch_request_id,
        "storeId": store.id,
        "complete": True,
        "itemCount": 2,
        "failedItemCount": 1,
        "confirmedUpserted": 1,
        "items": [
            {
                "barcode": "BAD-1",
                "quantity": 3,
                "salePrice": "20.00",
                "listPrice": "10.00",
                "status": "FAILED",
                "failureReasons": ["salePrice must not exceed listPrice"],
            },
            {
                "barcode": "GOOD-1",
                "quantity": 7,
                "salePrice": "10.50",
                "listPrice": "12.00",
                "status": "SUCCESS",
                "failureReasons": [],
            },
        ],
    }


@pytest.mark.usefixtures("writes")
async def test_a_batch_is_not_found_for_another_organization(
    api: Api, store: RegisteredStore
) -> None:
    payload = await push(api, store.id, [GOOD])
    pushed, _ = await settled_poll(payload["chunks"][0]["jobId"])
    assert pushed.summary is not None

    body = await api.gql(
        BATCH, {"storeId": store.id, "id": pushed.summary["batchRequestId"]}, key=api.other_key
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


async def test_a_batch_before_its_poll_lists_its_items_as_pending(
    api: Api, store: RegisteredStore, tune: Tune
) -> None:
    tune(inventory_write_enabled=True, inventory_poll_interval_s=30)
    payload = await push(api, store.id, [GOOD])
    pushed = await settled(payload["chunks"][0]["jobId"])
    assert pushed.summary is not None

    body = await api.gql(
        BATCH, {"storeId": store.id, "id": pushed.summary["batchRequestId"]}, key=api.key
    )

    batch = body["data"]["inventoryBatch"]
    assert (batch["complete"], batch["itemCount"], batch["confirmedUpserted"]) == (False, 1, 0)
    assert [(i["barcode"], i["status"]) for i in batch["items"]] == [("GOOD-1", "PENDING")]
    assert await batch_calls(api) == 0
    poll = await Job.get(id=pushed.summary["pollJobId"])
    assert (poll.status, poll.attempts) == (JobStatus.QUEUED, 0)


@pytest.mark.usefixtures("writes")
async def test_confirmed_items_are_skipped_and_changed_ones_sent(
    api: Api, store: RegisteredStore
) -> None:
    first = await push(api, store.id, [GOOD, BAD])
    await settled_poll(first["chunks"][0]["jobId"])

    again = await push(api, store.id, [GOOD])
    changed = await push(api, store.id, [GOOD, {**BAD, "listPrice": "25.00"}])

    assert {
        k: again[k]
        for k in ("changedCount", "skippedCount", "chunkCount", "enqueuedCount", "chunks")
    } == {
        "changedCount": 0,
        "skippedCount": 1,
        "chunkCount": 0,
        "enqueuedCount": 0,
        "chunks": [],
    }
    assert (changed["changedCount"], changed["skippedCount"], changed["enqueuedCount"]) == (1, 1, 1)
    await settled_poll(changed["chunks"][0]["jobId"])
    assert await inventory_calls(api) == 2
    states = {s.barcode: s for s in await InventoryItemState.filter(store_id=uuid.UUID(store.id))}
    assert sorted(states) == ["BAD-1", "GOOD-1"]
    assert (states["BAD-1"].sale_price, states["BAD-1"].list_price) == (
        money("20.00"),
        money("25.00"),
    )


@pytest.mark.usefixtures("writes")
async def test_2500_items_are_written_as_three_batches(api: Api, store: RegisteredStore) -> None:
    items = [item(f"BC-{n:05d}", quantity=n) for n in range(2500)]

    payload = await push(api, store.id, items)

    assert [(c["chunkIndex"], c["itemCount"]) for c in payload["chunks"]] == [
        (0, 1000),
        (1, 1000),
        (2, 500),
    ]
    polls = [(await settled_poll(c["jobId"]))[1] for c in payload["chunks"]]
    assert [p.status for p in polls] == [JobStatus.SUCCESS] * 3
    assert await inventory_calls(api) == 3
    assert await InventoryBatch.filter(store_id=uuid.UUID(store.id), complete=True).count() == 3
    assert await InventoryItemState.filter(store_id=uuid.UUID(store.id)).count() == 2500
    assert (await InventoryItemState.get(barcode="BC-02499")).quantity == 2499


@pytest.mark.usefixtures("writes")
async def test_the_same_body_within_the_window_is_not_sent_again(
    api: Api, store: RegisteredStore
) -> None:
    first = await push(api, store.id, [GOOD, BAD])
    await settled(first["chunks"][0]["jobId"])

    second = await push(api, store.id, [BAD, GOOD])

    assert (second["enqueuedCount"], second["dedupCount"]) == (0, 1)
    assert second["chunks"] == [{**first["chunks"][0], "dedup": True}]
    await settled_poll(first["chunks"][0]["jobId"])
    assert await inventory_calls(api) == 1
    assert await Job.filter(type=JobType.INVENTORY_PUSH).count() == 1


@pytest.mark.usefixtures("writes")
async def test_two_identical_pushes_at_once_send_once(api: Api, store: RegisteredStore) -> None:
    results = await asyncio.gather(*(push(api, store.id, [GOOD]) for _ in range(5)))

    assert sorted(r["enqueuedCount"] for r in results) == [0, 0, 0, 0, 1]
    assert len({r["chunks"][0]["jobId"] for r in results}) == 1
    await settled_poll(results[0]["chunks"][0]["jobId"])
    assert await inventory_calls(api) == 1


async def test_dedup_is_per_effective_write(api: Api, store: RegisteredStore, tune: Tune) -> None:
    dry = await push(api, store.id, [GOOD], dryRun=True)
    dry_again = await push(api, store.id, [GOOD], dryRun=True)
    disabled = await push(api, store.id, [GOOD])  # writes disabled: no effective write either
    tune(inventory_write_enabled=True, inventory_poll_interval_s=0.05)
    written = await push(api, store.id, [GOOD])

    assert dry_again["chunks"] == [{**dry["chunks"][0], "dedup": True}]
    assert disabled["chunks"] == [{**dry["chunks"][0], "dedup": True}]
    assert (written["dedupCount"], written["enqueuedCount"]) == (0, 1)
    assert written["chunks"][0]["bodyHash"] == dry["chunks"][0]["bodyHash"]
    assert written["chunks"][0]["jobId"] != dry["chunks"][0]["jobId"]
    await settled_poll(written["chunks"][0]["jobId"])
    assert await inventory_calls(api) == 1


async def test_after_the_window_the_same_body_is_enqueued_again(
    api: Api, store: RegisteredStore, tune: Tune
) -> None:
    tune(inventory_dedup_window_s=1)
    first = await push(api, store.id, [GOOD], dryRun=True)
    await asyncio.sleep(1.1)

    second = await push(api, store.id, [GOOD], dryRun=True)

    assert (second["dedupWindowMs"], second["dedupCount"], second["enqueuedCount"]) == (1000, 0, 1)
    assert second["chunks"][0]["jobId"] != first["chunks"][0]["jobId"]


@pytest.mark.usefixtures("writes")
async def test_force_sends_confirmed_items_but_dedup_still_holds(
    api: Api, store: RegisteredStore
) -> None:
    first = await push(api, store.id, [GOOD])
    await settled_poll(first["chunks"][0]["jobId"])

    forced_dry = await push(api, store.id, [GOOD], force=True, dryRun=True)
    forced = await push(api, store.id, [GOOD], force=True)

    assert (forced_dry["changedCount"], forced_dry["skippedCount"]) == (1, 0)
    assert (forced_dry["enqueuedCount"], forced_dry["dedupCount"]) == (1, 0)
    assert (forced["changedCount"], forced["skippedCount"], forced["dedupCount"]) == (1, 0, 1)
    assert forced["chunks"][0]["jobId"] == first["chunks"][0]["jobId"]
    await settled(forced_dry["chunks"][0]["jobId"])
    assert await inventory_calls(api) == 1


async def test_force_write_writes_when_the_server_allows_it(
    api: Api, store: RegisteredStore, tune: Tune
) -> None:
    tune(inventory_poll_interval_s=0.05)  # writes disabled, force-write allowed (defaults)

    payload = await push(api, store.id, [GOOD], forceWrite=True)

    assert payload["writeEffective"] is True
    _, poll = await settled_poll(payload["chunks"][0]["jobId"])
    assert poll.status == JobStatus.SUCCESS
    assert await inventory_calls(api) == 1


async def test_force_write_is_ignored_where_the_server_forbids_it(
    api: Api, store: RegisteredStore, tune: Tune
) -> None:
    tune(inventory_force_write_allowed=False)

    payload = await push(api, store.id, [GOOD], forceWrite=True)
    dry = await push(api, store.id, [BAD], forceWrite=True, dryRun=True)

    assert (payload["writeEffective"], payload["userErrors"]) == (False, [])
    assert dry["writeEffective"] is False
    for job_id in (payload["chunks"][0]["jobId"], dry["chunks"][0]["jobId"]):
        job = await settled(job_id)
        assert job.summary is not None
        assert (job.status, job.summary["remoteCall"]) == (JobStatus.SUCCESS, False)
    assert await inventory_calls(api) == 0
