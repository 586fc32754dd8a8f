"""Many subscribers of one store: one report load and one execution per distinct report."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from marketsync.resolvers.root import schema
from tests.conftest import Api, import_order, register_store
from tests.support.subscriptions import open_subscription

SUBSCRIBERS = 12


async def _until_imported(ws: Any, count: int) -> list[str]:
    """The raw messages up to the first report with ``count`` imported orders."""
    seen: list[str] = []
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=10)
        seen.append(raw)
        if json.loads(raw)["payload"]["data"]["syncStatus"]["importedOrders"] == count:
            return seen


async def test_subscribers_of_one_store_share_each_execution_and_get_the_right_report(
    api: Api,
) -> None:
    # Given SUBSCRIBERS subscribers of one store with the same document and variables
    store = await register_store(api)
    results = schema.execution_context_class.results  # type: ignore[attr-defined]
    sockets = [await open_subscription(api.base_url, store.sync_token) for _ in range(SUBSCRIBERS)]
    try:
        firsts = [await _until_imported(ws, 0) for ws in sockets]
        hits, misses = results.hits, results.misses

        # When an order is imported
        await import_order(api, store.sync_token, "R-1")
        streams = [await _until_imported(ws, 1) for ws in sockets]

        # Then every subscriber got the same messages, byte for byte, ending in the new report
        assert firsts == [firsts[0]] * SUBSCRIBERS
        assert streams == [streams[0]] * SUBSCRIBERS
        final = json.loads(streams[0][-1])["payload"]["data"]["syncStatus"]
        assert final["storeId"] == store.id
        assert final["syncStatus"] == "SUCCESS"
        assert (final["importedOrders"], final["pendingCount"], final["failedCount"]) == (1, 0, 0)
        # And each distinct report was executed once; the other subscribers shared it
        distinct = len(streams[0])
        assert results.misses - misses == distinct
        assert results.hits - hits == distinct * (SUBSCRIBERS - 1)
    finally:
        for ws in sockets:
            await ws.close()
