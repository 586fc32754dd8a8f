"""Order import and the sync status report (the syncToken is the credential)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncGenerator

from marketsync.errors import NotFoundError, UserInputError
from marketsync.schema.common import UserError
from marketsync.schema.context import Info
from marketsync.schema.store import (
    ImportOrderInput,
    ImportOrderPayload,
    SyncLog,
    SyncStatusReport,
)
from marketsync.services.orders import importing as orders
from marketsync.services.orders.status import StatusReport, status_report
from marketsync.services.stores.registry import get_store_by_token


async def import_order(info: Info, input: ImportOrderInput) -> ImportOrderPayload:
    try:
        result = await orders.import_order(
            rt=info.context.rt, sync_token=input.sync_token, receipt=input.receipt
        )
    except UserInputError as error:
        return ImportOrderPayload(user_errors=[UserError.from_error(error)])
    except NotFoundError as error:
        not_found = UserInputError("NOT_FOUND", str(error), ["input", "syncToken"])
        return ImportOrderPayload(user_errors=[UserError.from_error(not_found)])
    return ImportOrderPayload(sync_log=SyncLog.from_model(result.log), duplicate=result.duplicate)


async def sync_status(info: Info, sync_token: uuid.UUID) -> SyncStatusReport:
    store = await get_store_by_token(sync_token=sync_token)
    report = await status_report(
        store_id=store.id, window=info.context.rt.settings.sync_status_window
    )
    return SyncStatusReport.from_report(report)


async def sync_status_updates(
    info: Info, sync_token: uuid.UUID
) -> AsyncGenerator[SyncStatusReport, None]:
    """First the current report, then one message per change of it."""
    store = await get_store_by_token(sync_token=sync_token)
    async with info.context.hub.subscribe(store.id) as feed:
        last = await feed.current()
        yield report_object(last)
        while True:
            report = await feed.get()
            if report != last:
                last = report
                yield report_object(report)


async def organization_sync_status_updates(
    info: Info, organization_id: str
) -> AsyncGenerator[SyncStatusReport, None]:
    """One message per change of any store of the organization; no initial burst."""
    await info.context.require_organization(organization_id)
    async with info.context.hub.subscribe_organization(organization_id) as queue:
        while True:
            yield report_object(await queue.get())


@functools.lru_cache(maxsize=4096)
def report_object(report: StatusReport) -> SyncStatusReport:
    """One GraphQL object per distinct report, shared by every subscriber it goes to: the
    identity lets the per-event execution be shared too (see ``marketsync.multiplex``)."""
    return SyncStatusReport.from_report(report)
