"""Pages on other origins: CORS for HTTP, the origin check for websockets, one setting.

``Settings.allowed_origins`` (``CORS_ALLOWED_ORIGINS``) feeds both Starlette's
``CORSMiddleware`` and Strawberry's websocket ``allowed_origins``. ``*`` echoes the
caller's origin rather than answering ``*``, so a preflight always names the origin
it allows. Every refusal is logged with the setting that would change it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import structlog
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

log = structlog.get_logger(__name__)

SETTING = "CORS_ALLOWED_ORIGINS"
ALLOWED_HEADERS = ("authorization", "content-type")


def log_refused_origin(origin: str, *, transport: str) -> None:
    log.warning(
        "cross_origin_refused",
        origin=origin[:200],
        transport=transport,
        hint=f"to allow this origin, add it to {SETTING}",
    )


class _RefusalLoggingCORSMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin=origin):
            log_refused_origin(origin, transport="http")
        return super().preflight_response(request_headers)


def cors_middleware(origins: Sequence[str]) -> Middleware:
    allow_all = "*" in origins
    return Middleware(
        _RefusalLoggingCORSMiddleware,
        allow_origins=() if allow_all else tuple(origins),
        allow_origin_regex=".*" if allow_all else None,
        allow_methods=("GET", "POST"),
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,  # the API key travels in a header, never in a cookie
        max_age=600,
    )


class _DropStrawberryOriginWarning(logging.Filter):
    """Strawberry's own line names its ``allowed_origins`` argument, not our setting:
    ``log_refused_origin`` says the same thing in terms an operator can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Rejected WebSocket connection from origin")


logging.getLogger("strawberry.ws").addFilter(_DropStrawberryOriginWarning())
