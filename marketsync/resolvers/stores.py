"""Store registration and reads."""

from __future__ import annotations

import uuid

from marketsync.errors import UserInputError
from marketsync.schema.common import UserError, decode_cursor, page_edges, page_size
from marketsync.schema.context import Info
from marketsync.schema.store import (
    ConnectionState,
    RegisterStoreInput,
    RegisterStorePayload,
    Store,
    StoreConnection,
    StoreEdge,
)
from marketsync.services.stores import connection, reads, registry


async def register_store(info: Info, input: RegisterStoreInput) -> RegisterStorePayload:
    await info.context.require_organization(input.organization_id)
    try:
        result = await registry.register_store(
            secret_box=info.context.rt.vault.store_tokens,
            organization_id=input.organization_id,
            marketplace=input.marketplace,
            external_store_id=input.external_store_id,
            store_name=input.store_name,
            access_token=input.access_token,
            currency=input.currency,
            check_shape=info.context.rt.settings.is_live,
        )
    except UserInputError as error:
        return RegisterStorePayload(user_errors=[UserError.from_error(error)])
    return RegisterStorePayload(
        store_id=result.store.id,
        sync_token=result.store.sync_token,
        store=Store.from_model(result.store),
        created=result.created,
    )


async def store(info: Info, id: uuid.UUID) -> Store:
    organization = await info.context.organization()
    return Store.from_model(await registry.get_store(store_id=id, organization_id=organization))


async def list_stores(
    info: Info, organization_id: str, first: int | None, after: str | None
) -> StoreConnection:
    await info.context.require_organization(organization_id)
    page = await reads.stores_page(
        organization_id=organization_id, size=page_size(first), after=decode_cursor(after)
    )
    edges, page_info = page_edges(page)
    return StoreConnection(
        edges=[StoreEdge(node=Store.from_model(row), cursor=c) for row, c in edges],
        page_info=page_info,
    )


async def test_connection(info: Info, store_id: uuid.UUID) -> ConnectionState:
    organization = await info.context.organization()
    store = await connection.test_connection(
        rt=info.context.rt, store_id=store_id, organization_id=organization
    )
    return ConnectionState.from_model(store)
