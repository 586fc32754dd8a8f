"""The syncStatus subscription over graphql-transport-ws, in the embedded app."""

from __future__ import annotations

import asyncio
import itertools

from tests.conftest import Api, import_order, register_store
from tests.support.subscriptions import next_message, open_subscription


async def test_first_the_current_report_then_one_message_per_change(api: Api) -> None:
    store = await register_store(api)
    await import_order(api, store.sync_token, "R-1")
    ws = await open_subscription(api.base_url, store.sync_token)
    try:
        first = await next_message(ws)
        assert first["type"] == "next"
        assert first["payload"]["data"]["syncStatus"]["importedOrders"] == 1
        assert first["payload"]["data"]["syncStatus"]["syncStatus"] == "SUCCESS"

        await import_order(api, store.sync_token, "R-2")
        seen = [await next_message(ws)]
        while seen[-1]["payload"]["data"]["syncStatus"]["failedCount"] == 0:
            seen.append(await next_message(ws))

        final = seen[-1]["payload"]["data"]["syncStatus"]
        assert final["syncStatus"] == "PARTIAL"
        assert final["importedOrders"] == 1
        assert final["failedCount"] == 1
        reports = [m["payload"]["data"]["syncStatus"] for m in seen]
        assert all(a != b for a, b in itertools.pairwise(reports))
        await import_order(api, store.sync_token, "R-2")  # a duplicate changes nothing
        try:
            extra = await next_message(ws, timeout_s=0.5)
        except TimeoutError:
            extra = None
        assert extra is None
    finally:
        await ws.close()


async def test_unknown_token_is_not_found(api: Api) -> None:
    ws = await open_subscription(api.base_url, "00000000-0000-4000-8000-000000000000")
    try:
        message = await next_message(ws)
    finally:
        await ws.close()

    assert message["type"] == "error" or message["payload"].get("errors")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_closed_sockets_leave_no_subscribers_behind(api: Api) -> None:
    store = await register_store(api)
    hub = api.app.state.hub
    sockets = [await open_subscription(api.base_url, store.sync_token) for _ in range(20)]
    for ws in sockets:
        await next_message(ws)
    assert hub.subscriber_count == 20

    for ws in sockets:
        await ws.close()
    for _ in range(100):
        if hub.subscriber_count == 0:
            break
        await asyncio.sleep(0.02)

    assert hub.subscriber_count == 0
