"""Webhook endpoints, deliveries and their attempt log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import cast

import strawberry
from strawberry.scalars import JSON

from marketsync import models
from marketsync.models.enums import DeliveryStatus, WebhookEventType
from marketsync.schema.common import PageInfo, UserError, page_size
from marketsync.services.webhooks import endpoints

# The enums are the model enums, registered with strawberry (as WebhookEvent and
# DeliveryStatus) by ``schema.common``; annotating with the classes keeps mypy able
# to check them.


@strawberry.type
class WebhookEndpoint:
    id: uuid.UUID
    organization_id: str
    event: WebhookEventType
    target_url: str
    is_active: bool
    created_at: dt.datetime

    @classmethod
    def from_model(cls, endpoint: models.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=endpoint.id,
            organization_id=endpoint.organization_id,
            event=endpoint.event,
            target_url=endpoint.target_url,
            is_active=endpoint.is_active,
            created_at=endpoint.created_at,
        )


@strawberry.type
class WebhookDeliveryAttempt:
    """One HTTP attempt of a delivery, as logged (``WebhookDelivery.attempts``)."""

    attempt: int
    status_code: int | None
    duration_ms: int
    error_class: str | None
    error: str | None
    response_excerpt: str | None
    created_at: dt.datetime


@strawberry.type
class WebhookDelivery:
    id: uuid.UUID
    event_id: uuid.UUID
    event: WebhookEventType
    endpoint: WebhookEndpoint
    status: DeliveryStatus
    attempt: int
    next_retry_at: dt.datetime | None
    last_error: str | None
    last_response_status: int | None
    payload: JSON
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, delivery: models.WebhookDelivery) -> WebhookDelivery:
        """``delivery`` must come with its ``event_record`` and ``endpoint`` loaded."""
        record = delivery.event_record
        return cls(
            id=delivery.id,
            event_id=record.id,
            event=record.event,
            endpoint=WebhookEndpoint.from_model(delivery.endpoint),
            status=delivery.status,
            attempt=delivery.attempt,
            next_retry_at=delivery.next_retry_at,
            last_error=delivery.last_error,
            last_response_status=delivery.last_response_status,
            payload=cast(JSON, record.payload),
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )

    @strawberry.field
    async def attempts(self, first: int | None = 20) -> list[WebhookDeliveryAttempt]:
        rows = await endpoints.delivery_attempts(delivery_id=self.id, limit=page_size(first))
        return [
            WebhookDeliveryAttempt(
                attempt=row.attempt,
                status_code=row.status_code,
                duration_ms=row.duration_ms,
                error_class=row.error_class,
                error=row.error,
                response_excerpt=row.response_excerpt,
                created_at=row.created_at,
            )
            for row in rows
        ]


@strawberry.type
class WebhookDeliveryEdge:
    node: WebhookDelivery
    cursor: str


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo


@strawberry.input
class RegisterWebhookInput:
    organization_id: str
    event: WebhookEventType
    target_url: str  # http or https only


@strawberry.type
class RegisterWebhookPayload:
    webhook: WebhookEndpoint | None = None
    signing_secret: str | None = None  # "whsec_...", returned by registration only
    user_errors: list[UserError] = strawberry.field(default_factory=list)
