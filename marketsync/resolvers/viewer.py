"""Who the API key belongs to."""

from __future__ import annotations

from marketsync.schema.context import Info
from marketsync.schema.viewer import Viewer


async def viewer(info: Info) -> Viewer:
    return Viewer(organization_id=await info.context.organization())
