"""Types every part of the schema shares: user errors, enums, page info, cursors."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from typing import TypeAlias, TypeVar

import strawberry
from graphql import GraphQLError
from tortoise.models import Model
from tortoise.queryset import QuerySet

from marketsync.errors import UserInputError
from marketsync.models import enums

MAX_PAGE = 100

# strawberry.enum registers the GraphQL definition on the enum class itself, so the
# domain enums are the schema's enums (WebhookEventType is named WebhookEvent there).
for _enum, _name in (
    (enums.Marketplace, "Marketplace"),
    (enums.SyncStatus, "SyncStatus"),
    (enums.SyncLogStatus, "SyncLogStatus"),
    (enums.WebhookEventType, "WebhookEvent"),
    (enums.DeliveryStatus, "DeliveryStatus"),
    (enums.JobType, "JobType"),
    (enums.JobStatus, "JobStatus"),
    (enums.InventoryItemStatus, "InventoryItemStatus"),
):
    strawberry.enum(_enum, name=_name)

Marketplace: TypeAlias = enums.Marketplace
SyncStatus: TypeAlias = enums.SyncStatus
SyncLogStatus: TypeAlias = enums.SyncLogStatus
WebhookEvent: TypeAlias = enums.WebhookEventType
DeliveryStatus: TypeAlias = enums.DeliveryStatus
JobType: TypeAlias = enums.JobType
JobStatus: TypeAlias = enums.JobStatus
InventoryItemStatus: TypeAlias = enums.InventoryItemStatus


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
M = TypeVar("M", bound=Model)


def split_page(rows: Sequence[T], size: int) -> tuple[Sequence[T], bool]:
    """Rows were fetched with ``limit(size + 1)``: the page and whether more follow."""
    return rows[:size], len(rows) > size


async def keyset_page(
    query: QuerySet[M], *, first: int | None, after: str | None, newest_first: bool
) -> tuple[list[tuple[M, str]], PageInfo]:
    """One page by id (UUID v7, so creation order), never OFFSET: rows with cursors."""
    size = page_size(first)
    cursor = decode_cursor(after)
    if cursor is not None:
        query = query.filter(id__lt=cursor) if newest_first else query.filter(id__gt=cursor)
    fetched = await query.order_by("-id" if newest_first else "id").limit(size + 1)
    rows, more = split_page(fetched, size)
    edges = [(row, encode_cursor(row.pk)) for row in rows]
    return edges, PageInfo(has_next_page=more, end_cursor=edges[-1][1] if edges else None)
