"""Regression: embedded mode kept answering after a keyless request whose sibling field
was cancelled while the SQLite connection opened (it used to hang for good)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port

WEDGE = (
    '{ syncStatus(syncToken:"00000000-0000-4000-8000-000000000000"){storeId} '
    "viewer{organizationId} }"
)


def _wait_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("marketsync dev did not start listening")


def test_first_request_with_a_failing_sibling_field_does_not_wedge(tmp_path: Path) -> None:
    # Given a fresh `marketsync dev` whose first GraphQL request is the wedge query
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketsync", "dev"],
        cwd=tmp_path,
        env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key = [proc.stdout.readline() for _ in range(2)][1]  # type: ignore[union-attr]
        key = key.strip().removeprefix("API key (demo): ")
        _wait_listening(port, time.monotonic() + 30)
        url = f"http://127.0.0.1:{port}"

        # When it is sent three times
        first = [httpx.post(f"{url}/graphql", json={"query": WEDGE}, timeout=5) for _ in range(3)]

        # Then the process keeps answering: readiness and a keyed query, within seconds
        ready = httpx.get(f"{url}/ready", timeout=5)
        viewer = httpx.post(
            f"{url}/graphql",
            json={"query": "{ viewer { organizationId } }"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        )
        started = time.monotonic()
        proc.terminate()
        proc.wait(timeout=15)
        stopped_in = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()

    for response in first:
        assert response.status_code == 200
        # Both root fields are non-null: whichever fails first nulls the data, the
        # other is cancelled (that cancellation used to wedge the SQLite connection).
        codes = [e["extensions"]["code"] for e in response.json()["errors"]]
        assert codes in (["UNAUTHENTICATED"], ["NOT_FOUND"])
    assert ready.status_code == 200
    assert viewer.json() == {"data": {"viewer": {"organizationId": "demo"}}}
    assert stopped_in < 10
