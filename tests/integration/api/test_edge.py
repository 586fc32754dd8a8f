"""The edge of /graphql: body limits, bad bodies, subscriptions over HTTP, websocket limits, /mock.

Every refusal is a JSON body with ``extensions.code``, never a 500, never a traceback in
the logs, and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from marketsync.config import Settings
from marketsync.models import Store
from tests.conftest import ORG, Api, migrate_with_cli
from tests.support.graphql import REGISTER_STORE, store_input
from tests.support.processes import Proc, Stack, wait_until_ready
from tests.support.servers import free_port

MIB = 1024 * 1024
LIMIT = 16 * MIB  # the default MAX_REQUEST_BYTES
SUBSCRIPTION = (
    'subscription { syncStatus(syncToken: "00000000-0000-4000-8000-000000000000") { syncStatus } }'
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def error_logs() -> Iterator[list[str]]:
    """Error records of uvicorn, Strawberry and the root logger, and structlog errors."""
    handler = _Records()
    loggers = [logging.getLogger(n) for n in ("", "uvicorn.error", "strawberry.execution")]
    for logger in loggers:
        logger.addHandler(handler)
    found: list[str] = []
    try:
        with capture_logs() as structured:
            yield found
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    found.extend(f"{r.name}: {r.getMessage()}" for r in handler.records)
    found.extend(
        str(e) for e in structured if e.get("log_level") in ("error", "critical", "exception")
    )


def coded(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    return [error["extensions"]["code"] for error in response.json()["errors"]]


def register_body(padding: int) -> bytes:
    """A valid registerStore request whose unused variable pads it to ``padding`` bytes."""
    variables = {"input": store_input(ORG, "shop-big"), "pad": ""}
    head = json.dumps({"query": REGISTER_STORE, "variables": variables})
    return head[:-3].encode() + b"x" * (padding - len(head)) + b'"}}'


# --- MAX_REQUEST_BYTES -----------------------------------------------------------------


async def test_a_body_one_byte_past_the_limit_answers_413_and_registers_nothing(api: Api) -> None:
    fits = register_body(LIMIT)
    too_big = register_body(LIMIT + 1)
    headers = {"content-type": "application/json", "authorization": f"Bearer {api.key}"}

    with error_logs() as errors:
        refused = await api.http.post("/graphql", content=too_big, headers=headers)
    stored_after_refusal = await Store.all().count()
    accepted = await api.http.post("/graphql", content=fits, headers=headers)

    assert len(too_big) == LIMIT + 1
    assert refused.status_code == 413
    assert coded(refused) == ["REQUEST_TOO_LARGE"]
    assert stored_after_refusal == 0
    assert errors == []
    assert len(fits) == LIMIT
    assert accepted.status_code == 200
    assert accepted.json()["data"]["registerStore"]["userErrors"] == []


async def test_a_chunked_body_is_cut_off_at_the_limit_not_read_to_its_end(api: Api) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal sent
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        while sent < 256 * MIB:  # bounded: the server must stop reading long before
            sent += MIB
            yield b"x" * MIB

    try:
        response = await api.http.post(
            "/graphql",
            content=endless(),
            headers={"content-type": "application/json"},
            timeout=30,
        )
    except httpx.TransportError:  # the server may close while the client still writes
        response = None

    assert sent < 64 * MIB  # stopped near 16 MiB (plus socket buffers), not at 256
    if response is not None:
        assert response.status_code == 413
        assert coded(response) == ["REQUEST_TOO_LARGE"]


async def test_a_declared_length_past_the_limit_is_refused_without_waiting_for_the_body(
    api: Api,
) -> None:
    """Content-Length says 64 MiB and 10 bytes follow: the answer comes at once."""
    host, port = api.base_url.removeprefix("http://").split(":")
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {64 * MIB}\r\n\r\n"
    ).encode() + b'{"query":"'

    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=3)
    finally:
        writer.close()

    assert status_line.startswith(b"HTTP/1.1 413")


# --- bad bodies ------------------------------------------------------------------------

BAD_BODIES = {
    "not utf-8": b'{"query": "{ __typename }", "variables": {"a": "\xff\xfe"}}',
    "not json": b'{"query": "{ __typename }",',
    "a list": b'[{"query": "{ __typename }"}]',
    "a string": b'"{ __typename }"',
    "nested too deeply": b"[" * 100_000 + b"]" * 100_000,
    "deep variables": b'{"query": "{ __typename }", "variables": {"a": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}}",
    "deep variables, big": b'{"query": "{ __typename }", "variables": {"a": '
    + b'{"k":' * 400_000
    + b"1"
    + b"}" * 400_000
    + b"}}",
    "variables a list": b'{"query": "{ __typename }", "variables": [1]}',
    "query a number": b'{"query": 3}',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_bodies_answer_400_bad_request_with_no_traceback(api: Api, body: bytes) -> None:
    with error_logs() as errors:
        response = await api.http.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )

    assert response.status_code == 400
    assert coded(response) == ["BAD_REQUEST"]
    assert "Traceback" not in response.text
    assert errors == []


async def test_deep_variables_in_a_get_answer_400_bad_request(api: Api) -> None:
    variables = '{"a": ' + "[" * 3000 + "]" * 3000 + "}"

    with error_logs() as errors:
        response = await api.http.get(
            "/graphql", params={"query": "{ __typename }", "variables": variables}
        )

    assert response.status_code == 400
    assert coded(response) == ["BAD_REQUEST"]
    assert errors == []


async def test_millions_of_tiny_values_are_refused_before_they_are_built(api: Api) -> None:
    body = b'{"query": "{ __typename }", "variables": {"a": [' + b"0," * 1_200_000 + b"0]}}"

    response = await api.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert len(body) < LIMIT
    assert response.status_code == 413
    assert coded(response) == ["REQUEST_TOO_LARGE"]


async def test_health_answers_while_big_bodies_are_decoded(api: Api) -> None:
    """Hang guard only (timings go to bench/edge.py): each /health answers within 2 s."""
    pad = "x" * (LIMIT - 200)
    body = json.dumps({"query": "{ __typename }", "variables": {"pad": pad}}).encode()
    headers = {"content-type": "application/json"}
    latencies: list[float] = []

    async def post_big() -> int:
        return (await api.http.post("/graphql", content=body, headers=headers)).status_code

    async def sample_health(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get("/health", timeout=2)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
            await asyncio.sleep(0.01)

    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=api.base_url) as second:
        sampler = asyncio.create_task(sample_health(second, stop))
        statuses = await asyncio.wait_for(asyncio.gather(*(post_big() for _ in range(3))), 120)
        stop.set()
        await asyncio.wait_for(sampler, 10)

    print(f"/health during 3 x 16 MiB bodies: {len(latencies)} samples, max {max(latencies):.3f}s")
    assert statuses == [200, 200, 200]
    assert len(latencies) >= 1


# --- subscriptions over HTTP -----------------------------------------------------------

SUBSCRIPTION_REQUESTS: dict[str, dict[str, Any]] = {
    "POST": {"method": "POST", "json": {"query": SUBSCRIPTION}},
    "GET": {"method": "GET", "params": {"query": SUBSCRIPTION}},
    "multipart": {
        "method": "POST",
        "json": {"query": SUBSCRIPTION},
        "headers": {"accept": "multipart/mixed;subscriptionSpec=1.0, application/json"},
    },
    "event stream": {
        "method": "GET",
        "params": {"query": SUBSCRIPTION},
        "headers": {"accept": "text/event-stream"},
    },
}


@pytest.mark.parametrize(
    "request_args", SUBSCRIPTION_REQUESTS.values(), ids=SUBSCRIPTION_REQUESTS.keys()
)
async def test_a_subscription_over_http_names_the_websocket(
    api: Api, request_args: dict[str, Any]
) -> None:
    args = dict(request_args)
    with error_logs() as errors:
        response = await api.http.request(args.pop("method"), "/graphql", **args)

    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]
    assert "websocket" in body["errors"][0]["message"]
    assert "graphql-transport-ws" in body["errors"][0]["message"]
    assert "Internal server error" not in response.text
    assert errors == []


# --- websockets ------------------------------------------------------------------------


async def _subscribe(ws: Any, op_id: str, token: str) -> None:
    query = "subscription($t: UUID!) { syncStatus(syncToken: $t) { syncStatus } }"
    message = {"id": op_id, "type": "subscribe", "payload": {"query": query}}
    message["payload"]["variables"] = {"t": token}
    await ws.send(json.dumps(message))


async def test_the_subscription_limit_error_is_coded(api: Api) -> None:
    from tests.conftest import register_store

    store = await register_store(api)
    url = api.base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        for op in range(100):
            await _subscribe(ws, str(op), store.sync_token)
        await _subscribe(ws, "over", store.sync_token)

        refusal = None
        deadline = time.monotonic() + 30
        while refusal is None and time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message.get("id") == "over":
                refusal = message

    assert refusal is not None
    assert refusal["type"] == "error"
    assert refusal["payload"][0]["message"] == "Subscription limit reached"
    assert refusal["payload"][0]["extensions"] == {"code": "TOO_MANY_SUBSCRIPTIONS"}


# --- `marketsync serve`: /mock off by default, websocket caps ---------------------------


@pytest.fixture(scope="module")
def serve_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("edge-serve")
    database_url = f"sqlite://{folder / 'serve.db'}"
    migrate_with_cli(database_url)
    stack = Stack(
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "edge-tests-secret-key-0123456789-abcdef",
            "MAX_WS_CONNECTIONS_PER_CLIENT": "2",
            "LOG_LEVEL": "WARNING",
        }
    )
    try:
        yield stack
    finally:
        stack.stop_all()


async def _serve(stack: Stack, **env: str) -> tuple[str, Proc]:
    port = free_port()
    proc = stack.start("serve", "serve", "--port", str(port), env=env)
    base_url = f"http://127.0.0.1:{port}"
    await wait_until_ready(base_url, proc)
    return base_url, proc


async def _validate(base_url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        return await client.post(
            "/mock/etsy/validate", json={"receipt": "R-1001"}, auth=("etsy", "etsy-dev-pass")
        )


async def test_serve_mounts_the_mock_only_when_enabled(serve_stack: Stack) -> None:
    plain_url, plain = await _serve(serve_stack)
    enabled_url, enabled = await _serve(serve_stack, MOCK_MARKETPLACE_ENABLED="true")
    try:
        off = await _validate(plain_url)
        async with httpx.AsyncClient(base_url=plain_url, timeout=10) as client:
            receiver_off = await client.get("/mock/webhook/received")
        on = await _validate(enabled_url)
    finally:
        plain.kill()
        enabled.kill()

    assert off.status_code == 404
    assert receiver_off.status_code == 404
    assert on.status_code == 200
    assert on.json()["status"] is True


def test_dev_mounts_the_mock_unless_explicitly_disabled() -> None:
    assert Settings(marketsync_mode="dev").mock_marketplace_mounted is True
    assert Settings(marketsync_mode="serve").mock_marketplace_mounted is False
    dev_off = Settings(marketsync_mode="dev", mock_marketplace_enabled=False)
    assert dev_off.mock_marketplace_mounted is False
    assert Settings(mock_marketplace_enabled=True).mock_marketplace_mounted is True


async def test_serve_caps_websockets_per_client_and_frame_size(serve_stack: Stack) -> None:
    base_url, proc = await _serve(serve_stack)
    url = base_url.replace("http://", "ws://") + "/graphql"
    protocols: Any = ["graphql-transport-ws"]
    try:
        first = await connect(url, subprotocols=protocols, open_timeout=10)
        second = await connect(url, subprotocols=protocols, open_timeout=10)
        third = await connect(url, subprotocols=protocols, open_timeout=10)
        with pytest.raises(ConnectionClosed) as refused:
            await asyncio.wait_for(third.recv(), 10)
        await first.close()
        await asyncio.sleep(0.2)
        fourth = await connect(url, subprotocols=protocols, open_timeout=10)
        await fourth.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(fourth.recv(), 10))
        await fourth.send(json.dumps({"type": "ping", "payload": {"pad": "x" * (2 * MIB)}}))
        with pytest.raises(ConnectionClosed) as too_big:
            await asyncio.wait_for(fourth.recv(), 10)
        await second.close()
    finally:
        proc.kill()

    assert refused.value.rcvd is not None
    assert refused.value.rcvd.code == 4429
    assert ack["type"] == "connection_ack"
    assert too_big.value.rcvd is not None
    assert too_big.value.rcvd.code == 1009  # message too big: closed before it is decoded
