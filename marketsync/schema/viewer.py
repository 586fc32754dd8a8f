"""The caller, as the API key tells."""

from __future__ import annotations

import strawberry


@strawberry.type(description="The organization of the API key in use")
class Viewer:
    organization_id: str
