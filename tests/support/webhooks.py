"""What the webhook tests share: GraphQL documents, registration, emitting events, reading rows."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.transactions import in_transaction

from marketsync.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from marketsync.models.enums import WebhookEventType
from marketsync.runtime import Runtime
from marketsync.services.webhooks.delivery import DeliveryOutcome, deliver_due
from marketsync.services.webhooks.outbox import emit_event, ring_deliveries
from tests.conftest import ORG, Api

ENDPOINT_FIELDS = "id organizationId event targetUrl isActive createdAt"

REGISTER_WEBHOOK = f"""
mutation($input: RegisterWebhookInput!) {{ registerWebhook(input: $input) {{
  signingSecret userErrors {{ field message code }} webhook {{ {ENDPOINT_FIELDS} }} }} }}
"""

DELIVERY_FIELDS = f"""
  id eventId event status attempt nextRetryAt lastError lastResponseStatus payload
  createdAt updatedAt endpoint {{ {ENDPOINT_FIELDS} }}
  attempts {{ attempt statusCode durationMs errorClass error responseExcerpt createdAt }}
"""

DELIVERIES = f"""
query($org: String!, $status: DeliveryStatus, $first: Int, $after: String) {{
  webhookDeliveries(organizationId: $org, status: $status, first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {DELIVERY_FIELDS} }} }} }} }}
"""

REDELIVER = f"""
mutation($id: UUID!) {{ redeliverWebhook(deliveryId: $id) {{ {DELIVERY_FIELDS} }} }}
"""


async def register_webhook(
    api: Api, url: str, event: str = "SYNC_COMPLETED", *, org: str = ORG, key: str | None = None
) -> dict[str, Any]:
    """The registerWebhook payload (asserts it has no userErrors)."""
    body = await api.gql(
        REGISTER_WEBHOOK,
        {"input": {"organizationId": org, "event": event, "targetUrl": url}},
        key=key or api.key,
    )
    payload: dict[str, Any] = body["data"]["registerWebhook"]
    assert payload["userErrors"] == [], payload
    return payload


async def emit(
    rt: Runtime,
    *,
    event: WebhookEventType = WebhookEventType.SYNC_COMPLETED,
    org: str = ORG,
    data: dict[str, Any] | None = None,
    ring: bool = True,
) -> list[uuid.UUID]:
    """Commit an event as the sync engine does; ``ring=False`` loses the doorbell."""
    async with in_transaction() as conn:
        ids = await emit_event(
            conn=conn,
            event=event,
            organization_id=org,
            store_id=None,
            data=data if data is not None else {"syncStatus": "SUCCESS"},
        )
    if ring:
        await ring_deliveries(rt=rt, delivery_ids=ids)
    return ids


async def delivery(delivery_id: uuid.UUID | str) -> WebhookDelivery:
    return await WebhookDelivery.get(id=delivery_id)


async def endpoint(endpoint_id: uuid.UUID | str) -> WebhookEndpoint:
    return await WebhookEndpoint.get(id=endpoint_id)


async def attempts(delivery_id: uuid.UUID | str) -> list[DeliveryAttempt]:
    return await DeliveryAttempt.filter(delivery_id=delivery_id).order_by("attempt")


async def deliver_one(rt: Runtime, delivery_id: uuid.UUID) -> DeliveryOutcome | None:
    """One delivery batch, with ``delivery_id`` the only due delivery: its outcome, or
    ``None`` when this batch did not claim it."""
    outcomes = await deliver_due(rt=rt)
    assert {outcome.delivery_id for outcome in outcomes} <= {delivery_id}
    return outcomes[0] if outcomes else None
