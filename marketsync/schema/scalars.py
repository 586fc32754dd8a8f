"""Scalars of the contract: DateTime as ISO 8601 UTC with milliseconds and a Z; Decimal
read strictly (plain decimal notation, bounded digits: no exponent, underscore, space,
NaN or Infinity)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import strawberry
from strawberry.types.scalar import ScalarDefinition

from marketsync.isotime import format_utc, parse_utc

DateTimeScalar: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description='ISO 8601, UTC, e.g. "2026-01-13T16:54:43.163Z"',
    serialize=format_utc,
    parse_value=parse_utc,
)

_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")


def parse_decimal(value: object) -> Decimal:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise ValueError(
            "a decimal is written like 12.34: at most 15 digits before the point and 6 after"
        )
    return Decimal(text)


DecimalScalar: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description='A decimal number as a string or a JSON number, e.g. "12.50"',
    serialize=str,
    parse_value=parse_decimal,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    dt.datetime: DateTimeScalar,
    Decimal: DecimalScalar,
}
