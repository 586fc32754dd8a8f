"""`marketsync scheduler --once` without REDIS_URL: the due work runs in this process.

A small install (SQLite, `marketsync serve`, cron) has no broker between processes. The
tick then hands its messages to ``InlineRunner`` instead: each message runs the same
actor function the worker would run, as a task on this loop, at most CONCURRENCY at a
time, with the same give-up rule (a job that fails ends FAILED). A delayed message
(a webhook retry, an inventory poll) runs when it is due if that is before the
deadline, otherwise it is left to the next run: the rows hold the truth and the
next tick's sweep finds them.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import structlog

from marketsync.jobs.retrying import record_given_up

log = structlog.get_logger(__name__)
CONCURRENCY = 8


class InlineRunner:
    """A ``Dispatcher`` that runs the actors here, bounded by ``deadline`` (loop time)."""

    def __init__(self, broker: Any, *, deadline: float) -> None:
        self._broker = broker
        self._deadline = deadline
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self.ran = 0
        self.failed = 0
        self.deferred = 0

    async def send(self, actor_name: str, *args: Any) -> None:
        self._start(actor_name, args, 0.0)

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        if asyncio.get_running_loop().time() + delay_s >= self._deadline:
            self.deferred += 1
            return
        self._start(actor_name, args, delay_s)

    def _start(self, actor_name: str, args: tuple[Any, ...], delay_s: float) -> None:
        task = asyncio.create_task(self._run(actor_name, args, delay_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, actor_name: str, args: tuple[Any, ...], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        body = inspect.unwrap(self._broker.get_actor(actor_name).fn)  # the async function
        async with self._limit:
            try:
                await body(*args)
                self.ran += 1
            except Exception as error:
                self.failed += 1
                log.warning("inline_message_failed", actor=actor_name, error=type(error).__name__)
                await record_given_up(actor_name, args, error)

    async def drain(self) -> bool:
        """Wait for every started message (and those they start); False at the deadline."""
        loop = asyncio.get_running_loop()
        while self._tasks:
            remaining = self._deadline - loop.time()
            if remaining <= 0:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True
