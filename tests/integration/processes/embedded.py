"""Embedded-mode processes (SQLite, no Redis) for operations tests: `dev`, `serve`, cron."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import Proc, Stack
from tests.support.subscriptions import next_message, open_subscription

SECRET = "embedded-ops-secret-key-0123456789-abcdef"


def embedded_stack(folder: Path, **extra: str) -> Stack:
    """A stack whose processes share one SQLite file in ``folder`` and no Redis."""
    return Stack(
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": f"sqlite://{folder / 'marketsync.db'}",
            "SECRET_KEY": SECRET,
            "SECRET_KEY_FILE": str(folder / "secret"),
            "SCHEDULER_HEARTBEAT_FILE": str(folder / "heartbeat"),
            "LOG_LEVEL": "INFO",
            # `serve` is the small install's only process: it serves the mock it calls
            "MOCK_MARKETPLACE_ENABLED": "true",
            **extra,
        },
        folder=folder,
    )


def query(folder: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(folder / "marketsync.db", timeout=10) as conn:
        return conn.execute(sql, args).fetchall()


def execute(folder: Path, sql: str, *args: Any) -> None:
    with sqlite3.connect(folder / "marketsync.db", timeout=10) as conn:
        conn.execute(sql, args)


async def gql(
    base_url: str, document: str, variables: dict[str, Any] | None = None, key: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class OpenConnections:
    """A live subscription and an HTTP request still in progress (its body half sent)."""

    ws: Any
    slow: socket.socket

    def close(self) -> None:
        self.slow.close()


async def open_connections(base_url: str, sync_token: str) -> OpenConnections:
    ws = await open_subscription(base_url, sync_token)
    first = await next_message(ws)
    assert first["type"] == "next", first
    host, port = base_url.removeprefix("http://").split(":")
    slow = socket.create_connection((host, int(port)), timeout=5)
    slow.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"query":'
    )
    return OpenConnections(ws, slow)


def sigterm_and_wait(proc: Proc, bound_s: float = 10) -> float:
    """SIGTERM the process group; seconds until it exited (fails past ``bound_s``)."""
    started = time.monotonic()
    os.killpg(proc.popen.pid, signal.SIGTERM)
    try:
        proc.popen.wait(timeout=bound_s)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"{proc.name} still running {bound_s} s after SIGTERM:\n{proc.output()}"
        ) from None
    return time.monotonic() - started


def printed_key(proc: Proc) -> str:
    for line in proc.output().splitlines():
        if line.startswith("API key (demo): "):
            return line.removeprefix("API key (demo): ").strip()
    raise AssertionError(f"no key printed:\n{proc.output()}")
