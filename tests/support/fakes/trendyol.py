"""Trendyol's seller integration API, as WIRE.md §1 documents it.

    GET  /order/sellers/{sellerId}/orders                         getShipmentPackages
    POST /inventory/sellers/{sellerId}/products/price-and-inventory
    GET  /product/sellers/{sellerId}/products/batch-requests/{id}

Auth: ``Basic base64(apiKey:apiSecret)`` of a known seller, else 401
``ClientApiAuthenticationException``; a User-Agent other than
``{sellerId} - SelfIntegration`` gives 403. An identical inventory body within 15
minutes is refused with the documented Turkish sentence (HTTP 400 here: the status is
undocumented). A batch answers without item statuses for its first ``pending_polls``
reads; then each item is SUCCESS, or FAILED when its salePrice exceeds its listPrice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.support.fakes.base import FakeServer

DUPLICATE_MESSAGE = (
    "15 dakika boyunca ayn\u0131 iste\u011fi tekrarl\u0131 olarak atamazs\u0131n\u0131z!"
)


class TrendyolFake(FakeServer):
    def __init__(self, sellers: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.sellers = sellers  # sellerId → (apiKey, apiSecret)
        self.orders: dict[str, list[dict[str, Any]]] = {}  # orderNumber → packages
        self.batches: dict[str, dict[str, Any]] = {}
        self.bodies: set[str] = set()  # hashes seen within the (test-long) 15 minutes
        self.pending_polls = 1
        self.polls: dict[str, int] = {}

    def add_order(
        self, order_number: str, total: str, currency: str = "TRY", *, legacy: bool = False
    ) -> None:
        price_field = "totalPrice" if legacy else "packageTotalPrice"
        package = {
            "shipmentPackageId": 3_000_000 + len(self.orders),
            "orderNumber": order_number,
            price_field: float(Decimal(total)),
            "currencyCode": currency,
            "status": "Created",
            "lines": [{"barcode": "B-1", "quantity": 1, "lineUnitPrice": float(Decimal(total))}],
        }
        self.orders.setdefault(order_number, []).append(package)

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"errors": [{"key": "too.many.requests", "message": "too.many.requests"}]}
        return {"errors": [{"key": "system.error", "message": "Internal error"}]}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/order/sellers/{seller}/orders", self.orders_route),
            web.post(
                "/inventory/sellers/{seller}/products/price-and-inventory", self.inventory_route
            ),
            web.get("/product/sellers/{seller}/products/batch-requests/{id}", self.batch_route),
        ]

    def _refused(self, request: web.Request, seen: Any) -> web.Response | None:
        seller = request.match_info["seller"]
        if self.sellers.get(seller) is None or seen.basic != self.sellers[seller]:
            return web.json_response(
                {
                    "exception": "ClientApiAuthenticationException",
                    "errors": [{"message": "Unauthorized"}],
                },
                status=401,
            )
        if seen.headers.get("user-agent") != f"{seller} - SelfIntegration":
            return web.json_response({"errors": [{"message": "Forbidden"}]}, status=403)
        return self.scripted_failure(request)

    async def orders_route(self, request: web.Request) -> web.Response:
        seen = await self.record(request, "api")
        refused = self._refused(request, seen)
        if refused is not None:
            return refused
        number = request.query.get("orderNumber")
        content = self.orders.get(number, []) if number is not None else []
        return web.json_response(
            {
                "page": 0,
                "size": int(request.query.get("size", "50")),
                "totalPages": 1 if content else 0,
                "totalElements": len(content),
                "content": content,
            }
        )

    async def inventory_route(self, request: web.Request) -> web.Response:
        seen = await self.record(request, "api")
        refused = self._refused(request, seen)
        if refused is not None:
            return refused
        digest = hashlib.sha256(seen.body).hexdigest()
        if digest in self.bodies:
            return web.json_response({"errors": [{"message": DUPLICATE_MESSAGE}]}, status=400)
        items = json.loads(seen.body)["items"]
        if len(items) > 1000:
            return web.json_response({"errors": [{"message": "too many items"}]}, status=400)
        self.bodies.add(digest)
        batch_id = f"{uuid.uuid4()}-{len(self.batches)}"
        self.batches[batch_id] = {"seller": request.match_info["seller"], "items": items}
        return web.json_response({"batchRequestId": batch_id})

    async def batch_route(self, request: web.Request) -> web.Response:
        seen = await self.record(request, "api")
        refused = self._refused(request, seen)
        if refused is not None:
            return refused
        batch_id = request.match_info["id"]
        batch = self.batches.get(batch_id)
        if batch is None or batch["seller"] != request.match_info["seller"]:
            return web.json_response({"errors": [{"message": "not found"}]}, status=404)
        self.polls[batch_id] = self.polls.get(batch_id, 0) + 1
        done = self.polls[batch_id] > self.pending_polls
        items = []
        for item in batch["items"]:
            failed = Decimal(str(item["salePrice"])) > Decimal(str(item["listPrice"]))
            entry: dict[str, Any] = {"requestItem": {**item, "updateRequestDate": "2026-01-01"}}
            if done:
                entry["status"] = "FAILED" if failed else "SUCCESS"
                entry["failureReasons"] = (
                    [{"message": "listPrice must not be lower than salePrice"}] if failed else []
                )
            items.append(entry)
        return web.json_response(
            {
                "batchRequestId": batch_id,
                "items": items,
                "creationDate": 1746704227943,
                "lastModification": 1746704227943,
                "sourceType": "API",
                "itemCount": len(items),
                "failedItemCount": sum(1 for i in items if i.get("status") == "FAILED"),
                "batchRequestType": "ProductInventoryUpdate",
            }
        )
