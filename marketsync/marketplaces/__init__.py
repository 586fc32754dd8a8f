"""The only code that talks to a marketplace: adapters per dialect, the mock's rules and routes.

``Marketplaces.for_store`` (``registry``) picks the adapter of a store by
MARKETPLACE_MODE: the mock dialect (``client``) or the marketplace's own API
(``adapters``). The mock's routes (``marketsync.marketplaces.mock``) are imported where
they are mounted, so that workers, which only call marketplaces, do not load them.
"""

from marketsync.marketplaces.adapters.base import MarketplaceAdapter, StoreCredentials
from marketsync.marketplaces.client import (
    MarketplaceClient,
    ValidationResult,
    canonical_inventory_body,
)
from marketsync.marketplaces.credentials import check_credentials
from marketsync.retry_after import parse_retry_after

__all__ = [
    "MarketplaceAdapter",
    "MarketplaceClient",
    "StoreCredentials",
    "ValidationResult",
    "canonical_inventory_body",
    "check_credentials",
    "parse_retry_after",
]
