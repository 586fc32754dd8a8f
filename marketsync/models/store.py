"""The store aggregate: a marketplace store, its order sync logs and its connection state."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marketsync.ids import new_id, new_sync_token
from marketsync.models.enums import ConnectionStatus, Marketplace, SyncLogStatus


class Store(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    organization_id = fields.CharField(max_length=255)
    marketplace = fields.CharEnumField(Marketplace, max_length=16)
    external_store_id = fields.CharField(max_length=255)
    store_name = fields.CharField(max_length=255)
    access_token_encrypted = fields.TextField()
    currency = fields.CharField(max_length=3)
    sync_token = fields.UUIDField(unique=True, default=new_sync_token)
    last_sync_at = fields.DatetimeField(null=True)
    imported_orders = fields.IntField(default=0)
    conn_last_attempt_at = fields.DatetimeField(null=True)
    conn_last_success_at = fields.DatetimeField(null=True)
    conn_last_status = fields.CharEnumField(
        ConnectionStatus, max_length=16, default=ConnectionStatus.IDLE
    )
    conn_last_job_id = fields.UUIDField(null=True)
    conn_last_error = fields.TextField(null=True)
    conn_updated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "store"
        unique_together = (("organization_id", "marketplace", "external_store_id"),)
        indexes = (("organization_id", "created_at", "id"), ("created_at", "id"))


class SyncLog(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="sync_logs", on_delete=fields.CASCADE
    )
    store_id: object
    receipt = fields.CharField(max_length=255)
    status = fields.CharEnumField(SyncLogStatus, max_length=16, default=SyncLogStatus.PENDING)
    order_id = fields.CharField(max_length=255, null=True)
    amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    currency = fields.CharField(max_length=3, null=True)
    error_details = fields.CharField(max_length=64, null=True)
    attempt = fields.IntField(default=0)
    next_retry_at = fields.DatetimeField(null=True)
    imported_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sync_log"
        unique_together = (("store_id", "receipt"),)
        indexes = (("status", "next_retry_at"), ("store_id", "status"), ("store_id", "created_at"))
