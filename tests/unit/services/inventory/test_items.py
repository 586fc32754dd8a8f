"""Inventory items: validation, normalization and coalescing by barcode."""

from __future__ import annotations

import json
from decimal import Decimal

from marketsync.services.inventory.items import (
    MAX_REPORTED_ERRORS,
    InventoryItem,
    coalesce,
    validate_items,
)
from tests.support.inventory_items import given, item, rejected


def test_valid_items_are_normalized() -> None:
    items = validate_items(
        [given(" A-1 ", sale="9.5", list_="12", currency=" usd"), given("B", currency=None)],
        max_items=2,
    )

    assert items == [
        InventoryItem("A-1", 1, Decimal("9.50"), Decimal("12.00"), "USD"),
        InventoryItem("B", 1, Decimal("10.00"), Decimal("12.00"), "TRY"),
    ]
    assert str(items[0].sale_price) == "9.50"


def test_a_sale_price_above_the_list_price_is_accepted() -> None:
    (accepted,) = validate_items([given("A", sale="20.00", list_="10.00")], max_items=1)

    assert (accepted.sale_price, accepted.list_price) == (Decimal("20.00"), Decimal("10.00"))


def test_no_items_is_invalid_input() -> None:
    assert rejected([]) == [("INVALID_INPUT", ["input", "items"])]


def test_more_than_the_maximum_is_too_many_items() -> None:
    assert rejected([given(str(n)) for n in range(4)], max_items=3) == [
        ("TOO_MANY_ITEMS", ["input", "items"])
    ]


def test_exactly_the_maximum_is_accepted() -> None:
    assert len(validate_items([given(str(n)) for n in range(3)], max_items=3)) == 3


def test_every_wrong_field_is_reported_with_its_path() -> None:
    errors = rejected(
        [
            given("ok"),
            given("  "),
            given("B", quantity=-1),
            given("C", sale="-0.01"),
            given("D", list_="-5"),
            given("E", currency="XXX"),
            given("F", sale="1.234"),
            given("G", list_="NaN"),
            given("H", sale="1000000000000"),
            given("x" * 256),
        ]
    )

    assert errors == [
        ("INVALID_INPUT", ["input", "items", "1", "barcode"]),
        ("INVALID_INPUT", ["input", "items", "2", "quantity"]),
        ("INVALID_INPUT", ["input", "items", "3", "salePrice"]),
        ("INVALID_INPUT", ["input", "items", "4", "listPrice"]),
        ("INVALID_CURRENCY", ["input", "items", "5", "currencyType"]),
        ("INVALID_INPUT", ["input", "items", "6", "salePrice"]),
        ("INVALID_INPUT", ["input", "items", "7", "listPrice"]),
        ("INVALID_INPUT", ["input", "items", "8", "salePrice"]),
        ("INVALID_INPUT", ["input", "items", "9", "barcode"]),
    ]


def test_trailing_zeros_beyond_two_decimals_are_not_extra_precision() -> None:
    (accepted,) = validate_items([given("A", sale="1.2300")], max_items=1)

    assert str(accepted.sale_price) == "1.23"


def test_reported_errors_are_capped() -> None:
    errors = rejected([given("") for _ in range(100)], max_items=100)

    assert len(errors) == MAX_REPORTED_ERRORS


def test_coalesce_keeps_the_last_occurrence_of_each_barcode() -> None:
    result = coalesce([item("A", 1), item("B", 2), item("A", 3)])

    assert sorted(result, key=lambda i: i.barcode) == [item("A", 3), item("B", 2)]


def test_stored_items_round_trip_exactly() -> None:
    original = item("A", 7, sale="0.10", list_="123456789012.34", currency="EUR")

    stored = json.loads(json.dumps(original.stored()))

    assert stored["salePrice"] == "0.10"
    assert InventoryItem.from_stored(stored) == original
