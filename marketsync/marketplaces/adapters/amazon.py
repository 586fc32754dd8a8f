"""Amazon Selling Partner API (contract "Live marketplaces"; WIRE.md §4).

    validate_receipt  GET {AMAZON_SP_API_URL}/orders/v0/orders/{AmazonOrderId}
    test_connection   GET {AMAZON_SP_API_URL}/sellers/v1/marketplaceParticipations

Every call carries ``x-amz-access-token``: an LWA access token exchanged from the
store's refresh token (its accessToken) at ``AMAZON_LWA_URL`` (form
``grant_type=refresh_token``, ``refresh_token``, ``client_id``, ``client_secret``),
through the shared TokenCache. Errors come as ``{"errors": [{"code", "message"}]}``:
``QuotaExceeded`` (or 429) is a RateLimitError, ``Unauthorized`` (or 401/403) an
AuthError, 404 or ``InvalidInput`` (an id Amazon cannot read) not found. A cached
token the API refuses is dropped and exchanged again, once. An order without
``OrderTotal`` (a Pending order has none) is found, with no amount.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from marketsync.errors import AuthError, MarketplaceResponseError
from marketsync.marketplaces.adapters.base import StoreCredentials
from marketsync.marketplaces.adapters.http import (
    Answer,
    LiveHttp,
    malformed,
    raise_for_status,
    rate_limited,
    to_decimal,
)
from marketsync.marketplaces.adapters.oauth import exchange_refresh_token
from marketsync.marketplaces.client import ValidationResult
from marketsync.marketplaces.tokens import IssuedToken, TokenCache

NAME = "amazon"


class AmazonAdapter:
    supports_inventory = False

    def __init__(
        self,
        http: LiveHttp,
        *,
        api_url: str,
        lwa_url: str,
        client_id: str | None,
        client_secret: str | None,
        tokens: TokenCache,
        store: StoreCredentials,
    ) -> None:
        self._http = http
        self._store = store
        self._tokens = tokens
        self._api_url = api_url.rstrip("/")
        self._lwa_url = lwa_url
        self._client = (client_id, client_secret)
        self._exchanged = False
        self._cache_key = f"AMAZON:{store.id}"

    async def _exchange(self) -> IssuedToken:
        self._exchanged = True
        client_id, client_secret = self._client
        assert client_id is not None
        assert client_secret is not None
        return await exchange_refresh_token(
            self._http,
            marketplace=NAME,
            token_url=self._lwa_url,
            form={
                "grant_type": "refresh_token",
                "refresh_token": self._store.access_token,
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )

    async def _get(self, path: str) -> Answer:
        if not all(self._client):
            raise AuthError("AMAZON_LWA_CLIENT_ID / AMAZON_LWA_CLIENT_SECRET are not configured")
        self._exchanged = False
        for attempt in (1, 2):
            token = await self._tokens.get(self._cache_key, self._exchange)
            answer = await self._http.send(
                "GET",
                f"{self._api_url}{path}",
                marketplace=NAME,
                headers={"x-amz-access-token": token},
            )
            codes = _codes(answer)
            if "QuotaExceeded" in codes:
                raise rate_limited(answer)
            refused = answer.status in (401, 403) or "Unauthorized" in codes
            if not refused or attempt == 2 or self._exchanged:
                if refused:
                    raise AuthError(f"{NAME} refused the access token (HTTP {answer.status})")
                return answer
            await self._tokens.forget(self._cache_key, token)
        raise AssertionError("unreachable")

    async def validate_receipt(self, receipt: str, currency: str | None) -> ValidationResult:
        answer = await self._get(f"/orders/v0/orders/{quote(receipt, safe='')}")
        if answer.status == 404 or (answer.status == 400 and "InvalidInput" in _codes(answer)):
            return ValidationResult(valid=False)
        raise_for_status(answer)
        payload = answer.json()
        order = payload.get("payload") if isinstance(payload, dict) else None
        if not isinstance(order, dict) or not isinstance(order.get("AmazonOrderId"), str):
            malformed(answer)
        total = order.get("OrderTotal")
        if total is None:
            return ValidationResult(valid=True, order_id=order["AmazonOrderId"])
        amount = to_decimal(total.get("Amount")) if isinstance(total, dict) else None
        code = total.get("CurrencyCode") if isinstance(total, dict) else None
        if amount is None or not isinstance(code, str):
            malformed(answer)
        return ValidationResult(
            valid=True, order_id=order["AmazonOrderId"], amount=amount, currency=code
        )

    async def push_inventory(self, items: list[dict[str, Any]]) -> str:
        raise MarketplaceResponseError("inventory push is not supported for amazon")

    async def get_inventory_batch(self, batch_request_id: str) -> dict[str, Any]:
        raise MarketplaceResponseError("inventory batches are not supported for amazon")

    async def test_connection(self) -> None:
        answer = await self._get("/sellers/v1/marketplaceParticipations")
        raise_for_status(answer)
        if not isinstance(answer.json(), dict):
            malformed(answer)


def _codes(answer: Answer) -> set[str]:
    if answer.ok:
        return set()
    payload = answer.json_or_none()
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return set()
    return {e["code"] for e in errors if isinstance(e, dict) and isinstance(e.get("code"), str)}
