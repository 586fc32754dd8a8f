"""Etsy Open API v3, as WIRE.md §2 documents it.

    POST /v3/public/oauth/token                         form refresh exchange
    GET  /v3/application/shops/{shop_id}                getShop
    GET  /v3/application/shops/{shop_id}/receipts/{id}  getShopReceipt

Every API call needs ``x-api-key: keystring:shared_secret`` (403 with the observed
body when the secret is missing) and ``Authorization: Bearer {access token}`` issued
here (401 ``invalid_token`` otherwise). The exchange needs ``client_id`` = keystring
and a known refresh token (400 ``invalid_grant`` otherwise).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.support.fakes.base import FakeServer
from tests.support.fakes.oauth import Grants


class EtsyFake(FakeServer):
    def __init__(self, *, api_key: str, refresh_tokens: set[str], shop_id: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.keystring = api_key.split(":", 1)[0]
        self.shop_id = shop_id
        self.grants = Grants(refresh_tokens=set(refresh_tokens), prefix="12345678.")
        self.receipts: dict[str, dict[str, Any]] = {}

    def add_receipt(self, receipt_id: int, amount: int, divisor: int, currency: str) -> None:
        self.receipts[str(receipt_id)] = {
            "receipt_id": receipt_id,
            "status": "paid",
            "is_paid": True,
            "create_timestamp": 1767225600,
            "grandtotal": {"amount": amount, "divisor": divisor, "currency_code": currency},
            "total_price": {"amount": amount - 100, "divisor": divisor, "currency_code": currency},
        }

    def error_body(self, status: int) -> Any:
        return {"error": "Too many requests" if status == 429 else "Internal server error"}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v3/public/oauth/token", self.token),
            web.get("/v3/application/shops/{shop}", self.shop),
            web.get("/v3/application/shops/{shop}/receipts/{receipt}", self.receipt),
        ]

    async def token(self, request: web.Request) -> web.Response:
        await self.record(request, "token")
        failure = self.scripted_failure(request, token=True)
        if failure is not None:
            return failure
        form = await request.post()
        if form.get("grant_type") != "refresh_token" or form.get("client_id") != self.keystring:
            return web.json_response({"error": "invalid_client"}, status=401)
        answer = self.grants.exchange(str(form.get("refresh_token")))
        if answer is None:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Invalid refresh token"},
                status=400,
            )
        return web.json_response(answer)

    def _refused(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-api-key", "")
        if key != self.api_key:
            if key == self.keystring:
                return web.json_response(
                    {"error": "Shared secret is required in x-api-key header."}, status=403
                )
            return web.json_response({"error": "Invalid API key"}, status=403)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not self.grants.accepts(token):
            return web.json_response({"error": "invalid_token"}, status=401)
        if request.match_info["shop"] != self.shop_id:
            return web.json_response({"error": "Shop not found"}, status=404)
        return self.scripted_failure(request)

    async def shop(self, request: web.Request) -> web.Response:
        await self.record(request, "api")
        refused = self._refused(request)
        if refused is not None:
            return refused
        return web.json_response({"shop_id": int(self.shop_id), "shop_name": "DemoShop"})

    async def receipt(self, request: web.Request) -> web.Response:
        await self.record(request, "api")
        refused = self._refused(request)
        if refused is not None:
            return refused
        receipt = self.receipts.get(request.match_info["receipt"])
        if receipt is None:
            return web.json_response({"error": "Receipt not found"}, status=404)
        return web.json_response(receipt)
