"""Amazon SP-API (Orders v0, Sellers) and the LWA token endpoint, as WIRE.md §4 documents.

    POST /auth/o2/token                        LWA refresh exchange (form)
    GET  /orders/v0/orders/{orderId}           getOrder
    GET  /sellers/v1/marketplaceParticipations

API calls need ``x-amz-access-token`` issued here, else 403 ``Unauthorized``. The
exchange needs the app's client id and secret (401 ``invalid_client``) and a known
refresh token (400 ``invalid_grant``). Errors have the ``{"errors": [...]}`` shape;
429 is ``QuotaExceeded``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.support.fakes.base import FakeServer
from tests.support.fakes.oauth import Grants


def _errors(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": ""}]}


class AmazonFake(FakeServer):
    def __init__(self, *, client_id: str, client_secret: str, refresh_tokens: set[str]) -> None:
        super().__init__()
        self.client = (client_id, client_secret)
        self.grants = Grants(refresh_tokens=set(refresh_tokens), prefix="Atza|")
        self.orders: dict[str, dict[str, Any]] = {}

    def add_order(self, order_id: str, amount: str | None, currency: str = "USD") -> None:
        order: dict[str, Any] = {
            "AmazonOrderId": order_id,
            "PurchaseDate": "2026-01-19T03:58:30Z",
            "LastUpdateDate": "2026-01-19T03:58:32Z",
            "OrderStatus": "Unshipped" if amount is not None else "Pending",
            "FulfillmentChannel": "MFN",
            "MarketplaceId": "ATVPDKIKX0DER",
        }
        if amount is not None:
            order["OrderTotal"] = {"CurrencyCode": currency, "Amount": amount}
        self.orders[order_id] = order

    def error_body(self, status: int) -> Any:
        if status == 429:
            return _errors("QuotaExceeded", "You exceeded your quota for the requested resource.")
        return _errors("InternalFailure", "We encountered an internal error.")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/auth/o2/token", self.token),
            web.get("/orders/v0/orders/{order}", self.order),
            web.get("/sellers/v1/marketplaceParticipations", self.participations),
        ]

    async def token(self, request: web.Request) -> web.Response:
        await self.record(request, "token")
        failure = self.scripted_failure(request, token=True)
        if failure is not None:
            return failure
        form = await request.post()
        if (form.get("client_id"), form.get("client_secret")) != self.client:
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status=401,
            )
        answer = self.grants.exchange(str(form.get("refresh_token")))
        if form.get("grant_type") != "refresh_token" or answer is None:
            return web.json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter",
                },
                status=400,
            )
        return web.json_response(answer)

    def _refused(self, request: web.Request) -> web.Response | None:
        if not self.grants.accepts(request.headers.get("x-amz-access-token", "")):
            return web.json_response(
                _errors("Unauthorized", "Access to requested resource is denied."), status=403
            )
        return self.scripted_failure(request)

    async def order(self, request: web.Request) -> web.Response:
        await self.record(request, "api")
        refused = self._refused(request)
        if refused is not None:
            return refused
        order = self.orders.get(request.match_info["order"])
        if order is None:
            return web.json_response(_errors("NotFound", "Order not found"), status=404)
        return web.json_response({"payload": order})

    async def participations(self, request: web.Request) -> web.Response:
        await self.record(request, "api")
        refused = self._refused(request)
        if refused is not None:
            return refused
        return web.json_response(
            {
                "payload": [
                    {
                        "marketplace": {"id": "ATVPDKIKX0DER", "countryCode": "US"},
                        "participation": {"isParticipating": True},
                    }
                ]
            }
        )
