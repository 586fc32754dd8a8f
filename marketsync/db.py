"""Tortoise configuration. aerich imports ``TORTOISE_ORM``: keep this module side-effect free."""

from __future__ import annotations

import fcntl
import os
from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from marketsync.config import get_settings
from marketsync.errors import ConfigurationError

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
        config["credentials"].setdefault("journal_mode", "WAL")  # readers never wait on a writer
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


class DatabaseInUseError(ConfigurationError):
    """Another `marketsync dev` holds this SQLite file."""


def hold_sqlite_file(database_url: str) -> object | None:
    """Take an exclusive lock next to a SQLite file (``<file>.lock``) for this process.

    The embedded mode keeps its broker, locks and scheduler in memory, so two of them on
    one file would sync the same store twice. The lock is released when the process ends,
    however it ends (``flock``). Returns the open lock file (keep it), None for PostgreSQL
    or an in-memory database.
    """
    if dialect_of(database_url) != "sqlite":
        return None
    path = expand_db_url(database_url)["credentials"]["file_path"]
    if path in (":memory:", ""):
        return None
    lock_path = f"{os.path.abspath(path)}.lock"
    handle = open(lock_path, "a+")  # noqa: SIM115  (held open for the process's life)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DatabaseInUseError(
            f"{path} is in use by another `marketsync dev` ({holder}); stop it, or point"
            " DATABASE_URL at another file"
        ) from None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle
