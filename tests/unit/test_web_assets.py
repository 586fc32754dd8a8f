"""The pages marketsync serves load nothing from elsewhere, and every file they name ships."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from marketsync.web import HERE

PAGES = sorted((HERE / "pages").glob("*.html"))
STATIC = HERE / "static"
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_asset_of_a_page_is_in_the_package(page: Path) -> None:
    html = page.read_text()
    urls = [url for url in ASSET.findall(html) if not url.startswith("data:")]
    assert urls, "a page with no assets: the pattern no longer matches"
    for url in urls:
        assert url.startswith("static/"), f"{page.name} loads {url} from outside marketsync"
        assert (STATIC / url.removeprefix("static/")).is_file(), url
    assert "unpkg" not in html
    assert "cdn" not in html.lower()


def test_graphiql_integrity_attributes_match_the_vendored_files() -> None:
    html = (HERE / "pages" / "graphiql.html").read_text()
    pairs = re.findall(r'(?:src|href)="static/([^"]+)"\s+integrity="sha384-([^"]+)"', html)
    assert len(pairs) == 7
    for path, expected in pairs:
        digest = hashlib.sha384((STATIC / path).read_bytes()).digest()
        assert base64.b64encode(digest).decode() == expected, path


def test_vendored_files_match_their_checksums_and_carry_a_licence() -> None:
    vendor = STATIC / "vendor"
    lines = (vendor / "SHA256SUMS").read_text().splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    present = {str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.is_file()} - {
        "SHA256SUMS"
    }
    assert set(listed) == present
    for name, digest in listed.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    for folder in (p for p in vendor.iterdir() if p.is_dir()):
        assert (folder / "LICENSE").is_file(), folder.name
