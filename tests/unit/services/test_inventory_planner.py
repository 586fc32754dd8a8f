"""The inventory planner's pure steps: validation, coalescing, diff, chunks and hashes."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from marketsync.errors import UserInputError
from marketsync.marketplaces.client import canonical_inventory_body
from marketsync.marketplaces.rules import inventory_item_failures
from marketsync.services.inventory.push import (
    MAX_REPORTED_ERRORS,
    InventoryInputError,
    InventoryItem,
    ItemInput,
    chunk_body,
    chunk_items,
    coalesce,
    dedup_key,
    is_write_effective,
    select_changed,
    validate_items,
)


def given(
    barcode: str,
    quantity: int = 1,
    sale: str = "10.00",
    list_: str = "12.00",
    currency: str | None = "TRY",
) -> ItemInput:
    return ItemInput(barcode, quantity, Decimal(sale), Decimal(list_), currency)


def item(
    barcode: str,
    quantity: int = 1,
    sale: str = "10.00",
    list_: str = "12.00",
    currency: str = "TRY",
) -> InventoryItem:
    return InventoryItem(barcode, quantity, Decimal(sale), Decimal(list_), currency)


def rejected(items: list[ItemInput], max_items: int = 100) -> list[tuple[str, list[str] | None]]:
    with pytest.raises(UserInputError) as caught:
        validate_items(items, max_items=max_items)
    error = caught.value
    errors = error.errors if isinstance(error, InventoryInputError) else [error]
    return [(e.code, e.field) for e in errors]


# --- validation ---------------------------------------------------------------------


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


# --- coalescing and the diff --------------------------------------------------------


def test_coalesce_keeps_the_last_occurrence_of_each_barcode() -> None:
    result = coalesce([item("A", 1), item("B", 2), item("A", 3)])

    assert sorted(result, key=lambda i: i.barcode) == [item("A", 3), item("B", 2)]


def test_items_equal_to_the_confirmed_state_are_skipped() -> None:
    confirmed = {"A": item("A", 1), "B": item("B", 2), "C": item("C", 3, currency="USD")}
    candidates = [item("A", 1), item("B", 5), item("C", 3), item("D", 4)]

    changed, skipped = select_changed(candidates, confirmed, force=False)

    assert changed == [item("B", 5), item("C", 3), item("D", 4)]
    assert skipped == 1


def test_force_sends_unchanged_items_too() -> None:
    confirmed = {"A": item("A", 1)}

    changed, skipped = select_changed([item("A", 1), item("B", 2)], confirmed, force=True)

    assert (changed, skipped) == ([item("A", 1), item("B", 2)], 0)


# --- chunks and bodies ----------------------------------------------------------------


def test_chunks_are_sorted_by_barcode_and_indexed_from_zero() -> None:
    items = [item(f"BC-{n:05d}") for n in reversed(range(2500))]

    chunks = chunk_items(items, 1000)

    assert [c.index for c in chunks] == [0, 1, 2]
    assert [len(c.items) for c in chunks] == [1000, 1000, 500]
    assert chunks[0].items[0].barcode == "BC-00000"
    assert chunks[2].items[-1].barcode == "BC-02499"
    assert len({c.body_hash for c in chunks}) == 3


def test_no_items_make_no_chunks() -> None:
    assert chunk_items([], 1000) == []


def test_the_hash_is_the_sha256_of_the_bytes_the_client_sends() -> None:
    items = [item("B", 2, sale="10.50", list_="12.00"), item("A", 1, sale="3", list_="3")]

    (chunk,) = chunk_items(items, 1000)

    sent = canonical_inventory_body(
        [
            {
                "barcode": "A",
                "quantity": 1,
                "salePrice": 3.0,
                "listPrice": 3.0,
                "currencyType": "TRY",
            },
            {
                "barcode": "B",
                "quantity": 2,
                "salePrice": 10.5,
                "listPrice": 12.0,
                "currencyType": "TRY",
            },
        ]
    )
    assert chunk_body(chunk.items) == sent
    assert sent == (
        b'{"items":[{"barcode":"A","currencyType":"TRY","listPrice":3.0,"quantity":1,'
        b'"salePrice":3.0},{"barcode":"B","currencyType":"TRY","listPrice":12.0,"quantity":2,'
        b'"salePrice":10.5}]}'
    )
    assert chunk.body_hash == hashlib.sha256(sent).hexdigest()


def test_the_same_items_in_another_order_give_the_same_hash() -> None:
    forward = chunk_items([item("A"), item("B"), item("C")], 1000)
    backward = chunk_items([item("C"), item("B"), item("A")], 1000)

    assert forward[0].body_hash == backward[0].body_hash


def test_a_different_price_gives_a_different_hash() -> None:
    (one,) = chunk_items([item("A", sale="10.00")], 1000)
    (two,) = chunk_items([item("A", sale="10.01")], 1000)

    assert one.body_hash != two.body_hash


def test_wire_prices_are_numbers_the_marketplace_accepts_and_compares() -> None:
    body = json.loads(
        chunk_body(
            [
                item("A", sale="99999999999.99", list_="99999999999.99"),
                item("B", sale="20.00", list_="10.00"),
            ]
        )
    )

    assert body["items"][0]["salePrice"] == 99999999999.99
    assert inventory_item_failures(body["items"][0]) == []
    assert inventory_item_failures(body["items"][1]) == ["salePrice must not exceed listPrice"]


def test_stored_items_round_trip_exactly() -> None:
    original = item("A", 7, sale="0.10", list_="123456789012.34", currency="EUR")

    stored = json.loads(json.dumps(original.stored()))

    assert stored["salePrice"] == "0.10"
    assert InventoryItem.from_stored(stored) == original


# --- write gating and dedup keys --------------------------------------------------------


@pytest.mark.parametrize(
    ("dry_run", "force_write", "write_enabled", "force_write_allowed", "effective"),
    [
        (False, False, False, True, False),
        (False, False, True, True, True),
        (False, True, False, True, True),
        (False, True, False, False, False),
        (True, False, True, True, False),
        (True, True, True, True, False),
    ],
)
def test_write_effective(
    dry_run: bool,
    force_write: bool,
    write_enabled: bool,
    force_write_allowed: bool,
    effective: bool,
) -> None:
    assert (
        is_write_effective(
            dry_run=dry_run,
            force_write=force_write,
            write_enabled=write_enabled,
            force_write_allowed=force_write_allowed,
        )
        is effective
    )


def test_dedup_keys_differ_by_store_hash_and_write() -> None:
    keys = {
        dedup_key("s1", "h", True),
        dedup_key("s1", "h", False),
        dedup_key("s2", "h", True),
        dedup_key("s1", "g", True),
    }

    assert len(keys) == 4
