"""Retry delays of sync logs: 5, 10, 20, 40, 60, 60… minutes by attempt count."""

from __future__ import annotations

from datetime import datetime, timedelta

BASE_DELAY = timedelta(minutes=5)
MAX_DELAY = timedelta(minutes=60)


def retry_delay(attempt: int) -> timedelta:
    if attempt < 1:
        return BASE_DELAY
    return min(BASE_DELAY * (1 << min(attempt - 1, 10)), MAX_DELAY)


def next_retry_at(*, now: datetime, attempt: int, retry_after_s: float | None = None) -> datetime:
    delay = retry_delay(attempt)
    if retry_after_s is not None and timedelta(seconds=retry_after_s) > delay:
        delay = timedelta(seconds=retry_after_s)
    return now + delay
