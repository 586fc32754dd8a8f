"""Embedded-mode processes (SQLite, no Redis) for operations tests: `dev`, `serve`, cron."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import Stack

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
