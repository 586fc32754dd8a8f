"""organizationSyncStatus, testConnection and several key-protected root fields at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ORG, OTHER_ORG, Api, import_order, register_store
from tests.support.graphql import REGISTER_STORE, store_input
from tests.support.subscriptions import next_message, open_subscription

SUBSCRIBE_ORG = """subscription($org: String!) { organizationSyncStatus(organizationId: $org) {
  storeId importedOrders syncStatus } }"""
TEST_CONNECTION = """mutation($id: UUID!) { testConnection(storeId: $id) {
  lastStatus lastError lastAttemptAt lastSuccessAt } }"""


async def _open_org(api: Api, key: str | None, org: str = ORG) -> Any:
    init = {"AUTHORIZATION": f"Bearer {key}"} if key else {}
    return await open_subscription(
        api.base_url, "", SUBSCRIBE_ORG, init=init, variables={"org": org}
    )


async def _silent(ws: Any, timeout_s: float = 0.5) -> bool:
    try:
        await next_message(ws, timeout_s=timeout_s)
    except TimeoutError:
        return True
    return False


async def _drain(ws: Any, quiet_s: float = 0.5) -> list[dict[str, Any]]:
    """Every report that arrives until the socket stays quiet for ``quiet_s``."""
    reports = []
    while True:
        try:
            message = await next_message(ws, timeout_s=quiet_s)
        except TimeoutError:
            return reports
        reports.append(message["payload"]["data"]["organizationSyncStatus"])


async def test_organization_subscription_gets_every_own_store_and_no_other(api: Api) -> None:
    # Given two stores of ORG and one of OTHER_ORG, and a subscriber keyed in connection_init
    first = await register_store(api, "shop-1")
    second = await register_store(api, "shop-2")
    body = await api.gql(
        REGISTER_STORE, {"input": store_input(OTHER_ORG, "shop-x")}, key=api.other_key
    )
    foreign_token = body["data"]["registerStore"]["syncToken"]
    ws = await _open_org(api, api.key)
    try:
        assert await _silent(ws)  # no initial burst

        # When orders are imported into each store
        await import_order(api, foreign_token, "F-1")
        await import_order(api, first.sync_token, "R-1")
        seen: dict[str, dict[str, Any]] = {}
        while seen.get(first.id, {}).get("importedOrders") != 1:
            report = (await next_message(ws))["payload"]["data"]["organizationSyncStatus"]
            seen[report["storeId"]] = report
        await import_order(api, second.sync_token, "R-3")
        while seen.get(second.id, {}).get("importedOrders") != 1:
            report = (await next_message(ws))["payload"]["data"]["organizationSyncStatus"]
            seen[report["storeId"]] = report

        # An import changes its store twice (the claimed log, then its outcome): a report
        # of the second change may still be on its way. Whatever arrives now is one of
        # ours and already current.
        late = await _drain(ws)

        # Then both own stores were reported, the other organization's never
        assert set(seen) == {first.id, second.id}
        assert seen[first.id]["syncStatus"] == "SUCCESS"
        assert all(report in (seen[first.id], seen[second.id]) for report in late), late
    finally:
        await ws.close()


async def test_organization_subscription_needs_the_key_of_that_organization(api: Api) -> None:
    no_key = await _open_org(api, None)
    foreign = await _open_org(api, api.other_key)
    try:
        refused = await next_message(no_key)
        forbidden = await next_message(foreign)
    finally:
        await no_key.close()
        await foreign.close()

    assert refused["type"] == "next"
    assert refused["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert forbidden["type"] == "next"
    assert forbidden["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_bad_key_in_connection_init_closes_with_4403(api: Api) -> None:
    ws = await connect(
        api.base_url.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer msk_bad"}})
    )
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)

    assert ws.close_code == 4403


async def test_several_key_protected_root_fields_in_one_request(api: Api) -> None:
    await register_store(api, "shop-1")
    query = f"""{{
      a: stores(organizationId: "{ORG}") {{ edges {{ node {{ externalStoreId }} }} }}
      b: stores(organizationId: "{ORG}") {{ ...S }}
      webhooks(organizationId: "{ORG}") {{ id }}
      webhookDeliveries(organizationId: "{ORG}") {{ edges {{ node {{ id }} }} }}
      viewer {{ organizationId }}
    }}
    fragment S on StoreConnection {{ edges {{ node {{ externalStoreId }} }} }}"""

    body = await api.gql(query, key=api.key)

    assert "errors" not in body, body
    data = body["data"]
    assert data["a"]["edges"] == [{"node": {"externalStoreId": "shop-1"}}]
    assert data["b"] == data["a"]
    assert data["webhooks"] == []
    assert data["webhookDeliveries"]["edges"] == []
    assert data["viewer"] == {"organizationId": ORG}


async def test_test_connection_calls_the_marketplace_once_and_records_it(api: Api) -> None:
    store = await register_store(api, "shop-1")
    before = await api.mock_calls()

    body = await api.gql(TEST_CONNECTION, {"id": store.id}, key=api.key)
    foreign = await api.gql(TEST_CONNECTION, {"id": store.id}, key=api.other_key)
    keyless = await api.gql(TEST_CONNECTION, {"id": store.id})
    after = await api.mock_calls()

    state = body["data"]["testConnection"]
    assert state["lastStatus"] == "SUCCESS"
    assert state["lastError"] is None
    assert state["lastAttemptAt"] == state["lastSuccessAt"]
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert keyless["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert before["validate"] == {}
    assert after["validate"] == {"etsy/marketsync-connection-test": 1}
