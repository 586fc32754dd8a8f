"""One marketplace attempt for a sync log, and how its outcome is recorded.

Shared by the order import (attempt 1) and the sync engine (retries), so both map
outcomes the same way. A log turning SUCCESS increments the store's importedOrders
in the same transaction, and only if the log was not SUCCESS already.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: SyncLogStatus
    error_details: str | None = None
    result: ValidationResult | None = None
    retry_after_s: float | None = None
    # No call was made: the rate budget allows one in this many seconds.
    deferred_s: float | None = None


async def validate_with_marketplace(
    *,
    rt: Runtime,
    store: Store,
    receipt: str,
    budget_wait_s: float,
    access_token: str | None = None,
) -> Outcome:
    """One validate call, after a token of the store's rate budget (waiting at most
    ``budget_wait_s``); ``access_token`` saves a decrypt when a caller makes many."""
    marketplace, account = store.marketplace.value, store.external_store_id
    wait_s = await rt.budget.acquire_within(marketplace, account, timeout_s=budget_wait_s)
    if wait_s is not None:
        return Outcome(SyncLogStatus.PENDING, "rate_limited", deferred_s=wait_s)
    try:
        with MARKETPLACE_LATENCY.time():
            adapter = rt.marketplace_for(store, access_token)
            result = await adapter.validate_receipt(receipt, store.currency)
    except RateLimitError as exc:
        await rt.budget.drain(marketplace, account, exc.retry_after)
        return Outcome(SyncLogStatus.RATE_LIMITED, exc.error_detail, retry_after_s=exc.retry_after)
    except MarketplaceError as exc:
        logger.warning(
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
    log.updated_at = now
    if outcome.deferred_s is not None:  # no call made: status and attempt stay
        log.error_details = log.error_details or outcome.error_details
        log.next_retry_at = now + timedelta(seconds=outcome.deferred_s)
        return
    log.attempt += 1
    log.status = outcome.status
    log.error_details = outcome.error_details
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
        if conn.capabilities.dialect == "postgres":
            written = await _write_postgres(conn, results, now=now, max_attempts=max_attempts)
        else:
            written = await _write_portable(conn, results, now=now, max_attempts=max_attempts)
        successes = sum(o.status == SyncLogStatus.SUCCESS for _, o in written)
        store_changes: dict[str, Any] = {"last_sync_at": now, "updated_at": now}
        if successes:
            store_changes["imported_orders"] = F("imported_orders") + successes
        await Store.filter(id=store_id).using_db(conn).update(**store_changes)
    return successes


Written = list[tuple[SyncLog, Outcome]]

# One statement for a whole chunk: the rows are locked by the UPDATE itself, and a row
# that turned SUCCESS meanwhile is re-checked after the lock (READ COMMITTED) and left
# alone. Building Tortoise's bulk_update (CASE per column) cost the sync worker about
# 40% of its CPU (py-spy); this is one prepared statement with array parameters.
_UPDATE_CHUNK = """
UPDATE sync_log AS s SET status = v.status, attempt = v.attempt,
  error_details = v.error_details, order_id = v.order_id, amount = v.amount,
  currency = v.currency, imported_at = v.imported_at, next_retry_at = v.next_retry_at,
  updated_at = v.updated_at
FROM unnest($1::uuid[], $2::varchar[], $3::int[], $4::varchar[], $5::varchar[],
  $6::numeric[], $7::varchar[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
  AS v(id, status, attempt, error_details, order_id, amount, currency, imported_at,
       next_retry_at, updated_at)
WHERE s.id = v.id AND s.status <> 'SUCCESS'
RETURNING s.id
"""


async def _write_postgres(
    conn: Any, results: Written, *, now: datetime, max_attempts: int
) -> Written:
    before = [{name: getattr(log, name) for name in _WRITTEN} for log, _ in results]
    for log, outcome in results:
        _apply(log, outcome, now=now, max_attempts=max_attempts)
    logs = [log for log, _ in results]
    columns: list[list[Any]] = [[log.id for log in logs]]
    for name in _WRITTEN:
        values = [getattr(log, name) for log in logs]
        columns.append([v.value for v in values] if name == "status" else values)
    rows = await conn.execute_query_dict(_UPDATE_CHUNK, columns)
    written_ids = {row["id"] for row in rows}
    for (log, _), saved in zip(results, before, strict=True):
        if log.id not in written_ids:  # left as it was, as the portable path leaves it
            for name, value in saved.items():
                setattr(log, name, value)
    return [(log, outcome) for log, outcome in results if log.id in written_ids]


async def _write_portable(
    conn: Any, results: Written, *, now: datetime, max_attempts: int
) -> Written:
    """SQLite (no row locks; one writer at a time): read which are open, then write them."""
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
    return written


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
            .update(**values, attempt=F("attempt") + (0 if outcome.deferred_s else 1))
        )
        became = int(bool(updated) and outcome.status == SyncLogStatus.SUCCESS)
        store_changes: dict[str, Any] = {"last_sync_at": now, "updated_at": now}
        if became:
            store_changes["imported_orders"] = F("imported_orders") + 1
        await Store.filter(id=store_id).using_db(conn).update(**store_changes)
    if not updated:
        log.attempt = previous
    return became
