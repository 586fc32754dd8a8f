"""Webhook endpoints and their deliveries: registration, listing, redelivery.

Registration is an upsert on (organization, event, target URL). A new endpoint gets a
Standard Webhooks secret that is returned once and stored encrypted; registering the
same triple again returns the existing endpoint without a secret, and reactivates it
if repeated failures had deactivated it. The per-organization limit counts endpoint
rows, active or not; concurrent registrations of one organization take a short Redis
lock so that they cannot both pass the count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from tortoise.exceptions import IntegrityError

from marketsync.errors import NotFoundError, UserInputError, WebhookTargetError
from marketsync.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from marketsync.models.enums import DeliveryStatus, WebhookEventType
from marketsync.runtime import Runtime
from marketsync.services.pagination import Page, keyset_page
from marketsync.services.webhooks.outbox import ring_deliveries
from marketsync.webhooks.guard import check_target_at_registration
from marketsync.webhooks.signing import generate_secret

log = structlog.get_logger(__name__)

_URL_FIELD = ["input", "targetUrl"]
_REGISTER_LOCK_TIMEOUT_S = 15
_REGISTER_LOCK_WAIT_S = 10


@dataclass(frozen=True)
class RegisteredWebhook:
    endpoint: WebhookEndpoint
    signing_secret: str | None  # only when this call created the endpoint
    created: bool


async def register_webhook(
    *, rt: Runtime, organization_id: str, event: WebhookEventType, target_url: str
) -> RegisteredWebhook:
    url = target_url.strip()
    try:
        await check_target_at_registration(url, allow_private=rt.settings.allow_private_targets)
    except WebhookTargetError as exc:
        raise UserInputError(exc.code, exc.message, _URL_FIELD) from None
    key = WebhookEndpoint.filter(organization_id=organization_id, event=event, target_url=url)
    existing = await key.first()
    if existing is not None:
        return RegisteredWebhook(await _reactivated(existing), None, created=False)
    lock = rt.redis.lock(
        f"marketsync:lock:webhook_register:{organization_id}",
        timeout=_REGISTER_LOCK_TIMEOUT_S,
        blocking_timeout=_REGISTER_LOCK_WAIT_S,
    )
    async with lock:
        existing = await key.first()
        if existing is not None:
            return RegisteredWebhook(await _reactivated(existing), None, created=False)
        limit = rt.settings.webhook_max_endpoints_per_org
        if await WebhookEndpoint.filter(organization_id=organization_id).count() >= limit:
            raise UserInputError(
                "LIMIT_REACHED",
                f"an organization can register at most {limit} webhook endpoints",
                ["input"],
            )
        secret = generate_secret()
        try:
            endpoint = await WebhookEndpoint.create(
                organization_id=organization_id,
                event=event,
                target_url=url,
                secret_encrypted=rt.vault.webhook_secrets.encrypt(secret),
            )
        except IntegrityError:
            # Only reachable if the lock expired under a very slow database.
            endpoint = await key.get()
            return RegisteredWebhook(await _reactivated(endpoint), None, created=False)
    log.info(
        "webhook_registered",
        endpoint_id=str(endpoint.id),
        webhook_event=event.value,
        organization_id=organization_id,
    )
    return RegisteredWebhook(endpoint, secret, created=True)


async def _reactivated(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """The endpoint, active again with a clean failure count if it had been deactivated.

    Its deliveries left PENDING while it was inactive are picked up by the next sweep.
    """
    if endpoint.is_active:
        return endpoint
    await WebhookEndpoint.filter(id=endpoint.id).update(
        is_active=True, consecutive_failures=0, updated_at=datetime.now(UTC)
    )
    log.info("webhook_reactivated", endpoint_id=str(endpoint.id))
    return await WebhookEndpoint.get(id=endpoint.id)


async def list_webhooks(*, organization_id: str) -> list[WebhookEndpoint]:
    return await WebhookEndpoint.filter(organization_id=organization_id).order_by("id")


async def deliveries_page(
    *, organization_id: str, status: DeliveryStatus | None, size: int, after: uuid.UUID | None
) -> Page[WebhookDelivery]:
    """An organization's deliveries, newest first, with their event and endpoint loaded."""
    query = WebhookDelivery.filter(organization_id=organization_id)
    if status is not None:
        query = query.filter(status=status)
    query = query.select_related("event_record", "endpoint")
    return await keyset_page(query, size=size, after=after, newest_first=True)


async def delivery_attempts(*, delivery_id: uuid.UUID, limit: int) -> list[DeliveryAttempt]:
    """A delivery's attempts, the latest first."""
    return (
        await DeliveryAttempt.filter(delivery_id=delivery_id)
        .order_by("-attempt", "-created_at")
        .limit(limit)
    )


async def redeliver_webhook(
    *, rt: Runtime, organization_id: str, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a delivery again, whatever its status, reusing its row and its eventId.

    The row goes back to PENDING and due now, and its attempts keep counting, so a
    delivery that had used up the retry schedule gets exactly one more attempt. A claim
    in flight is revoked: that attempt is still logged, but its outcome no longer
    decides the row. An inactive endpoint stays PENDING until it is registered again.
    """
    now = datetime.now(UTC)
    updated = await WebhookDelivery.filter(id=delivery_id, organization_id=organization_id).update(
        status=DeliveryStatus.PENDING, next_retry_at=now, claimed_until=None, updated_at=now
    )
    if not updated:
        raise NotFoundError("webhook delivery not found")
    delivery = (
        await WebhookDelivery.filter(id=delivery_id)
        .select_related("event_record", "endpoint")
        .get()
    )
    log.info("webhook_redelivery", delivery_id=str(delivery_id), attempt=delivery.attempt)
    await ring_deliveries(rt=rt, delivery_ids=[delivery_id])
    return delivery
