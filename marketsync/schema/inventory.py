"""Inventory push: inputs, the plan's payload, chunks and the marketplace batch."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import strawberry

from marketsync import models
from marketsync.errors import UserInputError
from marketsync.models.enums import InventoryItemStatus  # registered by schema.common
from marketsync.schema.common import UserError
from marketsync.services.inventory.push import ChunkOutcome, PushResult


@strawberry.input
class InventoryItemInput:
    barcode: str
    quantity: int
    sale_price: Decimal
    list_price: Decimal
    currency_type: str | None = "TRY"


@strawberry.input
class PushInventoryInput:
    store_id: uuid.UUID
    items: list[InventoryItemInput]
    dry_run: bool | None = False
    force: bool | None = strawberry.field(
        default=False, description="send items even when they equal the confirmed state"
    )
    force_write: bool | None = strawberry.field(
        default=False, description="write although writes are disabled, where the server allows it"
    )


@strawberry.type
class InventoryChunk:
    chunk_index: int = strawberry.field(description="0-based")
    item_count: int
    body_hash: str = strawberry.field(description="sha256 hex of the chunk's canonical JSON body")
    dedup: bool = strawberry.field(
        description="true: the same body was sent within the dedup window"
    )
    job_id: uuid.UUID = strawberry.field(
        description="the chunk's job (dry runs have jobs too); on dedup, the earlier job's id"
    )

    @classmethod
    def from_outcome(cls, outcome: ChunkOutcome) -> InventoryChunk:
        return cls(
            chunk_index=outcome.chunk_index,
            item_count=outcome.item_count,
            body_hash=outcome.body_hash,
            dedup=outcome.dedup,
            job_id=outcome.job_id,
        )


@strawberry.type
class PushInventoryPayload:
    dry_run: bool
    write_effective: bool
    original_count: int
    coalesced_count: int
    changed_count: int
    skipped_count: int
    chunk_size: int
    chunk_count: int
    enqueued_count: int
    dedup_count: int
    dedup_window_ms: int
    chunks: list[InventoryChunk]
    user_errors: list[UserError]

    @classmethod
    def from_result(cls, result: PushResult) -> PushInventoryPayload:
        return cls(
            dry_run=result.dry_run,
            write_effective=result.write_effective,
            original_count=result.original_count,
            coalesced_count=result.coalesced_count,
            changed_count=result.changed_count,
            skipped_count=result.skipped_count,
            chunk_size=result.chunk_size,
            chunk_count=result.chunk_count,
            enqueued_count=result.enqueued_count,
            dedup_count=result.dedup_count,
            dedup_window_ms=result.dedup_window_ms,
            chunks=[InventoryChunk.from_outcome(chunk) for chunk in result.chunks],
            user_errors=[],
        )

    @classmethod
    def rejected(
        cls,
        errors: list[UserInputError],
        *,
        dry_run: bool,
        original_count: int,
        chunk_size: int,
        dedup_window_ms: int,
    ) -> PushInventoryPayload:
        """Nothing was planned or enqueued: every count but originalCount is 0."""
        return cls(
            dry_run=dry_run,
            write_effective=False,
            original_count=original_count,
            coalesced_count=0,
            changed_count=0,
            skipped_count=0,
            chunk_size=chunk_size,
            chunk_count=0,
            enqueued_count=0,
            dedup_count=0,
            dedup_window_ms=dedup_window_ms,
            chunks=[],
            user_errors=[UserError.from_error(error) for error in errors],
        )


@strawberry.type
class InventoryItemResult:
    barcode: str
    quantity: int
    sale_price: Decimal
    list_price: Decimal
    status: InventoryItemStatus
    failure_reasons: list[str]

    @classmethod
    def from_stored(cls, item: Mapping[str, Any]) -> InventoryItemResult:
        reasons = item.get("failureReasons")
        return cls(
            barcode=str(item["barcode"]),
            quantity=int(item["quantity"]),
            sale_price=Decimal(str(item["salePrice"])),
            list_price=Decimal(str(item["listPrice"])),
            status=InventoryItemStatus(item["status"]),
            failure_reasons=[str(r) for r in reasons] if isinstance(reasons, list) else [],
        )


@strawberry.type
class InventoryBatch:
    batch_request_id: str
    store_id: uuid.UUID
    complete: bool
    item_count: int
    failed_item_count: int
    items: list[InventoryItemResult]
    confirmed_upserted: int

    @classmethod
    def from_model(cls, batch: models.InventoryBatch) -> InventoryBatch:
        return cls(
            batch_request_id=batch.batch_request_id,
            store_id=batch.store_id,  # type: ignore[arg-type]
            complete=batch.complete,
            item_count=batch.item_count,
            failed_item_count=batch.failed_item_count,
            items=[InventoryItemResult.from_stored(item) for item in batch.items],
            confirmed_upserted=batch.confirmed_upserted,
        )
