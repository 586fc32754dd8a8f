"""Scalars of the contract: DateTime as ISO 8601 UTC with milliseconds and a Z."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.schema.types.scalar import ScalarDefinition


def serialize_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_datetime(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


DateTimeScalar: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description='ISO 8601, UTC, e.g. "2026-01-13T16:54:43.163Z"',
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {dt.datetime: DateTimeScalar}
