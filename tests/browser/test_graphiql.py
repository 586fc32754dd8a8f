"""GraphiQL at /graphql works with no internet: every asset comes from marketsync."""

from __future__ import annotations

from urllib.parse import quote

from playwright.async_api import expect

from tests.browser.conftest import Tab
from tests.conftest import Api, import_order, register_store


async def test_graphiql_loads_offline_and_runs_a_query(api: Api, tab: Tab) -> None:
    # Given GraphiQL opened on a query
    await tab.page.goto(f"{api.base_url}/graphql?q={quote('{ __typename }')}")

    # When the query is run
    await tab.page.locator(".graphiql-execute-button").click()

    # Then the answer shows, with the headers tab and the explorer there, and nothing failed
    await expect(tab.page.locator(".graphiql-response")).to_contain_text('"__typename": "Query"')
    await expect(tab.page.get_by_text("Headers", exact=True)).to_be_visible()
    await expect(tab.page.get_by_label("Show GraphiQL Explorer")).to_be_visible()
    assert tab.blocked == []
    assert tab.failed == []
    assert tab.console_errors == []
    served = await tab.page.evaluate(
        "performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
    )
    assert set(served) == {api.base_url}


async def test_graphiql_subscription_runs_over_the_websocket(api: Api, tab: Tab) -> None:
    # Given a store and GraphiQL subscribed to its status
    store = await register_store(api)
    query = f'subscription {{ syncStatus(syncToken: "{store.sync_token}") {{ importedOrders }} }}'
    await tab.page.goto(f"{api.base_url}/graphql?q={quote(query)}")
    await tab.page.locator(".graphiql-execute-button").click()
    response = tab.page.locator(".graphiql-response")
    await expect(response).to_contain_text('"importedOrders": 0')

    # When another client imports an order
    payload = await import_order(api, store.sync_token, "R-1001")
    assert payload["syncLog"]["status"] == "SUCCESS"

    # Then the running subscription shows it
    await expect(response).to_contain_text('"importedOrders": 1')
    assert tab.blocked == []
    assert tab.console_errors == []
