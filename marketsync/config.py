"""The one settings object. Imports no application code.

Every variable of the contract is a field here; defaults give the embedded mode
(SQLite file, in-process broker, scheduler and Redis stand-in, the built-in mock
marketplace). ``get_settings()`` reads the environment once per process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

MARKETPLACES = ("etsy", "shopify", "amazon", "trendyol")


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
    secret_key: SecretStr | None = None
    secret_key_file: str = ".marketsync-secret"  # noqa: S105  (dev only: the path of a generated key)
    # Browser origins allowed over HTTP (CORS) and websockets; None: `*` under `dev`, else none.
    cors_allowed_origins: Annotated[list[str] | None, NoDecode] = None
    log_level: str = "INFO"
    log_json: bool = False

    @field_validator("webhook_retry_schedule_s", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
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
