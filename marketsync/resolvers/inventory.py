"""Inventory push and the marketplace batch it produced."""

from __future__ import annotations

import uuid

from marketsync.errors import UserInputError
from marketsync.schema.context import Info
from marketsync.schema.inventory import InventoryBatch, PushInventoryInput, PushInventoryPayload
from marketsync.services.inventory import push as inventory
from marketsync.services.inventory.items import InventoryInputError, ItemInput


async def push_inventory(info: Info, input: PushInventoryInput) -> PushInventoryPayload:
    organization = await info.context.organization()
    settings = info.context.rt.settings
    dry_run = bool(input.dry_run)
    items = [
        ItemInput(item.barcode, item.quantity, item.sale_price, item.list_price, item.currency_type)
        for item in input.items
    ]
    try:
        result = await inventory.push_inventory(
            rt=info.context.rt,
            organization_id=organization,
            store_id=input.store_id,
            items=items,
            dry_run=dry_run,
            force=bool(input.force),
            force_write=bool(input.force_write),
        )
    except UserInputError as error:
        errors = error.errors if isinstance(error, InventoryInputError) else [error]
        return PushInventoryPayload.rejected(
            errors,
            dry_run=dry_run,
            original_count=len(items),
            chunk_size=settings.inventory_chunk_size,
            dedup_window_ms=settings.inventory_dedup_window_s * 1000,
        )
    return PushInventoryPayload.from_result(result)


async def inventory_batch(info: Info, store_id: uuid.UUID, batch_request_id: str) -> InventoryBatch:
    organization = await info.context.organization()
    batch = await inventory.get_inventory_batch(
        store_id=store_id, organization_id=organization, batch_request_id=batch_request_id
    )
    return InventoryBatch.from_model(batch)
