"""Shared parts of the benchmarks: a production-shaped stack on loopback, a bounded load loop.

Everything runs on 127.0.0.1. Load loops stop after a fixed number of requests or a
time limit, whichever comes first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Result:
    name: str
    count: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.rate:9.1f}/s  p50 {self.pct(0.5):7.2f} ms  "
            f"p99 {self.pct(0.99):7.2f} ms  n={self.count} errors={self.errors}"
        )


async def load(
    name: str,
    call: Callable[[int], Awaitable[bool]],
    *,
    total: int,
    concurrency: int,
    max_seconds: float = 60,
) -> Result:
    """Run ``call(i)`` for i < total with bounded concurrency and a time limit."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    deadline = time.monotonic() + max_seconds

    async def worker() -> None:
        nonlocal errors
        for index in counter:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            ok = await call(index)
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, len(latencies), time.perf_counter() - started, latencies, errors)


@dataclass
class Stack:
    base_url: str
    database_url: str
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]]
    folder: str

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(os.path.join(self.folder, f"{args[0]}-{len(self.procs)}.log"), "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "marketsync", *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "marketsync", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def stack(
    *, extra_env: dict[str, str] | None = None, api: bool = True
) -> AsyncIterator[Stack]:
    """A fresh PostgreSQL database, Redis db 10, and `marketsync serve` (one uvicorn worker)."""
    name = f"marketsync_bench_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    database_url = PG_ADMIN.replace("postgresql://", "postgres://").rsplit("/", 1)[0] + f"/{name}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": database_url + "?maxsize=20",
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghij",
        "MARKETPLACE_BASE_URL": f"{base_url}/mock",
        "MOCK_MARKETPLACE_ENABLED": "true",  # serve mounts the mock it points at
        "MAX_WS_CONNECTIONS_PER_CLIENT": "5000",  # every subscriber is on 127.0.0.1
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    folder = tempfile.mkdtemp(prefix="marketsync-bench-")
    bench = Stack(base_url, database_url, env, [], folder)
    import redis.asyncio as aioredis

    redis = aioredis.from_url(REDIS_URL)
    await redis.flushdb()
    try:
        bench.run("migrate")
        if api:
            bench.start("serve", "--port", str(port))
            await wait_ready(base_url)
        yield bench
    finally:
        for proc in reversed(bench.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the main process stops its own children
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        await redis.flushdb()
        await redis.aclose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def wait_ready(base_url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{base_url}/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the API did not become ready")


async def gql(
    session: aiohttp.ClientSession,
    base_url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with session.post(
        f"{base_url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    ) as response:
        body: dict[str, Any] = await response.json()
        return body


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


REGISTER = (
    """mutation($i: RegisterStoreInput!) { registerStore(input: $i) { storeId syncToken } }"""
)


async def register_store(
    session: aiohttp.ClientSession, base_url: str, key: str, external_id: str
) -> tuple[str, str]:
    """A store of organization `bench` (the key's): (storeId, syncToken)."""
    body = await gql(
        session,
        base_url,
        REGISTER,
        {
            "i": {
                "organizationId": "bench",
                "marketplace": "ETSY",
                "externalStoreId": external_id,
                "storeName": "Bench",
                "accessToken": "bench-token",
                "currency": "USD",
            }
        },
        key,
    )
    payload = body["data"]["registerStore"]
    return payload["storeId"], payload["syncToken"]


async def on_each_database(
    db: str, script: str, argv: list[str], run: Callable[[str, str], Awaitable[None]]
) -> None:
    """Run ``run(label, database_url)`` on SQLite, PostgreSQL or ``both``.

    ``both`` runs ``script --db NAME *argv`` once per database, each in its own process:
    Tortoise keeps per-dialect query caches, so one process cannot measure both. SQLite
    gets a temporary file; PostgreSQL a fresh database, dropped afterwards.
    """
    if db == "both":
        for name in ("sqlite", "postgres"):
            command = [sys.executable, script, "--db", name, *argv]
            await asyncio.to_thread(subprocess.run, command, check=True, timeout=1200)
        print("machine: rely on the ratio, not the ms, when it is shared")
        return
    if db == "sqlite":
        folder = tempfile.mkdtemp(prefix="marketsync-bench-")
        await run("sqlite", f"sqlite://{folder}/bench.db")
        return
    name = f"marketsync_bench_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.replace("postgresql://", "postgres://").rsplit("/", 1)[0] + f"/{name}"
    try:
        await run("postgres", url)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def open_bench_database(database_url: str) -> Any:
    """Migrate ``database_url`` with the real CLI, open Tortoise on it, and return the
    settings an in-process runtime of the bench uses (dev mode, Redis at REDIS_URL)."""
    from pydantic import SecretStr
    from tortoise import Tortoise

    from marketsync.config import Settings
    from marketsync.db import tortoise_config

    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "marketsync", "migrate"]
    await asyncio.to_thread(subprocess.run, command, env=env, check=True, capture_output=True)
    await Tortoise.init(config=tortoise_config(database_url))
    return Settings(
        marketsync_mode="dev",
        database_url=database_url,
        redis_url=REDIS_URL,
        secret_key=SecretStr("bench-secret-key-0123456789-abcdefghij"),
        log_level="WARNING",
    )
