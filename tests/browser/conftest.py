"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, kept off the network.

Never `playwright install`: the browser is the system one. Without it the browser
tests skip and say why, except under CI=true, where they fail. Every request to a host
other than 127.0.0.1/localhost is aborted and recorded; a failing test leaves a
screenshot in test-artifacts/.

The pages speak only GraphQL, so the suite runs against the SQLite app alone (kept near
a minute on this machine); the API on PostgreSQL is what tests/integration covers.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, Route, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 30_000  # generous: CI machines are shared and pages load a large bundle


@dataclass
class Tab:
    """A page plus what it tried to do: blocked off-machine requests, failures, console errors."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    browser_on_postgres = [
        item for item in items if here in item.path.parents and "[postgres" in item.name
    ]
    if browser_on_postgres:
        config.hook.pytest_deselected(items=browser_on_postgres)
        items[:] = [item for item in items if item not in browser_on_postgres]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        reason = (
            f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install Debian's chromium "
            "(apt-get install -y chromium); never `playwright install`."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def tab(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Tab]:
    context = await browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    tab = Tab(page)

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith(
            ("data:", "blob:")
        ):
            await route.continue_()
        else:
            tab.blocked.append(route.request.url)
            await route.abort("blockedbyclient")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.console_errors.append(f"{message.text} @ {message.location}")

    def on_failed(req: Request) -> None:
        tab.failed.append(f"{req.method} {req.url}: {req.failure}")

    await context.route("**/*", only_loopback)
    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.console_errors.append(f"pageerror: {error}"))
    page.on("requestfailed", on_failed)
    try:
        yield tab
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.txt").write_text(
                f"url: {page.url}\nblocked: {tab.blocked}\nfailed: {tab.failed}\n"
                f"console errors: {tab.console_errors}\n"
            )
        await context.close()
