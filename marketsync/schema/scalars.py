"""Scalars of the contract: DateTime as ISO 8601 UTC with milliseconds and a Z."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types.scalar import ScalarDefinition

from marketsync.isotime import format_utc, parse_utc

DateTimeScalar: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description='ISO 8601, UTC, e.g. "2026-01-13T16:54:43.163Z"',
    serialize=format_utc,
    parse_value=parse_utc,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {dt.datetime: DateTimeScalar}
