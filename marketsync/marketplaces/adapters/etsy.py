"""Etsy Open API v3 (contract "Live marketplaces"; WIRE.md §2).

    validate_receipt  GET {ETSY_API_URL}/v3/application/shops/{shop_id}/receipts/{receipt}
    test_connection   GET {ETSY_API_URL}/v3/application/shops/{shop_id}

Every call carries ``x-api-key: {ETSY_API_KEY}`` (``keystring:shared_secret``) and
``Authorization: Bearer {access token}``. The access token comes from the store's
refresh token (its accessToken) at ``ETSY_TOKEN_URL`` (form ``grant_type=refresh_token``,
``client_id`` = the keystring, ``refresh_token``), through the shared TokenCache; a
rotated refresh token is handed to ``on_rotated`` (stored back encrypted). A token from
the cache that the API refuses (401) is dropped and exchanged again, once. 404 → not found.
Amount = ``grandtotal.amount / grandtotal.divisor``. Inventory is not supported.
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
    to_decimal,
)
from marketsync.marketplaces.adapters.oauth import OnRotated, exchange_refresh_token
from marketsync.marketplaces.client import ValidationResult
from marketsync.marketplaces.tokens import IssuedToken, TokenCache

NAME = "etsy"


class EtsyAdapter:
    supports_inventory = False

    def __init__(
        self,
        http: LiveHttp,
        *,
        api_url: str,
        token_url: str,
        api_key: str | None,
        tokens: TokenCache,
        store: StoreCredentials,
        on_rotated: OnRotated | None = None,
    ) -> None:
        self._http = http
        self._store = store
        self._tokens = tokens
        self._token_url = token_url
        self._api_key = api_key
        self._on_rotated = on_rotated
        self._shop_url = (
            f"{api_url.rstrip('/')}/v3/application/shops/{quote(store.external_store_id, safe='')}"
        )
        self._exchanged = False
        self._cache_key = f"ETSY:{store.id}"

    async def _exchange(self) -> IssuedToken:
        self._exchanged = True
        assert self._api_key is not None
        return await exchange_refresh_token(
            self._http,
            marketplace=NAME,
            token_url=self._token_url,
            form={
                "grant_type": "refresh_token",
                "client_id": self._api_key.split(":", 1)[0],
                "refresh_token": self._store.access_token,
            },
            on_rotated=self._on_rotated,
        )

    async def _get(self, url: str) -> Answer:
        """One authenticated GET; a refused cached token is exchanged again, once."""
        if not self._api_key:
            raise AuthError("ETSY_API_KEY is not configured")
        self._exchanged = False
        for attempt in (1, 2):
            token = await self._tokens.get(self._cache_key, self._exchange)
            answer = await self._http.send(
                "GET",
                url,
                marketplace=NAME,
                headers={"x-api-key": self._api_key, "Authorization": f"Bearer {token}"},
            )
            if answer.status != 401 or attempt == 2 or self._exchanged:
                return answer
            await self._tokens.forget(self._cache_key, token)
        raise AssertionError("unreachable")

    async def validate_receipt(self, receipt: str, currency: str | None) -> ValidationResult:
        if not receipt.isascii() or not receipt.isdigit():
            return ValidationResult(valid=False)  # receipt ids are integers: nothing to ask
        answer = await self._get(f"{self._shop_url}/receipts/{receipt}")
        if answer.status == 404:
            return ValidationResult(valid=False)
        raise_for_status(answer)
        payload = answer.json()
        if not isinstance(payload, dict):
            malformed(answer)
        money = payload.get("grandtotal")
        if not isinstance(money, dict):
            malformed(answer)
        amount = to_decimal(money.get("amount"))
        divisor = to_decimal(money.get("divisor"))
        code = money.get("currency_code")
        receipt_id = payload.get("receipt_id")
        if amount is None or not divisor or not isinstance(code, str) or receipt_id is None:
            malformed(answer)
        return ValidationResult(
            valid=True, order_id=str(receipt_id), amount=amount / divisor, currency=code
        )

    async def push_inventory(self, items: list[dict[str, Any]]) -> str:
        raise MarketplaceResponseError("inventory push is not supported for etsy")

    async def get_inventory_batch(self, batch_request_id: str) -> dict[str, Any]:
        raise MarketplaceResponseError("inventory batches are not supported for etsy")

    async def test_connection(self) -> None:
        answer = await self._get(self._shop_url)
        raise_for_status(answer)
        if not isinstance(answer.json(), dict):
            malformed(answer)
