"""The Shopify adapter against the Shopify fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from marketsync.errors import (
    AuthError,
    MarketplaceResponseError,
    RateLimitError,
    TransportError,
)
from marketsync.marketplaces.adapters.shopify import ORDER_QUERY, SHOP_QUERY
from marketsync.marketplaces.client import ValidationResult
from marketsync.marketplaces.registry import Marketplaces
from tests.integration.marketplaces.live import adapter, live_settings, registry
from tests.support.fakes.base import RETRY_AFTER_S
from tests.support.fakes.shopify import ShopifyFake

SHOP = "demo-shop-1"
TOKEN = "shpat_0123456789abcdef"


@pytest.fixture
async def fake() -> AsyncIterator[ShopifyFake]:
    server = ShopifyFake({SHOP: TOKEN})
    await server.start()
    server.add_order("450789469", "#1001", "598.94")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def marketplaces(fake: ShopifyFake) -> AsyncIterator[Marketplaces]:
    async with aiohttp.ClientSession() as session:
        yield registry(session, live_settings(shopify_api_url=fake.url + "/shops/{shop}"))


async def test_found_order_gives_its_name_amount_and_currency(
    fake: ShopifyFake, marketplaces: Marketplaces
) -> None:
    result = await adapter(marketplaces, "SHOPIFY", SHOP, TOKEN).validate_receipt(
        "450789469", "EUR"
    )

    assert result == ValidationResult(
        valid=True, order_id="#1001", amount=Decimal("598.94"), currency="USD"
    )
    [seen] = fake.requests()
    assert (seen.method, seen.path, seen.query) == (
        "POST",
        f"/shops/{SHOP}/admin/api/2026-01/graphql.json",
        {},
    )
    assert seen.headers["x-shopify-access-token"] == TOKEN
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {
        "query": ORDER_QUERY,
        "variables": {"id": "gid://shopify/Order/450789469"},
    }


async def test_null_order_is_not_found(fake: ShopifyFake, marketplaces: Marketplaces) -> None:
    store = adapter(marketplaces, "SHOPIFY", SHOP, TOKEN)

    assert await store.validate_receipt("1", None) == ValidationResult(valid=False)
    assert await store.validate_receipt("#1001 or 1", None) == ValidationResult(valid=False)
    assert fake.calls["api"] == 1  # a receipt that is no order id is not asked about


async def test_wrong_token_is_an_auth_error_without_the_token_in_it(
    fake: ShopifyFake, marketplaces: Marketplaces
) -> None:
    with pytest.raises(AuthError) as caught:
        await adapter(marketplaces, "SHOPIFY", SHOP, "shpat_wrong").validate_receipt("1", None)

    assert "shpat" not in str(caught.value)


@pytest.mark.parametrize(("kind", "retry_after"), [("429", RETRY_AFTER_S), ("429-bare", None)])
async def test_http_429_is_rate_limited(
    fake: ShopifyFake, marketplaces: Marketplaces, kind: str, retry_after: float | None
) -> None:
    fake.fail_next(kind)

    with pytest.raises(RateLimitError) as caught:
        await adapter(marketplaces, "SHOPIFY", SHOP, TOKEN).validate_receipt("450789469", None)

    assert caught.value.retry_after == retry_after


async def test_throttled_answer_is_rate_limited_until_the_bucket_refills(
    fake: ShopifyFake, marketplaces: Marketplaces
) -> None:
    fake.throttle_next()

    with pytest.raises(RateLimitError) as caught:
        await adapter(marketplaces, "SHOPIFY", SHOP, TOKEN).validate_receipt("450789469", None)

    # (requested 12 - available 2) / restore 50 per second → 1 second, rounded up
    assert caught.value.retry_after == 1.0


async def test_500_is_a_marketplace_error(fake: ShopifyFake, marketplaces: Marketplaces) -> None:
    fake.fail_next("500")

    with pytest.raises(MarketplaceResponseError) as caught:
        await adapter(marketplaces, "SHOPIFY", SHOP, TOKEN).validate_receipt("450789469", None)

    assert caught.value.status == 500


async def test_closed_connection_is_a_transport_error(
    fake: ShopifyFake, marketplaces: Marketplaces
) -> None:
    fake.fail_next("close")  # a POST is not resent

    with pytest.raises(TransportError):
        await adapter(marketplaces, "SHOPIFY", SHOP, TOKEN).validate_receipt("450789469", None)

    assert fake.calls["api"] == 1


async def test_connection_test_asks_for_the_shop_name(
    fake: ShopifyFake, marketplaces: Marketplaces
) -> None:
    await adapter(marketplaces, "SHOPIFY", SHOP, TOKEN).test_connection()

    [seen] = fake.requests()
    assert json.loads(seen.body) == {"query": SHOP_QUERY}


async def test_the_api_version_is_a_setting(fake: ShopifyFake) -> None:
    async with aiohttp.ClientSession() as session:
        settings = live_settings(
            shopify_api_url=fake.url + "/shops/{shop}", shopify_api_version="2026-04"
        )
        with pytest.raises(MarketplaceResponseError) as caught:
            await adapter(registry(session, settings), "SHOPIFY", SHOP, TOKEN).test_connection()

    assert caught.value.status == 404
    assert fake.requests()[0].path == f"/shops/{SHOP}/admin/api/2026-04/graphql.json"
