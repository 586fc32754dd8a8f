"""pushInventory without writes: the plan, dry runs, userErrors and who may push."""

from __future__ import annotations

import uuid

from marketsync.models import InventoryBatch, InventoryItemState, Job
from marketsync.models.enums import JobStatus, JobType
from tests.conftest import Api, RegisteredStore, register_store
from tests.integration.inventory.conftest import (
    BATCH,
    PUSH,
    Tune,
    inventory_calls,
    item,
    push,
    settled,
)
from tests.support.graphql import error_codes


async def test_a_dry_run_enqueues_jobs_that_succeed_without_calling_the_marketplace(
    api: Api, store: RegisteredStore
) -> None:
    payload = await push(api, store.id, [item("A"), item("B"), item("A", 5)], dryRun=True)

    assert {k: v for k, v in payload.items() if k != "chunks"} == {
        "dryRun": True,
        "writeEffective": False,
        "originalCount": 3,
        "coalescedCount": 2,
        "changedCount": 2,
        "skippedCount": 0,
        "chunkSize": 1000,
        "chunkCount": 1,
        "enqueuedCount": 1,
        "dedupCount": 0,
        "dedupWindowMs": 900_000,
        "userErrors": [],
    }
    (chunk,) = payload["chunks"]
    assert (chunk["chunkIndex"], chunk["itemCount"], chunk["dedup"]) == (0, 2, False)
    assert len(chunk["bodyHash"]) == 64
    job = await settled(chunk["jobId"])
    assert (job.type, job.status, job.attempts) == (JobType.INVENTORY_PUSH, JobStatus.SUCCESS, 1)
    assert job.error is None
    assert job.summary == {
        "chunkIndex": 0,
        "itemCount": 2,
        "bodyHash": chunk["bodyHash"],
        "dryRun": True,
        "writeEffective": False,
        "remoteCall": False,
    }
    assert job.payload is not None
    stored = job.payload["items"]
    assert isinstance(stored, list)
    assert [i["quantity"] for i in stored] == [5, 1]  # A (the last one wins), then B
    assert await inventory_calls(api) == 0
    assert await InventoryBatch.all().count() == 0
    assert await InventoryItemState.all().count() == 0
    assert await Job.filter(type=JobType.INVENTORY_POLL).count() == 0


async def test_without_write_enabled_a_push_is_not_written(
    api: Api, store: RegisteredStore
) -> None:
    payload = await push(api, store.id, [item("A")])

    assert (payload["dryRun"], payload["writeEffective"], payload["enqueuedCount"]) == (
        False,
        False,
        1,
    )
    job = await settled(payload["chunks"][0]["jobId"])
    assert job.status == JobStatus.SUCCESS
    assert job.summary is not None
    assert job.summary["remoteCall"] is False
    assert "batchRequestId" not in job.summary
    assert await inventory_calls(api) == 0


async def test_the_job_query_shows_a_chunk_job(api: Api, store: RegisteredStore) -> None:
    payload = await push(api, store.id, [item("A")], dryRun=True)
    job_id = payload["chunks"][0]["jobId"]
    await settled(job_id)

    body = await api.gql(
        "query($id: UUID!) { job(id: $id) { id storeId type status attempts summary } }",
        {"id": job_id},
        key=api.key,
    )

    job = body["data"]["job"]
    assert (job["storeId"], job["type"], job["status"], job["attempts"]) == (
        store.id,
        "INVENTORY_PUSH",
        "SUCCESS",
        1,
    )
    assert job["summary"]["remoteCall"] is False


async def test_2500_items_make_three_chunks(api: Api, store: RegisteredStore, tune: Tune) -> None:
    items = [item(f"BC-{n:05d}", quantity=n) for n in range(2500)]

    payload = await push(api, store.id, items, dryRun=True)

    assert (payload["chunkSize"], payload["chunkCount"], payload["enqueuedCount"]) == (1000, 3, 3)
    assert [(c["chunkIndex"], c["itemCount"]) for c in payload["chunks"]] == [
        (0, 1000),
        (1, 1000),
        (2, 500),
    ]
    assert len({c["jobId"] for c in payload["chunks"]}) == 3
    jobs = [await settled(c["jobId"]) for c in payload["chunks"]]
    assert [j.chunk_index for j in jobs] == [0, 1, 2]
    assert [j.status for j in jobs] == [JobStatus.SUCCESS] * 3
    assert await inventory_calls(api) == 0


