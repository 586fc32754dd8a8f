"""Types every part of the schema shares: user errors, enums, page info, cursors."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from marketsync.errors import UserInputError
from marketsync.models import enums

MAX_PAGE = 100

Marketplace = strawberry.enum(enums.Marketplace, name="Marketplace")
SyncStatus = strawberry.enum(enums.SyncStatus, name="SyncStatus")
SyncLogStatus = strawberry.enum(enums.SyncLogStatus, name="SyncLogStatus")
WebhookEvent = strawberry.enum(enums.WebhookEventType, name="WebhookEvent")
DeliveryStatus = strawberry.enum(enums.DeliveryStatus, name="DeliveryStatus")
JobType = strawberry.enum(enums.JobType, name="JobType")
JobStatus = strawberry.enum(enums.JobStatus, name="JobStatus")
InventoryItemStatus = strawberry.enum(enums.InventoryItemStatus, name="InventoryItemStatus")


@strawberry.type
class UserError:
    field: list[str] | None
    message: str
    code: str

    @classmethod
    def from_error(cls, error: UserInputError) -> UserError:
        return cls(field=error.field, message=error.message, code=error.code)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def page_size(first: int | None, default: int = 20) -> int:
    if first is None:
        return default
    if first < 0:
        raise bad_input("first must not be negative")
    return min(first, MAX_PAGE)


def encode_cursor(item_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(item_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise bad_input("after is not a valid cursor") from exc


T = TypeVar("T")


def split_page(rows: Sequence[T], size: int) -> tuple[Sequence[T], bool]:
    """Rows were fetched with ``limit(size + 1)``: the page and whether more follow."""
    return rows[:size], len(rows) > size
