"""The per-request context: the runtime, and the caller's organization from the API key."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from marketsync.errors import AuthenticationError, PermissionDeniedError
from marketsync.runtime import Runtime
from marketsync.services.apikeys import organization_for_key


def _bearer(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@dataclass
class Context:
    request: Request | WebSocket
    rt: Runtime
    hub: Any = None  # the API process's StatusHub
    # Set by Strawberry from the websocket's connection_init payload.
    connection_params: dict[str, Any] | None = None
    _lookup: asyncio.Future[str | None] | None = field(default=None, init=False)

    def _raw_key(self) -> str | None:
        """The key from connection_init (name matched case-insensitively) or the header."""
        for name, value in (self.connection_params or {}).items():
            if isinstance(name, str) and name.lower() == "authorization":
                return _bearer(value)
        return _bearer(self.request.headers.get("authorization", ""))

    async def organization(self) -> str:
        """The API key's organization; UNAUTHENTICATED without a valid key.

        Looked up once per request; fields resolved concurrently all await the same lookup
        (a field never sees "checked" before the answer is known).
        """
        if self._lookup is None:
            raw = self._raw_key()
            self._lookup = asyncio.ensure_future(
                organization_for_key(raw_key=raw) if raw else _none()
            )
        organization = await asyncio.shield(self._lookup)
        if organization is None:
            raise AuthenticationError("a valid API key is required")
        return organization

    async def refuses_presented_key(self) -> bool:
        """True when a key was presented and is not valid (no key at all is not refused)."""
        if self._raw_key() is None and not self._presented_authorization():
            return False
        try:
            await self.organization()
        except AuthenticationError:
            return True
        return False

    def _presented_authorization(self) -> bool:
        names = [n.lower() for n in (self.connection_params or {}) if isinstance(n, str)]
        return "authorization" in names or "authorization" in self.request.headers

    async def require_organization(self, organization_id: str) -> str:
        """Authenticate, then check the input's organization is the key's (before validation)."""
        organization = await self.organization()
        if organization_id != organization:
            raise PermissionDeniedError("the API key belongs to another organization")
        return organization


async def _none() -> None:
    return None


Info = StrawberryInfo[Context, None]
