"""Dramatiq actors: thin, idempotent, carrying ids only.

Import this module only after ``make_broker``: the decorators bind to the global
broker. Retries are ours (backoff lives in the rows), so Dramatiq's are off.
"""

from __future__ import annotations

import uuid

import dramatiq

from marketsync.runtime import get_runtime
from marketsync.services.sync import run_store_sync


@dramatiq.actor(queue_name="sync", max_retries=0, time_limit=60 * 60 * 1000)
async def sync_store(job_id: str) -> None:
    await run_store_sync(rt=get_runtime(), job_id=uuid.UUID(job_id))
