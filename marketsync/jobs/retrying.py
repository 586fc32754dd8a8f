"""Which actor failures are retried, and how a job ends when its retries run out.

A transient failure (the broker, the database or the marketplace out of reach for a
moment) is retried by Dramatiq's ``Retries`` middleware with exponential backoff, at
most MAX_RETRIES times. Anything else, or a transient failure that outlasts the
retries, fails the message; ``FailJobOnGiveUp`` then ends the job FAILED with a safe
reason, so no job waits QUEUED or RUNNING for a message that will never come.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from marketsync.errors import TransportError
from marketsync.services.sync.enqueue import fail_unfinished_job

log = structlog.get_logger(__name__)

MAX_RETRIES = 5
MIN_BACKOFF_MS = 500
MAX_BACKOFF_MS = 30_000
# Actors whose first argument is a job id (deliveries keep their own lease and schedule).
JOB_ACTORS = frozenset({"sync_store", "push_inventory", "poll_inventory"})
TRANSIENT: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    DBConnectionError,
    OperationalError,
    TransportError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # pg_terminate_backend, shutdown
    # A pooled connection whose termination notice arrived before its EOF: asyncpg
    # refuses the query before sending it ("cannot switch to state …"); the pool then
    # replaces the connection.
    asyncpg.InternalClientError,
    ConnectionError,
    TimeoutError,
)


def is_transient(error: BaseException) -> bool:
    """True when ``error`` or an exception it was raised from is a transient one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, IntegrityError):
            return False  # a constraint says no: the same again would say no again
        if isinstance(current, TRANSIENT):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def retry_transient(retries: int, error: BaseException) -> bool:
    """Dramatiq's ``retry_when``: retry transient errors, MAX_RETRIES times at most."""
    return retries < MAX_RETRIES and is_transient(error)


RETRY_OPTIONS: dict[str, Any] = {
    "retry_when": retry_transient,
    "min_backoff": MIN_BACKOFF_MS,
    "max_backoff": MAX_BACKOFF_MS,
}


async def record_given_up(actor_name: str, args: tuple[Any, ...], error: BaseException) -> None:
    """End the message's job FAILED (a no-op for finished jobs and other actors)."""
    if actor_name not in JOB_ACTORS or not args:
        return
    try:
        job_id = uuid.UUID(str(args[0]))
    except ValueError:
        return
    if await fail_unfinished_job(job_id=job_id, error=error):
        log.warning(
            "job_given_up", job_id=str(job_id), actor=actor_name, error=type(error).__name__
        )


class FailJobOnGiveUp(Middleware):
    """Runs after ``Retries`` (add it before Retries: "after" hooks run in reverse)."""

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        if exception is None or not message.failed:
            return
        thread = get_event_loop_thread()
        if thread is None:
            return
        given_up = record_given_up(message.actor_name, message.args, exception)
        try:
            thread.run_coroutine(given_up)
        except Exception as error:  # the database may be the thing that is down
            given_up.close()  # never started: close it rather than leave it unawaited
            log.error(
                "job_give_up_not_recorded",
                actor=message.actor_name,
                error=type(error).__name__,
            )
