"""Shared fixtures: the app over real HTTP on SQLite and PostgreSQL, API keys, a GraphQL client.

``api`` runs the whole app (embedded broker and worker on the test's loop, the mock
marketplace, fakeredis) against each database in turn; tables are emptied between
tests, since services open their own transactions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from marketsync.app import create_app
from marketsync.config import Settings
from marketsync.services.apikeys import create_api_key
from tests.support.backends import create_pg_database, drop_pg_database, postgres_available, require
from tests.support.servers import free_port, serve_asgi

ORG = "org-a"
OTHER_ORG = "org-b"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
# The key the tests' app was "rotated away from": still read, as SECRET_KEY_FALLBACKS.
TEST_OLD_SECRET_KEY = "test-old-secret-key-rotated-away-from-0123456"


def make_settings(database_url: str, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "marketsync_mode": "dev",
        "database_url": database_url,
        "redis_url": None,
        "marketplace_base_url": f"http://127.0.0.1:{port}/mock",
        "secret_key": SecretStr(TEST_SECRET_KEY),
        "secret_key_fallbacks": [SecretStr(TEST_OLD_SECRET_KEY)],
        "scheduler_interval_s": 3600,
        "marketplace_timeout_s": 5,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Api:
    """A GraphQL client on the running app, plus what tests need to look inside."""

    base_url: str
    http: httpx.AsyncClient
    app: Any
    key: str
    other_key: str
    settings: Settings

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def mock_calls(self) -> dict[str, dict[str, int]]:
        response = await self.http.get("/mock/_calls")
        result: dict[str, dict[str, int]] = response.json()
        return result

    @property
    def rt(self) -> Any:
        return self.app.state.rt


TABLES = (
    "webhook_delivery_attempt",
    "webhook_delivery",
    "webhook_event",
    "webhook_endpoint",
    "inventory_batch",
    "inventory_item_state",
    "job",
    "sync_log",
    "store",
    "api_key",
)


async def empty_tables() -> None:
    conn = Tortoise.get_connection("default")
    for table in TABLES:
        await conn.execute_script(f'DELETE FROM "{table}"')  # noqa: S608  (fixed names)


def migrate_with_cli(database_url: str) -> None:
    """`marketsync migrate` in its own process, as an operator would run it."""
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "marketsync", "migrate"], env=env, check=True, capture_output=True
    )


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if request.param == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite://{os.path.join(folder, 'test.db')}"
        return
    require(postgres_available(), "PostgreSQL")
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture(scope="session")
async def app_server(database_url: str) -> AsyncIterator[tuple[str, Any, Settings]]:
    # Tortoise caches insert SQL per table name, not per dialect (1.1.9): switching
    # this process from SQLite to PostgreSQL needs the cache emptied.
    EXECUTOR_CACHE.clear()
    port = free_port()
    settings = make_settings(database_url, port)
    migrate_with_cli(database_url)
    app = create_app(settings, self_url=f"http://127.0.0.1:{port}")
    async with serve_asgi(app, port=port) as base_url:
        yield base_url, app, settings


@pytest.fixture
async def api(app_server: tuple[str, Any, Settings]) -> AsyncIterator[Api]:
    base_url, app, settings = app_server
    await empty_tables()
    await app.state.rt.redis.flushall()
    key = await create_api_key(organization_id=ORG)
    other_key = await create_api_key(organization_id=OTHER_ORG)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield Api(base_url, http, app, key, other_key, settings)


@dataclass
class RegisteredStore:
    id: str
    sync_token: str


async def register_store(
    api: Api, external_id: str = "shop-1", **overrides: Any
) -> RegisteredStore:
    from tests.support.graphql import REGISTER_STORE, store_input

    body = await api.gql(
        REGISTER_STORE, {"input": store_input(ORG, external_id, **overrides)}, key=api.key
    )
    payload = body["data"]["registerStore"]
    assert payload["userErrors"] == [], payload
    return RegisteredStore(id=payload["storeId"], sync_token=payload["syncToken"])


async def import_order(api: Api, sync_token: str, receipt: str) -> dict[str, Any]:
    from tests.support.graphql import IMPORT_ORDER

    body = await api.gql(IMPORT_ORDER, {"input": {"syncToken": sync_token, "receipt": receipt}})
    payload: dict[str, Any] = body["data"]["importOrder"]
    return payload
