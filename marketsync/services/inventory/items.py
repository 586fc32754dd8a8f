"""Inventory items as a caller sends them: validation, normalization, coalescing.

Pure functions of plain values (no database), so they are tested alone. Every wrong
field is reported with its path (``items.3.salePrice``), up to MAX_REPORTED_ERRORS;
prices are fixed-point with two decimals; the last occurrence of a barcode wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from marketsync.errors import UserInputError
from marketsync.services.currencies import normalize_currency

DEFAULT_CURRENCY = "TRY"


MAX_BARCODE = 255


MAX_PRICE = Decimal(10) ** 12  # DecimalField(max_digits=14, decimal_places=2)


CENT = Decimal("0.01")


MAX_REPORTED_ERRORS = 20  # a 100k-item mistake should not answer 100k userErrors


class InventoryInputError(UserInputError):
    """Several items are wrong at once; each one becomes its own userError."""

    def __init__(self, errors: list[UserInputError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ItemInput:
    """One item as the caller sent it, before validation."""

    barcode: str
    quantity: int
    sale_price: Decimal
    list_price: Decimal
    currency_type: str | None = DEFAULT_CURRENCY


@dataclass(frozen=True, slots=True)
class InventoryItem:
    """A validated item: barcode stripped, prices with two decimals, ISO currency."""

    barcode: str
    quantity: int
    sale_price: Decimal
    list_price: Decimal
    currency_type: str

    def stored(self) -> dict[str, Any]:
        """The item in a job payload or a batch row: exact, prices as decimal strings."""
        return {
            "barcode": self.barcode,
            "quantity": self.quantity,
            "salePrice": str(self.sale_price),
            "listPrice": str(self.list_price),
            "currencyType": self.currency_type,
        }

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> InventoryItem:
        return cls(
            barcode=str(data["barcode"]),
            quantity=int(data["quantity"]),
            sale_price=Decimal(str(data["salePrice"])).quantize(CENT),
            list_price=Decimal(str(data["listPrice"])).quantize(CENT),
            currency_type=str(data["currencyType"]),
        )

    def wire(self) -> dict[str, Any]:
        """The item as sent: prices as JSON numbers. At most 14 significant digits, so
        ``float`` keeps them exactly and prints them the same way every time."""
        return {
            "barcode": self.barcode,
            "quantity": self.quantity,
            "salePrice": float(self.sale_price),
            "listPrice": float(self.list_price),
            "currencyType": self.currency_type,
        }


def _item_error(
    errors: list[UserInputError], index: int, name: str, message: str, code: str = "INVALID_INPUT"
) -> None:
    errors.append(UserInputError(code, message, ["input", "items", str(index), name]))


def _price(value: Decimal, index: int, name: str, errors: list[UserInputError]) -> Decimal:
    try:  # one quantize per price: it is the costly step of validating 100,000 items
        cents = value.quantize(CENT) if value.is_finite() and abs(value) < MAX_PRICE else None
    except InvalidOperation:
        cents = None
    if cents is None or cents != value:
        _item_error(
            errors, index, name, f"{name} must be a number below 10^12 with at most two decimals"
        )
    elif value < 0:
        _item_error(errors, index, name, f"{name} must not be negative")
    else:
        return cents
    return Decimal(0)


def validate_items(items: Sequence[ItemInput], *, max_items: int) -> list[InventoryItem]:
    """The items, checked and normalized; raises the caller's mistakes as userErrors.

    A salePrice above the listPrice is accepted: the marketplace fails that item.
    """
    if not items:
        raise UserInputError("INVALID_INPUT", "items must not be empty", ["input", "items"])
    if len(items) > max_items:
        raise UserInputError(
            "TOO_MANY_ITEMS",
            f"at most {max_items} items per push (got {len(items)})",
            ["input", "items"],
        )
    errors: list[UserInputError] = []
    valid: list[InventoryItem] = []
    currencies: dict[str, str | None] = {}  # a push names a handful of currencies
    for index, item in enumerate(items):
        before = len(errors)
        barcode = item.barcode.strip()
        if not barcode:
            _item_error(errors, index, "barcode", "barcode must not be empty")
        elif len(barcode) > MAX_BARCODE:
            _item_error(
                errors, index, "barcode", f"barcode must be at most {MAX_BARCODE} characters"
            )
        if item.quantity < 0:
            _item_error(errors, index, "quantity", "quantity must not be negative")
        sale_price = _price(item.sale_price, index, "salePrice", errors)
        list_price = _price(item.list_price, index, "listPrice", errors)
        given = item.currency_type or DEFAULT_CURRENCY
        currency = currencies.get(given, "")
        if currency == "":
            currency = currencies[given] = normalize_currency(given)
        if currency is None:
            _item_error(
                errors,
                index,
                "currencyType",
                "currencyType must be an ISO 4217 code",
                code="INVALID_CURRENCY",
            )
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
        if len(errors) == before and currency is not None:
            valid.append(InventoryItem(barcode, item.quantity, sale_price, list_price, currency))
    if errors:
        raise InventoryInputError(errors[:MAX_REPORTED_ERRORS])
    return valid


def coalesce(items: Iterable[InventoryItem]) -> list[InventoryItem]:
    """One item per barcode; the last occurrence wins."""
    latest: dict[str, InventoryItem] = {}
    for item in items:
        latest[item.barcode] = item
    return list(latest.values())
