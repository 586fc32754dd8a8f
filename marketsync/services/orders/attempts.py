"""One marketplace attempt for a sync log, and how its outcome is recorded.

Shared by the order import (attempt 1) and the sync engine (retries), so both map
outcomes the same way. A log turning SUCCESS increments the store's importedOrders
in the same transaction, and only if the log was not SUCCESS already.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from marketsync.errors import MarketplaceError, RateLimitError
from marketsync.marketplaces.client import ValidationResult
from marketsync.metrics import MARKETPLACE_LATENCY
from marketsync.models import Store, SyncLog
from marketsync.models.enums import SyncLogStatus
from marketsync.runtime import Runtime
from marketsync.services.retry import sync_log_next_retry_at

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: SyncLogStatus
    error_details: str | None = None
    result: ValidationResult | None = None
    retry_after_s: float | None = None


async def validate_with_marketplace(
    *, rt: Runtime, store: Store, receipt: str, access_token: str | None = None
) -> Outcome:
    """One validate call; ``access_token`` saves a decrypt when a caller makes many."""
    try:
        with MARKETPLACE_LATENCY.time():
            result = await rt.marketplace.validate_receipt(
                marketplace=store.marketplace.value,
                access_token=access_token
                or rt.vault.store_tokens.decrypt(store.access_token_encrypted),
                receipt=receipt,
                currency=store.currency,
            )
    except RateLimitError as exc:
        return Outcome(SyncLogStatus.RATE_LIMITED, exc.error_detail, retry_after_s=exc.retry_after)
    except MarketplaceError as exc:
        log.warning(
            "marketplace_call_failed",
            store_id=str(store.id),
            error=type(exc).__name__,
            error_details=exc.error_detail,
        )
        return Outcome(SyncLogStatus.FAILED, exc.error_detail)
    if result.valid:
        return Outcome(SyncLogStatus.SUCCESS, result=result)
    return Outcome(SyncLogStatus.FAILED, "invalid_receipt")


def _apply(log: SyncLog, outcome: Outcome, *, now: datetime, max_attempts: int) -> None:
    """The log as the attempt leaves it (in memory)."""
    log.attempt += 1
    log.status = outcome.status
    log.error_details = outcome.error_details
    log.updated_at = now
    if outcome.status == SyncLogStatus.SUCCESS:
        assert outcome.result is not None
        log.order_id = outcome.result.order_id
        log.amount = outcome.result.amount
        log.currency = outcome.result.currency
        log.imported_at = outcome.result.imported_at or now
        log.next_retry_at = None
    elif outcome.status == SyncLogStatus.RATE_LIMITED or log.attempt < max_attempts:
        log.next_retry_at = sync_log_next_retry_at(
            now=now, attempt=log.attempt, retry_after_s=outcome.retry_after_s
        )
    else:
        log.next_retry_at = None


_WRITTEN = [
    "status",
    "attempt",
    "error_details",
    "order_id",
    "amount",
    "currency",
    "imported_at",
    "next_retry_at",
    "updated_at",
]


async def record_outcomes(
    *, store_id: uuid.UUID, results: list[tuple[SyncLog, Outcome]], max_attempts: int
) -> int:
    """Write attempts' outcomes for logs of one store in one transaction.

    Logs that are SUCCESS in the database already are left alone, so a log is counted
    in importedOrders once at most, whoever else touched it. Returns how many logs
    became SUCCESS. The store's lastSyncAt and importedOrders change in the same
    transaction, so no reader sees one without the other.
    """
    now = datetime.now(UTC)
    if len(results) == 1:
        return await _record_one(store_id, *results[0], now=now, max_attempts=max_attempts)
    async with in_transaction() as conn:
        open_ids = set(
            await SyncLog.filter(id__in=[log.id for log, _ in results])
            .exclude(status=SyncLogStatus.SUCCESS)
            .select_for_update()
            .using_db(conn)
            .values_list("id", flat=True)
        )
        written = [(log, outcome) for log, outcome in results if log.id in open_ids]
        for log, outcome in written:
            _apply(log, outcome, now=now, max_attempts=max_attempts)
        if written:
            await SyncLog.bulk_update([log for log, _ in written], fields=_WRITTEN, using_db=conn)
        successes = sum(o.status == SyncLogStatus.SUCCESS for _, o in written)
        store_changes: dict[str, Any] = {"last_sync_at": now, "updated_at": now}
        if successes:
            store_changes["imported_orders"] = F("imported_orders") + successes
        await Store.filter(id=store_id).using_db(conn).update(**store_changes)
    return successes


async def _record_one(
    store_id: uuid.UUID, log: SyncLog, outcome: Outcome, *, now: datetime, max_attempts: int
) -> int:
    """One log (the import's hot path): a conditional UPDATE instead of lock-then-bulk."""
    previous = log.attempt
    _apply(log, outcome, now=now, max_attempts=max_attempts)
    values = {name: getattr(log, name) for name in _WRITTEN if name != "attempt"}
    async with in_transaction() as conn:
        updated = await (
            SyncLog.filter(id=log.id)
            .exclude(status=SyncLogStatus.SUCCESS)
            .using_db(conn)
            .update(**values, attempt=F("attempt") + 1)
        )
        became = int(bool(updated) and outcome.status == SyncLogStatus.SUCCESS)
        store_changes: dict[str, Any] = {"last_sync_at": now, "updated_at": now}
        if became:
            store_changes["imported_orders"] = F("imported_orders") + 1
        await Store.filter(id=store_id).using_db(conn).update(**store_changes)
    if not updated:
        log.attempt = previous
    return became
