"""importOrder: outcomes, idempotency (also under concurrency) and the status report."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from marketsync.isotime import parse_utc as parse_datetime
from marketsync.models import Store, SyncLog
from marketsync.models.enums import SyncLogStatus
from tests.conftest import Api, import_order, register_store
from tests.support.graphql import STORE_LOGS, SYNC_STATUS, error_codes

FIVE_MINUTES = timedelta(minutes=5)


def amount_of(receipt: str) -> Decimal:
    return Decimal(sum(ord(ch) for ch in receipt) % 1000 + 10)


def close_to(value: str, expected: datetime, tolerance_s: float = 5) -> bool:
    return abs((parse_datetime(value) - expected).total_seconds()) < tolerance_s


async def test_valid_receipt_becomes_success_with_order_fields(api: Api) -> None:
    store = await register_store(api, currency="EUR")

    payload = await import_order(api, store.sync_token, "R-1001")

    log = payload["syncLog"]
    assert payload["duplicate"] is False
    assert payload["userErrors"] == []
    assert log["status"] == "SUCCESS"
    assert log["orderId"].startswith("ORD-")
    assert Decimal(log["amount"]) == amount_of("R-1001")
    assert log["currency"] == "EUR"
    assert log["importedAt"] is not None
    assert log["attempt"] == 1
    assert log["nextRetryAt"] is None
    assert log["errorDetails"] is None
    report = (await api.gql(SYNC_STATUS, {"token": store.sync_token}))["data"]["syncStatus"]
    assert report["syncStatus"] == "SUCCESS"
    assert report["importedOrders"] == 1
    assert report["lastSyncAt"] is not None


async def test_invalid_receipt_fails_and_is_retried_in_five_minutes(api: Api) -> None:
    store = await register_store(api)

    log = (await import_order(api, store.sync_token, "R-1002"))["syncLog"]

    assert log["status"] == "FAILED"
    assert log["errorDetails"] == "invalid_receipt"
    assert log["attempt"] == 1
    assert log["orderId"] is None
    assert close_to(log["nextRetryAt"], datetime.now(UTC) + FIVE_MINUTES)
    report = (await api.gql(SYNC_STATUS, {"token": store.sync_token}))["data"]["syncStatus"]
    assert report == {
        **report,
        "syncStatus": "FAILED",
        "importedOrders": 0,
        "failedCount": 1,
        "pendingCount": 0,
        "rateLimitedCount": 0,
    }


async def test_rate_limited_receipt_is_kept_with_backoff(api: Api) -> None:
    store = await register_store(api)

    log = (await import_order(api, store.sync_token, "R-15"))["syncLog"]

    assert log["status"] == "RATE_LIMITED"
    assert log["errorDetails"] == "rate_limited"
    assert log["attempt"] == 1
    assert close_to(log["nextRetryAt"], datetime.now(UTC) + FIVE_MINUTES)
    report = (await api.gql(SYNC_STATUS, {"token": store.sync_token}))["data"]["syncStatus"]
    assert report["rateLimitedCount"] == 1
    assert report["syncStatus"] == "PARTIAL"


async def test_mixed_outcomes_make_partial_and_counters_exact(api: Api) -> None:
    store = await register_store(api)
    for receipt in ("R-1", "R-3", "R-2", "R-15", "R-5"):
        await import_order(api, store.sync_token, receipt)

    report = (await api.gql(SYNC_STATUS, {"token": store.sync_token}))["data"]["syncStatus"]

    assert report["syncStatus"] == "PARTIAL"
    assert report["importedOrders"] == 3
    assert report["failedCount"] == 1
    assert report["rateLimitedCount"] == 1
    assert await SyncLog.filter(store_id=store.id, status=SyncLogStatus.SUCCESS).count() == 3


async def test_duplicate_import_answers_the_stored_log_without_calling_again(api: Api) -> None:
    store = await register_store(api)
    first = await import_order(api, store.sync_token, "R-7")

    again = await import_order(api, store.sync_token, "R-7")

    assert again["duplicate"] is True
    assert again["syncLog"] == first["syncLog"]
    assert (await api.mock_calls())["validate"] == {"etsy/R-7": 1}
    assert (await Store.get(id=store.id)).imported_orders == 1


async def test_thirty_concurrent_identical_imports_call_the_marketplace_once(api: Api) -> None:
    store = await register_store(api)

    results = await asyncio.gather(
        *(import_order(api, store.sync_token, "R-CONCURRENT-9") for _ in range(30))
    )

    assert [r["userErrors"] for r in results] == [[]] * 30
    assert sum(not r["duplicate"] for r in results) == 1
    assert {r["syncLog"]["id"] for r in results} == {results[0]["syncLog"]["id"]}
    assert {r["syncLog"]["status"] for r in results} == {"SUCCESS"}
    assert (await api.mock_calls())["validate"] == {"etsy/R-CONCURRENT-9": 1}
    assert await SyncLog.filter(store_id=store.id).count() == 1
    assert (await Store.get(id=store.id)).imported_orders == 1


async def test_unknown_token_and_bad_receipts_change_nothing(api: Api) -> None:
    store = await register_store(api)
    unknown = await import_order(api, "00000000-0000-4000-8000-000000000000", "R-1")
    empty = await import_order(api, store.sync_token, "   ")
    too_long = await import_order(api, store.sync_token, "R" * 256)
    status = await api.gql(SYNC_STATUS, {"token": "00000000-0000-4000-8000-000000000000"})

    assert unknown["userErrors"][0]["code"] == "NOT_FOUND"
    assert unknown["syncLog"] is None
    assert empty["userErrors"][0]["code"] == "INVALID_INPUT"
    assert too_long["userErrors"][0]["code"] == "INVALID_INPUT"
    assert error_codes(status) == ["NOT_FOUND"]
    assert await SyncLog.all().count() == 0
    assert (await api.mock_calls())["validate"] == {}


async def test_sync_logs_connection_counts_filters_and_pages(api: Api) -> None:
    store = await register_store(api)
    for receipt in ("R-1", "R-2", "R-3"):
        await import_order(api, store.sync_token, receipt)

    page = await api.gql(STORE_LOGS, {"id": store.id, "first": 2}, key=api.key)
    logs = page["data"]["store"]["syncLogs"]
    rest = await api.gql(
        STORE_LOGS,
        {"id": store.id, "first": 2, "after": logs["pageInfo"]["endCursor"]},
        key=api.key,
    )
    failed = await api.gql(STORE_LOGS, {"id": store.id, "status": "FAILED"}, key=api.key)
    capped = await api.gql(STORE_LOGS, {"id": store.id, "first": 1000}, key=api.key)

    assert logs["totalCount"] == 3
    assert [e["node"]["receipt"] for e in logs["edges"]] == ["R-3", "R-2"]
    assert logs["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["receipt"] for e in rest["data"]["store"]["syncLogs"]["edges"]] == ["R-1"]
    assert [e["node"]["receipt"] for e in failed["data"]["store"]["syncLogs"]["edges"]] == ["R-2"]
    assert failed["data"]["store"]["syncLogs"]["totalCount"] == 1
    assert len(capped["data"]["store"]["syncLogs"]["edges"]) == 3
    assert "etsy-access-token" not in str(page)
