"""The mock dialect (``MARKETPLACE_BASE_URL``, the contract's "Mock marketplace") as an adapter."""

from __future__ import annotations

from typing import Any

from marketsync.marketplaces.adapters.base import StoreCredentials
from marketsync.marketplaces.client import MarketplaceClient, ValidationResult

# A receipt no marketplace has: the answer proves the credentials, never imports an order.
PROBE_RECEIPT = "marketsync-connection-test"


class MockAdapter:
    supports_inventory = True

    def __init__(self, client: MarketplaceClient, store: StoreCredentials) -> None:
        self._client = client
        self._store = store

    async def validate_receipt(self, receipt: str, currency: str | None) -> ValidationResult:
        return await self._client.validate_receipt(
            marketplace=self._store.marketplace,
            access_token=self._store.access_token,
            receipt=receipt,
            currency=currency,
        )

    async def push_inventory(self, items: list[dict[str, Any]]) -> str:
        return await self._client.push_inventory(
            marketplace=self._store.marketplace,
            access_token=self._store.access_token,
            items=items,
        )

    async def get_inventory_batch(self, batch_request_id: str) -> dict[str, Any]:
        return await self._client.get_inventory_batch(
            marketplace=self._store.marketplace,
            access_token=self._store.access_token,
            batch_request_id=batch_request_id,
        )

    async def test_connection(self) -> None:
        await self.validate_receipt(PROBE_RECEIPT, None)
