"""Process set-up outside the API: the worker's runtime and the scheduler process."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from tortoise import Tortoise

from marketsync.config import Settings, get_settings
from marketsync.db import tortoise_config
from marketsync.dbengines import open_connections
from marketsync.jobs.broker import BrokerDispatcher, attach_actors, make_broker
from marketsync.logs import configure_logging
from marketsync.runtime import get_runtime, open_runtime, set_runtime

log = structlog.get_logger(__name__)


async def open_process_runtime(settings: Settings, broker: Any) -> None:
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    await open_connections()
    if not settings.marketplace_base_url:
        raise RuntimeError("MARKETPLACE_BASE_URL is required outside `marketsync dev`")
    set_runtime(
        open_runtime(
            settings,
            dispatcher=BrokerDispatcher(broker),
            marketplace_base_url=settings.marketplace_base_url,
        )
    )


async def close_process_runtime() -> None:
    await get_runtime().aclose()
    set_runtime(None)
    await Tortoise.close_connections()


class WorkerRuntime(Middleware):
    """Opens Tortoise and the runtime once per worker process, on the AsyncIO loop thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        # Before the worker consumes anything: a message that arrived during boot would
        # otherwise run without a runtime and be lost (actors do not retry).
        thread = get_event_loop_thread()
        assert thread is not None
        thread.run_coroutine(open_process_runtime(self.settings, broker))
        log.info("worker_started", pid=os.getpid())

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            thread.run_coroutine(close_process_runtime())


def setup_worker_broker() -> Any:
    settings = get_settings()
    # Each worker process imports this after dramatiq points its stderr at the pipe
    # the parent reads, so the handler writes there.
    configure_logging(level=settings.log_level, json=settings.log_json)
    broker = make_broker(settings)
    if os.environ.get("dramatiq_prom_port"):  # noqa: SIM112  (Dramatiq's name)
        from dramatiq.middleware.prometheus import Prometheus

        broker.add_middleware(Prometheus())  # one exposition server for all worker processes
    broker.add_middleware(WorkerRuntime(settings))
    return broker


async def run_scheduler(*, once: bool) -> None:
    from marketsync.jobs.scheduler import start_scheduler, tick

    settings = get_settings()
    broker = make_broker(settings, loop=asyncio.get_running_loop())
    attach_actors(broker)

    await open_process_runtime(settings, broker)
    try:
        if once:
            await tick(settings, quiet_when_idle=False)
            return
        await start_scheduler(settings)
        log.info("scheduler_started", interval_s=settings.scheduler_interval_s)
        await asyncio.Event().wait()
    finally:
        await close_process_runtime()
