"""Shopify's GraphQL Admin API, as WIRE.md §3 documents it (not a GraphQL engine: it
recognizes the two documents the adapter sends).

    POST /shops/{shop}/admin/api/{version}/graphql.json
    (SHOPIFY_API_URL = "{fake}/shops/{shop}" stands for https://{shop}.myshopify.com)

Auth: ``X-Shopify-Access-Token`` of the shop, else 401 with the REST-style body. An
unknown version answers 404. Throttling comes as HTTP 429 (``fail_next("429")``) or,
with ``throttle_next()``, as the documented 200 answer whose error code is THROTTLED.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.support.fakes.base import FakeServer

VERSION = "2026-01"


def _cost(available: float) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": 12,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": 50.0,
            },
        }
    }


class ShopifyFake(FakeServer):
    def __init__(self, shops: dict[str, str]) -> None:
        super().__init__()
        self.shops = shops  # shop name → Admin API access token
        self.orders: dict[str, dict[str, Any]] = {}  # numeric id → order
        self.throttled = 0

    def add_order(self, order_id: str, name: str, amount: str, currency: str = "USD") -> None:
        self.orders[order_id] = {
            "id": f"gid://shopify/Order/{order_id}",
            "name": name,
            "totalPriceSet": {"shopMoney": {"amount": amount, "currencyCode": currency}},
        }

    def throttle_next(self, times: int = 1) -> None:
        self.throttled += times

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"errors": "Exceeded 2 calls per second for api client."}
        return {"errors": "Internal Server Error"}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/shops/{shop}/admin/api/{version}/graphql.json", self.graphql)]

    async def graphql(self, request: web.Request) -> web.Response:
        seen = await self.record(request, "api")
        shop = request.match_info["shop"]
        if request.match_info["version"] != VERSION:
            return web.json_response({"errors": "Not Found"}, status=404)
        token = self.shops.get(shop)
        if token is None or seen.headers.get("x-shopify-access-token") != token:
            return web.json_response(
                {
                    "errors": "[API] Invalid API key or access token "
                    "(unrecognized login or wrong password)"
                },
                status=401,
            )
        failure = self.scripted_failure(request)
        if failure is not None:
            return failure
        if self.throttled:
            self.throttled -= 1
            return web.json_response(
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": _cost(2.0),
                }
            )
        body = json.loads(seen.body, parse_float=Decimal)
        query: str = body["query"]
        if "shop" in query and "order" not in query:
            return web.json_response({"data": {"shop": {"name": shop}}, "extensions": _cost(990)})
        gid: str = body["variables"]["id"]
        order = self.orders.get(gid.removeprefix("gid://shopify/Order/"))
        return web.json_response({"data": {"order": order}, "extensions": _cost(988)})
