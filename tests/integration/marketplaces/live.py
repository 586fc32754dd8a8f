"""Helpers for the live adapters' tests: settings pointing at the fakes, and the registry."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
from pydantic import SecretStr
from redis.asyncio import Redis

from marketsync.config import Settings
from marketsync.crypto import Purpose, SecretBox
from marketsync.marketplaces.adapters.base import MarketplaceAdapter, StoreCredentials
from marketsync.marketplaces.client import MarketplaceClient
from marketsync.marketplaces.registry import Marketplaces, StoreRotatedToken

SECRET = "live-adapter-tests-secret-key-0123456789abcdef"
ETSY_KEYSTRING = "etsykeystring123"
ETSY_SHARED_SECRET = "etsy-shared-secret-456"
ETSY_API_KEY = f"{ETSY_KEYSTRING}:{ETSY_SHARED_SECRET}"
LWA_CLIENT_ID = "amzn1.application-oa2-client.test"
LWA_CLIENT_SECRET = "amzn-lwa-client-secret-789"


def live_settings(**urls: Any) -> Settings:
    values: dict[str, Any] = {
        "marketplace_mode": "live",
        "marketplace_timeout_s": 5,
        "etsy_api_key": SecretStr(ETSY_API_KEY),
        "amazon_lwa_client_id": LWA_CLIENT_ID,
        "amazon_lwa_client_secret": SecretStr(LWA_CLIENT_SECRET),
    }
    values.update(urls)
    return Settings(**values)


def registry(
    session: aiohttp.ClientSession,
    settings: Settings,
    *,
    redis: Redis | None = None,
    rotated: StoreRotatedToken | None = None,
) -> Marketplaces:
    return Marketplaces(
        settings=settings,
        http=session,
        mock=MarketplaceClient(session, base_url="http://127.0.0.1:9/mock", settings=settings),
        cipher=SecretBox(SECRET, Purpose.TOKEN_CACHE),
        redis=redis,
        store_rotated_token=rotated,
    )


def credentials(
    marketplace: str, external_store_id: str, access_token: str, store_id: uuid.UUID | None = None
) -> StoreCredentials:
    return StoreCredentials(
        id=store_id or uuid.uuid4(),
        marketplace=marketplace,
        external_store_id=external_store_id,
        access_token=access_token,
    )


def adapter(
    marketplaces: Marketplaces, marketplace: str, external_store_id: str, token: str
) -> MarketplaceAdapter:
    return marketplaces.for_store(credentials(marketplace, external_store_id, token))
