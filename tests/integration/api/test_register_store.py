"""registerStore: an upsert that keeps ids, validates input and never shows the token."""

from __future__ import annotations

import uuid

from marketsync.models import Store
from tests.conftest import ORG, Api, register_store
from tests.support.graphql import REGISTER_STORE, STORE_LOGS, error_codes, store_input

TOKEN = "etsy-access-token-SECRET-123"


async def test_first_call_creates_a_store_with_v7_id_and_v4_sync_token(api: Api) -> None:
    body = await api.gql(REGISTER_STORE, {"input": store_input(ORG)}, key=api.key)

    payload = body["data"]["registerStore"]
    assert payload["created"] is True
    assert payload["userErrors"] == []
    assert uuid.UUID(payload["storeId"]).version == 7
    assert uuid.UUID(payload["syncToken"]).version == 4
    store = payload["store"]
    assert store["id"] == payload["storeId"]
    assert store["organizationId"] == ORG
    assert store["marketplace"] == "ETSY"
    assert store["syncStatus"] == "PENDING"
    assert store["importedOrders"] == 0
    assert store["lastSyncAt"] is None
    assert store["createdAt"].endswith("Z")
    assert TOKEN not in str(body)


async def test_second_call_updates_and_keeps_id_and_sync_token(api: Api) -> None:
    first = await register_store(api)

    body = await api.gql(
        REGISTER_STORE,
        {
            "input": store_input(
                ORG, storeName="Renamed", accessToken="new-token-XYZ", currency="try"
            )
        },
        key=api.key,
    )

    payload = body["data"]["registerStore"]
    assert payload["created"] is False
    assert payload["storeId"] == first.id
    assert payload["syncToken"] == first.sync_token
    assert payload["store"]["storeName"] == "Renamed"
    assert payload["store"]["currency"] == "TRY"
    assert await Store.all().count() == 1
    stored = await Store.get(id=first.id)
    assert api.rt.vault.store_tokens.decrypt(stored.access_token_encrypted) == "new-token-XYZ"
    assert "new-token-XYZ" not in stored.access_token_encrypted


async def test_same_external_id_on_another_marketplace_is_another_store(api: Api) -> None:
    etsy = await register_store(api)
    shopify = await register_store(api, marketplace="SHOPIFY")

    assert etsy.id != shopify.id
    assert await Store.all().count() == 2


async def test_bad_input_answers_user_errors_and_creates_nothing(api: Api) -> None:
    cases = {
        "storeName": ("", "INVALID_INPUT"),
        "externalStoreId": ("   ", "INVALID_INPUT"),
        "accessToken": ("", "INVALID_INPUT"),
        "currency": ("XYZ", "INVALID_CURRENCY"),
    }
    for field, (value, code) in cases.items():
        body = await api.gql(
            REGISTER_STORE, {"input": store_input(ORG, **{field: value})}, key=api.key
        )
        payload = body["data"]["registerStore"]
        assert payload["userErrors"][0]["code"] == code, field
        assert payload["userErrors"][0]["field"] == ["input", field]
        assert payload["storeId"] is None
        assert payload["created"] is False
    assert await Store.all().count() == 0


async def test_auth_comes_first(api: Api) -> None:
    no_key = await api.gql(REGISTER_STORE, {"input": store_input(ORG)})
    bad_key = await api.gql(REGISTER_STORE, {"input": store_input(ORG)}, key="msk_nope")
    other_org = await api.gql(REGISTER_STORE, {"input": store_input(ORG)}, key=api.other_key)
    empty_org = await api.gql(
        REGISTER_STORE, {"input": store_input("", currency="bad")}, key=api.key
    )

    assert error_codes(no_key) == ["UNAUTHENTICATED"]
    assert error_codes(bad_key) == ["UNAUTHENTICATED"]
    assert error_codes(other_org) == ["FORBIDDEN"]
    assert error_codes(empty_org) == ["FORBIDDEN"]
    assert await Store.all().count() == 0


async def test_store_of_another_organization_is_not_found(api: Api) -> None:
    store = await register_store(api)

    foreign = await api.gql(STORE_LOGS, {"id": store.id}, key=api.other_key)
    missing = await api.gql(STORE_LOGS, {"id": str(uuid.uuid4())}, key=api.key)
    anonymous = await api.gql(STORE_LOGS, {"id": store.id})

    assert error_codes(foreign) == ["NOT_FOUND"]
    assert error_codes(missing) == ["NOT_FOUND"]
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


async def test_stores_pages_are_capped_and_cursors_continue(api: Api) -> None:
    for index in range(3):
        await register_store(api, external_id=f"shop-{index}")
    query = """query($org: String!, $first: Int, $after: String) {
      stores(organizationId: $org, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } edges { cursor node { externalStoreId } } } }"""

    first_page = await api.gql(query, {"org": ORG, "first": 2}, key=api.key)
    page = first_page["data"]["stores"]
    rest = await api.gql(
        query, {"org": ORG, "first": 2, "after": page["pageInfo"]["endCursor"]}, key=api.key
    )
    negative = await api.gql(query, {"org": ORG, "first": -1}, key=api.key)
    foreign = await api.gql(query, {"org": ORG}, key=api.other_key)

    assert [e["node"]["externalStoreId"] for e in page["edges"]] == ["shop-0", "shop-1"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest_page = rest["data"]["stores"]
    assert [e["node"]["externalStoreId"] for e in rest_page["edges"]] == ["shop-2"]
    assert rest_page["pageInfo"]["hasNextPage"] is False
    assert error_codes(negative) == ["BAD_USER_INPUT"]
    assert error_codes(foreign) == ["FORBIDDEN"]
