"""Delivering webhooks: claim, sign, POST, record, decide what comes next.

A doorbell (``deliver_webhook(delivery_id)``) runs ``deliver_due``: it claims the
oldest due deliveries, up to a batch, sends them concurrently and records every
outcome in one transaction. Its own delivery is among them unless it is already done,
in flight or not due, or older due ones fill the batch (then a later doorbell, a
delayed one or the sweep takes it: every due delivery has one). Batching is what lets
one worker keep up with a backlog: a handful of statements per batch instead of per
delivery, and a doorbell whose delivery an earlier batch took costs one small query.
Idempotence and exclusivity:

* only PENDING deliveries that are due (``next_retry_at`` null or past), unclaimed (or
  whose lease expired) and whose endpoint is active are claimed, so a finished one, a
  retry that is not due yet and a delivery of a deactivated endpoint are left alone
  (the last resumes when its endpoint is registered again);
* the claim is ``SELECT … FOR UPDATE SKIP LOCKED`` and an UPDATE in one transaction on
  PostgreSQL, so two workers never claim one row; SQLite transactions hold the one
  connection exclusively (and SQLite means the single-process mode);
* the claim sets a lease (timeout plus a margin: a worker that dies mid-send only
  delays the delivery) and moves the attempt counter, so a delivery that kills its
  worker still uses up its schedule instead of looping forever;
* an outcome is written only while the claim still holds (same attempt, still claimed:
  a redelivery revokes the claim), but the attempt row is written in every case.

``ring_due_deliveries`` is the scheduler's sweep: the doorbell for every due delivery,
so a lost message delays a delivery but never loses it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from marketsync.errors import UnreadableSecretError
from marketsync.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from marketsync.models.enums import DeliveryStatus
from marketsync.runtime import Runtime
from marketsync.services.pagination import after_key
from marketsync.services.retry import webhook_retry
from marketsync.services.webhooks.outbox import DELIVER_ACTOR
from marketsync.webhooks.sender import SendResult, send_webhook
from marketsync.webhooks.signing import signature_headers

log = structlog.get_logger(__name__)

BATCH_SIZE = 50
CLAIM_MARGIN_S = 30.0
# Retries due sooner than this get a delayed doorbell; later ones wait for the sweep,
# so a broker never holds hours of delayed messages.
MAX_DOORBELL_DELAY_S = 900.0
WIRE_ORDER = ("eventId", "event", "timestamp", "organizationId", "storeId", "data")
SWEEP_PAGE = 500
SWEEP_MAX_RINGS = 5000


@dataclass(frozen=True)
class DeliveryOutcome:
    """One attempt made by ``deliver_due``."""

    delivery_id: uuid.UUID
    status: DeliveryStatus
    attempt: int
    response_status: int | None
    retry_in_s: float | None = None  # a retry is scheduled this far ahead
    ring_again_in_s: float | None = None  # ring a delayed doorbell this far ahead


def wire_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent: compact UTF-8 JSON, keys in the contract's order.

    PostgreSQL's jsonb does not keep key order, so the order is restored here.
    """
    ordered = {key: payload[key] for key in WIRE_ORDER if key in payload}
    ordered.update((key, value) for key, value in payload.items() if key not in ordered)
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()


def _due(now: datetime) -> Q:
    return (
        Q(status=DeliveryStatus.PENDING)
        & (Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )


async def deliver(*, rt: Runtime, delivery_id: uuid.UUID) -> DeliveryOutcome | None:
    """Deliver this one delivery if it is due; ``None`` when it was not claimed."""
    outcomes = await _deliver(rt, only=delivery_id, limit=1)
    return outcomes[0] if outcomes else None


async def deliver_due(*, rt: Runtime, limit: int = BATCH_SIZE) -> list[DeliveryOutcome]:
    """Claim the oldest due deliveries (up to ``limit``), send them concurrently and
    record the outcomes; one outcome per attempt made."""
    return await _deliver(rt, only=None, limit=limit)


async def _deliver(rt: Runtime, *, only: uuid.UUID | None, limit: int) -> list[DeliveryOutcome]:
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=rt.settings.webhook_timeout_s + CLAIM_MARGIN_S)
    claimed = await _claim(now=now, lease=lease, only=only, limit=limit)
    if not claimed:
        return []
    results = await asyncio.gather(*(_send(rt, delivery) for delivery in claimed))
    return await _record(rt, list(zip(claimed, results, strict=True)))


