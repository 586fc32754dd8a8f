"""Background job records: one row per actor run (store sync, inventory push and poll)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marketsync.ids import new_id
from marketsync.models.enums import JobStatus, JobType
from marketsync.models.store import Store


class Job(Model):
    id = fields.UUIDField(primary_key=True, default=new_id)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="jobs", on_delete=fields.CASCADE
    )
    store_id: object
    type = fields.CharEnumField(JobType, max_length=16)
    status = fields.CharEnumField(JobStatus, max_length=16, default=JobStatus.QUEUED)
    attempts = fields.IntField(default=0)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    summary: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    # Inventory chunks: what to send, and what makes two pushes the same.
    payload: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    body_hash = fields.CharField(max_length=64, null=True)
    write_effective = fields.BooleanField(default=False)
    chunk_index = fields.IntField(null=True)
    parent_job_id = fields.UUIDField(null=True)
    # When a QUEUED job is due (an inventory retry or poll rung with a delay); the
    # scheduler's sweep re-rings only jobs past it. Null: due now.
    next_run_at = fields.DatetimeField(null=True)
    # The store's id while a store sync is QUEUED, null otherwise: unique, so a store has
    # at most one queued sync however many enqueuers race (NULLs never collide).
    queued_slot = fields.UUIDField(null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "job"
        indexes = (
            ("store_id", "type", "created_at"),
            ("store_id", "status"),
            ("store_id", "body_hash", "write_effective", "created_at"),
        )
