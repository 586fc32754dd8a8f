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
from marketsync.errors import ConfigurationError
from marketsync.jobs.broker import BrokerDispatcher, attach_actors, make_broker
from marketsync.jobs.inline import InlineRunner
from marketsync.logs import configure_logging
from marketsync.runtime import Dispatcher, get_runtime, open_runtime, set_runtime

log = structlog.get_logger(__name__)
ONCE_DEADLINE_S = 120.0  # `scheduler --once` without Redis: the work it runs in-process


async def open_process_runtime(
    settings: Settings, broker: Any, *, dispatcher: Dispatcher | None = None
) -> None:
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    await open_connections()
    marketplace_base_url = settings.marketplace_base_url
    if not marketplace_base_url and settings.embedded_redis:
        # Embedded defaults: the mock of the `dev`/`serve` process at HOST:PORT.
        marketplace_base_url = f"http://{settings.host}:{settings.port}/mock"
    if not marketplace_base_url and not settings.is_live:
        raise ConfigurationError("MARKETPLACE_BASE_URL is required outside `marketsync dev`")
    set_runtime(
        open_runtime(
            settings,
            dispatcher=dispatcher or BrokerDispatcher(broker),
            marketplace_base_url=marketplace_base_url or "",  # unused when live
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
    if settings.dramatiq_prom_port is not None:
        from dramatiq.middleware.prometheus import Prometheus

        broker.add_middleware(Prometheus())  # one exposition server for all worker processes
    broker.add_middleware(WorkerRuntime(settings))
    return broker


async def run_scheduler(*, once: bool) -> bool:
    """Tick forever, or once; without REDIS_URL ``--once`` also runs the work it finds.

    Returns False when an in-process run hit its deadline with work unfinished.
    """
    from marketsync.jobs.scheduler import start_scheduler, tick

    settings = get_settings()
    loop = asyncio.get_running_loop()
    broker = make_broker(settings, loop=loop)
    attach_actors(broker)
    inline = None
    if settings.embedded_redis:
        inline = InlineRunner(broker, deadline=loop.time() + ONCE_DEADLINE_S)

    await open_process_runtime(settings, broker, dispatcher=inline)
    try:
        if once:
            await tick(settings, quiet_when_idle=False)
            if inline is None:
                return True
            finished = await inline.drain()
            (log.info if finished else log.error)(
                "scheduler_once_ran",
                ran=inline.ran,
                failed=inline.failed,
                deferred=inline.deferred,
                finished=finished,
            )
            return finished
        await start_scheduler(settings)
        log.info("scheduler_started", interval_s=settings.scheduler_interval_s)
        await asyncio.Event().wait()
        return True
    finally:
        await close_process_runtime()
