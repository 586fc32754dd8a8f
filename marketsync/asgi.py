"""The ASGI entry point uvicorn imports (`marketsync serve` and `marketsync dev`)."""

from __future__ import annotations

from marketsync.app import create_app
from marketsync.config import get_settings
from marketsync.logs import configure_logging

# Every server process imports this module, those uvicorn spawns for --workers too.
configure_logging(level=get_settings().log_level, json=get_settings().log_json)
app = create_app(self_url=get_settings().marketsync_self_url)
