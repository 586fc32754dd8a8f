"""The API process restarted (SIGTERM, then a new `serve` on the same port) with
subscriptions open over graphql-transport-ws.

What must hold: each open subscription gets a websocket close frame from the old process
(a clean close, not a silent hang); a client that reconnects to the new process gets
the current report, counters equal to the database's, and the updates after it; the
imports made around the restart are one row each and counted once.
"""

from __future__ import annotations

import signal
import time
import uuid
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.faults.conftest import ORG, Faults
from tests.support.graphql import IMPORT_ORDER
from tests.support.subscriptions import next_message, open_subscription

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
SUBSCRIBE_ORG = """subscription($org: String!) { organizationSyncStatus(organizationId: $org) {
  storeId importedOrders syncStatus rateLimitedCount pendingCount failedCount } }"""
COUNTERS = ("importedOrders", "rateLimitedCount", "pendingCount", "failedCount")
SERVICE_RESTART = 1012  # RFC 6455 close code uvicorn sends its websockets on shutdown


async def db_counters(faults: Faults, store_id: uuid.UUID) -> dict[str, int]:
    imported = await faults.db.fetchval("SELECT imported_orders FROM store WHERE id=$1", store_id)
    rows = await faults.db.fetch(
        "SELECT status, count(*) AS n FROM sync_log WHERE store_id=$1 GROUP BY status", store_id
    )
    counts = {row["status"]: row["n"] for row in rows}
    return {
        "importedOrders": imported,
        "rateLimitedCount": counts.get("RATE_LIMITED", 0),
        "pendingCount": counts.get("PENDING", 0),
        "failedCount": counts.get("FAILED", 0),
    }


def counters(report: dict[str, Any]) -> dict[str, int]:
    return {name: report[name] for name in COUNTERS}


async def import_orders(faults: Faults, token: str, receipts: list[str]) -> None:
    for receipt in receipts:
        body = await faults.gql(
            IMPORT_ORDER, {"input": {"syncToken": token, "receipt": receipt}}, auth=False
        )
        assert body["data"]["importOrder"]["duplicate"] is False, body


async def close_frame_of(ws: ClientConnection, timeout_s: float = 10) -> tuple[int | None, float]:
    """Wait for the server to close ``ws``: the code of the close frame it got (None when
    the socket ended without one) and how long it took."""
    started = time.monotonic()
    for _ in range(20):  # reports still in flight come first
        try:
            await next_message(ws, timeout_s)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            return code, time.monotonic() - started
    raise AssertionError("the socket stayed open")


async def report_with(
    ws: ClientConnection, field: str, store_id: uuid.UUID, imported: int
) -> dict[str, Any]:
    """The first report of ``store_id`` counting ``imported`` orders (an import rings
    twice: once for its PENDING log, once for its outcome)."""
    for _ in range(20):
        message = await next_message(ws)
        assert message["type"] == "next", message
        report: dict[str, Any] = message["payload"]["data"][field]
        if report["storeId"] == str(store_id) and report["importedOrders"] == imported:
            return report
    raise AssertionError(f"no report of {store_id} with {imported} orders")


async def test_a_restarted_api_closes_subscriptions_cleanly_and_serves_them_again(
    faults: Faults,
) -> None:
    # Given two stores with mixed outcomes (SUCCESS, FAILED, RATE_LIMITED) and both
    # subscriptions open on the running API
    (first_id, first_token), (second_id, second_token) = [
        await faults.register_store(f"restart-{n}") for n in range(2)
    ]
    await import_orders(faults, first_token, ["B-1", "B-2", "B-33", "B-15", "B-60"])
    await import_orders(faults, second_token, ["C-1", "C-4"])
    org_init = {"AUTHORIZATION": f"Bearer {faults.key}"}
    store_ws = await open_subscription(faults.base_url, first_token)
    org_ws = await open_subscription(
        faults.base_url, "", SUBSCRIBE_ORG, init=org_init, variables={"org": ORG}
    )
    first_report = (await next_message(store_ws))["payload"]["data"]["syncStatus"]
    assert counters(first_report) == await db_counters(faults, first_id)

    # When the API is stopped with SIGTERM and a new one starts on the same port
    api = faults.procs["api"]
    stopped_at = time.monotonic()
    api.popen.send_signal(signal.SIGTERM)
    (store_code, store_close_s), (org_code, org_close_s) = [
        await close_frame_of(store_ws),
        await close_frame_of(org_ws),
    ]
    # uvicorn re-raises the signal it caught once its shutdown is complete
    assert api.popen.wait(timeout=10) == -signal.SIGTERM
    assert "Application shutdown complete" in api.output()
    stop_s = time.monotonic() - stopped_at
    restarted_at = time.monotonic()
    await faults.start_api()
    start_s = time.monotonic() - restarted_at
    print(f"closed after {store_close_s:.2f} s / {org_close_s:.2f} s, old API exited in"
          f" {stop_s:.2f} s, new API ready in {start_s:.2f} s")  # fmt: skip

    # Then both subscriptions were closed with a close frame (service restart)
    assert (store_code, org_code) == (SERVICE_RESTART, SERVICE_RESTART)

    # And reconnecting gives the current report, equal to the database's
    store_ws = await open_subscription(faults.base_url, first_token)
    org_ws = await open_subscription(
        faults.base_url, "", SUBSCRIBE_ORG, init=org_init, variables={"org": ORG}
    )
    try:
        report = (await next_message(store_ws))["payload"]["data"]["syncStatus"]
        assert report["storeId"] == str(first_id)
        assert counters(report) == await db_counters(faults, first_id)
        assert counters(report) == counters(first_report)  # nothing changed while it was down

        # And the updates after it: one import in each store reaches both subscribers
        await import_orders(faults, first_token, ["D-7"])
        expected = first_report["importedOrders"] + 1
        update = await report_with(store_ws, "syncStatus", first_id, expected)
        assert counters(update) == await db_counters(faults, first_id)
        org_update = await report_with(org_ws, "organizationSyncStatus", first_id, expected)
        assert counters(org_update) == counters(update)
        second = await db_counters(faults, second_id)
        await import_orders(faults, second_token, ["D-9"])
        org_update = await report_with(
            org_ws, "organizationSyncStatus", second_id, second["importedOrders"] + 1
        )
        assert counters(org_update) == await db_counters(faults, second_id)
    finally:
        await store_ws.close()
        await org_ws.close()

    # And the database holds one row per receipt, each SUCCESS counted once
    rows = await faults.db.fetch(
        "SELECT store_id, receipt, status FROM sync_log ORDER BY store_id, receipt"
    )
    receipts = sorted(row["receipt"] for row in rows)
    assert receipts == sorted(["B-1", "B-2", "B-33", "B-15", "B-60", "C-1", "C-4", "D-7", "D-9"])
    for store_id in (first_id, second_id):
        success = sum(r["status"] == "SUCCESS" and r["store_id"] == store_id for r in rows)
        assert (await db_counters(faults, store_id))["importedOrders"] == success
    print(f"rows checked: {len(rows)} logs, 2 stores")
