"""A page on another origin calling the API, with and without CORS_ALLOWED_ORIGINS."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.browser.conftest import Tab
from tests.conftest import ORG, Api
from tests.support.origins import served_with
from tests.support.servers import serve_asgi

# The other origin's page: a query over fetch() with the key (a preflighted request)
# and a graphql-transport-ws handshake, each reporting what the browser let through.
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>elsewhere</title></head>
<body><script>
async function query(api, key) {
  try {
    const response = await fetch(api + "/graphql", {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key},
      body: JSON.stringify({query: "{ viewer { organizationId } }"}),
    });
    return {body: await response.json()};
  } catch (error) {
    return {refused: String(error)};
  }
}
function socket(api, key) {
  return new Promise((resolve) => {
    const ws = new WebSocket(api.replace("http", "ws") + "/graphql", "graphql-transport-ws");
    const timer = setTimeout(() => resolve("timeout"), 8000);
    ws.onopen = () => ws.send(JSON.stringify(
      {type: "connection_init", payload: {Authorization: "Bearer " + key}}));
    ws.onmessage = (event) => {
      clearTimeout(timer); resolve(JSON.parse(event.data).type); ws.close();
    };
    ws.onclose = () => { clearTimeout(timer); resolve("closed"); };
  });
}
</script></body></html>"""


@contextlib.asynccontextmanager
async def other_origin() -> AsyncIterator[str]:
    async def index(request: Any) -> HTMLResponse:
        return HTMLResponse(PAGE)

    async with serve_asgi(Starlette(routes=[Route("/", index)]), lifespan="off") as base_url:
        yield base_url


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "not-allowed"])
async def test_a_page_on_another_origin_calls_the_api_only_when_allowed(
    api: Api, tab: Tab, allowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    async with other_origin() as page_origin:
        setting = {"cors_allowed_origins": page_origin} if allowed else {}
        # Given the API outside dev, with the page's origin allowed or no setting at all
        async with served_with(
            api.app, api.settings.database_url, marketsync_mode="serve", **setting
        ) as api_url:
            await tab.page.goto(page_origin)

            # When the page queries the API and opens its websocket
            result = await tab.page.evaluate("([api, key]) => query(api, key)", [api_url, api.key])
            handshake = await tab.page.evaluate(
                "([api, key]) => socket(api, key)", [api_url, api.key]
            )

    # Then the browser lets the page through only when its origin is allowed
    if allowed:
        assert result == {"body": {"data": {"viewer": {"organizationId": ORG}}}}
        assert handshake == "connection_ack"
        assert tab.console_errors == []
    else:
        assert result == {"refused": "TypeError: Failed to fetch"}
        assert handshake == "closed"
        assert any("CORS policy" in line for line in tab.console_errors), tab.console_errors
    assert tab.blocked == []
