"""The inventory planner's pure steps: diff against the confirmed state, chunks, hashes."""

from __future__ import annotations

import hashlib
import json

import pytest

from marketsync.marketplaces.client import canonical_inventory_body
from marketsync.marketplaces.rules import inventory_item_failures
from marketsync.services.inventory.planning import (
    chunk_body,
    chunk_items,
    dedup_key,
    is_write_effective,
    select_changed,
)
from tests.support.inventory_items import item

# --- validation ---------------------------------------------------------------------


# --- coalescing and the diff --------------------------------------------------------


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
