"""The root operations (Query, Mutation, Subscription), each field a thin call into a
resolver, and the Schema object built from them (its configuration: ``schema/build.py``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry

from marketsync.models.enums import DeliveryStatus
from marketsync.resolvers import inventory, jobs, orders, stores, viewer, webhooks
from marketsync.schema.build import build_schema
from marketsync.schema.context import Info
from marketsync.schema.inventory import InventoryBatch, PushInventoryInput, PushInventoryPayload
from marketsync.schema.store import (
    ConnectionState,
    ImportOrderInput,
    ImportOrderPayload,
    Job,
    RegisterStoreInput,
    RegisterStorePayload,
    Store,
    StoreConnection,
    SyncStatusReport,
)
from marketsync.schema.viewer import Viewer
from marketsync.schema.webhook import (
    RegisterWebhookInput,
    RegisterWebhookPayload,
    WebhookDelivery,
    WebhookDeliveryConnection,
    WebhookEndpoint,
)


@strawberry.type
class Query:
    @strawberry.field
    async def sync_status(self, info: Info, sync_token: uuid.UUID) -> SyncStatusReport:
        return await orders.sync_status(info, sync_token)

    @strawberry.field
    async def store(self, info: Info, id: uuid.UUID) -> Store:
        return await stores.store(info, id)

    @strawberry.field
    async def stores(
        self, info: Info, organization_id: str, first: int | None = 20, after: str | None = None
    ) -> StoreConnection:
        return await stores.list_stores(info, organization_id, first, after)

    @strawberry.field
    async def viewer(self, info: Info) -> Viewer:
        return await viewer.viewer(info)

    @strawberry.field
    async def job(self, info: Info, id: uuid.UUID) -> Job:
        return await jobs.job(info, id)

    @strawberry.field
    async def inventory_batch(
        self, info: Info, store_id: uuid.UUID, batch_request_id: str
    ) -> InventoryBatch:
        return await inventory.inventory_batch(info, store_id, batch_request_id)

    @strawberry.field
    async def webhooks(self, info: Info, organization_id: str) -> list[WebhookEndpoint]:
        return await webhooks.list_webhooks(info, organization_id)

    @strawberry.field
    async def webhook_deliveries(
        self,
        info: Info,
        organization_id: str,
        status: DeliveryStatus | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        return await webhooks.list_deliveries(info, organization_id, status, first, after)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register_store(self, info: Info, input: RegisterStoreInput) -> RegisterStorePayload:
        return await stores.register_store(info, input)

    @strawberry.mutation
    async def import_order(self, info: Info, input: ImportOrderInput) -> ImportOrderPayload:
        return await orders.import_order(info, input)

    @strawberry.mutation
    async def push_inventory(self, info: Info, input: PushInventoryInput) -> PushInventoryPayload:
        return await inventory.push_inventory(info, input)

    @strawberry.mutation
    async def trigger_sync(self, info: Info, store_id: uuid.UUID) -> Job:
        return await jobs.trigger_sync(info, store_id)

    @strawberry.mutation
    async def register_webhook(
        self, info: Info, input: RegisterWebhookInput
    ) -> RegisterWebhookPayload:
        return await webhooks.register_webhook(info, input)

    @strawberry.mutation
    async def test_connection(self, info: Info, store_id: uuid.UUID) -> ConnectionState:
        return await stores.test_connection(info, store_id)

    @strawberry.mutation
    async def redeliver_webhook(self, info: Info, delivery_id: uuid.UUID) -> WebhookDelivery:
        return await webhooks.redeliver_webhook(info, delivery_id)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def sync_status(
        self, info: Info, sync_token: uuid.UUID
    ) -> AsyncGenerator[SyncStatusReport, None]:
        async for report in orders.sync_status_updates(info, sync_token):
            yield report

    @strawberry.subscription
    async def organization_sync_status(
        self, info: Info, organization_id: str
    ) -> AsyncGenerator[SyncStatusReport, None]:
        async for report in orders.organization_sync_status_updates(info, organization_id):
            yield report


schema = build_schema(
    query=Query, mutation=Mutation, subscription=Subscription, shared_events=(SyncStatusReport,)
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
