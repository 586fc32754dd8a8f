"""Operating the embedded mode (SQLite, no Redis) as separate commands, as cron would."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.processes.embedded import embedded_stack, execute, gql, query
from tests.support.graphql import IMPORT_ORDER, REGISTER_STORE, store_input
from tests.support.processes import wait_until_ready
from tests.support.servers import free_port


async def test_scheduler_once_without_redis_retries_due_work_in_process(tmp_path: Path) -> None:
    # Given `serve` on a SQLite file without Redis (no worker anywhere) and a store with
    # one PENDING log that never reached the marketplace (what a crash mid-import leaves)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stack = embedded_stack(tmp_path)
    try:
        stack.run("migrate")
        key = stack.run("apikey", "create", "--org", "org-a").strip().splitlines()[-1]
        api = stack.start("serve", "serve", "--port", str(port))
        await wait_until_ready(base_url, api)
        body = await gql(base_url, REGISTER_STORE, {"input": store_input("org-a")}, key)
        store = body["data"]["registerStore"]
        imported = await gql(
            base_url, IMPORT_ORDER, {"input": {"syncToken": store["syncToken"], "receipt": "C-11"}}
        )
        assert imported["data"]["importOrder"]["syncLog"]["status"] == "SUCCESS"
        execute(
            tmp_path,
            "UPDATE sync_log SET status='PENDING', attempt=0, order_id=NULL, amount=NULL,"
            " imported_at=NULL, next_retry_at=NULL",
        )
        execute(tmp_path, "UPDATE store SET imported_orders=0, last_sync_at=NULL")

        # When `scheduler --once` runs without REDIS_URL, finding the mock at HOST:PORT
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "marketsync", "scheduler", "--once"],
            env={**stack.env, "HOST": "127.0.0.1", "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

        # Then it exits 0 after retrying the log in-process: one more marketplace call,
        # the log SUCCESS at attempt 1, one finished job, the store's count back to 1
        assert done.returncode == 0, done.stdout + done.stderr
        output = done.stdout + done.stderr
        assert "scheduler_once_ran" in output, output
        assert "enqueuedJobs=1" in output, output
        assert query(tmp_path, "SELECT status, attempt FROM sync_log") == [("SUCCESS", 1)]
        jobs = query(tmp_path, "SELECT type, status, summary FROM job")
        assert [(kind, status) for kind, status, _ in jobs] == [("STORE_SYNC", "SUCCESS")]
        assert json.loads(jobs[0][2])["processed"] == 1
        assert query(tmp_path, "SELECT imported_orders FROM store") == [(1,)]
        async with httpx.AsyncClient(base_url=base_url) as client:
            calls = (await client.get("/mock/_calls")).json()["validate"]
        assert calls == {"etsy/C-11": 2}
        assert (tmp_path / "heartbeat").exists()
    finally:
        stack.stop_all()


def test_scheduler_loop_without_redis_refuses_and_names_the_alternative(tmp_path: Path) -> None:
    stack = embedded_stack(tmp_path)

    done = subprocess.run(
        [sys.executable, "-m", "marketsync", "scheduler", "--loop"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "REDIS_URL" in done.stderr
    assert "--once" in done.stderr
