"""Webhook endpoints and deliveries: register, list, redeliver."""

from __future__ import annotations

import uuid

from marketsync.errors import UserInputError
from marketsync.models import enums
from marketsync.schema.common import UserError, decode_cursor, page_edges, page_size
from marketsync.schema.context import Info
from marketsync.schema.webhook import (
    RegisterWebhookInput,
    RegisterWebhookPayload,
    WebhookDelivery,
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookEndpoint,
)
from marketsync.services.webhooks import endpoints as webhooks


async def register_webhook(info: Info, input: RegisterWebhookInput) -> RegisterWebhookPayload:
    await info.context.require_organization(input.organization_id)
    try:
        result = await webhooks.register_webhook(
            rt=info.context.rt,
            organization_id=input.organization_id,
            event=enums.WebhookEventType(input.event),
            target_url=input.target_url,
        )
    except UserInputError as error:
        return RegisterWebhookPayload(user_errors=[UserError.from_error(error)])
    return RegisterWebhookPayload(
        webhook=WebhookEndpoint.from_model(result.endpoint), signing_secret=result.signing_secret
    )


async def list_webhooks(info: Info, organization_id: str) -> list[WebhookEndpoint]:
    await info.context.require_organization(organization_id)
    endpoints = await webhooks.list_webhooks(organization_id=organization_id)
    return [WebhookEndpoint.from_model(endpoint) for endpoint in endpoints]


async def list_deliveries(
    info: Info,
    organization_id: str,
    status: enums.DeliveryStatus | None,
    first: int | None,
    after: str | None,
) -> WebhookDeliveryConnection:
    await info.context.require_organization(organization_id)
    page = await webhooks.deliveries_page(
        organization_id=organization_id,
        status=status,
        size=page_size(first),
        after=decode_cursor(after),
    )
    edges, page_info = page_edges(page)
    return WebhookDeliveryConnection(
        edges=[WebhookDeliveryEdge(node=WebhookDelivery.from_model(r), cursor=c) for r, c in edges],
        page_info=page_info,
    )


async def redeliver_webhook(info: Info, delivery_id: uuid.UUID) -> WebhookDelivery:
    organization = await info.context.organization()
    delivery = await webhooks.redeliver_webhook(
        rt=info.context.rt, organization_id=organization, delivery_id=delivery_id
    )
    return WebhookDelivery.from_model(delivery)
