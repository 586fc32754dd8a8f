"""The Trendyol adapter against the Trendyol fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from marketsync.errors import (
    AuthError,
    DuplicateRequestError,
    MarketplaceResponseError,
    RateLimitError,
    TransportError,
)
from marketsync.marketplaces.client import ValidationResult
from marketsync.marketplaces.registry import Marketplaces
from tests.integration.marketplaces.live import adapter, live_settings, registry
from tests.support.fakes.base import RETRY_AFTER_S
from tests.support.fakes.trendyol import TrendyolFake

SELLER = "123456"
API_KEY, API_SECRET = "tyKey01", "tySecret02"
TOKEN = f"{API_KEY}:{API_SECRET}"
BASIC = "Basic " + base64.b64encode(TOKEN.encode()).decode()


@pytest.fixture
async def fake() -> AsyncIterator[TrendyolFake]:
    server = TrendyolFake({SELLER: (API_KEY, API_SECRET)})
    await server.start()
    server.add_order("10654321", "249.90")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def marketplaces(fake: TrendyolFake) -> AsyncIterator[Marketplaces]:
    async with aiohttp.ClientSession() as session:
        yield registry(session, live_settings(trendyol_api_url=fake.url + "/"))


async def test_found_order_gives_its_number_amount_and_currency(
    fake: TrendyolFake, marketplaces: Marketplaces
) -> None:
    result = await adapter(marketplaces, "TRENDYOL", SELLER, TOKEN).validate_receipt(
        "10654321", "USD"
    )

    assert result == ValidationResult(
        valid=True, order_id="10654321", amount=Decimal("249.90"), currency="TRY"
    )
    [seen] = fake.requests()
    assert (seen.method, seen.path, seen.query) == (
        "GET",
        f"/order/sellers/{SELLER}/orders",
        {"orderNumber": "10654321"},
    )
    assert seen.headers["authorization"] == BASIC
    assert seen.headers["user-agent"] == f"{SELLER} - SelfIntegration"
    assert seen.body == b""


async def test_older_answers_total_price_and_split_packages_sum(
    fake: TrendyolFake, marketplaces: Marketplaces
) -> None:
    fake.add_order("777", "10.25", legacy=True)
    fake.add_order("777", "5.50", legacy=True)

    result = await adapter(marketplaces, "TRENDYOL", SELLER, TOKEN).validate_receipt("777", None)

    assert (result.valid, result.order_id, result.amount) == (True, "777", Decimal("15.75"))


async def test_empty_content_is_not_found(fake: TrendyolFake, marketplaces: Marketplaces) -> None:
    result = await adapter(marketplaces, "TRENDYOL", SELLER, TOKEN).validate_receipt(
        "99 & x=1", None
    )

    assert result == ValidationResult(valid=False)
    assert fake.requests()[0].query == {"orderNumber": "99 & x=1"}


@pytest.mark.parametrize(
    ("seller", "token"),
    [(SELLER, f"{API_KEY}:wrong"), ("999", TOKEN)],
    ids=["wrong-secret", "unknown-seller"],
)
async def test_refused_credentials_are_an_auth_error(
    fake: TrendyolFake, marketplaces: Marketplaces, seller: str, token: str
) -> None:
    with pytest.raises(AuthError) as caught:
        await adapter(marketplaces, "TRENDYOL", seller, token).validate_receipt("10654321", None)

    assert "wrong" not in str(caught.value)
    assert API_SECRET not in str(caught.value)
    assert fake.calls["api"] == 1


@pytest.mark.parametrize(("kind", "retry_after"), [("429", RETRY_AFTER_S), ("429-bare", None)])
async def test_429_is_rate_limited_with_retry_after(
    fake: TrendyolFake, marketplaces: Marketplaces, kind: str, retry_after: float | None
) -> None:
    fake.fail_next(kind)

    with pytest.raises(RateLimitError) as caught:
        await adapter(marketplaces, "TRENDYOL", SELLER, TOKEN).validate_receipt("10654321", None)

    assert caught.value.retry_after == retry_after
    assert fake.calls["api"] == 1


async def test_500_is_a_marketplace_error(fake: TrendyolFake, marketplaces: Marketplaces) -> None:
    fake.fail_next("500")

    with pytest.raises(MarketplaceResponseError) as caught:
        await adapter(marketplaces, "TRENDYOL", SELLER, TOKEN).validate_receipt("10654321", None)

    assert caught.value.status == 500


async def test_closed_connection_is_a_transport_error(
    fake: TrendyolFake, marketplaces: Marketplaces
) -> None:
    # aiohttp resends an idempotent request once when a pooled connection drops
    fake.fail_next("close", times=2)

    with pytest.raises(TransportError):
        await adapter(marketplaces, "TRENDYOL", SELLER, TOKEN).validate_receipt("10654321", None)


async def test_push_sends_the_documented_items_and_the_batch_completes(
    fake: TrendyolFake, marketplaces: Marketplaces
) -> None:
    store = adapter(marketplaces, "TRENDYOL", SELLER, TOKEN)
    items = [
        {
            "barcode": "B-1",
            "quantity": 5,
            "salePrice": 10.5,
            "listPrice": 12.0,
            "currencyType": "TRY",
        },
        {
            "barcode": "B-2",
            "quantity": 1,
            "salePrice": 20.0,
            "listPrice": 15.0,
            "currencyType": "TRY",
        },
    ]

    batch_id = await store.push_inventory(items)
    pending = await store.get_inventory_batch(batch_id)
    done = await store.get_inventory_batch(batch_id)

    post, first_poll, second_poll = fake.requests()
    assert (post.method, post.path, post.query) == (
        "POST",
        f"/inventory/sellers/{SELLER}/products/price-and-inventory",
        {},
    )
    assert (post.headers["authorization"], post.headers["user-agent"]) == (
        BASIC,
        f"{SELLER} - SelfIntegration",
    )
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body) == {
        "items": [
            {"barcode": "B-1", "quantity": 5, "salePrice": 10.5, "listPrice": 12.0},
            {"barcode": "B-2", "quantity": 1, "salePrice": 20.0, "listPrice": 15.0},
        ]
    }
    assert (
        first_poll.path
        == second_poll.path
        == (f"/product/sellers/{SELLER}/products/batch-requests/{batch_id}")
    )
    assert [entry.get("status") for entry in pending["items"]] == [None, None]
    assert [(e["status"], e["failureReasons"]) for e in done["items"]] == [
        ("SUCCESS", []),
        ("FAILED", ["listPrice must not be lower than salePrice"]),
    ]
    assert done["batchRequestId"] == batch_id


async def test_the_fifteen_minute_refusal_is_a_duplicate(
    fake: TrendyolFake, marketplaces: Marketplaces
) -> None:
    store = adapter(marketplaces, "TRENDYOL", SELLER, TOKEN)
    items = [{"barcode": "B-1", "quantity": 5, "salePrice": 10.5, "listPrice": 12.0}]
    await store.push_inventory(items)

    with pytest.raises(DuplicateRequestError):
        await store.push_inventory(items)

    assert fake.calls["api"] == 2
    assert len(fake.batches) == 1


async def test_connection_test_reads_one_order_page(
    fake: TrendyolFake, marketplaces: Marketplaces
) -> None:
    await adapter(marketplaces, "TRENDYOL", SELLER, TOKEN).test_connection()

    [seen] = fake.requests()
    assert (seen.path, seen.query) == (f"/order/sellers/{SELLER}/orders", {"size": "1"})
    with pytest.raises(AuthError):
        await adapter(marketplaces, "TRENDYOL", SELLER, "x:y").test_connection()


async def test_a_redirect_is_not_followed(fake: TrendyolFake) -> None:
    async with aiohttp.ClientSession() as session:
        settings = live_settings(trendyol_api_url=fake.url + "/redirect")
        target = adapter(registry(session, settings), "TRENDYOL", SELLER, TOKEN)
        with pytest.raises(MarketplaceResponseError) as caught:
            await target.validate_receipt("1", None)

    assert caught.value.status == 302
    assert fake.calls == {"redirect": 1}
