"""A second copy of the app under test with other settings (say, CORS origins), on 127.0.0.1.

It shares the running test app's runtime and hub; its own lifespan is not run, since
Tortoise keeps one set of connections per process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from marketsync.app import create_app
from tests.support.servers import free_port, serve_asgi


@contextlib.asynccontextmanager
async def served_with(
    running_app: Any, database_url: str, *, port: int = 0, **overrides: Any
) -> AsyncIterator[str]:
    from tests.conftest import make_settings

    port = port or free_port()
    settings = make_settings(database_url, port, **overrides)
    app = create_app(settings, self_url=f"http://127.0.0.1:{port}")
    app.state.rt = running_app.state.rt
    app.state.hub = running_app.state.hub
    async with serve_asgi(app, lifespan="off", port=port) as base_url:
        yield base_url
