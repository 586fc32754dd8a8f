"""Types every part of the schema shares: user errors, enums, page info, cursors."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import TypeAlias, TypeVar

import strawberry
from graphql import GraphQLError
from tortoise.models import Model

from marketsync.errors import UserInputError
from marketsync.models import enums
from marketsync.services.pagination import Page

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


M = TypeVar("M", bound=Model)


def page_edges(page: Page[M]) -> tuple[list[tuple[M, str]], PageInfo]:
    """A service's page as (row, cursor) pairs and the connection's page info."""
    edges = [(row, encode_cursor(row.pk)) for row in page.rows]
    return edges, PageInfo(has_next_page=page.has_more, end_cursor=edges[-1][1] if edges else None)
