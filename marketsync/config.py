"""The one settings object. Imports no application code.

Every variable of the contract is a field here; defaults give the embedded mode
(SQLite file, in-process broker, scheduler and Redis stand-in, the built-in mock
marketplace). ``get_settings()`` reads the environment once per process.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

MARKETPLACES = ("etsy", "shopify", "amazon", "trendyol")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One token bucket: ``rate_per_s`` tokens a second, at most ``burst`` stored."""

    rate_per_s: float
    burst: int


# The contract's defaults in live mode (the marketplaces' documented quotas, rounded down).
DEFAULT_RATE_LIMITS = "TRENDYOL=5/s:50,ETSY=10/s:10,SHOPIFY=2/s:40,AMAZON=0.5/s:30"
_RATE_PAIR = re.compile(r"^([A-Za-z]+)=(?:(off)|([0-9]+(?:\.[0-9]+)?)/s:([0-9]+))$", re.IGNORECASE)


def parse_rate_limits(value: str) -> dict[str, RateLimit | None]:
    """``NAME=RATE/s:BURST`` pairs, comma-separated, by lower-case marketplace name.

    ``NAME=off`` (an addition to the contract) names a marketplace with no budget, so
    that live mode can run one without. A bad pair raises ValueError naming the
    variable: Settings() fails at start-up instead of a worker failing at its first call.
    """
    limits: dict[str, RateLimit | None] = {}
    for raw in value.split(","):
        pair = raw.strip().replace(" ", "")
        if not pair:
            continue
        match = _RATE_PAIR.match(pair)
        if match is None:
            raise ValueError(
                f"MARKETPLACE_RATE_LIMITS: {raw.strip()!r} is not NAME=RATE/s:BURST or NAME=off"
            )
        name, off, rate, burst = match.groups()
        name = name.lower()
        if name not in MARKETPLACES:
            raise ValueError(f"MARKETPLACE_RATE_LIMITS: unknown marketplace {name.upper()!r}")
        if name in limits:
            raise ValueError(f"MARKETPLACE_RATE_LIMITS: {name.upper()} is given twice")
        if off:
            limits[name] = None
            continue
        rate_per_s, size = float(rate), int(burst)
        if not (math.isfinite(rate_per_s) and rate_per_s > 0) or size < 1:
            raise ValueError(
                f"MARKETPLACE_RATE_LIMITS: {name.upper()} needs a rate above 0 and a burst of 1+"
            )
        limits[name] = RateLimit(rate_per_s, size)
    return limits


