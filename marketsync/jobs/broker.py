"""Brokers: Redis for separate worker processes, an in-process stub worker for `dev`.

The broker must be set before the actor modules are imported, since
``@dramatiq.actor`` binds to the global broker at import time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import dramatiq
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Retries

from marketsync.config import Settings
from marketsync.errors import ConfigurationError
from marketsync.jobs.retrying import FailJobOnGiveUp

QUEUES = ("sync", "webhooks", "inventory")


class RunningLoopThread(EventLoopThread):
    """An EventLoopThread bound to a loop that already runs (uvicorn's), never stopped by us."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.interrupt_check_ival = 0.1
        self.logger = logging.getLogger(__name__)
        self.loop = loop
        super(EventLoopThread, self).__init__(daemon=True)

    def start(self, *, timeout: float | None = None) -> None:
        return None

    def stop(self) -> None:
        return None


class DaemonLoopAsyncIO(AsyncIO):
    """AsyncIO whose loop thread does not keep the process alive. A second SIGTERM (one
    sent to the whole process group: the parent forwards its own) takes Dramatiq's kill
    path, ``sys.exit`` in the main thread; a non-daemon loop thread would then run the
    current actor to its end, however long, before the process could exit."""

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        thread = EventLoopThread(self.logger)
        thread.daemon = True
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)


class SharedLoopAsyncIO(AsyncIO):
    """Run async actors on the server's own loop (embedded mode)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        set_event_loop_thread(RunningLoopThread(self._loop))

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        set_event_loop_thread(None)


def make_broker(settings: Settings, *, loop: asyncio.AbstractEventLoop | None = None) -> Any:
    """The Redis broker (with AsyncIO) or, embedded, a stub broker bound to ``loop``."""
    broker: Any
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url)  # type: ignore[no-untyped-call]
        broker.add_middleware(DaemonLoopAsyncIO())
    else:
        broker = StubBroker()
        if loop is None:
            raise ConfigurationError("the embedded broker needs the server's running loop")
        broker.add_middleware(SharedLoopAsyncIO(loop))
    broker.add_middleware(FailJobOnGiveUp(), before=Retries)
    for queue in QUEUES:
        broker.declare_queue(queue)
    dramatiq.set_broker(broker)
    return broker


class BrokerDispatcher:
    """Services' view of the broker: send a message by actor name."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker
        self._blocking = isinstance(broker, RedisBroker)

    async def send(self, actor_name: str, *args: Any) -> None:
        actor = self._broker.get_actor(actor_name)
        if self._blocking:
            await asyncio.to_thread(actor.send, *args)
        else:
            actor.send(*args)

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        """Deliver no sooner than ``delay_s`` from now (the broker's delay queue)."""
        actor = self._broker.get_actor(actor_name)
        delay_ms = max(0, int(delay_s * 1000))
        if self._blocking:
            await asyncio.to_thread(actor.send_with_options, args=args, delay=delay_ms)
        else:
            actor.send_with_options(args=args, delay=delay_ms)


def attach_actors(broker: Any) -> None:
    """Import the actors and bind them to ``broker``.

    The first import binds them to the global broker; a process that makes a new
    broker later (an app started twice in one test session) re-binds them here.
    """
    from marketsync.jobs import actors

    for value in vars(actors).values():
        if isinstance(value, dramatiq.Actor) and value.broker is not broker:
            value.broker = broker
            broker.declare_actor(value)
