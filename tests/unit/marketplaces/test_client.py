"""Pure parts of the marketplace client: Retry-After and the canonical inventory body."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from marketsync.marketplaces.client import canonical_inventory_body
from marketsync.retry_after import parse_retry_after

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Wed, 01 Jan 2025 12:02:00 GMT", 120.0),
        ("Wed, 01 Jan 2025 11:00:00 GMT", 0.0),  # a past date means "now"
        ("-5", None),
        ("inf", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_canonical_body_ignores_key_order() -> None:
    first = canonical_inventory_body([{"barcode": "B", "quantity": 1}])
    second = canonical_inventory_body([{"quantity": 1, "barcode": "B"}])

    assert first == second == b'{"items":[{"barcode":"B","quantity":1}]}'


def test_canonical_body_refuses_nan() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_inventory_body([{"salePrice": float("nan")}])


def test_canonical_body_is_json() -> None:
    items = [{"barcode": "Ü-1", "listPrice": 10.5}]

    assert json.loads(canonical_inventory_body(items)) == {"items": items}
