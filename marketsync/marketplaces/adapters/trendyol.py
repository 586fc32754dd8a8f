"""Trendyol seller integration API (contract "Live marketplaces"; WIRE.md §1).

    validate_receipt  GET  {base}/order/sellers/{sellerId}/orders?orderNumber={receipt}
    push_inventory    POST {base}/inventory/sellers/{sellerId}/products/price-and-inventory
    get_inventory_batch GET {base}/product/sellers/{sellerId}/products/batch-requests/{id}
    test_connection   GET  {base}/order/sellers/{sellerId}/orders?size=1

Every call carries ``Authorization: Basic base64(apiKey:apiSecret)`` (the store's
access token is ``apiKey:apiSecret``) and ``User-Agent: {sellerId} - SelfIntegration``.
An order is found when ``content`` is not empty; its amount is the sum of its
packages' ``packageTotalPrice`` (older answers: ``totalPrice``), since one order may
ship as several packages. The 15-minute duplicate refusal, in whatever status and
body it comes, is a DuplicateRequestError.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from marketsync.errors import DuplicateRequestError
from marketsync.marketplaces.adapters.base import StoreCredentials
from marketsync.marketplaces.adapters.http import (
    Answer,
    LiveHttp,
    malformed,
    raise_for_status,
    to_decimal,
)
from marketsync.marketplaces.client import ValidationResult, canonical_inventory_body

NAME = "trendyol"
# "You cannot send the same request repeatedly for 15 minutes!"; matched on a part, so a
# reworded sentence around it or a changed punctuation still reads as the dedup.
DUPLICATE_MARKERS = ("ayn\u0131 iste\u011fi tekrarl\u0131", "15 dakika boyunca")
WIRE_FIELDS = ("barcode", "quantity", "salePrice", "listPrice")


class TrendyolAdapter:
    supports_inventory = True

    def __init__(self, http: LiveHttp, *, base_url: str, store: StoreCredentials) -> None:
        self._http = http
        self._store = store
        seller = quote(store.external_store_id, safe="")
        base = base_url.rstrip("/")
        self._orders_url = f"{base}/order/sellers/{seller}/orders"
        self._inventory_url = f"{base}/inventory/sellers/{seller}/products/price-and-inventory"
        self._batch_url = f"{base}/product/sellers/{seller}/products/batch-requests/"
        basic = base64.b64encode(store.access_token.encode()).decode()
        self._headers = {
            "Authorization": f"Basic {basic}",
            "User-Agent": f"{store.external_store_id} - SelfIntegration",
        }

    async def _send(self, method: str, url: str, **kwargs: Any) -> Answer:
        return await self._http.send(
            method,
            url,
            marketplace=NAME,
            headers=self._headers,
            **kwargs,
        )

    async def validate_receipt(self, receipt: str, currency: str | None) -> ValidationResult:
        answer = await self._send("GET", self._orders_url, params={"orderNumber": receipt})
        raise_for_status(answer)
        payload = answer.json()
        content = payload.get("content") if isinstance(payload, dict) else None
        if not isinstance(content, list):
            malformed(answer)
        packages = [
            package
            for package in content
            if isinstance(package, dict) and str(package.get("orderNumber")) == receipt
        ]
        if not packages:
            return ValidationResult(valid=False)
        total = Decimal(0)
        for package in packages:
            amount = to_decimal(package.get("packageTotalPrice", package.get("totalPrice")))
            if amount is None:
                malformed(answer)
            total += amount
        currency_code = packages[0].get("currencyCode")
        if not isinstance(currency_code, str) or not currency_code:
            malformed(answer)
        return ValidationResult(valid=True, order_id=receipt, amount=total, currency=currency_code)

    async def push_inventory(self, items: list[dict[str, Any]]) -> str:
        """Sends the documented fields only (``currencyType`` is in no documented sample)."""
        wire = [{key: item[key] for key in WIRE_FIELDS if key in item} for item in items]
        answer = await self._send("POST", self._inventory_url, body=canonical_inventory_body(wire))
        if _is_duplicate(answer):
            raise DuplicateRequestError(f"{NAME} saw this body within its 15-minute window")
        raise_for_status(answer)
        payload = answer.json()
        batch_request_id = payload.get("batchRequestId") if isinstance(payload, dict) else None
        if not isinstance(batch_request_id, str) or not batch_request_id:
            malformed(answer)
        return batch_request_id

    async def get_inventory_batch(self, batch_request_id: str) -> dict[str, Any]:
        """The answer with each item's ``failureReasons`` as strings (their element type
        is undocumented: objects give their message, or their JSON)."""
        answer = await self._send("GET", self._batch_url + quote(batch_request_id, safe=""))
        raise_for_status(answer)
        payload = answer.json()
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            malformed(answer)
        payload.setdefault("batchRequestId", batch_request_id)
        for entry in payload["items"]:
            if isinstance(entry, dict) and isinstance(entry.get("failureReasons"), list):
                entry["failureReasons"] = [_reason(r) for r in entry["failureReasons"]]
        answer_items: dict[str, Any] = _plain(payload)
        return answer_items

    async def test_connection(self) -> None:
        answer = await self._send("GET", self._orders_url, params={"size": "1"})
        raise_for_status(answer)
        if not isinstance(answer.json(), dict):
            malformed(answer)


def _is_duplicate(answer: Answer) -> bool:
    if answer.ok and b"batchRequestId" in answer.content:
        return False
    text = answer.content.decode("utf-8", errors="replace")
    return any(marker in text for marker in DUPLICATE_MARKERS)


def _reason(reason: object) -> str:
    if isinstance(reason, str):
        return reason
    if isinstance(reason, dict):
        for key in ("message", "description", "reason"):
            if isinstance(reason.get(key), str):
                return str(reason[key])
    return json.dumps(_plain(reason), sort_keys=True)


def _plain(value: Any) -> Any:
    """Decimals back to JSON numbers, so the answer can be stored as JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
