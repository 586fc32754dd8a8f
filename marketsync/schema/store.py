"""Store, its sync logs, jobs and connection state."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import cast

import strawberry
from strawberry.scalars import JSON

from marketsync import models
from marketsync.schema.common import (
    JobStatus,
    JobType,
    Marketplace,
    PageInfo,
    SyncLogStatus,
    SyncStatus,
    UserError,
    decode_cursor,
    page_edges,
    page_size,
)
from marketsync.schema.context import Info
from marketsync.services.orders.status import StatusReport, store_sync_status
from marketsync.services.stores import reads


@strawberry.type
class SyncLog:
    id: uuid.UUID
    receipt: str
    status: SyncLogStatus
    order_id: str | None
    amount: Decimal | None
    currency: str | None
    error_details: str | None
    attempt: int
    next_retry_at: dt.datetime | None
    imported_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, log: models.SyncLog) -> SyncLog:
        return cls(
            id=log.id,
            receipt=log.receipt,
            status=log.status,
            order_id=log.order_id,
            amount=log.amount,
            currency=log.currency,
            error_details=log.error_details,
            attempt=log.attempt,
            next_retry_at=log.next_retry_at,
            imported_at=log.imported_at,
            created_at=log.created_at,
            updated_at=log.updated_at,
        )


@strawberry.type
class SyncLogEdge:
    node: SyncLog
    cursor: str


@strawberry.type
class SyncLogConnection:
    edges: list[SyncLogEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class Job:
    id: uuid.UUID
    store_id: uuid.UUID
    type: JobType
    status: JobStatus
    attempts: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    summary: JSON | None
    error: str | None
    created_at: dt.datetime

    @classmethod
    def from_model(cls, job: models.Job) -> Job:
        return cls(
            id=job.id,
            store_id=job.store_id,  # type: ignore[arg-type]
            type=job.type,
            status=job.status,
            attempts=job.attempts,
            started_at=job.started_at,
            finished_at=job.finished_at,
            summary=cast(JSON | None, job.summary),
            error=job.error,
            created_at=job.created_at,
        )


@strawberry.type
class JobEdge:
    node: Job
    cursor: str


@strawberry.type
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo


@strawberry.type
class ConnectionState:
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_status: str
    last_job_id: uuid.UUID | None
    last_error: str | None
    updated_at: dt.datetime | None

    @classmethod
    def from_model(cls, store: models.Store) -> ConnectionState:
        return cls(
            last_attempt_at=store.conn_last_attempt_at,
            last_success_at=store.conn_last_success_at,
            last_status=store.conn_last_status.value,
            last_job_id=store.conn_last_job_id,
            last_error=store.conn_last_error,
            updated_at=store.conn_updated_at,
        )


@strawberry.type
class Store:
    id: uuid.UUID
    organization_id: str
    marketplace: Marketplace
    external_store_id: str
    store_name: str
    currency: str
    last_sync_at: dt.datetime | None
    imported_orders: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, store: models.Store) -> Store:
        return cls(
            id=store.id,
            organization_id=store.organization_id,
            marketplace=store.marketplace,
            external_store_id=store.external_store_id,
            store_name=store.store_name,
            currency=store.currency,
            last_sync_at=store.last_sync_at,
            imported_orders=store.imported_orders,
            created_at=store.created_at,
            updated_at=store.updated_at,
        )

    @strawberry.field
    async def sync_status(self, info: Info) -> SyncStatus:
        return await store_sync_status(
            store_id=self.id, window=info.context.rt.settings.sync_status_window
        )

    @strawberry.field
    async def sync_logs(
        self,
        status: SyncLogStatus | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> SyncLogConnection:
        page, total = await reads.sync_logs_page(
            store_id=self.id, status=status, size=page_size(first), after=decode_cursor(after)
        )
        edges, page_info = page_edges(page)
        return SyncLogConnection(
            edges=[SyncLogEdge(node=SyncLog.from_model(row), cursor=c) for row, c in edges],
            page_info=page_info,
            total_count=total,
        )

    @strawberry.field
    async def jobs(
        self, type: JobType | None = None, first: int | None = 20, after: str | None = None
    ) -> JobConnection:
        page = await reads.jobs_page(
            store_id=self.id, type=type, size=page_size(first), after=decode_cursor(after)
        )
        edges, page_info = page_edges(page)
        return JobConnection(
            edges=[JobEdge(node=Job.from_model(row), cursor=c) for row, c in edges],
            page_info=page_info,
        )

    @strawberry.field
    async def last_job(self) -> Job | None:
        job = await reads.last_job(store_id=self.id)
        return Job.from_model(job) if job else None

    @strawberry.field
    async def connection_state(self) -> ConnectionState:
        return ConnectionState.from_model(await reads.store_row(store_id=self.id))


@strawberry.type
class StoreEdge:
    node: Store
    cursor: str


@strawberry.type
class StoreConnection:
    edges: list[StoreEdge]
    page_info: PageInfo


@strawberry.type
class SyncStatusReport:
    store_id: uuid.UUID
    last_sync_at: dt.datetime | None
    imported_orders: int
    sync_status: SyncStatus
    rate_limited_count: int
    pending_count: int
    failed_count: int

    @classmethod
    def from_report(cls, report: StatusReport) -> SyncStatusReport:
        return cls(
            store_id=report.store_id,
            last_sync_at=report.last_sync_at,
            imported_orders=report.imported_orders,
            sync_status=report.sync_status,
            rate_limited_count=report.rate_limited_count,
            pending_count=report.pending_count,
            failed_count=report.failed_count,
        )


@strawberry.input
class RegisterStoreInput:
    organization_id: str
    marketplace: Marketplace
    external_store_id: str
    store_name: str
    access_token: str
    currency: str


@strawberry.type
class RegisterStorePayload:
    store_id: uuid.UUID | None = None
    sync_token: uuid.UUID | None = None
    store: Store | None = None
    created: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ImportOrderInput:
    sync_token: uuid.UUID
    receipt: str


@strawberry.type
class ImportOrderPayload:
    sync_log: SyncLog | None = None
    duplicate: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)
