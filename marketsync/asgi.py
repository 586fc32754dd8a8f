"""The ASGI entry point uvicorn imports (`marketsync serve` and `marketsync dev`)."""

from __future__ import annotations

import os

from marketsync.app import create_app

app = create_app(self_url=os.environ.get("MARKETSYNC_SELF_URL", "http://127.0.0.1:8000"))
