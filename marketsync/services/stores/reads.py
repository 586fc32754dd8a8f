"""Reads the API pages through: an organization's stores, a store's logs and jobs."""

from __future__ import annotations

import uuid

from marketsync.models import Job, Store, SyncLog
from marketsync.models.enums import JobType, SyncLogStatus
from marketsync.services.pagination import Page, keyset_page


async def stores_page(*, organization_id: str, size: int, after: uuid.UUID | None) -> Page[Store]:
    query = Store.filter(organization_id=organization_id)
    return await keyset_page(query, size=size, after=after, newest_first=False)


async def sync_logs_page(
    *, store_id: uuid.UUID, status: SyncLogStatus | None, size: int, after: uuid.UUID | None
) -> tuple[Page[SyncLog], int]:
    """A page of the store's logs, newest first, and how many match in all."""
    query = SyncLog.filter(store_id=store_id)
    if status is not None:
        query = query.filter(status=status)
    page = await keyset_page(query, size=size, after=after, newest_first=True)
    return page, await query.count()


async def jobs_page(
    *, store_id: uuid.UUID, type: JobType | None, size: int, after: uuid.UUID | None
) -> Page[Job]:
    query = Job.filter(store_id=store_id)
    if type is not None:
        query = query.filter(type=type)
    return await keyset_page(query, size=size, after=after, newest_first=True)


async def last_job(*, store_id: uuid.UUID) -> Job | None:
    return await Job.filter(store_id=store_id).order_by("-id").first()


async def store_row(*, store_id: uuid.UUID) -> Store:
    """The store as stored now (a type built earlier may hold an older copy)."""
    return await Store.get(id=store_id)
