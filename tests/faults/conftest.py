"""Fault tests: real `serve`, `worker` and `scheduler` processes on PostgreSQL and a Redis
server each test starts on its own port (never the shared one, which is not ours to stop).

The mock marketplace and the webhook receiver run in the test process, on their own
in-memory state, so a Redis outage of the deployment does not change what the
marketplace answers. The test reads the database with asyncpg, as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import fakeredis
import httpx
import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from marketsync.config import Settings
from marketsync.marketplaces.mock import build_mock_app
from tests.support.backends import (
    PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    postgres_available,
    require,
)
from tests.support.graphql import REGISTER_STORE, store_input
from tests.support.processes import Proc, Stack, wait_for_output, wait_until_ready
from tests.support.servers import free_port, serve_asgi

ORG = "org-a"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HAS_REDIS_SERVER = os.path.exists(REDIS_SERVER)
pytestmark = [pytest.mark.postgres, pytest.mark.redis]
TEST_APPLICATION = "marketsync-fault-test"  # the test's own readers, as pg_stat_activity names them


class OwnRedis:
    """A throw-away redis-server on its own port: no persistence, ours to stop."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        self.popen: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.launch()
        await self.wait_ready()

    def launch(self) -> None:
        self.popen = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    async def wait_ready(self) -> None:
        client = aioredis.from_url(self.url)
        try:
            for _ in range(100):
                try:
                    await client.ping()
                    return
                except Exception:
                    await asyncio.sleep(0.05)
            raise AssertionError("redis-server did not start")
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=10)


class Receiver:
    """A webhook target in the test process; ``hang_s`` makes it answer that late."""

    def __init__(self) -> None:
        self.event_ids: list[str] = []
        self.hang_s = 0.0

    async def receive(self, request: Request) -> Response:
        body = await request.json()
        self.event_ids.append(body["eventId"])
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        return JSONResponse({"ok": True})


@dataclass
class Faults:
    stack: Stack
    base_url: str
    key: str
    db: asyncpg.Pool
    redis: OwnRedis
    receiver: Receiver
    receiver_url: str
    procs: dict[str, Proc] = field(default_factory=dict)

    async def gql(self, query: str, variables: dict[str, Any] | None = None,
                  *, auth: bool = True) -> dict[str, Any]:  # fmt: skip
        headers = {"Authorization": f"Bearer {self.key}"} if auth else {}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def register_store(self, external_id: str) -> tuple[uuid.UUID, str]:
        body = await self.gql(REGISTER_STORE, {"input": store_input(ORG, external_id)})
        payload = body["data"]["registerStore"]
        return uuid.UUID(payload["storeId"]), payload["syncToken"]

    async def register_webhook(self, event: str) -> None:
        body = await self.gql(
            """mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) {
               userErrors { code } } }""",
            {"i": {"organizationId": ORG, "event": event, "targetUrl": self.receiver_url}},
        )
        assert body["data"]["registerWebhook"]["userErrors"] == [], body

    async def start_api(self) -> Proc:
        port = self.base_url.rsplit(":", 1)[1]
        api = self.stack.start("api", "serve", "--port", port)
        await wait_until_ready(self.base_url, api)
        self.procs["api"] = api
        return api

    async def start_worker(self, **env: str) -> Proc:
        worker = self.stack.start(
            "worker", "worker", "--processes", "1", "--threads", "4", env=env or None
        )
        await wait_for_output(worker, "worker_started")
        self.procs["worker"] = worker
        return worker

    def start_scheduler(self) -> Proc:
        self.procs["scheduler"] = self.stack.start("scheduler", "scheduler", "--loop")
        return self.procs["scheduler"]

    def alive(self) -> dict[str, bool]:
        return {name: proc.popen.poll() is None for name, proc in self.procs.items()}


async def wait_for(check: Any, timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


SECRET_KEY = "fault-tests-secret-key-0123456789-abcdef"


@dataclass
class Template:
    """A migrated database holding ORG's API key, copied for each test (``CREATE
    DATABASE … TEMPLATE``: a copy takes a fraction of a second, `migrate` and
    `apikey create` as processes take several each)."""

    name: str
    key: str


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _name_of(database_url: str) -> str:
    return database_url.rsplit("/", 1)[1].split("?")[0]


@pytest.fixture(scope="session")
def faults_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    require(postgres_available(), "PostgreSQL")
    database_url = asyncio.run(create_pg_database())
    stack = Stack(
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database_url,
             "SECRET_KEY": SECRET_KEY},
        folder=tmp_path_factory.mktemp("faults-template"),
    )  # fmt: skip
    try:
        stack.run("migrate")
        key = stack.run("apikey", "create", "--org", ORG).strip().splitlines()[-1]
        yield Template(_name_of(database_url), key)
    finally:
        asyncio.run(drop_pg_database(database_url))


@pytest.fixture
async def faults(tmp_path: Path, faults_template: Template) -> AsyncIterator[Faults]:
    require(HAS_REDIS_SERVER, "redis-server (to start a Redis of the test's own)")
    redis = OwnRedis(tmp_path)
    await redis.start()
    receiver = Receiver()
    outside = Starlette(
        routes=[
            Route("/hook", receiver.receive, methods=["POST"]),
            Mount("/mock", build_mock_app(settings=Settings(), redis=fakeredis.FakeAsyncRedis())),
        ]
    )
    name = f"marketsync_fault_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{faults_template.name}"')
    database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}?maxsize=20"
    port = free_port()
    pool = await asyncpg.create_pool(
        database_url.split("?")[0].replace("postgres://", "postgresql://", 1),
        server_settings={"application_name": TEST_APPLICATION},
    )
    try:
        async with serve_asgi(outside) as outside_url:
            stack = Stack(
                env={
                    "PATH": os.environ.get("PATH", ""),
                    "DATABASE_URL": database_url,
                    "REDIS_URL": redis.url,
                    "SECRET_KEY": SECRET_KEY,
                    "MARKETPLACE_BASE_URL": f"{outside_url}/mock",
                    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                    "WEBHOOK_TIMEOUT_S": "2",
                    "WEBHOOK_RETRY_SCHEDULE_S": "1,1,1",
                    "SYNC_LOCK_TTL_S": "20",
                    "SYNC_RESEND_AFTER_S": "3",  # the sweep re-sends what an outage left
                    "SCHEDULER_INTERVAL_S": "1",
                    "SCHEDULER_THROTTLE_S": "0",
                    "SCHEDULER_HEARTBEAT_FILE": str(tmp_path / "heartbeat"),
                    "LOG_LEVEL": "INFO",
                },
                folder=tmp_path,
            )
            faults = Faults(
                stack,
                f"http://127.0.0.1:{port}",
                faults_template.key,
                pool,
                redis,
                receiver,
                f"{outside_url}/hook",
            )
            try:
                await faults.start_api()
                yield faults
            finally:
                for proc in stack.procs:  # all at once: each takes seconds to wind down
                    if proc.popen.poll() is None:
                        os.killpg(proc.popen.pid, signal.SIGTERM)
                stack.stop_all()
    finally:
        redis.stop()
        await pool.close()
        await drop_pg_database(database_url)