def _claimable(now: datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.filter(_due(now), endpoint__is_active=True)


async def _claim(
    *, now: datetime, lease: datetime, only: uuid.UUID | None, limit: int
) -> list[WebhookDelivery]:
    """Claimed deliveries with their endpoint and event, ``attempt`` already counted.

    A light probe first, outside any transaction: most doorbells of a backlog find
    their delivery done by an earlier batch, and then cost one small query. Concurrent
    claimers then take disjoint batches (SKIP LOCKED on PostgreSQL; one transaction at
    a time on SQLite).
    """
    claimable = _claimable(now) if only is None else _claimable(now).filter(id=only)
    if not await claimable.exists():
        return []
    async with in_transaction() as conn:
        rows: list[WebhookDelivery] = await (
            claimable.order_by("id")
            .limit(limit)
            .select_related("endpoint", "event_record")
            .select_for_update(skip_locked=True, of=("webhook_delivery",))
            .using_db(conn)
        )
        if not rows:
            return []
        await (
            WebhookDelivery.filter(id__in=[row.id for row in rows])
            .using_db(conn)
            .update(claimed_until=lease, attempt=F("attempt") + 1, updated_at=now)
        )
    for row in rows:
        row.attempt += 1
    return rows


async def _send(rt: Runtime, delivery: WebhookDelivery) -> SendResult:
    endpoint = delivery.endpoint
    try:
        secret = rt.vault.webhook_secrets.decrypt(endpoint.secret_encrypted)
    except UnreadableSecretError:
        # SECRET_KEY changed since registration: nothing we could sign would verify.
        log.error("webhook_secret_unreadable", endpoint_id=str(endpoint.id))
        return SendResult(
            status=None,
            ok=False,
            duration_ms=0,
            error_class="InvalidSecret",
            error="the endpoint's signing secret cannot be decrypted with SECRET_KEY",
        )
    body = wire_body(delivery.event_record.payload)
    headers = signature_headers(
        secret=secret,
        event_id=str(delivery.event_record_id),
        timestamp=int(time.time()),
        body=body,
    )
    return await send_webhook(
        rt.webhook_http,
        url=endpoint.target_url,
        body=body,
        headers=headers,
        timeout_s=rt.settings.webhook_timeout_s,
        allow_private=rt.settings.allow_private_targets,
    )


def _still_claimed(delivery: WebhookDelivery) -> Q:
    return Q(
        id=delivery.id,
        status=DeliveryStatus.PENDING,
        attempt=delivery.attempt,
        claimed_until__isnull=False,
    )


async def _record(
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


async def ring_due_deliveries(*, rt: Runtime, max_rings: int = SWEEP_MAX_RINGS) -> int:
    """Ring the doorbell of every due delivery of an active endpoint; the number rung.

    A Redis marker per delivery keeps one sweep after another from piling up messages
    for a delivery whose doorbell is still queued (a backlog, a worker that is down):
    each delivery is rung at most once per two scheduler intervals.
    """
    now = datetime.now(UTC)
    marker_ttl = max(1, int(2 * rt.settings.scheduler_interval_s))
    rung = 0
    last: uuid.UUID | None = None
    while rung < max_rings:
        query = WebhookDelivery.filter(_due(now), endpoint__is_active=True)
        if last is not None:
            query = query.filter(after_key(("id",), (last,)))
        rows = await query.order_by("id").limit(SWEEP_PAGE).values_list("id", flat=True)
        ids = cast(list[uuid.UUID], rows)
        if not ids:
            break
        last = ids[-1]
        for delivery_id in ids:
            if rung >= max_rings:
                break
            marker = f"marketsync:doorbell:delivery:{delivery_id}"
            if await rt.redis.set(marker, "1", nx=True, ex=marker_ttl):
                await rt.dispatcher.send(DELIVER_ACTOR, str(delivery_id))
                rung += 1
    return rung
