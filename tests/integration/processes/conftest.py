"""A production-shaped stack: PostgreSQL, Redis, `marketsync serve` and worker processes.

The test process reads the database with asyncpg and talks to the API over HTTP and
websockets, as a client would; it never shares the app's ORM state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import dramatiq
import httpx
import pytest
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker

from marketsync.ids import new_id
from tests.support.backends import (
    REDIS_TEST_URL,
    create_pg_database,
    drop_pg_database,
    postgres_available,
    redis_available,
    require,
)
from tests.support.graphql import REGISTER_STORE, store_input
from tests.support.processes import Stack, wait_until_ready
from tests.support.servers import free_port

ORG = "org-a"


@dataclass
class Deployment:
    stack: Stack
    base_url: str
    key: str
    db: asyncpg.Pool
    redis: aioredis.Redis
    broker: Any

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def register_store(self, external_id: str) -> tuple[uuid.UUID, str]:
        body = await self.gql(
            REGISTER_STORE, {"input": store_input(ORG, external_id)}, key=self.key
        )
        payload = body["data"]["registerStore"]
        return uuid.UUID(payload["storeId"]), payload["syncToken"]

    async def add_due_logs(self, store_id: uuid.UUID, receipts: list[str]) -> None:
        now = datetime.now(UTC)
        rows = [
            (
                new_id(),
                store_id,
                receipt,
                "FAILED",
                "transport_error",
                1,
                now - timedelta(minutes=1),
                now + timedelta(microseconds=i),
                now,
            )
            for i, receipt in enumerate(receipts)
        ]
        await self.db.executemany(
            "INSERT INTO sync_log (id, store_id, receipt, status, error_details, attempt,"
            " next_retry_at, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            rows,
        )

    async def add_job(self, store_id: uuid.UUID) -> uuid.UUID:
        job_id = new_id()
        now = datetime.now(UTC)
        await self.db.execute(
            "INSERT INTO job (id, store_id, type, status, attempts, write_effective, created_at,"
            " updated_at) VALUES ($1, $2, 'STORE_SYNC', 'QUEUED', 0, false, $3, $3)",
            job_id,
            store_id,
            now,
        )
        return job_id

    def send_sync(self, job_id: uuid.UUID) -> None:
        self.broker.enqueue(
            dramatiq.Message(
                queue_name="sync",
                actor_name="sync_store",
                args=(str(job_id),),
                kwargs={},
                options={},
            )
        )

    async def mock_calls(self) -> dict[str, dict[str, int]]:
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            result: dict[str, dict[str, int]] = (await client.get("/mock/_calls")).json()
            return result


@pytest.fixture
async def deployment() -> AsyncIterator[Deployment]:
    require(postgres_available(), "PostgreSQL")
    require(redis_available(), "Redis")
    database_url = await create_pg_database()
    redis = aioredis.from_url(REDIS_TEST_URL)
    await redis.flushdb()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stack = Stack(
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_TEST_URL,
            "SECRET_KEY": "process-tests-secret-key-0123456789-abcdef",
            "MARKETPLACE_BASE_URL": f"{base_url}/mock",
            "MOCK_MARKETPLACE_ENABLED": "true",  # serve mounts the mock it points at
            "MAX_WS_CONNECTIONS_PER_CLIENT": "1000",  # every subscriber is on 127.0.0.1
            "SYNC_LOCK_TTL_S": "4",
            "SCHEDULER_INTERVAL_S": "1",
            "SCHEDULER_THROTTLE_S": "60",
            "LOG_LEVEL": "INFO",
        }
    )
    pool = await asyncpg.create_pool(
        database_url.split("?")[0].replace("postgres://", "postgresql://", 1)
    )
    broker = RedisBroker(url=REDIS_TEST_URL)
    try:
        stack.run("migrate")
        key = stack.run("apikey", "create", "--org", ORG).strip().splitlines()[-1]
        api = stack.start("api", "serve", "--port", str(port))
        await wait_until_ready(base_url, api)
        yield Deployment(stack, base_url, key, pool, redis, broker)
    finally:
        stack.stop_all()
        broker.close()
        await pool.close()
        await redis.flushdb()
        await redis.aclose()
        await drop_pg_database(database_url)