def effective_rate_limits(
    configured: dict[str, RateLimit | None] | None, *, live: bool
) -> dict[str, RateLimit]:
    """The buckets in force: in live mode the defaults, overridden pair by pair by
    MARKETPLACE_RATE_LIMITS; in mock mode only what the variable names."""
    merged = dict(parse_rate_limits(DEFAULT_RATE_LIMITS)) if live else {}
    merged.update(configured or {})
    return {name: limit for name, limit in merged.items() if limit is not None}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    marketsync_mode: str = "serve"  # set to "dev" by `marketsync dev`
    database_url: str = "sqlite://./marketsync.db"
    redis_url: str | None = None
    marketplace_base_url: str | None = None  # None: this server's own /mock

    mock_etsy_user: str = "etsy"
    mock_etsy_pass: SecretStr = SecretStr("etsy-dev-pass")
    mock_shopify_user: str = "shopify"
    mock_shopify_pass: SecretStr = SecretStr("shopify-dev-pass")
    mock_amazon_user: str = "amazon"
    mock_amazon_pass: SecretStr = SecretStr("amazon-dev-pass")
    mock_trendyol_user: str = "trendyol"
    mock_trendyol_pass: SecretStr = SecretStr("trendyol-dev-pass")

    sync_chunk_size: int = Field(100, ge=1)
    sync_max_iterations: int = Field(10, ge=1)
    sync_lock_ttl_s: int = Field(900, ge=1)
    sync_status_window: int = Field(20, ge=1)
    sync_max_attempts: int = Field(5, ge=1)
    sync_concurrency: int = Field(10, ge=1)  # marketplace calls in flight per chunk
    # A QUEUED sync whose message is older than this is sent again by the scheduler sweep.
    sync_resend_after_s: float = Field(30, gt=0)

    scheduler_interval_s: float = Field(30, gt=0)
    scheduler_throttle_s: float = Field(60, ge=0)
    # Touched at every tick; docker-compose's healthcheck checks its age.
    scheduler_heartbeat_file: str = "/tmp/marketsync-scheduler.heartbeat"  # noqa: S108

    webhook_timeout_s: float = Field(5, gt=0)
    webhook_retry_schedule_s: Annotated[list[float], NoDecode] = [60, 300, 900]
    webhook_max_endpoints_per_org: int = Field(3, ge=0)
    webhook_disable_after: int = Field(20, ge=1)
    webhook_allow_private_targets: bool | None = None  # None: true under `dev`, else false

    inventory_chunk_size: int = Field(1000, ge=1, le=1000)
    inventory_dedup_window_s: int = Field(900, ge=0)
    inventory_max_items: int = Field(100_000, ge=1)
    inventory_write_enabled: bool = False
    inventory_force_write_allowed: bool = True
    inventory_poll_interval_s: float = Field(2, gt=0)
    inventory_poll_max_attempts: int = Field(30, ge=1)

    marketplace_timeout_s: float = Field(10, gt=0)
    # None: unset (live mode applies the defaults, mock mode has no budget).
    marketplace_rate_limits: Annotated[dict[str, RateLimit | None] | None, NoDecode] = None
    # Live marketplaces (contract "Live marketplaces"): `mock` speaks the mock dialect at
    # MARKETPLACE_BASE_URL; `live` speaks each marketplace's own API at these base URLs.
    marketplace_mode: Literal["mock", "live"] = "mock"
    trendyol_api_url: str = "https://apigw.trendyol.com/integration"
    etsy_api_url: str = "https://api.etsy.com"
    etsy_token_url: str = "https://api.etsy.com/v3/public/oauth/token"  # noqa: S105  (a URL)
    etsy_api_key: SecretStr | None = None  # `keystring:shared_secret`
    shopify_api_url: str = "https://{shop}.myshopify.com"
    shopify_api_version: str = "2026-01"
    amazon_sp_api_url: str = "https://sellingpartnerapi-na.amazon.com"
    amazon_lwa_url: str = "https://api.amazon.com/auth/o2/token"
    amazon_lwa_client_id: str | None = None
    amazon_lwa_client_secret: SecretStr | None = None
    # An exchanged access token is reused until this many seconds before it expires.
    marketplace_token_early_s: float = Field(60, ge=0)
    secret_key: SecretStr | None = None
    # Earlier SECRET_KEYs, comma-separated: still read, never written (see rotate-secrets).
    secret_key_fallbacks: Annotated[list[SecretStr], NoDecode] = []
    secret_key_file: str = ".marketsync-secret"  # noqa: S105  (dev only: the path of a generated key)
    # Browser origins allowed over HTTP (CORS) and websockets; None: `*` under `dev`, else none.
    cors_allowed_origins: Annotated[list[str] | None, NoDecode] = None
    # Process wiring: `serve`/`dev` defaults, the URL the API calls itself at (its own
    # /mock in dev), and Dramatiq's own variable for the worker's metrics port.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    marketsync_self_url: str = "http://127.0.0.1:8000"
    dramatiq_prom_port: int | None = None
    mock_marketplace_enabled: bool | None = None  # None: true under `dev`, else false
    max_request_bytes: int = Field(16 * 1024 * 1024, ge=1024)  # larger /graphql bodies: 413
    # Structural JSON bytes (`,` `[` `{`) a body may hold: 100,000 inventory items take ~600,000.
    max_request_json_values: int = Field(1_000_000, ge=100)
    # The largest GraphQL document (UTF-8 bytes) lexed; a larger one answers 413
    # QUERY_TOO_LARGE. 64 KiB holds any document under the 4,000-token limit (4,001
    # `__typename`s are 44 KB) and GraphiQL's introspection query (~2 KB) many times over,
    # while graphql-core's lexer spends ~4 µs a byte on the loop (comments are not tokens).
    max_query_bytes: int = Field(64 * 1024, ge=4096)
    max_ws_connections_per_client: int = Field(100, ge=1)  # per client address; next: 4429
    log_level: str = "INFO"
    log_json: bool = False

    @field_validator("webhook_retry_schedule_s", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("marketplace_rate_limits", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_rate_limits(value)
        return value

    @field_validator("secret_key_fallbacks", mode="before")
    @classmethod
    def _split_fallbacks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            # Written as browsers send `Origin` (lowercase, no default port); a path is refused.
            return sorted(normalize_allowed_origins([str(part) for part in value]))
        return value

    @property
    def is_dev(self) -> bool:
        return self.marketsync_mode == "dev"

    @property
    def allow_private_targets(self) -> bool:
        if self.webhook_allow_private_targets is not None:
            return self.webhook_allow_private_targets
        return self.is_dev

    @property
    def is_live(self) -> bool:
        return self.marketplace_mode == "live"

    @property
    def mock_marketplace_mounted(self) -> bool:
        if self.mock_marketplace_enabled is not None:
            return self.mock_marketplace_enabled
        return self.is_dev

    @property
    def allowed_origins(self) -> list[str]:
        """The one answer to "may a page on another origin call us", for HTTP and websockets."""
        if self.cors_allowed_origins is not None:
            return self.cors_allowed_origins
        return ["*"] if self.is_dev else []

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    def marketplace_credentials(self, marketplace: str) -> tuple[str, str]:
        name = marketplace.lower()
        user: str = getattr(self, f"mock_{name}_user")
        password: SecretStr = getattr(self, f"mock_{name}_pass")
        return user, password.get_secret_value()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
