"""Which adapter speaks for a store: ``Marketplaces.for_store(credentials)``.

``MARKETPLACE_MODE=mock`` gives every store the mock dialect's adapter (the client at
MARKETPLACE_BASE_URL); ``live`` gives each store its marketplace's own API adapter.
One instance per process: it holds the pooled HTTP session, the shared token cache
and the rate budget; adapters are cheap, made per call.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import aiohttp
from redis.asyncio import Redis

from marketsync.config import Settings
from marketsync.marketplaces.adapters.amazon import AmazonAdapter
from marketsync.marketplaces.adapters.base import (
    MarketplaceAdapter,
    StoreCredentials,
)
from marketsync.marketplaces.adapters.etsy import EtsyAdapter
from marketsync.marketplaces.adapters.http import LiveHttp
from marketsync.marketplaces.adapters.mock import MockAdapter
from marketsync.marketplaces.adapters.shopify import ShopifyAdapter
from marketsync.marketplaces.adapters.trendyol import TrendyolAdapter
from marketsync.marketplaces.client import MarketplaceClient
from marketsync.marketplaces.tokens import Cipher, TokenCache

# (store id, the new refresh token in clear): the caller stores it back encrypted.
StoreRotatedToken = Callable[[uuid.UUID, str], Awaitable[None]]


class Marketplaces:
    def __init__(
        self,
        *,
        settings: Settings,
        http: aiohttp.ClientSession,
        mock: MarketplaceClient,
        cipher: Cipher,
        redis: Redis | None,
        store_rotated_token: StoreRotatedToken | None = None,
    ) -> None:
        self.settings = settings
        self.mock = mock
        self.live_http = LiveHttp(http, timeout_s=settings.marketplace_timeout_s)
        self.tokens = TokenCache(
            cipher=cipher, redis=redis, early_s=settings.marketplace_token_early_s
        )
        self._store_rotated_token = store_rotated_token

    @property
    def live(self) -> bool:
        return self.settings.is_live

    def supports_inventory(self, marketplace: str) -> bool:
        """Whether ``pushInventory`` may go to this marketplace (live: TRENDYOL only)."""
        return not self.live or marketplace.upper() == "TRENDYOL"

    def for_store(self, store: StoreCredentials) -> MarketplaceAdapter:
        if not self.live:
            return MockAdapter(self.mock, store)
        settings = self.settings
        name = store.marketplace.upper()
        if name == "TRENDYOL":
            return TrendyolAdapter(self.live_http, base_url=settings.trendyol_api_url, store=store)
        if name == "SHOPIFY":
            return ShopifyAdapter(
                self.live_http,
                base_url=settings.shopify_api_url,
                api_version=settings.shopify_api_version,
                store=store,
            )
        if name == "ETSY":
            api_key = settings.etsy_api_key
            return EtsyAdapter(
                self.live_http,
                api_url=settings.etsy_api_url,
                token_url=settings.etsy_token_url,
                api_key=api_key.get_secret_value() if api_key is not None else None,
                tokens=self.tokens,
                store=store,
                on_rotated=self._rotation_hook(store.id),
            )
        if name == "AMAZON":
            secret = settings.amazon_lwa_client_secret
            return AmazonAdapter(
                self.live_http,
                api_url=settings.amazon_sp_api_url,
                lwa_url=settings.amazon_lwa_url,
                client_id=settings.amazon_lwa_client_id,
                client_secret=secret.get_secret_value() if secret is not None else None,
                tokens=self.tokens,
                store=store,
            )
        raise ValueError(f"unknown marketplace {store.marketplace!r}")

    def _rotation_hook(self, store_id: uuid.UUID) -> Callable[[str], Awaitable[None]] | None:
        hook = self._store_rotated_token
        if hook is None:
            return None

        async def rotated(refresh_token: str) -> None:
            await hook(store_id, refresh_token)

        return rotated
