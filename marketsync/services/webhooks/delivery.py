"""Delivering webhooks: claim, sign, POST, record, decide what comes next.

A doorbell (``deliver_webhook(delivery_id)``) runs ``deliver_due``: it claims the
oldest due deliveries, up to a batch, sends them concurrently and records every
outcome in one transaction (``recording.py``). Its own delivery is among them unless
it is already done, in flight or not due, or older due ones fill the batch (then a later doorbell, a
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
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from marketsync.errors import UnreadableSecretError
from marketsync.messages import Actor
from marketsync.models import WebhookDelivery
from marketsync.models.enums import DeliveryStatus
from marketsync.runtime import Runtime
from marketsync.services.pagination import after_key
from marketsync.services.webhooks.recording import DeliveryOutcome, record_outcomes
from marketsync.webhooks.sender import SendResult, send_webhook
from marketsync.webhooks.signing import signature_headers

log = structlog.get_logger(__name__)

BATCH_SIZE = 50
CLAIM_MARGIN_S = 30.0
WIRE_ORDER = ("eventId", "event", "timestamp", "organizationId", "storeId", "data")
SWEEP_PAGE = 500
SWEEP_MAX_RINGS = 5000


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


async def deliver_due(*, rt: Runtime, limit: int = BATCH_SIZE) -> list[DeliveryOutcome]:
    """Claim the oldest due deliveries (up to ``limit``), send them concurrently and
    record the outcomes; one outcome per attempt made."""
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=rt.settings.webhook_timeout_s + CLAIM_MARGIN_S)
    claimed = await _claim(now=now, lease=lease, limit=limit)
    if not claimed:
        return []
    results = await asyncio.gather(*(_send(rt, delivery) for delivery in claimed))
    return await record_outcomes(rt, list(zip(claimed, results, strict=True)))


def _claimable(now: datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.filter(_due(now), endpoint__is_active=True)


async def _claim(*, now: datetime, lease: datetime, limit: int) -> list[WebhookDelivery]:
    """Claimed deliveries with their endpoint and event, ``attempt`` already counted.

    A light probe first, outside any transaction: most doorbells of a backlog find
    their delivery done by an earlier batch, and then cost one small query. Concurrent
    claimers then take disjoint batches (SKIP LOCKED on PostgreSQL; one transaction at
    a time on SQLite).
    """
    claimable = _claimable(now)
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
                await rt.dispatcher.send(Actor.DELIVER_WEBHOOK, str(delivery_id))
                rung += 1
    return rung
