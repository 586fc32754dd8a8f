"""SIGTERM ends each production process (`serve`, `worker`, `scheduler`, on PostgreSQL and
Redis) within 10 s while it has work or connections open, and leaves the database
consistent. Each test prints the time it measured.

What must hold: serve closes an open subscription with a close frame and exits after
a complete shutdown despite a request stuck half sent; worker stops in the middle of a
sync run without counting anything twice or leaving a log half written; scheduler
exits while ticking every second.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from websockets.exceptions import ConnectionClosed

from tests.integration.processes.conftest import Deployment
from tests.integration.processes.embedded import open_connections, sigterm_and_wait
from tests.support.processes import wait_for_output

BOUND_S = 10
SERVICE_RESTART = 1012  # the close code uvicorn sends its websockets when it shuts down


async def wait_for(condition, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_sigterm_ends_serve_within_10_s_with_a_websocket_and_a_request_open(
    deployment: Deployment,
) -> None:
    # Given `serve` with a live subscription and an HTTP request half sent
    _, token = await deployment.register_store("shutdown-serve")
    api = deployment.stack.procs[0]
    connections = await open_connections(deployment.base_url, token)
    try:
        # When it gets SIGTERM
        took = await asyncio.to_thread(sigterm_and_wait, api, BOUND_S)

        # Then it exited within the bound after a complete shutdown (uvicorn re-raises
        # the signal it caught) and the subscriber got a close frame
        print(f"serve exited {took:.2f} s after SIGTERM")
        assert api.popen.returncode == -signal.SIGTERM, api.output()
        assert "Application shutdown complete" in api.output()
        try:
            message = await asyncio.wait_for(connections.ws.recv(), 5)
        except ConnectionClosed as closed:
            frame = closed.rcvd
        else:
            raise AssertionError(f"a message instead of a close: {message!r}")
        assert frame is not None
        assert frame.code == SERVICE_RESTART
    finally:
        connections.close()
        await connections.ws.close()
    # And the database is still whole: the store it served is there, unchanged
    assert await deployment.db.fetchval("SELECT count(*) FROM store") == 1


async def test_sigterm_ends_worker_within_10_s_in_the_middle_of_a_sync(
    deployment: Deployment,
) -> None:
    # Given a worker running a sync of 400 due logs, one marketplace call at a time
    store_id, _ = await deployment.register_store("shutdown-worker")
    receipts = [f"S-{n}-1" for n in range(400)]
    await deployment.add_due_logs(store_id, receipts)
    worker = deployment.stack.start(
        "worker", "worker", "--processes", "1", "--threads", "2", env={"SYNC_CONCURRENCY": "1"}
    )
    await wait_for_output(worker, "worker_started")
    job_id = await deployment.add_job(store_id)
    deployment.send_sync(job_id)

    async def under_way() -> bool:
        done = await deployment.db.fetchval(
            "SELECT count(*) FROM sync_log WHERE store_id=$1 AND status='SUCCESS'", store_id
        )
        return bool(done >= 50)

    await wait_for(under_way)

    # When it gets SIGTERM mid-run
    took = await asyncio.to_thread(sigterm_and_wait, worker, BOUND_S)

    # Then it exited within the bound, and the database holds no double count: every
    # log was either attempted once more and counted (SUCCESS, attempt 2) or left as it
    # was (FAILED, attempt 1), and importedOrders equals the SUCCESS logs
    rows = await deployment.db.fetch(
        "SELECT receipt, status, attempt FROM sync_log WHERE store_id=$1", store_id
    )
    states = {(row["status"], row["attempt"]) for row in rows}
    done = sum(row["status"] == "SUCCESS" for row in rows)
    imported = await deployment.db.fetchval(
        "SELECT imported_orders FROM store WHERE id=$1", store_id
    )
    job = await deployment.db.fetchrow("SELECT status, attempts FROM job WHERE id=$1", job_id)
    print(f"worker exited {took:.2f} s after SIGTERM (code {worker.popen.returncode}),"
          f" {done} of {len(rows)} logs done, job {job['status']}")  # fmt: skip
    assert sorted(row["receipt"] for row in rows) == sorted(receipts)
    assert states <= {("SUCCESS", 2), ("FAILED", 1)}
    assert 50 <= done < len(receipts)  # stopped in the middle
    assert imported == done
    # the interrupted run stays RUNNING: its lock expires and a later sync resumes it
    assert (job["status"], job["attempts"]) == ("RUNNING", 1)


async def test_sigterm_ends_the_scheduler_within_10_s_while_it_ticks(
    deployment: Deployment, tmp_path: Path
) -> None:
    # Given a scheduler ticking every second (SCHEDULER_INTERVAL_S=1) that has enqueued
    # the sync of a store with due logs (no worker runs here, so the job stays QUEUED)
    store_id, _ = await deployment.register_store("shutdown-scheduler")
    await deployment.add_due_logs(store_id, ["T-1-1"])
    heartbeat = tmp_path / "heartbeat"
    scheduler = deployment.stack.start(
        "scheduler", "scheduler", "--loop", env={"SCHEDULER_HEARTBEAT_FILE": str(heartbeat)}
    )
    await wait_for_output(scheduler, "scheduler_started")

    async def enqueued() -> bool:
        return bool(await deployment.db.fetchval("SELECT count(*) FROM job") == 1)

    await wait_for(enqueued, 30)
    first_beat = heartbeat.stat().st_mtime_ns

    async def ticked_again() -> bool:
        return heartbeat.stat().st_mtime_ns != first_beat

    await wait_for(ticked_again, 10)

    # When it gets SIGTERM
    took = await asyncio.to_thread(sigterm_and_wait, scheduler, BOUND_S)

    # Then it exited within the bound (Python's default SIGTERM action: no tick holds
    # it), and the store still has exactly its one QUEUED sync, enqueued once
    print(f"scheduler exited {took:.2f} s after SIGTERM (code {scheduler.popen.returncode})")
    assert scheduler.popen.returncode == -signal.SIGTERM, scheduler.output()
    jobs = await deployment.db.fetch("SELECT store_id, status FROM job")
    assert [(row["store_id"], row["status"]) for row in jobs] == [(store_id, "QUEUED")]
