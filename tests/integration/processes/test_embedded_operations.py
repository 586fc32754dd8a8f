"""Operating the embedded mode (SQLite, no Redis) as separate commands, as cron would."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.processes.embedded import (
    embedded_stack,
    execute,
    gql,
    open_connections,
    printed_key,
    query,
    sigterm_and_wait,
)
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


async def test_a_second_dev_on_the_same_file_refuses_and_the_first_keeps_serving(
    tmp_path: Path,
) -> None:
    # Given `marketsync dev` serving a SQLite file
    stack = embedded_stack(tmp_path)
    first_port, second_port = free_port(), free_port()
    try:
        first = stack.start("dev", "dev", "--port", str(first_port))
        await wait_until_ready(f"http://127.0.0.1:{first_port}", first)

        # When a second `dev` starts on the same file (another port)
        second = stack.start("dev", "dev", "--port", str(second_port))
        code = await asyncio.to_thread(second.popen.wait, 60)

        # Then it refuses with a message naming the file and the holder, and the first
        # still answers
        assert code == 1, second.output()
        assert "is in use by another `marketsync dev` (pid " in second.output()
        assert str(tmp_path / "marketsync.db") in second.output()
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"http://127.0.0.1:{first_port}/ready")
        assert ready.status_code == 200
    finally:
        stack.stop_all()


async def test_sigterm_ends_dev_within_10_s_with_a_subscription_and_a_request_open(
    tmp_path: Path,
) -> None:
    # Given `marketsync dev` with a live subscription and an HTTP request half sent
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stack = embedded_stack(tmp_path)
    try:
        dev = stack.start("dev", "dev", "--port", str(port))
        await wait_until_ready(base_url, dev)
        key = printed_key(dev)
        body = await gql(base_url, REGISTER_STORE, {"input": store_input("demo")}, key)
        connections = await open_connections(base_url, body["data"]["registerStore"]["syncToken"])

        # When it gets SIGTERM
        took = await asyncio.to_thread(sigterm_and_wait, dev)

        # Then it exits within 10 s after a complete shutdown (uvicorn re-raises the
        # signal it caught, hence -SIGTERM), and the subscription was closed, not dropped
        connections.close()
        print(f"dev exited {took:.1f} s after SIGTERM")
        assert dev.popen.returncode in (0, -signal.SIGTERM), dev.output()
        assert "Application shutdown complete" in dev.output()
        assert connections.ws.close_code is not None
    finally:
        stack.stop_all()
