"""Live mode through the API: the app's runtime switched to MARKETPLACE_MODE=live with
every base URL at a loopback fake, on SQLite and PostgreSQL.

The running app's one Runtime gets live settings and a live registry for the test
(the resolvers and the embedded worker both read them from it), as the inventory
suite's ``tune`` does, rather than a second app: the process has one global runtime.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketsync.marketplaces.registry import Marketplaces
from marketsync.models import InventoryItemState, Job, Store
from marketsync.models.enums import JobStatus
from tests.conftest import ORG, Api, RegisteredStore, import_order, register_store
from tests.integration.inventory.conftest import push, settled, settled_poll
from tests.integration.marketplaces.live import (
    ETSY_API_KEY,
    LWA_CLIENT_ID,
    LWA_CLIENT_SECRET,
    live_settings,
)
from tests.support.fakes.amazon import AmazonFake
from tests.support.fakes.base import FakeServer
from tests.support.fakes.etsy import EtsyFake
from tests.support.fakes.shopify import ShopifyFake
from tests.support.fakes.trendyol import TrendyolFake
from tests.support.graphql import REGISTER_STORE, store_input

TEST_CONNECTION = """mutation($id: UUID!) { testConnection(storeId: $id) {
  lastStatus lastError lastAttemptAt lastSuccessAt } }"""

TY_SELLER, TY_TOKEN = "123456", "tyKey01:tySecret02"
ETSY_SHOP, ETSY_REFRESH = "5551234", "12345678.refresh-token-abc"
SHOP, SHOP_TOKEN = "demo-shop-1", "shpat_0123456789abcdef"
SELLER, LWA_REFRESH = "A2EXAMPLE1SELLER", "Atzr|refresh-token-xyz"


@dataclass
class Live:
    trendyol: TrendyolFake
    etsy: EtsyFake
    shopify: ShopifyFake
    amazon: AmazonFake

    def fake(self, marketplace: str) -> FakeServer:
        fake: FakeServer = getattr(self, marketplace.lower())
        return fake


# marketplace → (externalStoreId, good token, a well-shaped token it refuses, found receipt,
#                (orderId, amount, currency))
STORES: dict[str, tuple[str, str, str, str, tuple[str, str, str]]] = {
    "TRENDYOL": (TY_SELLER, TY_TOKEN, "tyKey01:wrong", "10654321", ("10654321", "249.9", "TRY")),
    "ETSY": (
        ETSY_SHOP,
        ETSY_REFRESH,
        "revoked-refresh",
        "1234567890",
        ("1234567890", "25.99", "USD"),
    ),
    "SHOPIFY": (SHOP, SHOP_TOKEN, "shpat_wrong", "450789469", ("#1001", "598.94", "USD")),
    "AMAZON": (
        SELLER,
        LWA_REFRESH,
        "Atzr|revoked",
        "902-1845936-5435065",
        ("902-1845936-5435065", "11.01", "USD"),
    ),
}
# registration is an upsert on externalStoreId: the refused credential goes to another store
OTHER_STORE = {"TRENDYOL": "654321", "ETSY": "5550000", "SHOPIFY": "x", "AMAZON": "A3OTHERSELLER1"}
NOT_FOUND = {"TRENDYOL": "999", "ETSY": "42", "SHOPIFY": "1", "AMAZON": "111-0000000-0000000"}


@pytest.fixture
async def live(api: Api, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Live]:
    fakes = Live(
        trendyol=TrendyolFake({TY_SELLER: ("tyKey01", "tySecret02")}),
        etsy=EtsyFake(api_key=ETSY_API_KEY, refresh_tokens={ETSY_REFRESH}, shop_id=ETSY_SHOP),
        shopify=ShopifyFake({SHOP: SHOP_TOKEN}),
        amazon=AmazonFake(
            client_id=LWA_CLIENT_ID, client_secret=LWA_CLIENT_SECRET, refresh_tokens={LWA_REFRESH}
        ),
    )
    for fake in (fakes.trendyol, fakes.etsy, fakes.shopify, fakes.amazon):
        await fake.start()
    fakes.trendyol.add_order("10654321", "249.90")
    fakes.etsy.add_receipt(1234567890, 2599, 100, "USD")
    fakes.shopify.add_order("450789469", "#1001", "598.94")
    fakes.amazon.add_order("902-1845936-5435065", "11.01")
    overrides = live_settings(
        trendyol_api_url=fakes.trendyol.url,
        etsy_api_url=fakes.etsy.url,
        etsy_token_url=fakes.etsy.url + "/v3/public/oauth/token",
        shopify_api_url=fakes.shopify.url + "/shops/{shop}",
        amazon_sp_api_url=fakes.amazon.url,
        amazon_lwa_url=fakes.amazon.url + "/auth/o2/token",
    )
    rt = api.rt
    settings = rt.settings.model_copy(
        update={name: getattr(overrides, name) for name in overrides.model_fields_set}
    )
    monkeypatch.setattr(rt, "settings", settings)
    monkeypatch.setattr(
        rt,
        "marketplaces",
        Marketplaces(
            settings=settings,
            http=rt.http,
            mock=rt.marketplace,
            cipher=rt.vault.token_cache,
            redis=None,
            store_rotated_token=rt._store_rotated_token,
        ),
    )
    try:
        yield fakes
    finally:
        for fake in (fakes.trendyol, fakes.etsy, fakes.shopify, fakes.amazon):
            await fake.stop()


async def store_of(api: Api, marketplace: str, *, good: bool = True) -> RegisteredStore:
    store_id, token, refused, *_ = STORES[marketplace]
    return await register_store(
        api,
        store_id if good else OTHER_STORE[marketplace],
        marketplace=marketplace,
        accessToken=token if good else refused,
        currency="USD",
    )


def near(value: str, expected: datetime, slack_s: float = 30) -> bool:
    return abs((datetime.fromisoformat(value) - expected).total_seconds()) < slack_s


@pytest.mark.parametrize("marketplace", list(STORES))
async def test_import_outcomes_map_as_the_contract_says(
    api: Api, live: Live, marketplace: str
) -> None:
    fake = live.fake(marketplace)
    fake.retry_after_s = 3600
    store = await store_of(api, marketplace)
    refused = await store_of(api, marketplace, good=False) if marketplace != "SHOPIFY" else None
    found, (order_id, amount, currency) = STORES[marketplace][3], STORES[marketplace][4]

    success = (await import_order(api, store.sync_token, found))["syncLog"]
    invalid = (await import_order(api, store.sync_token, NOT_FOUND[marketplace]))["syncLog"]
    fake.fail_next("429")
    limited = (await import_order(api, store.sync_token, found + "0"))["syncLog"]
    fake.fail_next("500")
    broken = (await import_order(api, store.sync_token, found + "1"))["syncLog"]
    fake.fail_next("close", times=2)  # a GET is resent once by aiohttp; a POST is not
    lost = (await import_order(api, store.sync_token, found + "2"))["syncLog"]
    fake.failures.api.clear()

    assert (success["status"], success["orderId"], success["currency"]) == (
        "SUCCESS",
        order_id,
        currency,
    )
    assert Decimal(success["amount"]) == Decimal(amount)
    assert (invalid["status"], invalid["errorDetails"]) == ("FAILED", "invalid_receipt")
    assert (limited["status"], limited["errorDetails"], limited["attempt"]) == (
        "RATE_LIMITED",
        "rate_limited",
        1,
    )
    assert near(limited["nextRetryAt"], datetime.now(UTC) + timedelta(seconds=3600))
    assert (broken["status"], broken["errorDetails"]) == ("FAILED", "marketplace_error")
    assert (lost["status"], lost["errorDetails"]) == ("FAILED", "transport_error")
    if refused is not None:
        denied = (await import_order(api, refused.sync_token, found))["syncLog"]
        assert (denied["status"], denied["errorDetails"]) == ("FAILED", "auth_error")
    assert (await Store.get(id=store.id)).imported_orders == 1


async def test_shopify_wrong_token_and_throttled_answer(api: Api, live: Live) -> None:
    body = await api.gql(
        REGISTER_STORE,
        {"input": store_input(ORG, "other-shop", marketplace="SHOPIFY", accessToken="shpat_x")},
        key=api.key,
    )
    wrong = body["data"]["registerStore"]["syncToken"]
    store = await store_of(api, "SHOPIFY")
    live.shopify.throttle_next()

    denied = (await import_order(api, wrong, "450789469"))["syncLog"]
    throttled = (await import_order(api, store.sync_token, "450789469"))["syncLog"]

    assert (denied["status"], denied["errorDetails"]) == ("FAILED", "auth_error")
    assert (throttled["status"], throttled["errorDetails"]) == ("RATE_LIMITED", "rate_limited")


@pytest.mark.parametrize("marketplace", list(STORES))
async def test_connection_is_tested_with_one_call_and_recorded(
    api: Api, live: Live, marketplace: str
) -> None:
    good = await store_of(api, marketplace)
    bad = await store_of(api, marketplace, good=False) if marketplace != "SHOPIFY" else None

    ok = (await api.gql(TEST_CONNECTION, {"id": good.id}, key=api.key))["data"]["testConnection"]

    assert (ok["lastStatus"], ok["lastError"]) == ("SUCCESS", None)
    assert live.fake(marketplace).calls["api"] == 1
    if bad is not None:
        body = await api.gql(TEST_CONNECTION, {"id": bad.id}, key=api.key)
        failed = body["data"]["testConnection"]
        assert failed["lastStatus"] == "FAILED"
        assert failed["lastError"] == "AuthError: the marketplace call failed (auth_error)"
        assert STORES[marketplace][2] not in json.dumps(body)


@pytest.mark.parametrize(
    ("marketplace", "store_id", "token", "field"),
    [
        ("TRENDYOL", "seller-x", TY_TOKEN, "externalStoreId"),
        ("TRENDYOL", TY_SELLER, "no-colon", "accessToken"),
        ("ETSY", "my-shop", ETSY_REFRESH, "externalStoreId"),
        ("SHOPIFY", "Shop.myshopify.com", SHOP_TOKEN, "externalStoreId"),
        ("AMAZON", "seller 1", LWA_REFRESH, "externalStoreId"),
    ],
)
async def test_registration_refuses_a_misshaped_credential_without_calling(
    api: Api, live: Live, marketplace: str, store_id: str, token: str, field: str
) -> None:
    body = await api.gql(
        REGISTER_STORE,
        {"input": store_input(ORG, store_id, marketplace=marketplace, accessToken=token)},
        key=api.key,
    )

    payload = body["data"]["registerStore"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", field])
    ]
    assert payload["storeId"] is None
    assert await Store.all().count() == 0
    assert sum(sum(fake.calls.values()) for fake in vars(live).values()) == 0


async def test_trendyol_inventory_round_trip_dedup_and_the_duplicate_answer(
    api: Api, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        api.rt, "settings", api.rt.settings.model_copy(update={"inventory_poll_interval_s": 0.05})
    )
    store = await store_of(api, "TRENDYOL")
    items = [
        {"barcode": "B-1", "quantity": 5, "salePrice": "10.50", "listPrice": "12.00"},
        {"barcode": "B-2", "quantity": 2, "salePrice": "20.00", "listPrice": "15.00"},
    ]

    first = await push(api, store.id, items, forceWrite=True)
    pushed, polled = await settled_poll(first["chunks"][0]["jobId"])
    again = await push(api, store.id, items, forceWrite=True, force=True)
    await api.rt.redis.flushall()  # our dedup window forgotten: Trendyol's still holds
    third = await push(api, store.id, items, forceWrite=True, force=True)
    refused = await settled(third["chunks"][0]["jobId"])

    posts = [s for s in live.trendyol.requests() if s.method == "POST"]
    assert len(posts) == 2  # the first push, and the third (the second was deduplicated)
    assert json.loads(posts[0].body) == {
        "items": [
            {"barcode": "B-1", "listPrice": 12.0, "quantity": 5, "salePrice": 10.5},
            {"barcode": "B-2", "listPrice": 15.0, "quantity": 2, "salePrice": 20.0},
        ]
    }
    assert posts[0].body == posts[1].body
    assert posts[0].path == f"/inventory/sellers/{TY_SELLER}/products/price-and-inventory"
    assert polled.status == JobStatus.SUCCESS
    assert live.trendyol.polls == {pushed.summary["batchRequestId"]: 2}  # type: ignore[index]
    states = {s.barcode: s.quantity for s in await InventoryItemState.filter(store_id=store.id)}
    assert states == {"B-1": 5}  # B-2 failed at Trendyol: salePrice above listPrice
    assert (again["dedupCount"], again["enqueuedCount"]) == (1, 0)
    assert (refused.status, refused.error) == (JobStatus.SUCCESS, None)  # a dedup
    assert refused.summary is not None
    assert refused.summary["dedup"] == "marketplace_duplicate"


async def test_inventory_for_another_marketplace_sends_nothing(api: Api, live: Live) -> None:
    store = await store_of(api, "ETSY")

    result = await push(
        api,
        store.id,
        [{"barcode": "B-1", "quantity": 1, "salePrice": "1.00", "listPrice": "2.00"}],
        forceWrite=True,
    )

    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("UNSUPPORTED_MARKETPLACE", ["input", "storeId"])
    ]
    assert result["chunks"] == []
    assert live.etsy.calls == {}
    assert await Job.filter(store_id=store.id).count() == 0


@pytest.mark.parametrize("marketplace", ["ETSY", "AMAZON"])
async def test_fifty_concurrent_imports_make_one_token_exchange(
    api: Api, live: Live, marketplace: str
) -> None:
    fake = live.fake(marketplace)
    receipts = [str(2_000_000_000 + n) for n in range(50)]
    for n, receipt in enumerate(receipts):
        if marketplace == "ETSY":
            live.etsy.add_receipt(int(receipt), 1000 + n, 100, "USD")
        else:
            live.amazon.add_order(receipt, f"{10 + n}.00")
    store = await store_of(api, marketplace)

    async def burst(tag: str) -> list[dict[str, Any]]:
        logs = await asyncio.wait_for(
            asyncio.gather(*(import_order(api, store.sync_token, r + tag) for r in receipts)),
            60,
        )
        return [entry["syncLog"] for entry in logs]

    first = await burst("")
    exchanges_after_first = fake.calls["token"]
    fake.grants.expire_all()  # type: ignore[attr-defined]
    for receipt in receipts:  # the same orders under new receipts, for new logs
        if marketplace == "ETSY":
            live.etsy.receipts[receipt + "9"] = live.etsy.receipts[receipt]
        else:
            live.amazon.orders[receipt + "9"] = live.amazon.orders[receipt]
    second = await burst("9")

    assert [log["status"] for log in first + second] == ["SUCCESS"] * 100
    assert exchanges_after_first == 1
    assert fake.calls["token"] == 2  # the refused cached token was exchanged again once
    assert (await Store.get(id=store.id)).imported_orders == 100
