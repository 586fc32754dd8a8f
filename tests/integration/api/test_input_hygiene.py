"""Bad text and bad decimals answer BAD_USER_INPUT and change nothing, on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from marketsync.models import Job, Store
from tests.conftest import ORG, Api, register_store
from tests.integration.inventory.conftest import PUSH
from tests.support.graphql import REGISTER_STORE, store_input


async def gql_ascii(api: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Sends the body as ASCII JSON, so a lone surrogate travels as its \\ud800 escape."""
    response = await api.http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"content-type": "application/json", "authorization": f"Bearer {api.key}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize("field", ["storeName", "externalStoreId", "accessToken"])
@pytest.mark.parametrize("bad", ["nul\x00inside", "lone \ud800 surrogate"])
async def test_bad_text_in_variables_is_refused_before_anything_runs(
    api: Api, field: str, bad: str
) -> None:
    body = await gql_ascii(api, REGISTER_STORE, {"input": store_input(ORG, **{field: bad})})

    assert body.get("data") is None
    assert codes(body) == ["BAD_USER_INPUT"]
    assert await Store.all().count() == 0


async def test_bad_text_in_a_document_literal_is_refused(api: Api) -> None:
    query = (
        f'mutation {{ registerStore(input: {{organizationId: "{ORG}", marketplace: ETSY, '
        'externalStoreId: "a\\u0000b", storeName: "n", accessToken: "t", currency: "USD"}) '
        "{ storeId } }"
    )

    body = await api.gql(query, key=api.key)

    assert codes(body) == ["BAD_USER_INPUT"]
    assert await Store.all().count() == 0


@pytest.mark.parametrize(
    "price", ["1e1000000", "1_000", " 1 ", "NaN", "Infinity", "1e3", "", "12.1234567"]
)
async def test_prices_are_read_strictly(api: Api, price: str) -> None:
    store = await register_store(api)
    item = {"barcode": "B-1", "quantity": 1, "salePrice": price, "listPrice": "10.00"}

    body = await api.gql(
        PUSH, {"input": {"storeId": store.id, "items": [item], "dryRun": True}}, key=api.key
    )

    assert body.get("data") is None
    assert codes(body) == ["BAD_USER_INPUT"]
    assert await Job.all().count() == 0


async def test_a_nul_barcode_is_refused(api: Api) -> None:
    store = await register_store(api)
    item = {"barcode": "B\x00", "quantity": 1, "salePrice": "5", "listPrice": "10.00"}

    body = await api.gql(
        PUSH, {"input": {"storeId": store.id, "items": [item], "dryRun": True}}, key=api.key
    )

    assert codes(body) == ["BAD_USER_INPUT"]
    assert await Job.all().count() == 0


@pytest.mark.parametrize("price", ["12.50", "12", 12.5, 7, "-0.01"])
async def test_plain_decimals_still_pass_the_scalar(api: Api, price: object) -> None:
    store = await register_store(api)
    item = {"barcode": "B-1", "quantity": 1, "salePrice": price, "listPrice": "100.00"}

    body = await api.gql(
        PUSH, {"input": {"storeId": store.id, "items": [item], "dryRun": True}}, key=api.key
    )

    assert "BAD_USER_INPUT" not in codes(body)
