"""Inventory fixtures: the running app with tuned settings, and a push helper.

Settings variants swap the one Runtime's settings for the test (the resolvers and
the embedded worker's actors both read ``rt.settings``), rather than starting a
second app: the process has one global broker and one global runtime.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from marketsync.config import Settings
from marketsync.models import Job
from marketsync.models.enums import JobStatus
from marketsync.runtime import Runtime
from tests.conftest import Api, RegisteredStore, register_store

PUSH = """
mutation($input: PushInventoryInput!) { pushInventory(input: $input) {
  dryRun writeEffective originalCount coalescedCount changedCount skippedCount chunkSize
  chunkCount enqueuedCount dedupCount dedupWindowMs
  chunks { chunkIndex itemCount bodyHash dedup jobId }
  userErrors { field message code } } }
"""

BATCH = """
query($storeId: UUID!, $id: String!) { inventoryBatch(storeId: $storeId, batchRequestId: $id) {
  batchRequestId storeId complete itemCount failedItemCount confirmedUpserted
  items { barcode quantity salePrice listPrice status failureReasons } } }
"""

Tune = Callable[..., Settings]


@pytest.fixture
def tune(api: Api, monkeypatch: pytest.MonkeyPatch) -> Tune:
    """``tune(inventory_write_enabled=True, ...)``: settings for this test only."""

    def apply(**overrides: Any) -> Settings:
        settings: Settings = api.rt.settings.model_copy(update=overrides)
        monkeypatch.setattr(api.rt, "settings", settings)
        return settings

    return apply


@pytest.fixture
async def store(api: Api) -> RegisteredStore:
    return await register_store(api)


def item(
    barcode: str, quantity: int = 1, sale: str = "10.00", list_: str = "12.00", **extra: Any
) -> dict[str, Any]:
    return {
        "barcode": barcode,
        "quantity": quantity,
        "salePrice": sale,
        "listPrice": list_,
        **extra,
    }


async def push(
    api: Api, store_id: str, items: list[dict[str, Any]], *, key: str | None = "", **flags: Any
) -> dict[str, Any]:
    body = await api.gql(
        PUSH,
        {"input": {"storeId": store_id, "items": items, **flags}},
        key=api.key if key == "" else key,
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["pushInventory"]
    return payload


async def settled(job_id: str | uuid.UUID, within_s: float = 15) -> Job:
    """The job once the embedded worker has finished it (SUCCESS or FAILED)."""
    deadline = time.monotonic() + within_s
    while True:
        job = await Job.get(id=job_id)
        if job.status in (JobStatus.SUCCESS, JobStatus.FAILED):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is still {job.status} after {within_s}s")
        await asyncio.sleep(0.02)


async def settled_poll(push_job_id: str | uuid.UUID) -> tuple[Job, Job]:
    """(push job, poll job), both finished."""
    pushed = await settled(push_job_id)
    assert pushed.status == JobStatus.SUCCESS, (pushed.status, pushed.error)
    assert pushed.summary is not None
    return pushed, await settled(str(pushed.summary["pollJobId"]))


async def inventory_calls(api: Api) -> int:
    return (await api.mock_calls()).get("inventory", {}).get("etsy", 0)


async def batch_calls(api: Api) -> int:
    return (await api.mock_calls()).get("batch", {}).get("etsy", 0)


class RecordingDispatcher:
    """A dispatcher that only remembers what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...], float | None]] = []

    async def send(self, actor_name: str, *args: Any) -> None:
        self.sent.append((actor_name, args, None))

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        self.sent.append((actor_name, args, delay_s))


def offline(api: Api, **changes: Any) -> tuple[Runtime, RecordingDispatcher]:
    """The app's runtime with a recording dispatcher (and other parts replaced)."""
    dispatcher = RecordingDispatcher()
    return dataclasses.replace(api.rt, dispatcher=dispatcher, **changes), dispatcher


def money(value: Any) -> Decimal:
    return Decimal(str(value))
