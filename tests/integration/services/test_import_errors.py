"""Marketplace errors during import become FAILED logs with stable errorDetails.

A misbehaving marketplace runs as a real HTTP server on 127.0.0.1; the import
service talks to it through a runtime of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from marketsync.models import Store
from marketsync.models.enums import SyncLogStatus
from marketsync.runtime import open_runtime
from marketsync.services.orders.importing import import_order
from tests.conftest import Api, register_store
from tests.support.servers import free_port, serve_asgi

ANSWERS = {"etsy": 401, "shopify": 503, "amazon": 200, "trendyol": 403}


async def misbehave(request: Request) -> Response:
    status = ANSWERS[request.path_params["marketplace"]]
    return PlainTextResponse("not json" if status == 200 else "no", status_code=status)


class NoDispatch:
    async def send(self, actor_name: str, *args: Any) -> None:
        raise AssertionError("the import must not enqueue anything")


@pytest.fixture
async def bad_marketplace() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/{marketplace}/validate", misbehave, methods=["POST"])])
    async with serve_asgi(app) as url:
        yield url


@pytest.mark.parametrize(
    ("marketplace", "detail"),
    [
        ("ETSY", "auth_error"),
        ("SHOPIFY", "marketplace_error"),
        ("AMAZON", "marketplace_error"),
        ("TRENDYOL", "auth_error"),
    ],
)
async def test_error_answers(api: Api, bad_marketplace: str, marketplace: str, detail: str) -> None:
    store = await register_store(api, marketplace=marketplace)
    rt = open_runtime(
        api.settings,
        dispatcher=NoDispatch(),
        marketplace_base_url=bad_marketplace,
        redis=api.rt.redis,
    )
    try:
        result = await import_order(rt=rt, sync_token=uuid.UUID(store.sync_token), receipt="R-1")
    finally:
        await rt.http.close()
        await rt.webhook_http.close()

    assert result.duplicate is False
    assert result.log.status == SyncLogStatus.FAILED
    assert result.log.error_details == detail
    assert result.log.attempt == 1
    assert result.log.next_retry_at is not None
    assert (await Store.get(id=store.id)).imported_orders == 0


async def test_no_answer_is_a_transport_error(api: Api) -> None:
    store = await register_store(api)
    closed = f"http://127.0.0.1:{free_port()}"
    rt = open_runtime(
        api.settings, dispatcher=NoDispatch(), marketplace_base_url=closed, redis=api.rt.redis
    )
    try:
        result = await import_order(rt=rt, sync_token=uuid.UUID(store.sync_token), receipt="R-1")
    finally:
        await rt.http.close()
        await rt.webhook_http.close()

    assert result.log.status == SyncLogStatus.FAILED
    assert result.log.error_details == "transport_error"
