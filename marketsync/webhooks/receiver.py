"""The mock webhook receiver (``marketsync mock-webhook`` and ``/mock/webhook``).

It records what arrives so a demo or a test can look at it, and fails on demand so
the retry path can be shown: ``x-fail: true``, or a ``receipt`` anywhere in the
payload ending in "5", answers 500.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from marketsync.webhooks.signing import verify

logger = logging.getLogger(__name__)

MAX_RECORDS = 1000
MAX_BODY_BYTES = 1024 * 1024
_LOGGED_BODY_CHARS = 2000


def _has_failing_receipt(payload: Any) -> bool:
    if isinstance(payload, dict):
        receipt = payload.get("receipt")
        if isinstance(receipt, str) and receipt.endswith("5"):
            return True
        return any(_has_failing_receipt(value) for value in payload.values())
    if isinstance(payload, list):
        return any(_has_failing_receipt(item) for item in payload)
    return False


class WebhookReceiver:
    """What the mock endpoint has received, newest last, at most ``max_records``."""

    def __init__(self, *, secret: str | None = None, max_records: int = MAX_RECORDS) -> None:
        self.secret = secret
        self._records: deque[dict[str, Any]] = deque(maxlen=max_records)

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def clear(self) -> None:
        self._records.clear()

    async def receive(self, request: Request) -> Response:
        raw = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        text = raw.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = text
        verified = (
            None if self.secret is None else verify(secret=self.secret, headers=headers, body=raw)
        )
        self._records.append({"headers": headers, "body": body, "verified": verified})
        logger.info(
            "mock webhook received id=%s verified=%s body=%s",
            headers.get("webhook-id"),
            verified,
            text[:_LOGGED_BODY_CHARS],
        )
        failing = headers.get("x-fail", "").strip().lower() == "true" or _has_failing_receipt(body)
        if failing:
            return JSONResponse({"ok": False}, status_code=500)
        return JSONResponse({"ok": True})

    async def list_received(self, request: Request) -> Response:
        return JSONResponse(self.records)

    async def clear_received(self, request: Request) -> Response:
        self.clear()
        return Response(status_code=204)


def receiver_routes(receiver: WebhookReceiver, prefix: str) -> list[BaseRoute]:
    """Explicit routes, not a Mount: a Mount would answer ``POST {prefix}`` with a
    redirect to ``{prefix}/``, and webhook senders do not follow redirects."""
    return [
        Route(prefix, receiver.receive, methods=["POST"], max_body_size=MAX_BODY_BYTES),
        Route(f"{prefix}/received", receiver.list_received, methods=["GET"]),
        Route(f"{prefix}/received", receiver.clear_received, methods=["DELETE"]),
    ]


def build_receiver_app(*, secret: str | None) -> Starlette:
    """The standalone receiver; ``app.state.receiver`` is its ``WebhookReceiver``."""
    receiver = WebhookReceiver(secret=secret)
    app = Starlette(routes=receiver_routes(receiver, "/webhook"))
    app.state.receiver = receiver
    return app


def run_mock_webhook(*, host: str, port: int, secret: str | None) -> None:
    """Serve the receiver until interrupted (the ``marketsync mock-webhook`` command)."""
    if not logging.getLogger().handlers:
        # Nobody configured logging: without this the "logs the body" part is silent.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    uvicorn.run(build_receiver_app(secret=secret), host=host, port=port)
