"""What every marketplace fake shares: an aiohttp server on 127.0.0.1 (port 0) that
records each request, counts calls by kind, and can be told to misbehave.

``fail_next(kind, times)`` makes the next API calls (or, with ``token=True``, the next
token exchanges) answer:

    "429"           429 with ``Retry-After: {retry_after_s}`` (7) and the marketplace's own body
    "429-bare"      429 without Retry-After
    "500"           500 with the marketplace's own error body
    "close"         the connection closed before any answer

Any path under ``/redirect/`` answers 302 to the path without that prefix.
"""

from __future__ import annotations

import base64
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

RETRY_AFTER_S = 7
FAILURES = ("429", "429-bare", "500", "close")


@dataclass(frozen=True)
class Seen:
    kind: str  # "api" or "token"
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def basic(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password


@dataclass
class Failures:
    api: deque[str] = field(default_factory=deque)
    token: deque[str] = field(default_factory=deque)


class FakeServer:
    """Subclasses add routes in ``routes()`` and say how their errors look."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.calls: Counter[str] = Counter()
        self.failures = Failures()
        self.retry_after_s = RETRY_AFTER_S
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- what subclasses provide --------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        return {"error": f"HTTP {status}"}

    # --- control ------------------------------------------------------------------

    def fail_next(self, kind: str, times: int = 1, *, token: bool = False) -> None:
        assert kind in FAILURES, kind
        queue = self.failures.token if token else self.failures.api
        queue.extend([kind] * times)

    def requests(self, kind: str = "api") -> list[Seen]:
        return [seen for seen in self.seen if seen.kind == kind]

    def reset(self) -> None:
        self.seen.clear()
        self.calls.clear()
        self.failures = Failures()

    # --- serving ------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.add_routes(self.routes())
        app.add_routes([web.route("*", "/redirect/{tail:.*}", self._redirect)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _redirect(self, request: web.Request) -> web.Response:
        """Everything under /redirect/ answers 302 to the same path without it."""
        await self.record(request, "redirect")
        raise web.HTTPFound("/" + request.match_info["tail"])

    async def record(self, request: web.Request, kind: str) -> Seen:
        seen = Seen(
            kind=kind,
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=await request.read(),
        )
        self.seen.append(seen)
        self.calls[kind] += 1
        return seen

    def scripted_failure(self, request: web.Request, *, token: bool = False) -> web.Response | None:
        """The failure this call was told to give, or None to answer normally."""
        queue = self.failures.token if token else self.failures.api
        if not queue:
            return None
        kind = queue.popleft()
        if kind == "close":
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("closed by the fake on purpose")
        if kind == "500":
            return web.json_response(self.error_body(500), status=500)
        headers = {"Retry-After": str(self.retry_after_s)} if kind == "429" else {}
        return web.json_response(self.error_body(429), status=429, headers=headers)
