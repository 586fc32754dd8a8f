"""Shopify GraphQL Admin API (contract "Live marketplaces"; WIRE.md §3).

    POST {SHOPIFY_API_URL with {shop}}/admin/api/{SHOPIFY_API_VERSION}/graphql.json
    X-Shopify-Access-Token: {the store's Admin API access token}

validate_receipt asks ``order(id: "gid://shopify/Order/{receipt}")`` (the id goes as a
variable, never spliced into the document); found when ``order`` is not null. Being
throttled comes two ways, and both are a RateLimitError: HTTP 429 (Retry-After), or
an answer whose ``errors[].extensions.code`` is ``THROTTLED`` (the wait is then what
the cost extension says the bucket needs to refill, when it says so). test_connection
asks ``{ shop { name } }``. Inventory is not supported (TRENDYOL only).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from marketsync.errors import AuthError, MarketplaceResponseError
from marketsync.marketplaces.adapters.base import StoreCredentials
from marketsync.marketplaces.adapters.http import (
    LiveHttp,
    malformed,
    raise_for_status,
    rate_limited,
    to_decimal,
)
from marketsync.marketplaces.client import ValidationResult

NAME = "shopify"
ORDER_QUERY = (
    "query($id: ID!) { order(id: $id) { id name "
    "totalPriceSet { shopMoney { amount currencyCode } } } }"
)
SHOP_QUERY = "{ shop { name } }"
_ACCESS_CODES = frozenset({"ACCESS_DENIED", "UNAUTHORIZED", "FORBIDDEN"})


class ShopifyAdapter:
    supports_inventory = False

    def __init__(
        self, http: LiveHttp, *, base_url: str, api_version: str, store: StoreCredentials
    ) -> None:
        self._http = http
        self._store = store
        shop = quote(store.external_store_id, safe="")
        root = base_url.replace("{shop}", shop).rstrip("/")
        self._url = f"{root}/admin/api/{quote(api_version, safe='')}/graphql.json"
        self._headers = {"X-Shopify-Access-Token": store.access_token}

    async def _query(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        """The ``data`` of a GraphQL answer, after the errors are mapped."""
        body: dict[str, Any] = {"query": document}
        if variables is not None:
            body["variables"] = variables
        answer = await self._http.send(
            "POST",
            self._url,
            marketplace=NAME,
            headers=self._headers,
            body=json.dumps(body, separators=(",", ":")).encode(),
        )
        payload = answer.json_or_none() if not answer.ok else answer.json()
        if isinstance(payload, dict) and _codes(payload) & {"THROTTLED"}:
            raise rate_limited(answer, _refill_wait(payload))
        raise_for_status(answer)
        if not isinstance(payload, dict):
            malformed(answer)
        codes = _codes(payload)
        if codes & _ACCESS_CODES:
            raise AuthError(f"{NAME} refused the access token ({sorted(codes)[0]})")
        if payload.get("errors"):
            raise MarketplaceResponseError(
                f"{NAME} answered with GraphQL errors", status=answer.status
            )
        data = payload.get("data")
        if not isinstance(data, dict):
            malformed(answer)
        return data

    async def validate_receipt(self, receipt: str, currency: str | None) -> ValidationResult:
        if not receipt.isascii() or not receipt.isdigit():
            return ValidationResult(valid=False)  # no order id has this shape: nothing to ask
        data = await self._query(ORDER_QUERY, {"id": f"gid://shopify/Order/{receipt}"})
        order = data.get("order")
        if order is None:
            return ValidationResult(valid=False)
        money = _path(order, "totalPriceSet", "shopMoney")
        name = order.get("name") if isinstance(order, dict) else None
        amount = to_decimal(money.get("amount")) if isinstance(money, dict) else None
        code = money.get("currencyCode") if isinstance(money, dict) else None
        if not isinstance(name, str) or not name or amount is None or not isinstance(code, str):
            raise MarketplaceResponseError(f"malformed answer from {NAME}", status=200)
        return ValidationResult(valid=True, order_id=name, amount=amount, currency=code)

    async def push_inventory(self, items: list[dict[str, Any]]) -> str:
        raise MarketplaceResponseError("inventory push is not supported for shopify")

    async def get_inventory_batch(self, batch_request_id: str) -> dict[str, Any]:
        raise MarketplaceResponseError("inventory batches are not supported for shopify")

    async def test_connection(self) -> None:
        data = await self._query(SHOP_QUERY)
        if not isinstance(data.get("shop"), dict):
            raise MarketplaceResponseError(f"malformed answer from {NAME}", status=200)


def _codes(payload: dict[str, Any]) -> set[str]:
    errors = payload.get("errors")
    if not isinstance(errors, list):
        return set()
    codes = set()
    for error in errors:
        code = _path(error, "extensions", "code")
        if isinstance(code, str):
            codes.add(code)
    return codes


def _refill_wait(payload: dict[str, Any]) -> float | None:
    """Seconds until the cost bucket holds the requested cost, from ``extensions.cost``."""
    cost = _path(payload, "extensions", "cost")
    if not isinstance(cost, dict):
        return None
    requested = to_decimal(cost.get("requestedQueryCost"))
    available = to_decimal(_path(cost, "throttleStatus", "currentlyAvailable"))
    rate = to_decimal(_path(cost, "throttleStatus", "restoreRate"))
    if requested is None or available is None or rate is None or rate <= 0:
        return None
    return float(math.ceil(max(Decimal(0), requested - available) / rate))


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
