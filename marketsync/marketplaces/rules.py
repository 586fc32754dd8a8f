"""The mock marketplace's rules, as pure functions.

They live apart from the routes so that tests (and benchmarks) can state what the
mock must answer without an HTTP server, and so that the rules stay one source of
truth for the contract's "Mock marketplace" section.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import TypeGuard

_DIGITS = frozenset("0123456789")  # str.isdigit() would also accept "²" or "٣"
_CENTS = Decimal("0.01")


class ValidationOutcome(StrEnum):
    RATE_LIMITED = "rate_limited"
    VALID = "valid"
    INVALID = "invalid"


def validation_outcome(receipt: str) -> ValidationOutcome:
    """Rate limited when the last two characters are digits summing to a multiple of 6;
    else valid when the last character is an odd digit; else invalid."""
    tail = receipt[-2:]
    if len(tail) == 2 and set(tail) <= _DIGITS and (int(tail[0]) + int(tail[1])) % 6 == 0:
        return ValidationOutcome.RATE_LIMITED
    if receipt and receipt[-1] in _DIGITS and int(receipt[-1]) % 2 == 1:
        return ValidationOutcome.VALID
    return ValidationOutcome.INVALID


def order_amount(receipt: str) -> Decimal:
    """(sum of the receipt's code points) % 1000 + 10, with two decimals."""
    return Decimal(sum(map(ord, receipt)) % 1000 + 10).quantize(_CENTS)


def order_id(marketplace: str, receipt: str) -> str:
    """The same id for the same (marketplace, receipt), whatever the marketplace's case."""
    digest = hashlib.sha256(f"{marketplace.lower()}:{receipt}".encode()).hexdigest()
    return "ORD-" + digest[:16].upper()


def inventory_item_failures(item: Mapping[str, object]) -> list[str]:
    """Why the marketplace would refuse one inventory item; empty when it accepts it."""
    reasons: list[str] = []
    for field in ("barcode", "currencyType"):
        value = item.get(field)
        if not isinstance(value, str) or not value.strip():
            reasons.append(f"{field} is required")

    quantity = item.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        reasons.append("quantity must be an integer")
    elif quantity < 0:
        reasons.append("quantity must not be negative")

    prices: dict[str, int | float] = {}
    for field in ("salePrice", "listPrice"):
        value = item.get(field)
        if not _is_number(value):
            reasons.append(f"{field} must be a number")
        elif value < 0:
            reasons.append(f"{field} must not be negative")
        else:
            prices[field] = value
    if len(prices) == 2 and prices["salePrice"] > prices["listPrice"]:
        reasons.append("salePrice must not exceed listPrice")
    return reasons


def _is_number(value: object) -> TypeGuard[int | float]:
    """JSON numbers only: bool is an int to Python, NaN and Infinity parse from JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)
