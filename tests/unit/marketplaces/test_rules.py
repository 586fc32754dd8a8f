"""The mock marketplace's rules, each outcome computed by hand."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from marketsync.marketplaces.rules import (
    ValidationOutcome,
    inventory_item_failures,
    order_amount,
    order_id,
    validation_outcome,
)

GOOD_ITEM = {
    "barcode": "B-1",
    "quantity": 5,
    "salePrice": 90,
    "listPrice": 100,
    "currencyType": "USD",
}


@pytest.mark.parametrize(
    ("receipt", "outcome"),
    [
        ("R12", ValidationOutcome.INVALID),  # 1+2=3, last digit 2 is even
        ("R15", ValidationOutcome.RATE_LIMITED),  # 1+5=6
        ("R33", ValidationOutcome.RATE_LIMITED),  # 3+3=6
        ("R00", ValidationOutcome.RATE_LIMITED),  # 0+0=0
        ("R39", ValidationOutcome.RATE_LIMITED),  # 3+9=12
        ("R11", ValidationOutcome.VALID),  # 1+1=2, last digit 1 is odd
        ("R1", ValidationOutcome.VALID),  # one digit: no pair, 1 is odd
        ("7", ValidationOutcome.VALID),
        ("RX", ValidationOutcome.INVALID),
        ("", ValidationOutcome.INVALID),
        ("R²3", ValidationOutcome.VALID),  # "²" is no ASCII digit, so there is no pair
        ("R٣", ValidationOutcome.INVALID),  # an Arabic-Indic three is no ASCII digit
    ],
)
def test_validation_outcome(receipt: str, outcome: ValidationOutcome) -> None:
    assert validation_outcome(receipt) is outcome


def test_outcomes_are_the_contract_strings() -> None:
    assert [o.value for o in ValidationOutcome] == ["rate_limited", "valid", "invalid"]


def test_order_amount_below_one_thousand() -> None:
    # "R11": 82 + 49 + 49 = 180 → 180 % 1000 + 10
    assert order_amount("R11") == Decimal("190")
    assert str(order_amount("R11")) == "190.00"


def test_order_amount_wraps_at_one_thousand() -> None:
    # "A".."P": 65 + … + 80 = 1160 → 160 + 10
    assert str(order_amount("ABCDEFGHIJKLMNOP")) == "170.00"


def test_order_amount_of_empty_receipt() -> None:
    assert str(order_amount("")) == "10.00"


def test_order_id_is_deterministic_and_case_insensitive() -> None:
    expected = "ORD-" + hashlib.sha256(b"etsy:R11").hexdigest()[:16].upper()

    assert order_id("etsy", "R11") == expected
    assert order_id("ETSY", "R11") == expected
    assert order_id("shopify", "R11") != expected
    assert order_id("etsy", "R13") != expected


def test_good_item_has_no_failures() -> None:
    assert inventory_item_failures(GOOD_ITEM) == []


def test_equal_sale_and_list_price_is_accepted() -> None:
    assert inventory_item_failures({**GOOD_ITEM, "salePrice": 100.0}) == []


def test_sale_price_above_list_price_fails() -> None:
    item = {**GOOD_ITEM, "salePrice": 100.01}

    assert inventory_item_failures(item) == ["salePrice must not exceed listPrice"]


def test_negative_values_fail() -> None:
    item = {**GOOD_ITEM, "quantity": -1, "salePrice": -2, "listPrice": -1}

    assert inventory_item_failures(item) == [
        "quantity must not be negative",
        "salePrice must not be negative",
        "listPrice must not be negative",
    ]


def test_missing_and_mistyped_fields_fail() -> None:
    item = {"barcode": " ", "quantity": True, "salePrice": "9", "listPrice": float("nan")}

    assert inventory_item_failures(item) == [
        "barcode is required",
        "currencyType is required",
        "quantity must be an integer",
        "salePrice must be a number",
        "listPrice must be a number",
    ]
