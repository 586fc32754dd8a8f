"""The webhook retry policy, as pure functions of the attempt count.

``WEBHOOK_RETRY_SCHEDULE_S`` lists the delays between attempts, so a schedule of n
delays allows n + 1 attempts. Any answer but a 2xx is retried, 3xx and 4xx included:
the body we send never changes, so a 4xx from a webhook receiver is almost always the
receiver's own passing trouble (a deploy answering 404, a key being rotated), which is
why Svix, Stripe and Standard Webhooks retry it too. That differs on purpose from the
marketplace client, where a 4xx means our request is wrong.

A Retry-After (429 or 503) that asks for longer than the schedule wins, up to
``MAX_RETRY_AFTER_S``: a receiver must not park a delivery forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

MAX_RETRY_AFTER_S = 3600.0


def max_attempts(schedule: Sequence[float]) -> int:
    return len(schedule) + 1


def retry_delay_s(
    *, attempt: int, schedule: Sequence[float], retry_after_s: float | None = None
) -> float | None:
    """Seconds until the next attempt after attempt number ``attempt`` failed.

    ``None`` when the schedule is exhausted. Attempts keep counting across a manual
    redelivery, so a redelivered delivery that already used the schedule gets exactly
    one attempt.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if attempt > len(schedule):
        return None
    delay = max(float(schedule[attempt - 1]), 0.0)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return delay


def next_retry_at(
    *, now: datetime, attempt: int, schedule: Sequence[float], retry_after_s: float | None = None
) -> datetime | None:
    delay = retry_delay_s(attempt=attempt, schedule=schedule, retry_after_s=retry_after_s)
    return None if delay is None else now + timedelta(seconds=delay)
