"""Dramatiq actors: thin, idempotent, carrying ids only.

Import this module only after ``make_broker``: the decorators bind to the global
broker. Retries are ours (backoff lives in the rows), so Dramatiq's are off.
"""

from __future__ import annotations

import asyncio
import uuid

import dramatiq

from marketsync.messages import Actor
from marketsync.runtime import get_runtime
from marketsync.services.inventory.runner import run_inventory_poll, run_inventory_push
from marketsync.services.sync.engine import run_store_sync
from marketsync.services.webhooks.delivery import deliver_due


@dramatiq.actor(
    actor_name=Actor.SYNC_STORE, queue_name="sync", max_retries=0, time_limit=60 * 60 * 1000
)
async def sync_store(job_id: str) -> None:
    await run_store_sync(rt=get_runtime(), job_id=uuid.UUID(job_id))


@dramatiq.actor(
    actor_name=Actor.DELIVER_WEBHOOK, queue_name="webhooks", max_retries=0, time_limit=5 * 60 * 1000
)
async def deliver_webhook(delivery_id: str) -> None:
    """A doorbell for ``delivery_id``: deliver the oldest due deliveries (a batch)."""
    outcomes = await deliver_due(rt=get_runtime())
    for outcome in outcomes:
        if outcome.ring_again_in_s is not None:
            # A delayed doorbell for the retry; if it is lost, the sweep rings.
            await asyncio.to_thread(
                deliver_webhook.send_with_options,
                args=(str(outcome.delivery_id),),
                delay=int(outcome.ring_again_in_s * 1000),
            )


@dramatiq.actor(
    actor_name=Actor.PUSH_INVENTORY, queue_name="inventory", max_retries=0, time_limit=5 * 60 * 1000
)
async def push_inventory(job_id: str) -> None:
    await run_inventory_push(rt=get_runtime(), job_id=uuid.UUID(job_id))


@dramatiq.actor(
    actor_name=Actor.POLL_INVENTORY, queue_name="inventory", max_retries=0, time_limit=5 * 60 * 1000
)
async def poll_inventory(job_id: str) -> None:
    await run_inventory_poll(rt=get_runtime(), job_id=uuid.UUID(job_id))
