"""Real servers the suites need: PostgreSQL and Redis on 127.0.0.1.

Without them the suites that need them skip with a visible reason; under CI=true
they must run, so an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import asyncpg
import pytest

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _address(url: str, default_port: int) -> tuple[str, int]:
    parsed = urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def postgres_available() -> bool:
    return _reachable(*_address(PG_ADMIN_URL, 5432))


def redis_available() -> bool:
    return _reachable(*_address(REDIS_TEST_URL, 6379))


def require(available: bool, what: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is not reachable and CI=true: this suite must run")
    pytest.skip(f"{what} not reachable: skipping its suite (under CI=true this fails)")


async def create_pg_database() -> str:
    """A fresh, empty database; returns its Tortoise URL."""
    name = f"marketsync_test_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}?maxsize=20"


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
