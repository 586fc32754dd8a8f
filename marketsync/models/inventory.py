"""Inventory: the last state a marketplace confirmed per barcode, and pushed batches."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marketsync.ids import new_id
from marketsync.models.store import Store


class InventoryItemState(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="inventory_items", on_delete=fields.CASCADE
    )
    store_id: object
    barcode = fields.CharField(max_length=255)
    quantity = fields.IntField()
    sale_price = fields.DecimalField(max_digits=14, decimal_places=2)
    list_price = fields.DecimalField(max_digits=14, decimal_places=2)
    currency_type = fields.CharField(max_length=3)
    confirmed_at = fields.DatetimeField()

    class Meta:
        table = "inventory_item_state"
        unique_together = (("store_id", "barcode"),)


class InventoryBatch(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="inventory_batches", on_delete=fields.CASCADE
    )
    store_id: object
    batch_request_id = fields.CharField(max_length=255)
    push_job_id = fields.UUIDField()
    complete = fields.BooleanField(default=False)
    item_count = fields.IntField(default=0)
    failed_item_count = fields.IntField(default=0)
    items: fields.Field[list[dict[str, object]]] = fields.JSONField(default=list)
    confirmed_upserted = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "inventory_batch"
        unique_together = (("store_id", "batch_request_id"),)
