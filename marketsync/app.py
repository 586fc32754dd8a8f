"""The Starlette application: GraphQL, the mock marketplace and webhook receiver, health.

The lifespan opens the database, Redis, HTTP sessions and the broker; under `dev` it
also migrates and runs the worker and the scheduler inside this process, on this
process's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import dramatiq
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType
from tortoise import Tortoise

from marketsync.config import Settings, get_settings
from marketsync.db import tortoise_config
from marketsync.dbengines import open_connections
from marketsync.edge import EdgeGraphQL
from marketsync.jobs.broker import BrokerDispatcher, attach_actors, make_broker
from marketsync.marketplaces.mock import build_mock_app
from marketsync.migrator import apply_migrations, pending_migrations
from marketsync.multiplex import SharedEncoder
from marketsync.pubsub import StatusHub
from marketsync.resolvers.root import schema
from marketsync.runtime import Runtime, open_redis, open_runtime, set_runtime
from marketsync.schema.context import Context
from marketsync.services.orders.status import StatusReport, status_report
from marketsync.services.stores.registry import organization_of_store
from marketsync.web import graphiql_page, web_routes
from marketsync.web.origins import cors_middleware, log_refused_origin
from marketsync.webhooks.receiver import WebhookReceiver, receiver_routes

log = structlog.get_logger(__name__)


class MarketsyncGraphQL(EdgeGraphQL):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shared_encoder = SharedEncoder(_as_text(super().encode_json))

    def encode_json(self, data: object) -> str:
        """A multiplexed subscription message is serialized once (see multiplex.py)."""
        return self._shared_encoder(data)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        return Context(request=request, rt=state.rt, hub=state.hub)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A bad key in connection_init (or the upgrade's header) closes with 4403."""
        if await context.refuses_presented_key():
            raise ConnectionRejectionError
        return UnsetType()

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        allowed = super().is_websocket_origin_allowed(request, origin)
        if not allowed:
            log_refused_origin(origin, transport="websocket")
        return allowed

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()  # Strawberry's page, its scripts served by us (no CDN)


def _as_text(encode: Callable[[object], str | bytes]) -> Callable[[object], str]:
    def encode_text(data: object) -> str:
        encoded = encode(data)
        return encoded.decode() if isinstance(encoded, bytes) else encoded

    return encode_text


def create_app(
    settings: Settings | None = None, *, self_url: str = "http://127.0.0.1:8000"
) -> Starlette:
    settings = settings or get_settings()
    redis = open_redis(settings)
    receiver = WebhookReceiver(secret=None)
    marketplace_url = settings.marketplace_base_url or f"{self_url.rstrip('/')}/mock"

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.is_dev:
            await apply_migrations(settings.database_url)
        await Tortoise.init(
            config=tortoise_config(settings.database_url), _enable_global_fallback=True
        )
        await open_connections()  # never lazily inside a request that may be cancelled
        broker = make_broker(settings, loop=asyncio.get_running_loop())
        attach_actors(broker)

        rt = open_runtime(
            settings,
            dispatcher=BrokerDispatcher(broker),
            marketplace_base_url=marketplace_url,
            redis=redis,
        )
        set_runtime(rt)

        async def load(store_id: uuid.UUID) -> StatusReport:
            return await status_report(store_id=store_id, window=settings.sync_status_window)

        hub: StatusHub[StatusReport] = StatusHub(redis, load, organization_of_store)
        await hub.start()
        app.state.rt = rt
        app.state.hub = hub
        app.state.migrations_current = False
        embedded = await _start_embedded(settings, broker) if settings.is_dev else None
        log.info(
            "api_started",
            mode=settings.marketsync_mode,
            database=(settings.is_sqlite and "sqlite") or "postgres",
        )
        try:
            yield
        finally:
            if embedded is not None:
                await _stop_embedded(*embedded)
            await hub.stop()
            await rt.aclose()
            set_runtime(None)
            await Tortoise.close_connections()

    graphql = MarketsyncGraphQL(
        schema,
        graphql_ide="graphiql",
        allowed_origins=settings.allowed_origins,
        max_request_bytes=settings.max_request_bytes,
        max_json_values=settings.max_request_json_values,
        max_ws_per_client=settings.max_ws_connections_per_client,
        max_query_bytes=settings.max_query_bytes,
    )
    mock: list[BaseRoute] = []
    if settings.mock_marketplace_mounted:  # under `dev` or MOCK_MARKETPLACE_ENABLED=true
        mock = [
            *receiver_routes(receiver, "/mock/webhook"),
            Mount("/mock", build_mock_app(settings=settings, redis=redis)),
        ]
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics),
            *mock,
            *web_routes(),
        ],
        middleware=[cors_middleware(settings.allowed_origins)],
        lifespan=lifespan,
    )
    app.state.receiver = receiver
    app.state.settings = settings
    return app


async def _start_embedded(settings: Settings, broker: Any) -> tuple[Any, Any]:
    from marketsync.jobs.scheduler import start_scheduler

    worker = dramatiq.Worker(broker, worker_threads=8, worker_timeout=100)
    worker.start()
    scheduler = await start_scheduler(settings)
    return worker, scheduler


async def _stop_embedded(worker: Any, scheduler: Any) -> None:
    scheduler.shutdown(wait=False)
    await asyncio.to_thread(worker.stop)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = type(exc).__name__
    if state.settings.redis_url:
        try:
            await state.rt.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = type(exc).__name__
    if not state.migrations_current and checks["database"] == "ok":
        state.migrations_current = not await pending_migrations(state.settings.database_url)
    checks["migrations"] = "ok" if state.migrations_current else "pending"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(checks, status_code=200 if healthy else 503)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


__all__ = ["Runtime", "create_app"]
