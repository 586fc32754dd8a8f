"""The webhook retry policy: delays by attempt count, Retry-After, exhaustion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketsync.services.webhook_retry import (
    MAX_RETRY_AFTER_S,
    max_attempts,
    next_retry_at,
    retry_delay_s,
)

DEFAULT = [60.0, 300.0, 900.0]
NOW = datetime(2026, 1, 13, 16, 54, 43, tzinfo=UTC)


def test_the_default_schedule_allows_four_attempts() -> None:
    assert max_attempts(DEFAULT) == 4
    assert max_attempts([]) == 1


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 60.0), (2, 300.0), (3, 900.0), (4, None), (5, None), (40, None)]
)
def test_each_failed_attempt_waits_its_schedule_entry_and_the_last_one_is_final(
    attempt: int, expected: float | None
) -> None:
    assert retry_delay_s(attempt=attempt, schedule=DEFAULT) == expected


def test_an_empty_schedule_never_retries() -> None:
    assert retry_delay_s(attempt=1, schedule=[]) is None


def test_retry_after_wins_only_when_longer_than_the_schedule() -> None:
    assert retry_delay_s(attempt=1, schedule=DEFAULT, retry_after_s=120) == 120.0
    assert retry_delay_s(attempt=1, schedule=DEFAULT, retry_after_s=5) == 60.0
    assert retry_delay_s(attempt=2, schedule=DEFAULT, retry_after_s=0) == 300.0


def test_retry_after_is_capped_so_a_receiver_cannot_park_a_delivery_forever() -> None:
    assert retry_delay_s(attempt=1, schedule=DEFAULT, retry_after_s=10**9) == MAX_RETRY_AFTER_S


def test_retry_after_does_not_extend_an_exhausted_schedule() -> None:
    assert retry_delay_s(attempt=4, schedule=DEFAULT, retry_after_s=30) is None


def test_a_redelivery_past_the_schedule_is_a_single_attempt() -> None:
    # Attempts keep counting across redeliveries: attempt 5 of a 4-attempt schedule is final.
    assert retry_delay_s(attempt=5, schedule=DEFAULT) is None


def test_next_retry_at_adds_the_delay_to_now() -> None:
    assert next_retry_at(now=NOW, attempt=2, schedule=DEFAULT) == NOW + timedelta(seconds=300)
    assert next_retry_at(now=NOW, attempt=4, schedule=DEFAULT) is None
    assert next_retry_at(now=NOW, attempt=1, schedule=[0.2], retry_after_s=2.5) == NOW + timedelta(
        seconds=2.5
    )


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="attempt counts from 1"):
        retry_delay_s(attempt=0, schedule=DEFAULT)
