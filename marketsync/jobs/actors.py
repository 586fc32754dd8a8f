"""Dramatiq actors: thin, idempotent, carrying ids only.

Import this module only after ``make_broker``: the decorators bind to the global
broker. Outcomes that are data (a rate-limited log, a failed delivery) keep their
backoff in the rows; Dramatiq retries only transient failures of the run itself
(``retrying.RETRY_OPTIONS``), and a job whose retries run out ends FAILED.
"""

from __future__ import annotations

import uuid

import dramatiq

from marketsync.jobs.retrying import RETRY_OPTIONS
from marketsync.messages import Actor
from marketsync.runtime import get_runtime
from marketsync.services.inventory.runner import run_inventory_poll, run_inventory_push
from marketsync.services.sync.engine import run_store_sync
from marketsync.services.webhooks.delivery import answer_doorbell


@dramatiq.actor(
    actor_name=Actor.SYNC_STORE, queue_name="sync", time_limit=60 * 60 * 1000, **RETRY_OPTIONS
)
async def sync_store(job_id: str) -> None:
    await run_store_sync(rt=get_runtime(), job_id=uuid.UUID(job_id))


@dramatiq.actor(
    actor_name=Actor.DELIVER_WEBHOOK,
    queue_name="webhooks",
    time_limit=5 * 60 * 1000,
    **RETRY_OPTIONS,
)
async def deliver_webhook(delivery_id: str) -> None:
    """A doorbell (one per commit, naming its first delivery): deliver every due
    delivery, batch after batch."""
    await answer_doorbell(rt=get_runtime(), delivery_id=delivery_id)


@dramatiq.actor(
    actor_name=Actor.PUSH_INVENTORY,
    queue_name="inventory",
    time_limit=5 * 60 * 1000,
    **RETRY_OPTIONS,
)
async def push_inventory(job_id: str) -> None:
    await run_inventory_push(rt=get_runtime(), job_id=uuid.UUID(job_id))


@dramatiq.actor(
    actor_name=Actor.POLL_INVENTORY,
    queue_name="inventory",
    time_limit=5 * 60 * 1000,
    **RETRY_OPTIONS,
)
async def poll_inventory(job_id: str) -> None:
    await run_inventory_poll(rt=get_runtime(), job_id=uuid.UUID(job_id))
