"""The store sync status rule and the status report, computed from the logs on read.

Computing on read keeps status exact under concurrent writers: there is no stored
copy that two transactions could leave stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from marketsync.models import Store, SyncLog
from marketsync.models.enums import SyncLogStatus, SyncStatus

_BAD = frozenset({SyncLogStatus.FAILED, SyncLogStatus.RATE_LIMITED})


def compute_sync_status(newest_first: Sequence[SyncLogStatus]) -> SyncStatus:
    """The rule over the most recent logs, newest first."""
    if not newest_first:
        return SyncStatus.PENDING
    latest = newest_first[0]
    has_success = SyncLogStatus.SUCCESS in newest_first
    has_bad = any(status in _BAD for status in newest_first)
    if latest == SyncLogStatus.SUCCESS and not has_bad:
        return SyncStatus.SUCCESS
    if has_success and has_bad:
        return SyncStatus.PARTIAL
    if latest == SyncLogStatus.FAILED and not has_success:
        return SyncStatus.FAILED
    return SyncStatus.PARTIAL


@dataclass(frozen=True)
class StatusReport:
    store_id: uuid.UUID
    last_sync_at: datetime | None
    imported_orders: int
    sync_status: SyncStatus
    rate_limited_count: int
    pending_count: int
    failed_count: int


async def store_sync_status(
    *, store_id: uuid.UUID, window: int, conn: BaseDBAsyncClient | None = None
) -> SyncStatus:
    statuses = await (
        SyncLog.filter(store_id=store_id)
        .using_db(conn)
        .order_by("-created_at", "-id")
        .limit(window)
        .values_list("status", flat=True)
    )
    return compute_sync_status([SyncLogStatus(str(s)) for s in statuses])


async def status_report(*, store_id: uuid.UUID, window: int) -> StatusReport:
    """The report from one snapshot: never a log's new status beside the store's old counters.

    PostgreSQL's default isolation gives each statement its own snapshot, so the reads
    share a REPEATABLE READ transaction; SQLite's transaction is a snapshot already.
    """
    async with in_transaction() as conn:
        if conn.schema_generator.DIALECT == "postgres":
            await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        fresh = await (
            Store.filter(id=store_id).using_db(conn).only("id", "last_sync_at", "imported_orders")
        ).get()
        rows = await (
            SyncLog.filter(store_id=store_id)
            .using_db(conn)
            .annotate(n=Count("id"))
            .group_by("status")
            .values("status", "n")
        )
        sync_status = await store_sync_status(store_id=store_id, window=window, conn=conn)
    counts = {row["status"]: row["n"] for row in rows}
    return StatusReport(
        store_id=store_id,
        last_sync_at=fresh.last_sync_at,
        imported_orders=fresh.imported_orders,
        sync_status=sync_status,
        rate_limited_count=counts.get(SyncLogStatus.RATE_LIMITED, 0),
        pending_count=counts.get(SyncLogStatus.PENDING, 0),
        failed_count=counts.get(SyncLogStatus.FAILED, 0),
    )
