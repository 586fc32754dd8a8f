"""`marketsync scheduler --once`: each due store once, none twice, even with two schedulers."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.integration.processes.conftest import Deployment


async def test_two_schedulers_enqueue_each_due_store_once(deployment: Deployment) -> None:
    due_a, _ = await deployment.register_store("due-a")
    due_b, _ = await deployment.register_store("due-b")
    throttled, _ = await deployment.register_store("throttled")
    running, _ = await deployment.register_store("running")
    idle, _ = await deployment.register_store("idle")
    for store_id in (due_a, due_b, throttled, running):
        await deployment.add_due_logs(store_id, [f"R-{store_id.hex[:6]}-1"])
    await deployment.db.execute(
        "UPDATE store SET last_sync_at=$1 WHERE id=$2", datetime.now(UTC), throttled
    )
    await deployment.add_job(running)

    # The deployment's SYNC_LOCK_TTL_S=4 could expire the running job on a slow machine.
    fresh = {"SYNC_LOCK_TTL_S": "900"}
    schedulers = [
        deployment.stack.start("scheduler", "scheduler", "--once", env=fresh) for _ in range(2)
    ]
    for proc in schedulers:
        assert await asyncio.to_thread(proc.popen.wait, 60) == 0, proc.output()

    rows = await deployment.db.fetch(
        "SELECT store_id, count(*) AS n FROM job WHERE type='STORE_SYNC' GROUP BY store_id"
    )
    jobs = {row["store_id"]: row["n"] for row in rows}
    assert jobs == {due_a: 1, due_b: 1, running: 1}
    assert idle not in jobs
    queued = await deployment.redis.llen("dramatiq:sync")
    assert queued == 2
    # Both ticks may share one interval bucket (one takes it, the other says so) or, on a
    # slow machine, fall in two: either way the two due stores were enqueued once in all.
    ticks = [p.output() for p in schedulers]
    enqueued = [int(n) for out in ticks for n in re.findall(r"enqueuedJobs=(\d+)", out)]
    assert sum(enqueued) == 2, ticks
    assert len(enqueued) + sum("scheduler_tick_taken" in out for out in ticks) == 2, ticks

    await asyncio.sleep(1.1)  # SCHEDULER_INTERVAL_S=1: a new tick bucket
    again = deployment.stack.start("scheduler", "scheduler", "--once", env=fresh)
    assert await asyncio.to_thread(again.popen.wait, 60) == 0, again.output()
    assert "enqueuedJobs=0" in again.output()
    total = await deployment.db.fetchval("SELECT count(*) FROM job")
    assert total == 3


async def test_each_tick_touches_the_heartbeat_file(deployment: Deployment, tmp_path: Path) -> None:
    heartbeat = tmp_path / "scheduler.heartbeat"
    before = time.time()

    proc = deployment.stack.start(
        "scheduler", "scheduler", "--once", env={"SCHEDULER_HEARTBEAT_FILE": str(heartbeat)}
    )

    assert await asyncio.to_thread(proc.popen.wait, 60) == 0, proc.output()
    assert heartbeat.exists()
    assert heartbeat.stat().st_mtime >= before - 1
