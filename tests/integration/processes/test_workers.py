"""Separate `marketsync worker` processes on Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import signal
import time

from tests.integration.processes.conftest import Deployment
from tests.support.processes import wait_for_output


def receipts(count: int, prefix: str = "R") -> list[str]:
    return [f"{prefix}-{index}-1" for index in range(count)]


async def wait_for(condition, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_two_workers_given_one_store_process_it_once(deployment: Deployment) -> None:
    store_id, _ = await deployment.register_store("two-workers")
    await deployment.add_due_logs(store_id, receipts(300))
    workers = [
        deployment.stack.start("worker", "worker", "--processes", "1", "--threads", "2")
        for _ in range(2)
    ]
    for worker in workers:
        await wait_for_output(worker, "worker_started")
    jobs = [await deployment.add_job(store_id), await deployment.add_job(store_id)]

    for job_id in jobs:
        deployment.send_sync(job_id)

    async def both_finished() -> bool:
        done = await deployment.db.fetchval(
            "SELECT count(*) FROM job WHERE id = ANY($1) AND status IN ('SUCCESS','FAILED')", jobs
        )
        return bool(done == 2)

    await wait_for(both_finished)
    rows = await deployment.db.fetch("SELECT status, summary FROM job WHERE id = ANY($1)", jobs)
    summaries = sorted((json.loads(r["summary"]) for r in rows), key=str)
    processed = [s.get("processed", 0) for s in summaries]
    assert sorted(processed) == [0, 300]
    assert {r["status"] for r in rows} == {"SUCCESS"}
    calls = (await deployment.mock_calls())["validate"]
    assert len(calls) == 300
    assert set(calls.values()) == {1}
    success = await deployment.db.fetchval(
        "SELECT count(*) FROM sync_log WHERE store_id=$1 AND status='SUCCESS'", store_id
    )
    imported = await deployment.db.fetchval(
        "SELECT imported_orders FROM store WHERE id=$1", store_id
    )
    assert success == imported == 300


async def test_a_killed_worker_loses_nothing_and_counts_nothing_twice(
    deployment: Deployment,
) -> None:
    store_id, _ = await deployment.register_store("killed")
    await deployment.add_due_logs(store_id, receipts(400))
    slow = {"SYNC_CONCURRENCY": "1"}
    victim = deployment.stack.start(
        "worker", "worker", "--processes", "1", "--threads", "1", env=slow
    )
    await wait_for_output(victim, "worker_started")
    first_job = await deployment.add_job(store_id)
    deployment.send_sync(first_job)

    async def some_success() -> bool:
        count = await deployment.db.fetchval(
            "SELECT count(*) FROM sync_log WHERE store_id=$1 AND status='SUCCESS'", store_id
        )
        return bool(count >= 100)

    await wait_for(some_success)
    victim.kill(signal.SIGKILL)
    done_before = await deployment.db.fetchval(
        "SELECT count(*) FROM sync_log WHERE store_id=$1 AND status='SUCCESS'", store_id
    )
    assert 100 <= done_before < 400

    await asyncio.sleep(4.5)  # SYNC_LOCK_TTL_S=4: the dead worker's lock expires
    survivor = deployment.stack.start("worker", "worker", "--processes", "1", "--threads", "2")
    await wait_for_output(survivor, "worker_started")
    second_job = await deployment.add_job(store_id)
    deployment.send_sync(second_job)

    async def all_success() -> bool:
        count = await deployment.db.fetchval(
            "SELECT count(*) FROM sync_log WHERE store_id=$1 AND status='SUCCESS'", store_id
        )
        return bool(count == 400)

    await wait_for(all_success)
    imported = await deployment.db.fetchval(
        "SELECT imported_orders FROM store WHERE id=$1", store_id
    )
    assert imported == 400
    calls = (await deployment.mock_calls())["validate"]
    assert len(calls) == 400
    # Results are written per chunk (SYNC_CHUNK_SIZE=100) and two chunks overlap: at most
    # the two chunks in flight at the kill are validated again, and none is counted twice.
    assert sum(calls.values()) <= 600
    second = await deployment.db.fetchrow("SELECT status FROM job WHERE id=$1", second_job)
    assert second["status"] == "SUCCESS"
