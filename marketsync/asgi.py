"""The ASGI entry point uvicorn imports (`marketsync serve` and `marketsync dev`)."""

from __future__ import annotations

from marketsync.app import create_app
from marketsync.config import get_settings

app = create_app(self_url=get_settings().marketsync_self_url)
