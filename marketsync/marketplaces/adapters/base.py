"""The one interface every marketplace adapter speaks, and what it is handed.

An adapter is made per store (``Marketplaces.for_store``) and turns one business
question into calls in its marketplace's own dialect:

    validate_receipt(receipt, currency)   find the order: ValidationResult
    push_inventory(items)                 send one chunk: the batch request id
    get_inventory_batch(batch_id)         the batch answer, in the mock dialect's shape
    test_connection()                     one cheap authenticated call

Whatever happens on the wire becomes a result or one error of the
``MarketplaceError`` tree (``marketsync.errors``): AuthError, RateLimitError,
TransportError, MarketplaceResponseError, DuplicateRequestError.

Rate budgets are taken by the services before they call an adapter
(``marketplaces/budget.py``: one bucket per marketplace and seller account); token
exchanges go to the identity provider, not the marketplace API, and take none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from marketsync.marketplaces.client import ValidationResult


@dataclass(frozen=True, slots=True)
class StoreCredentials:
    """What an adapter needs of a store: never the ORM model."""

    id: uuid.UUID
    marketplace: str  # upper case, as Marketplace values
    external_store_id: str
    access_token: str = field(repr=False)


class MarketplaceAdapter(Protocol):
    """One store's marketplace, in that marketplace's own dialect."""

    @property
    def supports_inventory(self) -> bool: ...

    async def validate_receipt(self, receipt: str, currency: str | None) -> ValidationResult: ...

    async def push_inventory(self, items: list[dict[str, Any]]) -> str: ...

    async def get_inventory_batch(self, batch_request_id: str) -> dict[str, Any]: ...

    async def test_connection(self) -> None: ...
