"""The scheduler's store scan: its exact choice, and a query count per page, not per store.

Queries are counted from Tortoise's own query log (``tortoise.db_client`` logs every
statement it sends at DEBUG), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from marketsync.models import Job, Store, SyncLog
from marketsync.models.enums import JobStatus, JobType, Marketplace, SyncLogStatus
from marketsync.services.due_work import PAGE, stores_with_due_work
from tests.conftest import Api

PAST = timedelta(minutes=1)


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            self.statements.append(text)


@contextmanager
def counted_queries() -> Iterator[_Counter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # count them; do not print 1,000 statements
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate


async def add_stores(count: int, *, prefix: str, **fields: Any) -> list[uuid.UUID]:
    """``count`` stores created one microsecond apart, in that (created_at, id) order."""
    start = datetime.now(UTC) - timedelta(hours=1)
    stores = [
        Store(
            organization_id="org-due",
            marketplace=Marketplace.ETSY,
            external_store_id=f"{prefix}-{index}",
            store_name="Due",
            access_token_encrypted="not-a-token",
            currency="USD",
            **fields,
        )
        for index in range(count)
    ]
    await Store.bulk_create(stores, batch_size=500)
    for index, store in enumerate(stores):  # auto_now_add: set the scan order explicitly
        store.created_at = start + timedelta(microseconds=index)
    await Store.bulk_update(stores, fields=["created_at"], batch_size=500)
    return [store.id for store in stores]


async def add_log(store_id: uuid.UUID, receipt: str, **fields: Any) -> None:
    values: dict[str, Any] = {
        "status": SyncLogStatus.FAILED,
        "error_details": "transport_error",
        "attempt": 1,
        "next_retry_at": datetime.now(UTC) - PAST,
    }
    values.update(fields)
    await SyncLog.create(store_id=store_id, receipt=receipt, **values)


async def test_a_tick_enqueues_exactly_the_due_unthrottled_idle_stores(api: Api) -> None:
    max_attempts = api.settings.sync_max_attempts
    (
        failed_due,
        pending_never_tried,
        limited_past_max,
        stale_job,
        finished_job,
        throttled,
        fresh_queued,
        fresh_running,
        future_retry,
        exhausted,
        succeeded,
        no_logs,
    ) = await add_stores(12, prefix="sem")
    await add_log(failed_due, "R-1")
    await add_log(
        pending_never_tried, "R-2", status=SyncLogStatus.PENDING, attempt=0, next_retry_at=None
    )
    await add_log(
        limited_past_max, "R-3", status=SyncLogStatus.RATE_LIMITED, attempt=max_attempts + 2
    )
    await add_log(stale_job, "R-4")
    await add_log(finished_job, "R-5")
    await add_log(throttled, "R-6")
    await add_log(fresh_queued, "R-7")
    await add_log(fresh_running, "R-8")
    await add_log(future_retry, "R-9", next_retry_at=datetime.now(UTC) + PAST)
    await add_log(exhausted, "R-10", attempt=max_attempts)
    await add_log(succeeded, "R-11", status=SyncLogStatus.SUCCESS, next_retry_at=None)
    await Store.filter(id=throttled).update(last_sync_at=datetime.now(UTC))
    old = datetime.now(UTC) - timedelta(seconds=api.settings.sync_lock_ttl_s + 60)
    stale = await Job.create(store_id=stale_job, type=JobType.STORE_SYNC, status=JobStatus.QUEUED)
    await Job.filter(id=stale.id).update(created_at=old)
    await Job.create(store_id=finished_job, type=JobType.STORE_SYNC, status=JobStatus.SUCCESS)
    await Job.create(store_id=fresh_queued, type=JobType.STORE_SYNC, status=JobStatus.QUEUED)
    await Job.create(store_id=fresh_running, type=JobType.STORE_SYNC, status=JobStatus.RUNNING)
    await Job.create(store_id=no_logs, type=JobType.INVENTORY_PUSH, status=JobStatus.QUEUED)
    jobs_before = await Job.all().count()

    scanned, due = await stores_with_due_work(rt=api.rt)

    assert scanned == 12
    assert due == [failed_due, pending_never_tried, limited_past_max, stale_job, finished_job]
    assert await Job.all().count() == jobs_before  # the scan itself enqueues nothing


async def tick_queries(api: Api, stores: int) -> tuple[int, int, int]:
    """(stores scanned, stores due, queries) of one scan over ``stores`` due stores."""
    ids = await add_stores(stores, prefix=f"n{stores}")
    await SyncLog.bulk_create(
        [
            SyncLog(
                store_id=store_id,
                receipt=f"R-{index}",
                status=SyncLogStatus.FAILED,
                attempt=1,
                next_retry_at=datetime.now(UTC) - PAST,
            )
            for index, store_id in enumerate(ids)
        ],
        batch_size=500,
    )
    with counted_queries() as counter:
        scanned, due = await stores_with_due_work(rt=api.rt)
    return scanned, len(due), len(counter.statements)


async def test_a_tick_runs_three_queries_per_page_whatever_the_number_of_stores(api: Api) -> None:
    small = await tick_queries(api, 3)
    await SyncLog.all().delete()
    await Store.all().delete()
    large = await tick_queries(api, 2 * PAGE + 7)

    # Per page: the page, its stores with a due log, those with an active sync; and the
    # empty page that ends the scan. Not one query per store.
    assert small == (3, 3, 3 * 1 + 1)
    assert large == (2 * PAGE + 7, 2 * PAGE + 7, 3 * 3 + 1)
