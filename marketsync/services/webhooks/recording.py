"""Recording delivery outcomes: one transaction per batch, and what comes next.

A 2xx ends the delivery (SUCCESS); anything else waits its turn in the webhook retry
policy (``services/retry.py``) or, when the schedule is exhausted, ends FAILED and
counts towards deactivating the endpoint after WEBHOOK_DISABLE_AFTER such failures in
a row. Every attempt gets its row; an outcome moves the delivery only while the
attempt's claim still holds (a redelivery revokes it).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from marketsync.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from marketsync.models.enums import DeliveryStatus
from marketsync.runtime import Runtime
from marketsync.services.retry import webhook_retry
from marketsync.webhooks.sender import SendResult

# Retries due sooner than this get a delayed doorbell; later ones wait for the sweep,
# so a broker never holds hours of delayed messages.
log = structlog.get_logger(__name__)

MAX_DOORBELL_DELAY_S = 900.0


@dataclass(frozen=True)
class DeliveryOutcome:
    """One attempt made by ``deliver_due``."""

    delivery_id: uuid.UUID
    status: DeliveryStatus
    attempt: int
    response_status: int | None
    retry_in_s: float | None = None  # a retry is scheduled this far ahead
    ring_again_in_s: float | None = None  # ring a delayed doorbell this far ahead


def _still_claimed(delivery: WebhookDelivery) -> Q:
    return Q(
        id=delivery.id,
        status=DeliveryStatus.PENDING,
        attempt=delivery.attempt,
        claimed_until__isnull=False,
    )


async def record_outcomes(
    rt: Runtime, sent: list[tuple[WebhookDelivery, SendResult]]
) -> list[DeliveryOutcome]:
    settings = rt.settings
    now = datetime.now(UTC)
    outcomes: list[DeliveryOutcome] = []
    # Successes share one UPDATE per (attempt, status code): the common case of a batch.
    succeeded: dict[tuple[int, int | None], list[WebhookDelivery]] = defaultdict(list)
    failed: list[tuple[WebhookDelivery, SendResult, DeliveryStatus, float | None]] = []
    for delivery, result in sent:
        if result.ok:
            succeeded[(delivery.attempt, result.status)].append(delivery)
            outcomes.append(
                DeliveryOutcome(
                    delivery.id, DeliveryStatus.SUCCESS, delivery.attempt, result.status
                )
            )
            continue
        retry_in_s = webhook_retry(settings.webhook_retry_schedule_s).delay_s(
            attempt=delivery.attempt, retry_after_s=result.retry_after
        )
        status = DeliveryStatus.FAILED if retry_in_s is None else DeliveryStatus.PENDING
        failed.append((delivery, result, status, retry_in_s))
        ring_again = None
        if retry_in_s is not None and retry_in_s <= MAX_DOORBELL_DELAY_S:
            ring_again = retry_in_s
        outcomes.append(
            DeliveryOutcome(
                delivery.id, status, delivery.attempt, result.status, retry_in_s, ring_again
            )
        )
    deactivated: list[object] = []
    async with in_transaction() as conn:
        await DeliveryAttempt.bulk_create(
            [
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    attempt=delivery.attempt,
                    status_code=result.status,
                    duration_ms=result.duration_ms,
                    error_class=result.error_class,
                    error=result.error,
                    response_excerpt=result.response_excerpt,
                )
                for delivery, result in sent
            ],
            using_db=conn,
        )
        for (attempt, status_code), group in succeeded.items():
            await (
                WebhookDelivery.filter(
                    id__in=[delivery.id for delivery in group],
                    status=DeliveryStatus.PENDING,
                    attempt=attempt,
                    claimed_until__isnull=False,
                )
                .using_db(conn)
                .update(
                    status=DeliveryStatus.SUCCESS,
                    next_retry_at=None,
                    claimed_until=None,
                    last_error=None,
                    last_response_status=status_code,
                    updated_at=now,
                )
            )
        # A 2xx resets the endpoint's count of consecutive exhausted deliveries. The count
        # was read at claim time: skipping endpoints that read 0 saves a write per batch.
        recovered = {
            d.endpoint_id
            for group in succeeded.values()
            for d in group
            if d.endpoint.consecutive_failures
        }
        if recovered:
            await (
                WebhookEndpoint.filter(id__in=list(recovered))
                .using_db(conn)
                .update(consecutive_failures=0, updated_at=now)
            )
        for delivery, result, status, retry_in_s in failed:
            held = (
                await WebhookDelivery.filter(_still_claimed(delivery))
                .using_db(conn)
                .update(
                    status=status,
                    next_retry_at=None
                    if retry_in_s is None
                    else now + timedelta(seconds=retry_in_s),
                    claimed_until=None,
                    last_error=result.error,
                    last_response_status=result.status,
                    updated_at=now,
                )
            )
            if (
                held
                and status == DeliveryStatus.FAILED
                and await _count_exhausted(
                    conn, delivery.endpoint_id, now, disable_after=settings.webhook_disable_after
                )
            ):
                deactivated.append(delivery.endpoint_id)
    _log(sent, outcomes, deactivated, disable_after=settings.webhook_disable_after)
    return outcomes


async def _count_exhausted(
    conn: BaseDBAsyncClient, endpoint_id: object, now: datetime, *, disable_after: int
) -> bool:
    """Count one more exhausted delivery; whether that deactivated the endpoint."""
    await (
        WebhookEndpoint.filter(id=endpoint_id)
        .using_db(conn)
        .update(consecutive_failures=F("consecutive_failures") + 1, updated_at=now)
    )
    return bool(
        await WebhookEndpoint.filter(
            id=endpoint_id, is_active=True, consecutive_failures__gte=disable_after
        )
        .using_db(conn)
        .update(is_active=False, updated_at=now)
    )


def _log(
    sent: list[tuple[WebhookDelivery, SendResult]],
    outcomes: list[DeliveryOutcome],
    deactivated: list[object],
    *,
    disable_after: int,
) -> None:
    for (delivery, result), outcome in zip(sent, outcomes, strict=True):
        fields = {
            "delivery_id": str(delivery.id),
            "endpoint_id": str(delivery.endpoint_id),
            "attempt": outcome.attempt,
            "response_status": result.status,
            "duration_ms": result.duration_ms,
        }
        if result.ok:
            log.info("webhook_delivered", **fields)
        else:
            log.warning(
                "webhook_attempt_failed",
                status=outcome.status.value,
                error_class=result.error_class,
                error=result.error,
                retry_in_s=outcome.retry_in_s,
                **fields,
            )
    for endpoint_id in deactivated:
        log.warning(
            "webhook_endpoint_deactivated", endpoint_id=str(endpoint_id), after=disable_after
        )
