"""The client's error mapping, against a hand-written marketplace that misbehaves.

Each path prefix is one behaviour (5xx, malformed bodies, 429 with Retry-After,
redirects, slowness); the client under test calls ``{base}/{mode}/etsy/validate``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import aiohttp
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marketsync.config import Settings
from marketsync.errors import (
    AuthError,
    MarketplaceResponseError,
    RateLimitError,
    TransportError,
)
from marketsync.marketplaces.client import MarketplaceClient, ValidationResult
from tests.support.servers import free_port, serve_asgi

TOKEN = "store-secret-token-xyz"
SETTINGS = Settings(mock_etsy_user="etsy-user", mock_etsy_pass=SecretStr("etsy-pass"))


async def misbehave(request: Request) -> Response:
    request.app.state.seen.append(dict(request.headers))
    mode = request.path_params["mode"]
    if mode == "error":
        return JSONResponse({"error": "boom"}, status_code=500)
    if mode == "not-json":
        return Response("<html>ok</html>", media_type="text/html")
    if mode == "wrong-shape":
        return JSONResponse({"status": "yes"})
    if mode == "no-amount":
        return JSONResponse(
            {
                "status": True,
                "orderId": "O",
                "currency": "USD",
                "importedAtUTC": "2025-01-01T00:00:00Z",
            }
        )
    if mode == "number-amount":
        return Response(
            b'{"status":true,"orderId":"O","amount":12.30,"currency":"USD",'
            b'"importedAtUTC":"2025-01-01T00:00:00+02:00"}',
            media_type="application/json",
        )
    if mode == "limited":
        return JSONResponse({"error": "rate_limited"}, 429, headers={"Retry-After": "120"})
    if mode == "limited-date":
        # Five minutes from the moment of the answer (not of the import: a long suite)
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=300)
        retry_at = format_datetime(later, usegmt=True)
        return JSONResponse({}, 429, headers={"Retry-After": retry_at})
    if mode == "forbidden":
        return JSONResponse({"error": "forbidden"}, status_code=403)
    if mode == "redirect":
        return Response(status_code=302, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    if mode == "slow":
        await asyncio.sleep(0.5)
    return JSONResponse({"status": False})


@pytest.fixture(scope="module")
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture(scope="module")
async def bad_app() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    app = Starlette(routes=[Route("/{mode}/{marketplace}/validate", misbehave, methods=["POST"])])
    app.state.seen = []
    async with serve_asgi(app) as url:
        yield url, app.state.seen


async def validate_against(
    session: aiohttp.ClientSession, base_url: str, *, timeout_s: float = 5
) -> ValidationResult:
    settings = SETTINGS.model_copy(update={"marketplace_timeout_s": timeout_s})
    client = MarketplaceClient(session, base_url=base_url, settings=settings)
    return await client.validate_receipt(
        marketplace="etsy", access_token=TOKEN, receipt="R11", currency=None
    )


async def test_sends_token_and_basic_auth(
    session: aiohttp.ClientSession, bad_app: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = bad_app
    seen.clear()

    assert await validate_against(session, f"{url}/fine") == ValidationResult(valid=False)

    assert seen[0]["x-access-token"] == TOKEN
    assert seen[0]["authorization"] == "Basic " + base64.b64encode(b"etsy-user:etsy-pass").decode()


@pytest.mark.parametrize(
    ("mode", "status"),
    [("error", 500), ("not-json", 200), ("wrong-shape", 200), ("no-amount", 200),
     ("redirect", 302)],
)  # fmt: skip
async def test_non_results_are_response_errors(
    session: aiohttp.ClientSession,
    bad_app: tuple[str, list[dict[str, str]]],
    mode: str,
    status: int,
) -> None:
    with pytest.raises(MarketplaceResponseError) as caught:
        await validate_against(session, f"{bad_app[0]}/{mode}")

    assert caught.value.status == status
    assert TOKEN not in str(caught.value)


async def test_numeric_amount_and_offset_timestamp_are_accepted(
    session: aiohttp.ClientSession, bad_app: tuple[str, list[dict[str, str]]]
) -> None:
    result = await validate_against(session, f"{bad_app[0]}/number-amount")

    assert result.amount == Decimal("12.30")
    assert result.imported_at == datetime(2024, 12, 31, 22, 0, tzinfo=UTC)


async def test_429_carries_retry_after_seconds(
    session: aiohttp.ClientSession, bad_app: tuple[str, list[dict[str, str]]]
) -> None:
    with pytest.raises(RateLimitError) as caught:
        await validate_against(session, f"{bad_app[0]}/limited")

    assert caught.value.retry_after == 120


async def test_429_carries_retry_after_date(
    session: aiohttp.ClientSession, bad_app: tuple[str, list[dict[str, str]]]
) -> None:
    with pytest.raises(RateLimitError) as caught:
        await validate_against(session, f"{bad_app[0]}/limited-date")

    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 300


async def test_403_is_an_auth_error(
    session: aiohttp.ClientSession, bad_app: tuple[str, list[dict[str, str]]]
) -> None:
    with pytest.raises(AuthError):
        await validate_against(session, f"{bad_app[0]}/forbidden")


async def test_slow_answer_is_a_transport_error(
    session: aiohttp.ClientSession, bad_app: tuple[str, list[dict[str, str]]]
) -> None:
    with pytest.raises(TransportError) as caught:
        await validate_against(session, f"{bad_app[0]}/slow", timeout_s=0.1)

    assert TOKEN not in str(caught.value)


async def test_closed_port_is_a_transport_error(session: aiohttp.ClientSession) -> None:
    with pytest.raises(TransportError):
        await validate_against(session, f"http://127.0.0.1:{free_port()}")
