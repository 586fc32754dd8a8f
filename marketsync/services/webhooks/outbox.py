"""The transactional outbox: events are rows written with the change they describe.

``emit_event`` must run inside the caller's transaction; after commit,
``ring_deliveries`` rings one doorbell for the returned delivery ids (a message is a
doorbell, the database is the truth, and the scheduler's sweep rings again for any
doorbell that was lost).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from marketsync.ids import new_id
from marketsync.isotime import format_utc
from marketsync.messages import Actor
from marketsync.models import WebhookDelivery, WebhookEndpoint, WebhookEventRecord
from marketsync.models.enums import WebhookEventType
from marketsync.runtime import Runtime

log = structlog.get_logger(__name__)


async def emit_event(
    *,
    conn: BaseDBAsyncClient,
    event: WebhookEventType,
    organization_id: str,
    store_id: uuid.UUID | None,
    data: dict[str, Any],
) -> list[uuid.UUID]:
    event_id = new_id()
    now = datetime.now(UTC)
    payload = {
        "eventId": str(event_id),
        "event": event.value,
        "timestamp": format_utc(now),
        "organizationId": organization_id,
        "storeId": str(store_id) if store_id else None,
        "data": data,
    }
    await WebhookEventRecord.create(
        id=event_id,
        organization_id=organization_id,
        store_id=store_id,
        event=event,
        payload=payload,
        created_at=now,
        using_db=conn,
    )
    endpoints = await WebhookEndpoint.filter(
        organization_id=organization_id, event=event, is_active=True
    ).using_db(conn)
    deliveries = [
        WebhookDelivery(
            id=new_id(),
            event_record_id=event_id,
            endpoint_id=endpoint.id,
            organization_id=organization_id,
        )
        for endpoint in endpoints
    ]
    if deliveries:
        await WebhookDelivery.bulk_create(deliveries, using_db=conn)
    return [delivery.id for delivery in deliveries]


async def ring_deliveries(*, rt: Runtime, delivery_ids: list[uuid.UUID]) -> None:
    """After commit: ask a worker to deliver now, with one message for the whole commit.

    A doorbell drains every due delivery (``delivery.answer_doorbell``: batches, looping
    while a batch comes back full), so the deliveries of one commit need one message
    between them, not one each; it names the first of them, for the logs.

    A doorbell that cannot be sent (the broker's Redis is down) is logged, not raised:
    the rows are committed, and the scheduler's sweep rings them when it can.
    """
    if not delivery_ids:
        return
    try:
        await rt.dispatcher.send(Actor.DELIVER_WEBHOOK, str(delivery_ids[0]))
    except Exception as exc:  # the sweep is the guarantee; the caller's work is done
        log.warning(
            "webhook_doorbell_lost",
            delivery_id=str(delivery_ids[0]),
            deliveries=len(delivery_ids),
            error=type(exc).__name__,
        )
