"""A marketplace's batch answer: when it is complete, and the state it confirms.

A stock/price batch is complete when every pushed item has a final status
(SUCCESS or FAILED); then its SUCCESS items become the store's confirmed state, in
the same transaction as the batch's result and the poll job's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from marketsync.models import InventoryBatch, InventoryItemState, Job
from marketsync.models.enums import InventoryItemStatus
from marketsync.services.inventory.items import InventoryItem
from marketsync.services.inventory.job_rows import finish_job, utc_now

_FINAL = frozenset({InventoryItemStatus.SUCCESS.value, InventoryItemStatus.FAILED.value})


_STATE_FIELDS = ("quantity", "sale_price", "list_price", "currency_type", "confirmed_at")


def batch_results(
    pushed: Sequence[Mapping[str, Any]], answer: Mapping[str, Any]
) -> list[dict[str, Any]] | None:
    """The pushed items with their final status and reasons, or None while any pushed
    item has no final status in the marketplace's answer."""
    outcomes: dict[str, tuple[str, list[str]]] = {}
    for entry in answer.get("items") or []:
        if not isinstance(entry, dict):
            continue
        request, status = entry.get("requestItem"), entry.get("status")
        if (
            isinstance(request, dict)
            and isinstance(request.get("barcode"), str)
            and (status in _FINAL)
        ):
            reasons = entry.get("failureReasons")
            reasons = [str(r) for r in reasons] if isinstance(reasons, list) else []
            outcomes[request["barcode"]] = (str(status), reasons)
    results: list[dict[str, Any]] = []
    for item in pushed:
        outcome = outcomes.get(str(item["barcode"]))
        if outcome is None:
            return None
        results.append({**item, "status": outcome[0], "failureReasons": outcome[1]})
    return results


async def confirm_batch(
    job: Job, batch: InventoryBatch, results: list[dict[str, Any]], summary: dict[str, Any]
) -> None:
    now = utc_now()
    confirmed = [
        InventoryItem.from_stored(result)
        for result in results
        if result["status"] == InventoryItemStatus.SUCCESS.value
    ]
    failed = len(results) - len(confirmed)
    async with in_transaction() as conn:
        upserted = await _upsert_states(conn, batch.store_id, confirmed, now)
        await (
            InventoryBatch.filter(id=batch.id)
            .using_db(conn)
            .update(
                complete=True,
                item_count=len(results),
                failed_item_count=failed,
                items=results,
                confirmed_upserted=upserted,
                updated_at=now,
            )
        )
        await finish_job(
            job,
            {
                **summary,
                "itemCount": len(results),
                "failedItemCount": failed,
                "confirmedUpserted": upserted,
            },
            conn=conn,
        )


async def _upsert_states(
    conn: BaseDBAsyncClient, store_id: object, items: list[InventoryItem], now: datetime
) -> int:
    """The confirmed state of these items: one INSERT … ON CONFLICT per 500 rows."""
    rows = [
        InventoryItemState(
            store_id=store_id,
            barcode=item.barcode,
            quantity=item.quantity,
            sale_price=item.sale_price,
            list_price=item.list_price,
            currency_type=item.currency_type,
            confirmed_at=now,
        )
        for item in items
    ]
    if rows:
        await InventoryItemState.bulk_create(
            rows,
            batch_size=500,
            on_conflict=("store_id", "barcode"),
            update_fields=_STATE_FIELDS,
            using_db=conn,
        )
    return len(rows)
