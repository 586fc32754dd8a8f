"""Tortoise models, one module per aggregate. Tortoise discovers them from this module."""

from marketsync.models.auth import ApiKey
from marketsync.models.inventory import InventoryBatch, InventoryItemState
from marketsync.models.job import Job
from marketsync.models.store import Store, SyncLog
from marketsync.models.webhook import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventRecord,
)

__all__ = [
    "ApiKey",
    "DeliveryAttempt",
    "InventoryBatch",
    "InventoryItemState",
    "Job",
    "Store",
    "SyncLog",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEventRecord",
]
