"""The one keyset pager: pages by a unique key, never OFFSET.

Entity ids are UUID v7, so ``id`` order is creation order; scans that need another
order use a compound key ending in ``id`` (e.g. ``("created_at", "id")``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


def after_key(key: Sequence[str], last: Sequence[Any], *, descending: bool = False) -> Q:
    """Rows strictly after ``last`` in the order of ``key`` (lexicographic)."""
    if len(key) != len(last) or not key:
        raise TypeError("after_key needs one value per key field")
    op = "lt" if descending else "gt"
    head, *rest = key
    beyond = Q(**{f"{head}__{op}": last[0]})
    if not rest:
        return beyond
    return beyond | (Q(**{head: last[0]}) & after_key(rest, last[1:], descending=descending))


def ordering(key: Sequence[str], *, descending: bool = False) -> list[str]:
    return [f"-{field}" if descending else field for field in key]


@dataclass(frozen=True, slots=True)
class Page(Generic[M]):
    rows: list[M]
    has_more: bool


async def keyset_page(
    query: QuerySet[M], *, size: int, after: uuid.UUID | None, newest_first: bool
) -> Page[M]:
    """One page of ``size`` rows by id after the row ``after`` (exclusive)."""
    if after is not None:
        query = query.filter(after_key(("id",), (after,), descending=newest_first))
    fetched = await query.order_by(*ordering(("id",), descending=newest_first)).limit(size + 1)
    return Page(rows=list(fetched[:size]), has_more=len(fetched) > size)
