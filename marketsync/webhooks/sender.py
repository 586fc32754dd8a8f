"""One webhook HTTP attempt; every outcome comes back as a ``SendResult``.

The delivery service records each attempt and applies the retry policy
(``services/retry.py``: any non-2xx is retried by the schedule, Retry-After
honoured), so this module only reports what happened and never raises for network
trouble. Redirects are not followed: a 3xx could point
anywhere, and the contract counts only a 2xx from the registered URL as success.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from marketsync.errors import WebhookTargetError
from marketsync.retry_after import parse_retry_after
from marketsync.webhooks.guard import (
    GuardedResolver,
    RefusedTargetError,
    is_refused_address,
    literal_address,
    validate_target_url,
)

RESPONSE_EXCERPT_BYTES = 4096
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_USER_AGENT = "marketsync-webhooks"


@dataclass(frozen=True, slots=True)
class SendResult:
    status: int | None
    ok: bool
    duration_ms: int
    error_class: str | None = None
    error: str | None = None
    response_excerpt: str | None = None
    retry_after: float | None = None


def build_webhook_session(*, allow_private: bool) -> aiohttp.ClientSession:
    """The one session deliveries share (create it inside the running loop).

    No cookie jar, so one tenant's endpoint cannot set state that rides along to the
    next delivery; no proxy from the environment, so the guard sees the real target.
    """
    connector = aiohttp.TCPConnector(
        limit=100,
        limit_per_host=10,
        resolver=None if allow_private else GuardedResolver(),
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        headers={"User-Agent": _USER_AGENT},
    )


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _failure(started: float, exc: BaseException, url: str) -> SendResult:
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(
        exc.os_error, RefusedTargetError
    ):
        return SendResult(
            status=None,
            ok=False,
            duration_ms=_elapsed_ms(started),
            error_class="RefusedTargetError",
            error=str(exc.os_error),
        )
    if isinstance(exc, TimeoutError):
        return SendResult(
            status=None,
            ok=False,
            duration_ms=_elapsed_ms(started),
            error_class="TimeoutError",
            error="no response within the timeout",
        )
    return SendResult(
        status=None,
        ok=False,
        duration_ms=_elapsed_ms(started),
        error_class=type(exc).__name__,
        # Some messages quote the URL; its path and query can hold a token, its origin not.
        error=(str(exc) or type(exc).__name__).replace(url, str(URL(url).origin()))[:500],
    )


async def _read_excerpt(response: aiohttp.ClientResponse) -> str | None:
    """At most RESPONSE_EXCERPT_BYTES of the body: a target may answer with gigabytes."""
    chunks: list[bytes] = []
    remaining = RESPONSE_EXCERPT_BYTES
    try:
        while remaining > 0:
            chunk = await response.content.read(remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except (aiohttp.ClientError, TimeoutError):
        if not chunks:
            return None
    return b"".join(chunks).decode("utf-8", errors="replace")


async def send_webhook(
    session: aiohttp.ClientSession,
    *,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    allow_private: bool,
) -> SendResult:
    """POST ``body`` to ``url`` once.

    The status line decides success: a 2xx whose body then trickles past the timeout
    still counts, with whatever excerpt arrived. ``session`` should come from
    ``build_webhook_session`` with the same ``allow_private``, whose resolver vets
    names; IP literals are vetted here, since aiohttp never resolves them.
    """
    started = time.monotonic()
    try:
        validate_target_url(url)
    except WebhookTargetError as exc:
        return SendResult(
            status=None,
            ok=False,
            duration_ms=_elapsed_ms(started),
            error_class="WebhookTargetError",
            error=exc.message,
        )
    if not allow_private:
        literal = literal_address(URL(url).host or "")
        if literal is not None and is_refused_address(literal):
            return SendResult(
                status=None,
                ok=False,
                duration_ms=_elapsed_ms(started),
                error_class="RefusedTargetError",
                error="target is a refused address",
            )
    try:
        async with session.post(
            url,
            data=body,
            headers=dict(headers),
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            status = response.status
            excerpt = await _read_excerpt(response)
            retry_after = (
                parse_retry_after(response.headers.get("Retry-After"))
                if status in _RETRY_AFTER_STATUSES
                else None
            )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return _failure(started, exc, url)
    ok = 200 <= status < 300
    return SendResult(
        status=status,
        ok=ok,
        duration_ms=_elapsed_ms(started),
        error_class=None if ok else "HTTPStatus",
        error=None if ok else f"HTTP {status}",
        response_excerpt=excerpt,
        retry_after=retry_after,
    )
