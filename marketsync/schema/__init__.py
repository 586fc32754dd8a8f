"""The GraphQL schema: root types, extensions built once, and the SDL export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from marketsync.resolvers import jobs, orders, stores
from marketsync.schema.context import Info
from marketsync.schema.errors import CodedErrors
from marketsync.schema.scalars import SCALAR_MAP
from marketsync.schema.store import (
    ImportOrderInput,
    ImportOrderPayload,
    Job,
    RegisterStoreInput,
    RegisterStorePayload,
    Store,
    StoreConnection,
    SyncStatusReport,
)

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 4000
# Built once: the rule classes are what costs, the extension wrapping them is cheap.
LIMIT_RULES = [depth_validator(MAX_DEPTH, None), aliases_validator(MAX_ALIASES)]


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
    async def job(self, info: Info, id: uuid.UUID) -> Job:
        return await jobs.job(info, id)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register_store(self, info: Info, input: RegisterStoreInput) -> RegisterStorePayload:
        return await stores.register_store(info, input)

    @strawberry.mutation
    async def import_order(self, info: Info, input: ImportOrderInput) -> ImportOrderPayload:
        return await orders.import_order(info, input)

    @strawberry.mutation(description="enqueue a store sync now")
    async def trigger_sync(self, info: Info, store_id: uuid.UUID) -> Job:
        return await jobs.trigger_sync(info, store_id)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def sync_status(
        self, info: Info, sync_token: uuid.UUID
    ) -> AsyncGenerator[SyncStatusReport, None]:
        async for report in orders.sync_status_updates(info, sync_token):
            yield report


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
    extensions=[
        CodedErrors,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(LIMIT_RULES),
    ],
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
