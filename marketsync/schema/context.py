"""The per-request context: the runtime, and the caller's organization from the API key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from marketsync.errors import AuthenticationError, PermissionDeniedError
from marketsync.runtime import Runtime
from marketsync.services.apikeys import organization_for_key


@dataclass
class Context:
    request: Request | WebSocket
    rt: Runtime
    hub: Any = None  # the API process's StatusHub
    _organization: str | None = field(default=None, init=False)
    _checked: bool = field(default=False, init=False)

    async def organization(self) -> str:
        """The API key's organization; UNAUTHENTICATED without a valid key."""
        if not self._checked:
            self._checked = True
            header = self.request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                self._organization = await organization_for_key(raw_key=token.strip())
        if self._organization is None:
            raise AuthenticationError("a valid API key is required")
        return self._organization

    async def require_organization(self, organization_id: str) -> str:
        """Authenticate, then check the input's organization is the key's (before validation)."""
        organization = await self.organization()
        if organization_id != organization:
            raise PermissionDeniedError("the API key belongs to another organization")
        return organization


Info = StrawberryInfo[Context, None]
