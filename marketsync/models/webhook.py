"""Webhooks: endpoints, the outbox of events, one delivery per (event, endpoint), attempts."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marketsync.ids import new_id
from marketsync.models.enums import DeliveryStatus, WebhookEventType


class WebhookEndpoint(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    organization_id = fields.CharField(max_length=255)
    event = fields.CharEnumField(WebhookEventType, max_length=32)
    target_url = fields.CharField(max_length=2048)
    secret_encrypted = fields.TextField()
    is_active = fields.BooleanField(default=True)
    consecutive_failures = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_endpoint"
        unique_together = (("organization_id", "event", "target_url"),)


class WebhookEventRecord(Model):
    """An outbox row, written in the transaction of the change it describes."""

    id = fields.UUIDField(primary_key=True, default=new_id)
    organization_id = fields.CharField(max_length=255, db_index=True)
    store_id = fields.UUIDField(null=True)
    event = fields.CharEnumField(WebhookEventType, max_length=32)
    payload: fields.Field[dict[str, object]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_event"


class WebhookDelivery(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    event_record: fields.ForeignKeyRelation[WebhookEventRecord] = fields.ForeignKeyField(
        "models.WebhookEventRecord", related_name="deliveries", on_delete=fields.CASCADE
    )
    event_record_id: object
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint_id: object
    organization_id = fields.CharField(max_length=255)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempt = fields.IntField(default=0)
    next_retry_at = fields.DatetimeField(null=True)
    claimed_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    last_response_status = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_delivery"
        unique_together = (("event_record_id", "endpoint_id"),)
        indexes = (("status", "next_retry_at"), ("organization_id", "created_at"))


class DeliveryAttempt(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "models.WebhookDelivery", related_name="attempts", on_delete=fields.CASCADE
    )
    delivery_id: object
    attempt = fields.IntField()
    status_code = fields.IntField(null=True)
    duration_ms = fields.IntField()
    error_class = fields.CharField(max_length=128, null=True)
    error = fields.TextField(null=True)
    response_excerpt = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_delivery_attempt"
