"""The pages marketsync serves to browsers, with every script and style served from here.

``pages/`` holds the HTML (GraphiQL, the dashboard); ``static/`` the dashboard's own
JS and CSS and ``static/vendor/``, the pinned npm files with their licences, rebuilt
by ``web/vendor.sh`` at the repository root (see ``static/vendor/SHA256SUMS``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

HERE = Path(__file__).parent
# The dashboard has no inline script or style: everything it loads or calls is this origin.
DASHBOARD_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@cache
def page(name: str) -> str:
    return (HERE / "pages" / name).read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(page("graphiql.html"))


async def dashboard(request: Request) -> Response:
    return HTMLResponse(page("dashboard.html"), headers=DASHBOARD_HEADERS)


async def to_dashboard(request: Request) -> Response:
    return RedirectResponse("/dashboard", status_code=307)


def web_routes() -> list[BaseRoute]:
    return [
        Route("/", to_dashboard),
        Route("/dashboard", dashboard),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
