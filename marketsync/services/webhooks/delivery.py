"""Delivering webhooks: claim, sign, POST, record, decide what comes next.

A doorbell (``deliver_webhook(delivery_id)``, one per commit) runs ``answer_doorbell``:
batch after batch (``deliver_due``), it claims the oldest due deliveries, sends them
concurrently and records every outcome in one transaction (``recording.py``), the
recording of one batch overlapping the claim and sends of the next. It goes on while
batches come back full, up to ``MAX_BATCHES_PER_DOORBELL``, then rings itself again
rather than hold a worker thread for ever. Its own deliveries are among those it
takes unless another doorbell took them first (every due delivery has a doorbell: its
commit's, a delayed one for a retry, or the sweep's). Batching is what lets one worker
keep up with a backlog: a handful of statements per batch instead of per delivery, one
secret decryption per endpoint per batch, and a doorbell whose deliveries an earlier
batch took costs one small query.
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
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from marketsync.errors import UnreadableSecretError
from marketsync.messages import Actor
from marketsync.models import WebhookDelivery, WebhookEndpoint
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
MAX_BATCHES_PER_DOORBELL = 20
SWEEP_PAGE = 500
SWEEP_MAX_RINGS = 5000
# Delayed doorbells for retries are rounded up to this step and sent once per step:
# one message for every retry due at the same moment (schedules and Retry-After are
# whole seconds), and never one that arrives before its retry is due.
DOORBELL_DELAY_STEP_S = 0.1

Sent = list[tuple[WebhookDelivery, SendResult]]


@dataclass(frozen=True)
class Drained:
    """What one doorbell did: every attempt made, and whether due work may remain."""

    outcomes: list[DeliveryOutcome]
    more: bool


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
    sent = await _claim_and_send(rt, limit=limit)
    return await record_outcomes(rt, sent) if sent else []


async def drain_due(
    *, rt: Runtime, limit: int = BATCH_SIZE, max_batches: int = MAX_BATCHES_PER_DOORBELL
) -> Drained:
    """``deliver_due`` batch after batch while batches come back full (at most
    ``max_batches``); ``more`` when the last one was full, so due work may remain.

    Recording a batch runs while the next one is claimed and sent: the two touch
    disjoint rows (a claimed delivery is not claimable), and at most one recording is
    in flight, so every outcome is written before this returns.
    """
    outcomes: list[DeliveryOutcome] = []
    recording: asyncio.Task[list[DeliveryOutcome]] | None = None
    more = False
    try:
        for _ in range(max_batches):
            sent = await _claim_and_send(rt, limit=limit)
            if recording is not None:
                outcomes.extend(await recording)
                recording = None
            if not sent:
                more = False
                break
            recording = asyncio.create_task(record_outcomes(rt, sent))
            more = len(sent) >= limit
            if not more:
                break
    finally:
        if recording is not None:
            outcomes.extend(await recording)
    return Drained(outcomes, more)


async def answer_doorbell(*, rt: Runtime, delivery_id: str) -> Drained:
    """What a ``deliver_webhook`` message does: drain the due deliveries, ring delayed
    doorbells for the retries that are due soon (one per moment), and ring again at
    once if the drain stopped at its bound with work left."""
    drained = await drain_due(rt=rt)
    delays = {
        math.ceil(outcome.ring_again_in_s / DOORBELL_DELAY_STEP_S) * DOORBELL_DELAY_STEP_S
        for outcome in drained.outcomes
        if outcome.ring_again_in_s is not None
    }
    for delay_s in sorted(delays):
        # If this one is lost, the sweep rings.
        await rt.dispatcher.send_delayed(Actor.DELIVER_WEBHOOK, delivery_id, delay_s=delay_s)
    if drained.more:
        await rt.dispatcher.send(Actor.DELIVER_WEBHOOK, delivery_id)
    return drained


async def _claim_and_send(rt: Runtime, *, limit: int) -> Sent:
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=rt.settings.webhook_timeout_s + CLAIM_MARGIN_S)
    claimed = await _claim(now=now, lease=lease, limit=limit)
    if not claimed:
        return []
    secrets: dict[object, str | None] = {}
    for delivery in claimed:
        if delivery.endpoint_id not in secrets:
            secrets[delivery.endpoint_id] = _secret(rt, delivery.endpoint)
    results = await asyncio.gather(*(_send(rt, d, secrets[d.endpoint_id]) for d in claimed))
    return list(zip(claimed, results, strict=True))


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


def _secret(rt: Runtime, endpoint: WebhookEndpoint) -> str | None:
    try:
        return rt.vault.webhook_secrets.decrypt(endpoint.secret_encrypted)
    except UnreadableSecretError:
        # SECRET_KEY changed since registration: nothing we could sign would verify.
        log.error("webhook_secret_unreadable", endpoint_id=str(endpoint.id))
        return None


async def _send(rt: Runtime, delivery: WebhookDelivery, secret: str | None) -> SendResult:
    endpoint = delivery.endpoint
    if secret is None:
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
