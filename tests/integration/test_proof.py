"""`marketsync proof` as an operator runs it, against a real `marketsync dev` process."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

from marketsync.proof import STEP_NAMES
from tests.integration.processes.embedded import embedded_stack, printed_key
from tests.support.processes import wait_until_ready
from tests.support.servers import free_port

PAST = "2000-01-01 00:00:00+00:00"


async def fast_forward_rate_limited_log(database: Path) -> None:
    """Stand in for five minutes: make PROOF-15's first retry due as soon as it exists."""

    def once() -> int:
        with sqlite3.connect(database, timeout=10) as conn:
            return conn.execute(
                "UPDATE sync_log SET next_retry_at=? WHERE receipt='PROOF-15'"
                " AND status='RATE_LIMITED' AND attempt=1 AND next_retry_at > ?",
                (PAST, PAST),
            ).rowcount

    for _ in range(600):  # 2 minutes at most; the proof reaches PROOF-15 in seconds
        if await asyncio.to_thread(once):
            return
        await asyncio.sleep(0.2)


def proof(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "marketsync", "proof", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


async def test_proof_passes_every_step_against_a_live_dev(tmp_path: Path) -> None:
    # Given `marketsync dev` (SQLite, in-process worker and scheduler)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stack = embedded_stack(tmp_path, INVENTORY_POLL_INTERVAL_S="0.5")
    try:
        dev = stack.start("dev", "dev", "--port", str(port))
        await wait_until_ready(base_url, dev)
        key = printed_key(dev)
        forward = asyncio.create_task(fast_forward_rate_limited_log(tmp_path / "marketsync.db"))

        # When the proof runs against it, quoting its log
        done = await asyncio.to_thread(
            proof, "--url", f"{base_url}/graphql", "--api-key", key, "--worker-log", str(dev.log)
        )
        forward.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forward

        # Then it exits 0 and the pack names every step as passed, without the key
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"**PASS** ({len(STEP_NAMES)}/{len(STEP_NAMES)} steps)" in done.stdout
        for name in STEP_NAMES:
            assert f"| {name} | pass |" in done.stdout, name
        assert "| FAIL |" not in done.stdout
        assert key not in done.stdout
        assert "attempt 1 → 2" in done.stdout
        assert "signature verified" in done.stdout
        assert "chunks of 1000 + 1" in done.stdout
        assert "store_sync_finished" in done.stdout  # the worker's line for the job
    finally:
        stack.stop_all()


def test_proof_against_a_broken_deployment_exits_1_naming_the_step() -> None:
    # Given an address nothing listens on
    url = f"http://127.0.0.1:{free_port()}"

    # When the proof runs against it
    done = proof("--url", url, "--api-key", "msk_whatever")

    # Then it exits 1, names the first step and why, and runs nothing after it
    assert done.returncode == 1
    assert "proof failed at step 'Health and readiness': ClientConnectorError" in done.stderr
    assert f"| {STEP_NAMES[1]} | not run |" in done.stdout
    assert "**FAIL** (0/" in done.stdout


def test_proof_with_a_wrong_key_fails_at_the_api_key_step(tmp_path: Path) -> None:
    port = free_port()
    stack = embedded_stack(tmp_path)
    try:
        dev = stack.start("dev", "dev", "--port", str(port))
        asyncio.run(wait_until_ready(f"http://127.0.0.1:{port}", dev))

        done = proof("--url", f"http://127.0.0.1:{port}", "--api-key", "msk_wrong")

        assert done.returncode == 1
        assert "proof failed at step 'API key'" in done.stderr
        assert "| Health and readiness | pass |" in done.stdout
    finally:
        stack.stop_all()
