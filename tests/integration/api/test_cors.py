"""Pages on other origins: CORS_ALLOWED_ORIGINS governs HTTP (CORS) and websockets alike.

Each test serves a second copy of the app on 127.0.0.1 built from settings with the
origins under test (tests/support/origins.py), on the running test app's database.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from marketsync.config import Settings
from tests.conftest import ORG, Api
from tests.support.origins import served_with

ALLOWED = "http://app.example.test:8080"
REFUSED = "http://evil.example.test"
VIEWER = "query { viewer { organizationId } }"


@contextlib.asynccontextmanager
async def served(api: Api, **overrides: Any) -> AsyncIterator[str]:
    async with served_with(api.app, api.settings.database_url, **overrides) as base_url:
        yield base_url


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def refusal_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == "cross_origin_refused"]


# Settings: one source of truth -------------------------------------------------------


def test_default_is_no_origin_outside_dev_and_any_under_dev(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    assert Settings(marketsync_mode="serve").allowed_origins == []
    assert Settings(marketsync_mode="dev").allowed_origins == ["*"]


def test_an_explicit_value_wins_even_empty_under_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "")
    assert Settings(marketsync_mode="dev").allowed_origins == []
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f" {ALLOWED} ,HTTPS://App.Example.com:443")
    assert Settings(marketsync_mode="dev").allowed_origins == [
        ALLOWED,
        "https://app.example.com",
    ]


@pytest.mark.parametrize("bad", ["https://app.example.com/path", "app.example.com", "null"])
def test_a_value_that_is_not_an_origin_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", bad)
    with pytest.raises(ValidationError, match="cors_allowed_origins"):
        Settings()


# HTTP ----------------------------------------------------------------------------------


async def test_preflight_from_an_allowed_origin_names_it_and_the_headers(api: Api) -> None:
    async with served(api, cors_allowed_origins=ALLOWED) as base_url, httpx.AsyncClient() as http:
        with capture_logs() as logs:
            response = await http.options(f"{base_url}/graphql", headers=preflight(ALLOWED))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed_headers = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type"} <= allowed_headers
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers
    assert refusal_lines(logs) == []


async def test_preflight_from_another_origin_is_refused_and_logged(api: Api) -> None:
    async with served(api, cors_allowed_origins=ALLOWED) as base_url, httpx.AsyncClient() as http:
        with capture_logs() as logs:
            response = await http.options(f"{base_url}/graphql", headers=preflight(REFUSED))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    [line] = refusal_lines(logs)
    assert line["origin"] == REFUSED
    assert line["transport"] == "http"
    assert "CORS_ALLOWED_ORIGINS" in line["hint"]


async def test_actual_request_carries_the_origin_only_when_allowed(api: Api) -> None:
    async with served(api, cors_allowed_origins=ALLOWED) as base_url, httpx.AsyncClient() as http:
        allowed = await http.post(
            f"{base_url}/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.key}", "Origin": ALLOWED},
        )
        refused = await http.post(
            f"{base_url}/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.key}", "Origin": REFUSED},
        )
    assert allowed.status_code == 200
    assert allowed.json() == {"data": {"viewer": {"organizationId": ORG}}}
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in allowed.headers["vary"]
    # The browser withholds the answer from the page: the server sends no permission.
    assert refused.status_code == 200
    assert "access-control-allow-origin" not in refused.headers


async def test_outside_dev_without_the_setting_no_origin_is_allowed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    async with served(api, marketsync_mode="serve") as base_url, httpx.AsyncClient() as http:
        response = await http.options(f"{base_url}/graphql", headers=preflight(ALLOWED))
        plain = await http.post(
            f"{base_url}/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {api.key}"},
        )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert plain.json() == {"data": {"viewer": {"organizationId": ORG}}}
    assert "access-control-allow-origin" not in plain.headers


async def test_star_echoes_any_origin(api: Api) -> None:
    async with served(api, cors_allowed_origins="*") as base_url, httpx.AsyncClient() as http:
        response = await http.options(f"{base_url}/graphql", headers=preflight(REFUSED))
        actual = await http.post(
            f"{base_url}/graphql", json={"query": "{ __typename }"}, headers={"Origin": REFUSED}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == REFUSED
    assert actual.headers["access-control-allow-origin"] == REFUSED


# Websockets ----------------------------------------------------------------------------


async def _handshake(base_url: str, origin: str | None, key: str) -> dict[str, Any]:
    async with connect(
        base_url.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        open_timeout=10,
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
        await ws.send(json.dumps(init))
        message: dict[str, Any] = json.loads(await ws.recv(decode=True))
        return message


async def test_websocket_from_an_allowed_origin_is_accepted(api: Api) -> None:
    async with served(api, cors_allowed_origins=ALLOWED) as base_url:
        with capture_logs() as logs:
            ack = await _handshake(base_url, ALLOWED, api.key)
            same_origin = await _handshake(base_url, base_url, api.key)
            no_origin = await _handshake(base_url, None, api.key)  # not a browser
    assert ack == {"type": "connection_ack"}
    assert same_origin == {"type": "connection_ack"}
    assert no_origin == {"type": "connection_ack"}
    assert refusal_lines(logs) == []


async def test_websocket_from_another_origin_is_refused_and_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async with served(api, cors_allowed_origins=ALLOWED) as base_url:
        with (
            capture_logs() as logs,
            caplog.at_level(logging.DEBUG),
            pytest.raises(InvalidStatus) as refused,
        ):
            await _handshake(base_url, REFUSED, api.key)
    assert refused.value.response.status_code == 403
    [line] = refusal_lines(logs)
    assert line["origin"] == REFUSED
    assert line["transport"] == "websocket"
    assert "CORS_ALLOWED_ORIGINS" in line["hint"]
    # No second line pointing at a name an operator cannot set.
    assert [r for r in caplog.records if "allowed_origins" in r.getMessage()] == []


async def test_websocket_outside_dev_without_the_setting_refuses_other_origins(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    async with served(api, marketsync_mode="serve") as base_url:
        with pytest.raises(InvalidStatus) as refused:
            await _handshake(base_url, ALLOWED, api.key)
        same_origin = await _handshake(base_url, base_url, api.key)
    assert refused.value.response.status_code == 403
    assert same_origin == {"type": "connection_ack"}
