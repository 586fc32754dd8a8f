"""APScheduler: every SCHEDULER_INTERVAL_S, enqueue what is due. Jobs here only send.

Each tick takes a Redis ``SET NX`` for its time bucket, so several scheduler
replicas enqueue nothing twice; a failing tick is logged and the next one runs. A
tick is bounded: past its interval plus TICK_GRACE_S it is cancelled and logged
(a database or broker that stopped answering), so the next tick is never held back
by APScheduler's one-instance rule.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from marketsync.config import Settings
from marketsync.runtime import get_runtime
from marketsync.services.due_work import enqueue_due_work

log = structlog.get_logger(__name__)
TICK_GRACE_S = 5.0


def tick_timeout_s(settings: Settings) -> float:
    return settings.scheduler_interval_s + TICK_GRACE_S


def beat(settings: Settings) -> None:
    """Touch the heartbeat file: the compose healthcheck fails when it grows old."""
    path = Path(settings.scheduler_heartbeat_file)
    try:
        path.touch()
    except OSError as error:
        log.warning("scheduler_heartbeat_failed", path=str(path), error=type(error).__name__)


async def tick(settings: Settings, *, quiet_when_idle: bool = True) -> dict[str, int] | None:
    """One tick; the interval loop logs an idle tick at DEBUG, ``--once`` always reports."""
    beat(settings)
    limit = tick_timeout_s(settings)
    try:
        async with asyncio.timeout(limit):
            return await _tick(settings, quiet_when_idle=quiet_when_idle)
    except TimeoutError:
        log.error(
            "scheduler_tick_timed_out",
            timeout_s=limit,
            reason="the database or Redis did not answer in time; the next tick retries",
        )
        raise


async def _tick(settings: Settings, *, quiet_when_idle: bool) -> dict[str, int] | None:
    rt = get_runtime()
    bucket = int(time.time() // settings.scheduler_interval_s)
    if not await rt.redis.set(
        f"marketsync:scheduler:tick:{bucket}",
        "1",
        nx=True,
        ex=max(1, int(settings.scheduler_interval_s * 2)),
    ):
        (log.debug if quiet_when_idle else log.info)("scheduler_tick_taken", bucket=bucket)
        return None
    try:
        counts = await enqueue_due_work(rt=rt)
    except Exception:
        log.exception("scheduler_tick_failed", bucket=bucket)
        raise
    # Quiet when idle: a tick that found work says so at INFO, an idle one at DEBUG.
    busy = any(value for name, value in counts.items() if name != "scannedStores")
    (log.info if busy or not quiet_when_idle else log.debug)("scheduler_tick", **counts)
    return counts


async def start_scheduler(settings: Settings) -> Any:
    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(
        tick,
        "interval",
        seconds=settings.scheduler_interval_s,
        args=[settings],
        id="enqueue_due_work",
    )
    scheduler.start()
    return scheduler
