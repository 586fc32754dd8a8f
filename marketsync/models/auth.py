"""API keys: one organization each, stored as a SHA-256 hash and shown once."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marketsync.ids import new_id


class ApiKey(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    organization_id = fields.CharField(max_length=255, db_index=True)
    name = fields.CharField(max_length=100, null=True)  # the operator's label, optional
    key_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
