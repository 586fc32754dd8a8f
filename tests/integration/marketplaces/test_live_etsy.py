"""The Etsy adapter against the Etsy fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from pydantic import SecretStr

from marketsync.config import Settings
from marketsync.errors import (
    AuthError,
    MarketplaceResponseError,
    RateLimitError,
    TransportError,
)
from marketsync.marketplaces.client import ValidationResult
from marketsync.marketplaces.registry import Marketplaces
from tests.integration.marketplaces.live import (
    ETSY_API_KEY,
    ETSY_KEYSTRING,
    adapter,
    credentials,
    live_settings,
    registry,
)
from tests.support.fakes.base import RETRY_AFTER_S
from tests.support.fakes.etsy import EtsyFake

SHOP_ID = "5551234"
REFRESH = "12345678.refresh-token-abc"


@pytest.fixture
async def fake() -> AsyncIterator[EtsyFake]:
    server = EtsyFake(api_key=ETSY_API_KEY, refresh_tokens={REFRESH}, shop_id=SHOP_ID)
    await server.start()
    server.add_receipt(1234567890, 2599, 100, "USD")
    try:
        yield server
    finally:
        await server.stop()


def settings_for(fake: EtsyFake, **changes: Any) -> Settings:
    return live_settings(
        etsy_api_url=fake.url, etsy_token_url=fake.url + "/v3/public/oauth/token", **changes
    )


@pytest.fixture
async def marketplaces(fake: EtsyFake) -> AsyncIterator[Marketplaces]:
    async with aiohttp.ClientSession() as session:
        yield registry(session, settings_for(fake))


async def test_found_receipt_after_one_exchange(fake: EtsyFake, marketplaces: Marketplaces) -> None:
    store = adapter(marketplaces, "ETSY", SHOP_ID, REFRESH)

    result = await store.validate_receipt("1234567890", None)
    again = await store.validate_receipt("1234567890", None)

    assert (
        result
        == again
        == ValidationResult(
            valid=True, order_id="1234567890", amount=Decimal("25.99"), currency="USD"
        )
    )
    [exchange] = fake.requests("token")
    assert (exchange.method, exchange.path) == ("POST", "/v3/public/oauth/token")
    assert exchange.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(exchange.body.decode())) == {
        "grant_type": "refresh_token",
        "client_id": ETSY_KEYSTRING,
        "refresh_token": REFRESH,
    }
    [issued] = fake.grants.issued
    first, second = fake.requests()
    assert first == second
    assert (first.method, first.path, first.query, first.body) == (
        "GET",
        f"/v3/application/shops/{SHOP_ID}/receipts/1234567890",
        {},
        b"",
    )
    assert first.headers["x-api-key"] == ETSY_API_KEY
    assert first.headers["authorization"] == f"Bearer {issued}"


async def test_unknown_receipt_is_not_found(fake: EtsyFake, marketplaces: Marketplaces) -> None:
    store = adapter(marketplaces, "ETSY", SHOP_ID, REFRESH)

    assert await store.validate_receipt("42", None) == ValidationResult(valid=False)
    assert await store.validate_receipt("R-42", None) == ValidationResult(valid=False)
    assert fake.calls == {"token": 1, "api": 1}


async def test_refused_exchange_is_an_auth_error_and_calls_no_api(
    fake: EtsyFake, marketplaces: Marketplaces
) -> None:
    with pytest.raises(AuthError) as caught:
        await adapter(marketplaces, "ETSY", SHOP_ID, "revoked-refresh").validate_receipt("1", None)

    assert "revoked" not in str(caught.value)
    assert fake.calls == {"token": 1}


async def test_a_key_without_shared_secret_is_an_auth_error(fake: EtsyFake) -> None:
    async with aiohttp.ClientSession() as session:
        settings = settings_for(fake, etsy_api_key=SecretStr(ETSY_KEYSTRING))
        store = adapter(registry(session, settings), "ETSY", SHOP_ID, REFRESH)
        with pytest.raises(AuthError):
            await store.validate_receipt("1234567890", None)


@pytest.mark.parametrize(("kind", "retry_after"), [("429", RETRY_AFTER_S), ("429-bare", None)])
async def test_429_is_rate_limited(
    fake: EtsyFake, marketplaces: Marketplaces, kind: str, retry_after: float | None
) -> None:
    fake.fail_next(kind)

    with pytest.raises(RateLimitError) as caught:
        await adapter(marketplaces, "ETSY", SHOP_ID, REFRESH).validate_receipt("1234567890", None)

    assert caught.value.retry_after == retry_after


async def test_500_and_a_closed_connection(fake: EtsyFake, marketplaces: Marketplaces) -> None:
    store = adapter(marketplaces, "ETSY", SHOP_ID, REFRESH)
    fake.fail_next("500")
    with pytest.raises(MarketplaceResponseError):
        await store.validate_receipt("1234567890", None)

    fake.fail_next("close", times=2)  # aiohttp resends a GET once on a dropped connection
    with pytest.raises(TransportError):
        await store.validate_receipt("1234567890", None)

    fake.fail_next("500", token=True)
    with pytest.raises(MarketplaceResponseError):
        await adapter(marketplaces, "ETSY", SHOP_ID, "another").validate_receipt("1", None)


async def test_a_token_the_api_stops_accepting_is_exchanged_again_once(
    fake: EtsyFake, marketplaces: Marketplaces
) -> None:
    store = adapter(marketplaces, "ETSY", SHOP_ID, REFRESH)
    await store.validate_receipt("1234567890", None)
    fake.grants.expire_all()

    result = await store.validate_receipt("1234567890", None)

    assert result.valid is True
    assert fake.calls == {"token": 2, "api": 3}


async def test_a_rotated_refresh_token_is_handed_back(fake: EtsyFake) -> None:
    fake.grants.rotate = True
    rotated: list[tuple[uuid.UUID, str]] = []

    async def keep(store_id: uuid.UUID, token: str) -> None:
        rotated.append((store_id, token))

    store_id = uuid.uuid4()
    async with aiohttp.ClientSession() as session:
        marketplaces = registry(session, settings_for(fake), rotated=keep)
        store = marketplaces.for_store(credentials("ETSY", SHOP_ID, REFRESH, store_id))
        await store.validate_receipt("1234567890", None)

    assert rotated == [(store_id, next(iter(fake.grants.refresh_tokens)))]
    assert REFRESH not in fake.grants.refresh_tokens


async def test_connection_test_reads_the_shop(fake: EtsyFake, marketplaces: Marketplaces) -> None:
    await adapter(marketplaces, "ETSY", SHOP_ID, REFRESH).test_connection()

    [seen] = fake.requests()
    assert seen.path == f"/v3/application/shops/{SHOP_ID}"
    with pytest.raises(AuthError):
        await adapter(marketplaces, "ETSY", SHOP_ID, "bad").test_connection()
