"""The only code that talks to a marketplace: the client, the mock's rules and routes.

The mock's routes (``marketsync.marketplaces.mock``) are imported where they are
mounted, so that workers, which only call marketplaces, do not load them.
"""

from marketsync.marketplaces.client import (
    MarketplaceClient,
    ValidationResult,
    canonical_inventory_body,
)
from marketsync.retry_after import parse_retry_after

__all__ = [
    "MarketplaceClient",
    "ValidationResult",
    "canonical_inventory_body",
    "parse_retry_after",
]
