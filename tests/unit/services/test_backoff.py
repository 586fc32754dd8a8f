"""Sync log backoff: 5, 10, 20, 40, 60, 60… minutes, or Retry-After when later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketsync.services.backoff import next_retry_at, retry_delay

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempt", "minutes"), [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (6, 60), (40, 60)]
)
def test_schedule(attempt: int, minutes: int) -> None:
    assert retry_delay(attempt) == timedelta(minutes=minutes)


def test_retry_after_wins_only_when_later() -> None:
    assert next_retry_at(now=NOW, attempt=1, retry_after_s=600) == NOW + timedelta(minutes=10)
    assert next_retry_at(now=NOW, attempt=1, retry_after_s=30) == NOW + timedelta(minutes=5)
    assert next_retry_at(now=NOW, attempt=2, retry_after_s=None) == NOW + timedelta(minutes=10)
