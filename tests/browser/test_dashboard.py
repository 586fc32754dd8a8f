"""The dashboard in a real browser: key, stores, live updates, Sync now, deliveries."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Page, expect

from tests.browser.conftest import Tab
from tests.conftest import ORG, Api, import_order, register_store
from tests.support.origins import served_with
from tests.support.servers import free_port

REGISTER_WEBHOOK = """mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) {
  webhook { id } userErrors { code } } }"""
TRIGGER_SYNC = "mutation($id: UUID!) { triggerSync(storeId: $id) { id } }"
DELIVERIES = """query($org: String!) { webhookDeliveries(organizationId: $org) {
  edges { node { id attempt status } } } }"""


async def open_dashboard(api: Api, page: Page, key: str) -> None:
    await open_dashboard_at(api.base_url, page, key)


async def open_dashboard_at(base_url: str, page: Page, key: str) -> None:
    await page.goto(f"{base_url}/")
    assert page.url == f"{base_url}/dashboard"
    await page.get_by_test_id("api-key-input").fill(key)
    await page.get_by_test_id("api-key-input").press("Enter")


async def test_a_bad_key_is_explained_and_nothing_is_shown(api: Api, tab: Tab) -> None:
    await open_dashboard(api, tab.page, "msk_not-a-key")

    await expect(tab.page.get_by_test_id("key-error")).to_contain_text("not accepted")
    await expect(tab.page.get_by_test_id("store-row")).to_have_count(0)
    assert await tab.page.evaluate("sessionStorage.length") == 0
    assert tab.blocked == []


async def test_stores_listed_and_updated_live_without_reload(api: Api, tab: Tab) -> None:
    # Given two stores, one of them watched on the dashboard
    first = await register_store(api, "shop-1", storeName="First shop")
    second = await register_store(api, "shop-2", storeName="Second shop")
    await open_dashboard(api, tab.page, api.key)
    await expect(tab.page.get_by_test_id("organization")).to_have_text(f"organization {ORG}")
    await expect(tab.page.get_by_test_id("store-row")).to_have_count(2)
    row = tab.page.locator(f'[data-testid="store-row"][data-store-id="{first.id}"]')
    other = tab.page.locator(f'[data-testid="store-row"][data-store-id="{second.id}"]')
    await expect(row.get_by_test_id("store-status")).to_have_text("PENDING")
    await expect(row.get_by_test_id("store-imported")).to_have_text("0")
    await expect(tab.page.get_by_test_id("connection-status")).to_have_attribute(
        "data-state", "live"
    )
    await tab.page.evaluate("window.notReloaded = true")

    # When another client imports an order into the first store
    payload = await import_order(api, first.sync_token, "R-1001")
    assert payload["syncLog"]["status"] == "SUCCESS"

    # Then that row changes in place, the other does not, and the page was not reloaded
    await expect(row.get_by_test_id("store-status")).to_have_text("SUCCESS")
    await expect(row.get_by_test_id("store-imported")).to_have_text("1")
    await expect(other.get_by_test_id("store-status")).to_have_text("PENDING")
    await expect(other.get_by_test_id("store-imported")).to_have_text("0")
    assert await tab.page.evaluate("window.notReloaded") is True
    # The key lives in this tab's session storage only: not in the URL, not in a cookie
    assert await tab.page.evaluate("sessionStorage.getItem('marketsync.apiKey')") == api.key
    assert api.key not in tab.page.url
    assert await tab.page.context.cookies() == []
    assert tab.blocked == []
    assert tab.failed == []
    assert tab.console_errors == []


async def test_sync_now_shows_the_job_reaching_success(api: Api, tab: Tab) -> None:
    # Given a store with a rate-limited order waiting for the sync worker
    store = await register_store(api)
    payload = await import_order(api, store.sync_token, "R-1015")  # 1+5 = 6: rate limited
    assert payload["syncLog"]["status"] == "RATE_LIMITED"
    await open_dashboard(api, tab.page, api.key)
    row = tab.page.locator(f'[data-testid="store-row"][data-store-id="{store.id}"]')

    # When "Sync now" is pressed
    await row.get_by_test_id("sync-now").click()

    # Then the row shows the job until it succeeds, and the store's jobs list it
    await expect(row.get_by_test_id("store-job")).to_have_text("STORE_SYNC SUCCESS", timeout=30_000)
    await row.get_by_test_id("store-open").click()
    jobs = tab.page.get_by_test_id("job-row").filter(has_text="STORE_SYNC")
    await expect(jobs.first).to_contain_text("SUCCESS")
    await expect(tab.page.get_by_test_id("sync-log-row")).to_have_count(1)
    assert tab.blocked == []
    assert tab.console_errors == []


async def test_webhook_delivery_listed_and_redelivered(api: Api, tab: Tab) -> None:
    # Given a webhook endpoint with one delivered event
    store = await register_store(api)
    body = await api.gql(
        REGISTER_WEBHOOK,
        {
            "input": {
                "organizationId": ORG,
                "event": "SYNC_COMPLETED",
                "targetUrl": f"{api.base_url}/mock/webhook",
            }
        },
        key=api.key,
    )
    assert body["data"]["registerWebhook"]["userErrors"] == []
    await api.gql(TRIGGER_SYNC, {"id": store.id}, key=api.key)
    delivery = await wait_for_delivery(api, attempt=1)
    await open_dashboard(api, tab.page, api.key)
    row = tab.page.locator(f'[data-testid="delivery-row"][data-delivery-id="{delivery}"]')
    await expect(row).to_contain_text("SUCCESS")

    # When "Redeliver" is pressed
    await row.get_by_test_id("redeliver").click()

    # Then the delivery is sent again
    assert await wait_for_delivery(api, attempt=2) == delivery
    assert tab.console_errors == []


async def wait_for_delivery(api: Api, *, attempt: int, timeout_s: float = 20) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = await api.gql(DELIVERIES, {"org": ORG}, key=api.key)
        edges = body["data"]["webhookDeliveries"]["edges"]
        done = [
            e["node"]
            for e in edges
            if e["node"]["attempt"] >= attempt and e["node"]["status"] == "SUCCESS"
        ]
        if done:
            delivery_id: str = done[0]["id"]
            return delivery_id
        await asyncio.sleep(0.2)
    raise AssertionError(f"no delivery reached attempt {attempt}: {edges}")


async def test_a_lost_connection_shows_reconnecting_and_recovers(api: Api, tab: Tab) -> None:
    # Given the dashboard live on a server of its own (sharing the test app's database)
    store = await register_store(api)
    port = free_port()
    async with served_with(api.app, api.settings.database_url, port=port):
        await open_dashboard_at(f"http://127.0.0.1:{port}", tab.page, api.key)
        live = tab.page.get_by_test_id("connection-status")
        await expect(live).to_have_attribute("data-state", "live")

    # When that server goes away, the page says so; when it is back, the page reconnects
    await expect(live).to_have_attribute("data-state", "reconnecting")
    await expect(live).to_contain_text("reconnecting")
    async with served_with(api.app, api.settings.database_url, port=port):
        await expect(live).to_have_attribute("data-state", "live", timeout=20_000)
        await import_order(api, store.sync_token, "R-1001")

        # Then live updates flow again, without a reload
        row = tab.page.locator(f'[data-testid="store-row"][data-store-id="{store.id}"]')
        await expect(row.get_by_test_id("store-imported")).to_have_text("1")
        await expect(row.get_by_test_id("store-status")).to_have_text("SUCCESS")
