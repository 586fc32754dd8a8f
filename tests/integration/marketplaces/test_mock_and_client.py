"""The mock marketplace driven over real HTTP by the real MarketplaceClient.

The mock is mounted at /mock under a parent app, as the API mounts it, and keeps its
state in a fakeredis server of its own. The client's handling of answers the mock
never gives is in ``test_client_errors``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import fakeredis
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from marketsync.config import Settings
from marketsync.errors import (
    AuthError,
    DuplicateRequestError,
    MarketplaceResponseError,
    RateLimitError,
)
from marketsync.marketplaces.client import MarketplaceClient, ValidationResult
from marketsync.marketplaces.mock import build_mock_app
from tests.support.servers import serve_asgi

TOKEN = "store-secret-token-xyz"
SETTINGS = Settings(
    mock_etsy_user="etsy-user",
    mock_etsy_pass=SecretStr("etsy-pass"),
    mock_shopify_user="shopify-user",
    mock_shopify_pass=SecretStr("shopify-pass"),
)


def item(barcode: str, *, sale: float = 90, listed: float = 100) -> dict[str, Any]:
    return {
        "barcode": barcode,
        "quantity": 3,
        "salePrice": sale,
        "listPrice": listed,
        "currencyType": "USD",
    }


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture(scope="module")
async def mock_url() -> AsyncIterator[str]:
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    app = Starlette(routes=[Mount("/mock", app=build_mock_app(settings=SETTINGS, redis=redis))])
    async with serve_asgi(app) as url:
        yield f"{url}/mock"
    await redis.aclose()


@pytest.fixture
def client(session: aiohttp.ClientSession, mock_url: str) -> MarketplaceClient:
    return MarketplaceClient(session, base_url=mock_url + "/", settings=SETTINGS)


async def calls(session: aiohttp.ClientSession, mock_url: str) -> dict[str, Any]:
    async with session.get(f"{mock_url}/_calls") as response:
        assert response.status == 200
        counters: dict[str, Any] = await response.json()
        return counters


async def reset_calls(session: aiohttp.ClientSession, mock_url: str) -> None:
    async with session.delete(f"{mock_url}/_calls") as response:
        assert response.status == 204


# --- validate ---------------------------------------------------------------------


async def test_valid_receipt_gives_the_order(client: MarketplaceClient) -> None:
    before = datetime.now(UTC)

    result = await client.validate_receipt(
        marketplace="etsy", access_token=TOKEN, receipt="R11", currency=None
    )

    assert result.valid is True
    assert result.order_id == "ORD-" + hashlib.sha256(b"etsy:R11").hexdigest()[:16].upper()
    assert result.amount == Decimal("190.00")  # 82 + 49 + 49 = 180, % 1000 + 10
    assert result.currency == "USD"
    assert result.imported_at is not None
    assert result.imported_at.tzinfo is UTC
    assert before - timedelta(seconds=1) <= result.imported_at <= datetime.now(UTC)


async def test_currency_is_echoed(client: MarketplaceClient) -> None:
    result = await client.validate_receipt(
        marketplace="shopify", access_token=TOKEN, receipt="R11", currency="EUR"
    )

    assert result.currency == "EUR"
    assert result.order_id == "ORD-" + hashlib.sha256(b"shopify:R11").hexdigest()[:16].upper()


async def test_order_id_is_stable_and_marketplace_case_is_ignored(
    client: MarketplaceClient,
) -> None:
    first = await client.validate_receipt(
        marketplace="etsy", access_token=TOKEN, receipt="R-stable-1", currency=None
    )
    second = await client.validate_receipt(
        marketplace="ETSY", access_token=TOKEN, receipt="R-stable-1", currency=None
    )

    assert first.order_id == second.order_id
    assert first.amount == second.amount


async def test_invalid_receipt(client: MarketplaceClient) -> None:
    result = await client.validate_receipt(
        marketplace="etsy", access_token=TOKEN, receipt="R12", currency="USD"
    )

    assert result == ValidationResult(valid=False)


async def test_rate_limited_receipt(client: MarketplaceClient) -> None:
    with pytest.raises(RateLimitError) as caught:
        await client.validate_receipt(
            marketplace="etsy", access_token=TOKEN, receipt="R15", currency=None
        )

    assert caught.value.retry_after is None


async def test_wrong_credentials_raise_auth_error(
    session: aiohttp.ClientSession, mock_url: str
) -> None:
    wrong = Settings(
        mock_etsy_user="etsy-user",
        mock_etsy_pass=SecretStr("not-the-password"),
    )
    client = MarketplaceClient(session, base_url=mock_url, settings=wrong)

    with pytest.raises(AuthError) as caught:
        await client.validate_receipt(
            marketplace="etsy", access_token=TOKEN, receipt="R11", currency=None
        )

    assert TOKEN not in str(caught.value)


async def test_unknown_marketplace_is_refused_by_the_client(client: MarketplaceClient) -> None:
    with pytest.raises(ValueError, match="unknown marketplace"):
        await client.validate_receipt(
            marketplace="ebay", access_token=TOKEN, receipt="R11", currency=None
        )


async def test_mock_path_is_case_insensitive(session: aiohttp.ClientSession, mock_url: str) -> None:
    async with session.post(
        f"{mock_url}/EtSy/validate",
        json={"receipt": "R11"},
        headers={"Authorization": basic("etsy-user", "etsy-pass")},
    ) as response:
        body = await response.json()

    assert response.status == 200
    assert body["status"] is True
    assert body["amount"] == "190.00"
    assert body["importedAtUTC"].endswith("Z")


@pytest.mark.parametrize(
    ("path", "headers", "payload", "status", "error"),
    [
        ("/ebay/validate", {"Authorization": basic("etsy-user", "etsy-pass")}, {"receipt": "R1"},
         404, "unknown_marketplace"),
        ("/etsy/validate", {}, {"receipt": "R1"}, 401, "unauthorized"),
        ("/etsy/validate", {"Authorization": "Bearer x"}, {"receipt": "R1"}, 401, "unauthorized"),
        ("/etsy/validate", {"Authorization": basic("shopify-user", "shopify-pass")},
         {"receipt": "R1"}, 401, "unauthorized"),
        ("/etsy/validate", {"Authorization": basic("etsy-user", "etsy-pass")}, ["R1"],
         400, "invalid_body"),
        ("/etsy/validate", {"Authorization": basic("etsy-user", "etsy-pass")}, {"receipt": 11},
         400, "invalid_body"),
        ("/etsy/validate", {"Authorization": basic("etsy-user", "etsy-pass")},
         {"receipt": "R1", "currency": 5}, 400, "invalid_body"),
        ("/etsy/inventory", {"Authorization": basic("etsy-user", "etsy-pass")}, {"items": [1]},
         400, "invalid_body"),
        ("/etsy/nowhere", {}, {}, 404, "not_found"),
    ],
)  # fmt: skip
async def test_mock_refusals(
    session: aiohttp.ClientSession,
    mock_url: str,
    path: str,
    headers: dict[str, str],
    payload: Any,
    status: int,
    error: str,
) -> None:
    async with session.post(f"{mock_url}{path}", json=payload, headers=headers) as response:
        body = await response.json()

    assert (response.status, body) == (status, {"error": error})


async def test_mock_refuses_a_body_that_is_not_json(
    session: aiohttp.ClientSession, mock_url: str
) -> None:
    async with session.post(
        f"{mock_url}/etsy/validate",
        data=b'{"receipt": NaN',
        headers={"Authorization": basic("etsy-user", "etsy-pass")},
    ) as response:
        assert response.status == 400


# --- call counters ------------------------------------------------------------------


async def test_call_counters_are_exact_and_resettable(
    session: aiohttp.ClientSession, mock_url: str, client: MarketplaceClient
) -> None:
    await reset_calls(session, mock_url)
    assert await calls(session, mock_url) == {"validate": {}, "inventory": {}, "batch": {}}

    await client.validate_receipt(
        marketplace="etsy", access_token=TOKEN, receipt="R-count-11", currency=None
    )
    assert await calls(session, mock_url) == {
        "validate": {"etsy/R-count-11": 1},
        "inventory": {},
        "batch": {},
    }

    await client.validate_receipt(
        marketplace="Etsy", access_token=TOKEN, receipt="R-count-11", currency=None
    )
    batch_id = await client.push_inventory(
        marketplace="shopify", access_token=TOKEN, items=[item("count-1")]
    )
    await client.get_inventory_batch(
        marketplace="shopify", access_token=TOKEN, batch_request_id=batch_id
    )
    await client.get_inventory_batch(
        marketplace="shopify", access_token=TOKEN, batch_request_id=batch_id
    )
    assert await calls(session, mock_url) == {
        "validate": {"etsy/R-count-11": 2},
        "inventory": {"shopify": 1},
        "batch": {"shopify": 2},
    }

    await reset_calls(session, mock_url)
    assert await calls(session, mock_url) == {"validate": {}, "inventory": {}, "batch": {}}


async def test_refused_credentials_are_not_counted(
    session: aiohttp.ClientSession, mock_url: str
) -> None:
    await reset_calls(session, mock_url)
    wrong = Settings(mock_etsy_user="etsy-user", mock_etsy_pass=SecretStr("nope"))
    client = MarketplaceClient(session, base_url=mock_url, settings=wrong)

    with pytest.raises(AuthError):
        await client.validate_receipt(
            marketplace="etsy", access_token=TOKEN, receipt="R1", currency=None
        )

    assert await calls(session, mock_url) == {"validate": {}, "inventory": {}, "batch": {}}


# --- inventory ----------------------------------------------------------------------


async def test_inventory_batch_reports_each_item(client: MarketplaceClient) -> None:
    items = [item("ok-1"), item("too-dear-1", sale=120, listed=100)]

    batch_id = await client.push_inventory(marketplace="etsy", access_token=TOKEN, items=items)
    batch = await client.get_inventory_batch(
        marketplace="etsy", access_token=TOKEN, batch_request_id=batch_id
    )

    assert batch == {
        "batchRequestId": batch_id,
        "items": [
            {"requestItem": items[0], "status": "SUCCESS", "failureReasons": []},
            {
                "requestItem": items[1],
                "status": "FAILED",
                "failureReasons": ["salePrice must not exceed listPrice"],
            },
        ],
        "itemCount": 2,
        "failedItemCount": 1,
        "batchRequestType": "ProductInventoryUpdate",
    }


async def test_identical_body_twice_is_a_duplicate(client: MarketplaceClient) -> None:
    await client.push_inventory(
        marketplace="etsy", access_token=TOKEN, items=[{"barcode": "dup-1", "quantity": 1}]
    )

    with pytest.raises(DuplicateRequestError):
        await client.push_inventory(
            marketplace="etsy", access_token=TOKEN, items=[{"quantity": 1, "barcode": "dup-1"}]
        )


async def test_same_body_to_another_marketplace_is_no_duplicate(
    client: MarketplaceClient,
) -> None:
    items = [item("dup-2")]
    first = await client.push_inventory(marketplace="etsy", access_token=TOKEN, items=items)

    second = await client.push_inventory(marketplace="amazon", access_token=TOKEN, items=items)

    assert first != second


async def test_more_than_1000_items_is_refused(client: MarketplaceClient) -> None:
    items = [item(f"many-{n}") for n in range(1001)]

    with pytest.raises(MarketplaceResponseError) as caught:
        await client.push_inventory(marketplace="etsy", access_token=TOKEN, items=items)

    assert caught.value.status == 400


async def test_exactly_1000_items_is_accepted(client: MarketplaceClient) -> None:
    items = [item(f"thousand-{n}") for n in range(1000)]

    batch_id = await client.push_inventory(marketplace="etsy", access_token=TOKEN, items=items)
    batch = await client.get_inventory_batch(
        marketplace="etsy", access_token=TOKEN, batch_request_id=batch_id
    )

    assert (batch["itemCount"], batch["failedItemCount"]) == (1000, 0)


async def test_unknown_batch_is_not_found(client: MarketplaceClient) -> None:
    with pytest.raises(MarketplaceResponseError) as caught:
        await client.get_inventory_batch(
            marketplace="etsy", access_token=TOKEN, batch_request_id="no/such batch"
        )

    assert caught.value.status == 404


async def test_batch_belongs_to_its_marketplace(client: MarketplaceClient) -> None:
    batch_id = await client.push_inventory(
        marketplace="etsy", access_token=TOKEN, items=[item("own-1")]
    )

    with pytest.raises(MarketplaceResponseError) as caught:
        await client.get_inventory_batch(
            marketplace="shopify", access_token=TOKEN, batch_request_id=batch_id
        )

    assert caught.value.status == 404