async def test_the_chunk_size_setting_is_honoured(
    api: Api, store: RegisteredStore, tune: Tune
) -> None:
    tune(inventory_chunk_size=2)

    payload = await push(api, store.id, [item(b) for b in "EDCBA"], dryRun=True)

    assert payload["chunkSize"] == 2
    assert [c["itemCount"] for c in payload["chunks"]] == [2, 2, 1]


async def test_more_items_than_allowed_is_too_many_items(
    api: Api, store: RegisteredStore, tune: Tune
) -> None:
    tune(inventory_max_items=3)

    payload = await push(api, store.id, [item(b) for b in "ABCD"], dryRun=True)

    assert payload["userErrors"] == [
        {
            "field": ["input", "items"],
            "message": "at most 3 items per push (got 4)",
            "code": "TOO_MANY_ITEMS",
        }
    ]
    assert (payload["originalCount"], payload["enqueuedCount"], payload["chunks"]) == (4, 0, [])
    assert await Job.all().count() == 0


async def test_wrong_items_are_user_errors_and_nothing_is_enqueued(
    api: Api, store: RegisteredStore
) -> None:
    payload = await push(
        api,
        store.id,
        [
            item("OK"),
            item(" "),
            item("Q", quantity=-1),
            item("P", sale="-1"),
            item("C", currencyType="DOLLAR"),
        ],
        dryRun=True,
    )

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", "items", "1", "barcode"]),
        ("INVALID_INPUT", ["input", "items", "2", "quantity"]),
        ("INVALID_INPUT", ["input", "items", "3", "salePrice"]),
        ("INVALID_CURRENCY", ["input", "items", "4", "currencyType"]),
    ]
    assert payload["enqueuedCount"] == 0
    assert await Job.all().count() == 0


async def test_no_items_is_invalid_input(api: Api, store: RegisteredStore) -> None:
    payload = await push(api, store.id, [])

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", "items"])
    ]


async def test_a_sale_price_above_the_list_price_is_accepted(
    api: Api, store: RegisteredStore
) -> None:
    payload = await push(api, store.id, [item("A", sale="20.00", list_="10.00")], dryRun=True)

    assert (payload["userErrors"], payload["enqueuedCount"]) == ([], 1)


async def test_pushing_needs_a_key(api: Api, store: RegisteredStore) -> None:
    body = await api.gql(PUSH, {"input": {"storeId": store.id, "items": [item("A")]}})

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None
    assert await Job.all().count() == 0


async def test_another_organizations_store_is_not_found(api: Api, store: RegisteredStore) -> None:
    variables = {"input": {"storeId": store.id, "items": [item("A")], "dryRun": True}}

    foreign = await api.gql(PUSH, variables, key=api.other_key)
    missing = await api.gql(
        PUSH, {"input": {**variables["input"], "storeId": str(uuid.uuid4())}}, key=api.key
    )

    assert error_codes(foreign) == ["NOT_FOUND"]
    assert error_codes(missing) == ["NOT_FOUND"]
    assert await Job.all().count() == 0


async def test_auth_comes_before_validation(api: Api, store: RegisteredStore) -> None:
    body = await api.gql(PUSH, {"input": {"storeId": store.id, "items": []}}, key=api.other_key)

    assert error_codes(body) == ["NOT_FOUND"]


async def test_an_unknown_batch_is_not_found(api: Api) -> None:
    own = await register_store(api)

    unknown = await api.gql(BATCH, {"storeId": own.id, "id": "nope"}, key=api.key)
    anonymous = await api.gql(BATCH, {"storeId": own.id, "id": "nope"})

    assert error_codes(unknown) == ["NOT_FOUND"]
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
