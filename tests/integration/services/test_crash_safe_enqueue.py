"""A store sync whose message cannot be sent stays QUEUED and is sent again by the sweep."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from marketsync.models import Job
from marketsync.models.enums import JobStatus, JobType
from marketsync.services.sync.enqueue import (
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
    old = datetime.now(UTC) - timedelta(seconds=api.rt.settings.sync_resend_after_s + 5)
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


class RedisDown:
    """A Redis stand-in whose every command fails, as in an outage."""

    async def set(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("redis unreachable")


async def test_racing_enqueuers_without_the_redis_guard_queue_one_job(api: Api) -> None:
    store = await register_store(api)
    recorder = Recorder()
    rt = dataclasses.replace(api.rt, dispatcher=recorder, redis=RedisDown())  # type: ignore[arg-type]

    # When ten enqueuers race for one store while Redis is down
    results = await asyncio.gather(
        *(enqueue_store_sync(rt=rt, store_id=uuid.UUID(store.id)) for _ in range(10))
    )

    # Then one job is queued, every caller answers it, and one message is sent
    jobs = await Job.filter(store_id=uuid.UUID(store.id), type=JobType.STORE_SYNC)
    assert len(jobs) == 1
    assert {job.id for job, _ in results} == {jobs[0].id}
    assert sum(created for _, created in results) == 1
    assert recorder.sent == [("sync_store", (str(jobs[0].id),))]


async def test_a_queued_job_that_never_ran_expires_failed_and_frees_the_store(api: Api) -> None:
    store = await register_store(api)
    recorder = Recorder()
    rt = dataclasses.replace(api.rt, dispatcher=recorder)
    stale, _ = await enqueue_store_sync(rt=rt, store_id=uuid.UUID(store.id))
    long_ago = datetime.now(UTC) - timedelta(seconds=api.rt.settings.sync_lock_ttl_s + 1)
    await Job.filter(id=stale.id).update(created_at=long_ago)

    # When the store is enqueued again after the lock TTL
    fresh, created = await enqueue_store_sync(rt=rt, store_id=uuid.UUID(store.id))

    # Then the stale job ended FAILED with a safe reason, and a new one is queued
    old = await Job.get(id=stale.id)
    assert created is True
    assert fresh.id != stale.id
    assert (old.status, old.queued_slot) == (JobStatus.FAILED, None)
    assert old.error == "ExpiredError: the job did not start within SYNC_LOCK_TTL_S"
    assert (await Job.get(id=fresh.id)).queued_slot == uuid.UUID(store.id)
