"""Jobs: read one, or ask for a store sync now."""

from __future__ import annotations

import uuid

from marketsync.schema.context import Info
from marketsync.schema.store import Job
from marketsync.services.sync import enqueue as jobs


async def job(info: Info, id: uuid.UUID) -> Job:
    organization = await info.context.organization()
    return Job.from_model(await jobs.get_job(job_id=id, organization_id=organization))


async def trigger_sync(info: Info, store_id: uuid.UUID) -> Job:
    organization = await info.context.organization()
    queued = await jobs.trigger_sync(
        rt=info.context.rt, store_id=store_id, organization_id=organization
    )
    return Job.from_model(queued)
