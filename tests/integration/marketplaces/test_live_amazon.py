"""The Amazon SP-API adapter against the Amazon fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from urllib.parse import parse_qsl

import aiohttp
import pytest
from pydantic import SecretStr

from marketsync.errors import (
    AuthError,
    MarketplaceResponseError,
    RateLimitError,
    TransportError,
)
from marketsync.marketplaces.client import ValidationResult
from marketsync.marketplaces.registry import Marketplaces
from tests.integration.marketplaces.live import (
    LWA_CLIENT_ID,
    LWA_CLIENT_SECRET,
    adapter,
    live_settings,
    registry,
)
from tests.support.fakes.amazon import AmazonFake
from tests.support.fakes.base import RETRY_AFTER_S

SELLER = "A2EXAMPLE1SELLER"
REFRESH = "Atzr|refresh-token-xyz"
ORDER = "902-1845936-5435065"


@pytest.fixture
async def fake() -> AsyncIterator[AmazonFake]:
    server = AmazonFake(
        client_id=LWA_CLIENT_ID, client_secret=LWA_CLIENT_SECRET, refresh_tokens={REFRESH}
    )
    await server.start()
    server.add_order(ORDER, "11.01")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def marketplaces(fake: AmazonFake) -> AsyncIterator[Marketplaces]:
    async with aiohttp.ClientSession() as session:
        settings = live_settings(
            amazon_sp_api_url=fake.url, amazon_lwa_url=fake.url + "/auth/o2/token"
        )
        yield registry(session, settings)


async def test_found_order_after_one_exchange(fake: AmazonFake, marketplaces: Marketplaces) -> None:
    store = adapter(marketplaces, "AMAZON", SELLER, REFRESH)

    result = await store.validate_receipt(ORDER, None)
    await store.validate_receipt(ORDER, None)

    assert result == ValidationResult(
        valid=True, order_id=ORDER, amount=Decimal("11.01"), currency="USD"
    )
    [exchange] = fake.requests("token")
    assert (exchange.method, exchange.path) == ("POST", "/auth/o2/token")
    assert dict(parse_qsl(exchange.body.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": LWA_CLIENT_ID,
        "client_secret": LWA_CLIENT_SECRET,
    }
    [issued] = fake.grants.issued
    first, second = fake.requests()
    assert first == second
    assert (first.method, first.path, first.query, first.body) == (
        "GET",
        f"/orders/v0/orders/{ORDER}",
        {},
        b"",
    )
    assert first.headers["x-amz-access-token"] == issued
    assert "authorization" not in first.headers


async def test_not_found_and_pending_orders(fake: AmazonFake, marketplaces: Marketplaces) -> None:
    fake.add_order("111-0000000-0000001", None)
    store = adapter(marketplaces, "AMAZON", SELLER, REFRESH)

    assert await store.validate_receipt("111-0000000-0000000", None) == ValidationResult(
        valid=False
    )
    assert await store.validate_receipt("111-0000000-0000001", None) == ValidationResult(
        valid=True, order_id="111-0000000-0000001"
    )


@pytest.mark.parametrize(
    ("client_secret", "refresh"),
    [(LWA_CLIENT_SECRET, "Atzr|revoked"), ("wrong-secret", REFRESH)],
    ids=["invalid-grant", "invalid-client"],
)
async def test_refused_exchange_is_an_auth_error(
    fake: AmazonFake, client_secret: str, refresh: str
) -> None:
    async with aiohttp.ClientSession() as session:
        settings = live_settings(
            amazon_sp_api_url=fake.url,
            amazon_lwa_url=fake.url + "/auth/o2/token",
            amazon_lwa_client_secret=SecretStr(client_secret),
        )
        with pytest.raises(AuthError) as caught:
            await adapter(registry(session, settings), "AMAZON", SELLER, refresh).validate_receipt(
                ORDER, None
            )

    assert client_secret not in str(caught.value)
    assert fake.calls == {"token": 1}


async def test_a_refused_access_token_is_exchanged_again_once_then_an_auth_error(
    fake: AmazonFake, marketplaces: Marketplaces
) -> None:
    store = adapter(marketplaces, "AMAZON", SELLER, REFRESH)
    await store.validate_receipt(ORDER, None)
    fake.grants.expire_all()
    assert (await store.validate_receipt(ORDER, None)).valid is True
    assert fake.calls == {"token": 2, "api": 3}

    fake.grants.accepts = lambda token: False  # type: ignore[method-assign]
    with pytest.raises(AuthError):
        await store.validate_receipt(ORDER, None)
    assert fake.calls == {"token": 3, "api": 5}


@pytest.mark.parametrize(("kind", "retry_after"), [("429", RETRY_AFTER_S), ("429-bare", None)])
async def test_quota_exceeded_is_rate_limited(
    fake: AmazonFake, marketplaces: Marketplaces, kind: str, retry_after: float | None
) -> None:
    fake.fail_next(kind)

    with pytest.raises(RateLimitError) as caught:
        await adapter(marketplaces, "AMAZON", SELLER, REFRESH).validate_receipt(ORDER, None)

    assert caught.value.retry_after == retry_after


async def test_500_and_a_closed_connection(fake: AmazonFake, marketplaces: Marketplaces) -> None:
    store = adapter(marketplaces, "AMAZON", SELLER, REFRESH)
    fake.fail_next("500")
    with pytest.raises(MarketplaceResponseError):
        await store.validate_receipt(ORDER, None)

    fake.fail_next("close", times=2)  # aiohttp resends a GET once on a dropped connection
    with pytest.raises(TransportError):
        await store.validate_receipt(ORDER, None)


async def test_connection_test_reads_marketplace_participations(
    fake: AmazonFake, marketplaces: Marketplaces
) -> None:
    await adapter(marketplaces, "AMAZON", SELLER, REFRESH).test_connection()

    [seen] = fake.requests()
    assert seen.path == "/sellers/v1/marketplaceParticipations"
