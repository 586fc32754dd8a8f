"""Tortoise configuration. aerich imports ``TORTOISE_ORM``: keep this module side-effect free."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from marketsync.config import get_settings

MODEL_MODULES = ["marketsync.models", "aerich.models"]


# Our cancellation-safe subclasses of Tortoise's clients (see marketsync/dbengines).
SAFE_ENGINES = {
    "tortoise.backends.sqlite": "marketsync.dbengines.sqlite",
    "tortoise.backends.asyncpg": "marketsync.dbengines.postgres",
}
SQLITE_BUSY_TIMEOUT_MS = 5000


def connection_config(database_url: str) -> dict[str, Any]:
    """The URL as Tortoise's dict, with our engines and a bounded SQLite busy wait."""
    config = expand_db_url(database_url)
    config["engine"] = SAFE_ENGINES.get(config["engine"], config["engine"])
    if dialect_of(database_url) == "sqlite":
        config["credentials"].setdefault("busy_timeout", SQLITE_BUSY_TIMEOUT_MS)
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def dialect_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


TORTOISE_ORM = tortoise_config(get_settings().database_url)  # what aerich imports
