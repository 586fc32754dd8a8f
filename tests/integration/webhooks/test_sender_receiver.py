"""The sender against real HTTP servers on 127.0.0.1: the mock receiver and small
Starlette apps that misbehave on purpose."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from marketsync.webhooks.receiver import WebhookReceiver, build_receiver_app, receiver_routes
from marketsync.webhooks.sender import SendResult, build_webhook_session, send_webhook
from marketsync.webhooks.signing import generate_secret, signature_headers
from tests.support.servers import free_port, serve_asgi

SECRET = generate_secret()
EVENT_ID = "0190a1b2-0000-7000-8000-000000000042"


def _event(data: dict[str, Any] | None = None) -> bytes:
    return json.dumps(
        {
            "eventId": EVENT_ID,
            "event": "sync.completed",
            "timestamp": "2026-01-01T00:00:00Z",
            "organizationId": "org-1",
            "storeId": "store-1",
            "data": data or {},
        }
    ).encode()


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=body
    )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with build_webhook_session(allow_private=True) as client:
        yield client


@pytest.fixture
async def guarded_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with build_webhook_session(allow_private=False) as client:
        yield client


@pytest.fixture
async def receiver_url() -> AsyncIterator[str]:
    async with serve_asgi(build_receiver_app(secret=SECRET)) as base_url:
        yield base_url


async def _send(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    timeout_s: float = 5,
    allow_private: bool = True,
) -> SendResult:
    return await send_webhook(
        session,
        url=url,
        body=body,
        headers=_signed(body) if headers is None else headers,
        timeout_s=timeout_s,
        allow_private=allow_private,
    )


async def _received(session: aiohttp.ClientSession, base_url: str) -> list[dict[str, Any]]:
    async with session.get(f"{base_url}/webhook/received") as response:
        assert response.status == 200
        records: list[dict[str, Any]] = await response.json()
        return records


async def test_signed_delivery_is_recorded_and_verified(
    session: aiohttp.ClientSession, receiver_url: str
) -> None:
    body = _event({"status": "SUCCESS"})

    result = await _send(session, f"{receiver_url}/webhook", body)

    assert (result.status, result.ok, result.error_class, result.error) == (200, True, None, None)
    assert json.loads(result.response_excerpt or "") == {"ok": True}
    assert result.retry_after is None
    assert result.duration_ms >= 0
    [record] = await _received(session, receiver_url)
    assert record["verified"] is True
    assert record["body"] == json.loads(body)
    assert record["headers"]["webhook-id"] == EVENT_ID
    assert record["headers"]["x-event-id"] == EVENT_ID
    assert record["headers"]["content-type"] == "application/json"
    assert record["headers"]["x-webhook-timestamp"] == record["headers"]["webhook-timestamp"]


async def test_signature_with_another_secret_is_recorded_unverified(
    session: aiohttp.ClientSession, receiver_url: str
) -> None:
    body = _event()

    result = await _send(session, f"{receiver_url}/webhook", body, _signed(body, generate_secret()))

    assert result.ok is True
    [record] = await _received(session, receiver_url)
    assert record["verified"] is False


async def test_receiver_without_secret_records_verified_null(
    session: aiohttp.ClientSession,
) -> None:
    async with serve_asgi(build_receiver_app(secret=None)) as base_url:
        result = await _send(session, f"{base_url}/webhook", _event())
        records = await _received(session, base_url)

    assert result.ok is True
    assert [record["verified"] for record in records] == [None]


async def test_x_fail_header_answers_500(session: aiohttp.ClientSession, receiver_url: str) -> None:
    body = _event()

    result = await _send(
        session, f"{receiver_url}/webhook", body, {**_signed(body), "x-fail": "true"}
    )

    assert (result.status, result.ok, result.error_class, result.error) == (
        500,
        False,
        "HTTPStatus",
        "HTTP 500",
    )
    assert json.loads(result.response_excerpt or "") == {"ok": False}
    assert result.retry_after is None
    assert len(await _received(session, receiver_url)) == 1


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"receipt": "R-1005"}, 500),
        ({"logs": [{"order": {"receipt": "R-2025"}}]}, 500),
        ({"receipt": "R-1004"}, 200),
        ({"receipt": 1005}, 200),
        ({"note": "R-1005"}, 200),
    ],
)
async def test_receipt_ending_in_5_anywhere_answers_500(
    session: aiohttp.ClientSession, receiver_url: str, data: dict[str, Any], status: int
) -> None:
    result = await _send(session, f"{receiver_url}/webhook", _event(data))

    assert result.status == status
    assert result.ok is (status == 200)


async def test_non_json_body_is_recorded_as_text(
    session: aiohttp.ClientSession, receiver_url: str
) -> None:
    result = await _send(session, f"{receiver_url}/webhook", b"not json", {"X-Event-Id": "x"})

    assert result.ok is True
    [record] = await _received(session, receiver_url)
    assert (record["body"], record["verified"]) == ("not json", False)


async def test_delete_clears_what_was_received(
    session: aiohttp.ClientSession, receiver_url: str
) -> None:
    await _send(session, f"{receiver_url}/webhook", _event())

    async with session.delete(f"{receiver_url}/webhook/received") as response:
        assert response.status == 204

    assert await _received(session, receiver_url) == []


async def test_receiver_keeps_the_newest_records_only() -> None:
    receiver = WebhookReceiver(max_records=2)
    app = Starlette(routes=receiver_routes(receiver, "/hook"))
    async with (
        serve_asgi(app) as base_url,
        build_webhook_session(allow_private=True) as client,
    ):
        for receipt in ("R-1", "R-2", "R-3"):
            await _send(client, f"{base_url}/hook", _event({"receipt": receipt}))

    assert [record["body"]["data"]["receipt"] for record in receiver.records] == ["R-2", "R-3"]


async def test_prefixed_routes_answer_without_redirect(session: aiohttp.ClientSession) -> None:
    receiver = WebhookReceiver(secret=SECRET)
    app = Starlette(routes=[*receiver_routes(receiver, "/mock/webhook")])
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/mock/webhook", _event())
        async with session.get(f"{base_url}/mock/webhook/received") as response:
            listed = await response.json()

    assert (result.status, result.ok) == (200, True)
    assert [record["verified"] for record in listed] == [True]


class _Hits:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def record(self, request: Request) -> None:
        self.paths.append(request.url.path)


async def test_429_retry_after_seconds(session: aiohttp.ClientSession) -> None:
    async def limited(request: Request) -> Response:
        return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "7"})

    app = Starlette(routes=[Route("/hook", limited, methods=["POST"])])
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/hook", _event())

    assert (result.status, result.ok, result.error_class) == (429, False, "HTTPStatus")
    assert result.retry_after == 7.0
    assert json.loads(result.response_excerpt or "") == {"error": "slow down"}


async def test_503_retry_after_http_date(session: aiohttp.ClientSession) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)

    async def unavailable(request: Request) -> Response:
        return Response(status_code=503, headers={"Retry-After": later})

    app = Starlette(routes=[Route("/hook", unavailable, methods=["POST"])])
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/hook", _event())

    assert result.status == 503
    assert result.retry_after is not None
    assert 100 < result.retry_after <= 120


async def test_retry_after_is_ignored_on_other_statuses(session: aiohttp.ClientSession) -> None:
    async def failing(request: Request) -> Response:
        return Response(status_code=500, headers={"Retry-After": "7"})

    app = Starlette(routes=[Route("/hook", failing, methods=["POST"])])
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/hook", _event())

    assert (result.status, result.retry_after, result.response_excerpt) == (500, None, "")


async def test_redirect_is_not_followed(session: aiohttp.ClientSession) -> None:
    hits = _Hits()

    async def moved(request: Request) -> Response:
        hits.record(request)
        return RedirectResponse("/elsewhere", status_code=302)

    async def elsewhere(request: Request) -> Response:
        hits.record(request)
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/hook", moved, methods=["POST"]),
            Route("/elsewhere", elsewhere, methods=["GET", "POST"]),
        ]
    )
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/hook", _event())

    assert (result.status, result.ok, result.error_class, result.error) == (
        302,
        False,
        "HTTPStatus",
        "HTTP 302",
    )
    assert hits.paths == ["/hook"]


async def test_slow_target_times_out(session: aiohttp.ClientSession) -> None:
    release = asyncio.Event()

    async def slow(request: Request) -> Response:
        await release.wait()
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", slow, methods=["POST"])])
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/hook", _event(), timeout_s=0.2)
        release.set()

    assert (result.status, result.ok, result.error_class) == (None, False, "TimeoutError")
    assert result.error is not None
    assert 150 <= result.duration_ms < 2000


async def test_2xx_whose_body_outlasts_the_timeout_still_counts(
    session: aiohttp.ClientSession,
) -> None:
    release = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield b"accepted;"
        await release.wait()
        yield b"done"

    async def accepted(request: Request) -> Response:
        return StreamingResponse(trickle(), status_code=202)

    app = Starlette(routes=[Route("/hook", accepted, methods=["POST"])])
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/hook", _event(), timeout_s=0.3)
        release.set()

    assert (result.status, result.ok, result.error_class) == (202, True, None)
    assert result.response_excerpt == "accepted;"


async def test_response_excerpt_is_capped_at_4_kb(session: aiohttp.ClientSession) -> None:
    async def chatty(request: Request) -> Response:
        return Response("é" * 10_000, status_code=400)

    app = Starlette(routes=[Route("/hook", chatty, methods=["POST"])])
    async with serve_asgi(app) as base_url:
        result = await _send(session, f"{base_url}/hook", _event())

    assert result.status == 400
    assert result.response_excerpt == "é" * 2048


async def test_closed_port_is_a_connection_error(session: aiohttp.ClientSession) -> None:
    port = free_port()

    result = await _send(session, f"http://127.0.0.1:{port}/hook", _event())

    assert (result.status, result.ok, result.error_class) == (None, False, "ClientConnectorError")
    assert result.error is not None


async def test_loopback_literal_is_refused_without_connecting(
    guarded_session: aiohttp.ClientSession, session: aiohttp.ClientSession, receiver_url: str
) -> None:
    result = await _send(guarded_session, f"{receiver_url}/webhook", _event(), allow_private=False)

    assert (result.status, result.ok, result.error_class) == (None, False, "RefusedTargetError")
    assert await _received(session, receiver_url) == []


async def test_localhost_name_is_refused_by_the_sessions_resolver(
    guarded_session: aiohttp.ClientSession, session: aiohttp.ClientSession, receiver_url: str
) -> None:
    port = receiver_url.rsplit(":", 1)[1]

    result = await _send(
        guarded_session, f"http://localhost:{port}/webhook", _event(), allow_private=False
    )

    assert (result.status, result.ok, result.error_class) == (None, False, "RefusedTargetError")
    assert result.error is not None
    assert "127.0.0.1" not in result.error
    assert await _received(session, receiver_url) == []


async def test_invalid_url_is_a_result_not_an_exception(session: aiohttp.ClientSession) -> None:
    result = await _send(session, "ftp://127.0.0.1/hook", _event())

    assert (result.status, result.ok, result.error_class) == (None, False, "WebhookTargetError")
