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
from marketsync.services.backoff import next_retry_at

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: SyncLogStatus
    error_details: str | None = None
    result: ValidationResult | None = None
    retry_after_s: float | None = None


async def validate_with_marketplace(*, rt: Runtime, store: Store, receipt: str) -> Outcome:
    try:
        with MARKETPLACE_LATENCY.time():
            result = await rt.marketplace.validate_receipt(
                marketplace=store.marketplace.value,
                access_token=rt.secrets.decrypt(store.access_token_encrypted),
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


async def record_outcome(
    *, log: SyncLog, store_id: uuid.UUID, outcome: Outcome, max_attempts: int
) -> bool:
    """Write the outcome of the log's next attempt, in the DB and on ``log``.

    True if the log became SUCCESS. The log and the store (lastSyncAt, importedOrders)
    change in one transaction, so no reader ever sees one without the other.
    """
    now = datetime.now(UTC)
    attempt = log.attempt + 1
    changes: dict[str, Any] = {
        "status": outcome.status,
        "error_details": outcome.error_details,
        "updated_at": now,
    }
    if outcome.status == SyncLogStatus.SUCCESS:
        assert outcome.result is not None
        changes |= {
            "order_id": outcome.result.order_id,
            "amount": outcome.result.amount,
            "currency": outcome.result.currency,
            "imported_at": outcome.result.imported_at or now,
            "next_retry_at": None,
        }
    elif outcome.status == SyncLogStatus.RATE_LIMITED or attempt < max_attempts:
        changes["next_retry_at"] = next_retry_at(
            now=now, attempt=attempt, retry_after_s=outcome.retry_after_s
        )
    else:
        changes["next_retry_at"] = None
    pending = SyncLog.filter(id=log.id).exclude(status=SyncLogStatus.SUCCESS)
    store_changes: dict[str, Any] = {"last_sync_at": now, "updated_at": now}
    async with in_transaction() as conn:
        updated = await pending.using_db(conn).update(**changes, attempt=F("attempt") + 1)
        if updated and outcome.status == SyncLogStatus.SUCCESS:
            store_changes["imported_orders"] = F("imported_orders") + 1
        await Store.filter(id=store_id).using_db(conn).update(**store_changes)
    if updated:
        for name, value in changes.items():
            setattr(log, name, value)
        log.attempt = attempt
    return bool(updated) and outcome.status == SyncLogStatus.SUCCESS
