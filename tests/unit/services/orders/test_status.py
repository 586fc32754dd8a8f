"""The store sync status rule over the most recent logs (newest first)."""

from __future__ import annotations

import pytest

from marketsync.models.enums import SyncLogStatus as L
from marketsync.models.enums import SyncStatus as S
from marketsync.services.orders.status import compute_sync_status


@pytest.mark.parametrize(
    ("newest_first", "expected"),
    [
        ([], S.PENDING),
        ([L.SUCCESS], S.SUCCESS),
        ([L.SUCCESS, L.SUCCESS, L.PENDING], S.SUCCESS),
        ([L.SUCCESS, L.FAILED], S.PARTIAL),
        ([L.FAILED, L.SUCCESS], S.PARTIAL),
        ([L.RATE_LIMITED, L.SUCCESS], S.PARTIAL),
        ([L.SUCCESS, L.RATE_LIMITED], S.PARTIAL),
        ([L.FAILED], S.FAILED),
        ([L.FAILED, L.FAILED, L.RATE_LIMITED], S.FAILED),
        ([L.FAILED, L.PENDING], S.FAILED),
        ([L.RATE_LIMITED], S.PARTIAL),
        ([L.PENDING], S.PARTIAL),
        ([L.PENDING, L.SUCCESS], S.PARTIAL),
        ([L.RATE_LIMITED, L.FAILED], S.PARTIAL),
    ],
)
def test_rule(newest_first: list[L], expected: S) -> None:
    assert compute_sync_status(newest_first) == expected
