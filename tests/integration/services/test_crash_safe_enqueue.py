"""A store sync whose message cannot be sent stays QUEUED and is sent again by the sweep."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from marketsync.models import Job
from marketsync.models.enums import JobStatus, JobType
from marketsync.services.sync.enqueue import (
    RESEND_AFTER_S,
    enqueue_store_sync,
    resend_stale_queued_syncs,
)
from tests.conftest import Api, register_store


class BrokerDown:
    def __init__(self) -> None:
        self.tries = 0

    async def send(self, actor_name: str, *args: Any) -> None:
        self.tries += 1
        raise ConnectionError("broker unreachable")

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        raise ConnectionError("broker unreachable")


@dataclasses.dataclass
class Recorder:
    sent: list[tuple[str, tuple[Any, ...]]] = dataclasses.field(default_factory=list)

    async def send(self, actor_name: str, *args: Any) -> None:
        self.sent.append((actor_name, args))

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        self.sent.append((actor_name, args))


async def test_failed_send_leaves_the_job_queued_and_the_sweep_resends_it_once(api: Api) -> None:
    store = await register_store(api)
    down = BrokerDown()
    recorder = Recorder()

    # When the broker is down at enqueue time
    job, created = await enqueue_store_sync(
        rt=dataclasses.replace(api.rt, dispatcher=down), store_id=uuid.UUID(store.id)
    )

    # Then the call answers the QUEUED job instead of failing
    assert created is True
    assert down.tries == 1
    assert (await Job.get(id=job.id)).status == JobStatus.QUEUED

    # A fresh job is not resent yet; an old one is, exactly once across two sweeps
    healthy = dataclasses.replace(api.rt, dispatcher=recorder)
    assert await resend_stale_queued_syncs(rt=healthy) == 0
    old = datetime.now(UTC) - timedelta(seconds=RESEND_AFTER_S + 5)
    await Job.filter(id=job.id).update(updated_at=old)
    first = await resend_stale_queued_syncs(rt=healthy)
    second = await resend_stale_queued_syncs(rt=healthy)

    assert (first, second) == (1, 0)
    assert recorder.sent == [("sync_store", (str(job.id),))]
    assert await Job.filter(store_id=uuid.UUID(store.id), type=JobType.STORE_SYNC).count() == 1


async def test_a_second_enqueue_answers_the_same_queued_job(api: Api) -> None:
    store = await register_store(api)
    rt = dataclasses.replace(api.rt, dispatcher=BrokerDown())

    first, created_first = await enqueue_store_sync(rt=rt, store_id=uuid.UUID(store.id))
    second, created_second = await enqueue_store_sync(rt=rt, store_id=uuid.UUID(store.id))

    assert (created_first, created_second) == (True, False)
    assert second.id == first.id
