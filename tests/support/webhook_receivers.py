"""Webhook receivers for tests: small Starlette apps on 127.0.0.1 that answer from a script."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import serve_asgi


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request arrived


class ScriptedReceiver:
    """Answers the n-th request with ``answers[n]``, and every later one with the last."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = answers or [Answer()]
        self.received: list[Received] = []
        self.url = ""

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        index = len(self.received)
        self.received.append(Received(headers, body, time.time()))
        answer = self.answers[min(index, len(self.answers) - 1)]
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        return Response(
            b'{"ok":true}',
            status_code=answer.status,
            headers=answer.headers,
            media_type="application/json",
        )


@contextlib.asynccontextmanager
async def serve_receiver(*answers: Answer) -> AsyncIterator[ScriptedReceiver]:
    receiver = ScriptedReceiver(list(answers))
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    async with serve_asgi(app, lifespan="off") as base_url:
        receiver.url = f"{base_url}/hook"
        yield receiver


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0, interval_s: float = 0.02
) -> None:
    """Wait until ``check()`` is true, failing the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)
