"""A small graphql-transport-ws client for tests and benchmarks."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

SUBSCRIBE_STATUS = """subscription($token: UUID!) { syncStatus(syncToken: $token) {
  storeId importedOrders syncStatus rateLimitedCount pendingCount failedCount lastSyncAt } }"""


async def open_subscription(
    base_url: str,
    token: str,
    query: str = SUBSCRIBE_STATUS,
    *,
    init: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
) -> ClientConnection:
    ws = await connect(
        base_url.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {"token": token}},
            }
        )
    )
    return ws


async def next_message(ws: ClientConnection, timeout_s: float = 10) -> dict[str, Any]:
    import asyncio

    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    return message
