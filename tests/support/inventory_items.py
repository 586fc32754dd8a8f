"""Builders of inventory items for the planner's unit tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketsync.errors import UserInputError
from marketsync.services.inventory.items import (
    InventoryInputError,
    InventoryItem,
    ItemInput,
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
