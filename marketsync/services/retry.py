"""Retry policies: one shape, three stated schedules.

A policy is the list of delays after attempt 1, 2, … and what happens past its end:
``repeat_last`` keeps waiting the last delay (the work never gives up on its own),
otherwise the schedule is exhausted and the caller records a final failure. A
Retry-After that asks for longer than the schedule wins, capped by
``max_retry_after_s`` where a peer must not park work forever.

==================  ==========================================  ==================
work                schedule                                    past the end
==================  ==========================================  ==================
sync logs           5, 10, 20, 40, 60 minutes (contract)        60 min forever (a
                                                                FAILED log stops at
                                                                SYNC_MAX_ATTEMPTS)
webhook deliveries  WEBHOOK_RETRY_SCHEDULE_S (60, 300, 900 s)   exhausted: n + 1
                                                                attempts in all
inventory pushes    5, 10, 20, 40 s                             40 s forever
==================  ==========================================  ==================

Webhooks retry any answer but a 2xx, 3xx and 4xx included: the body we send never
changes, so a 4xx from a receiver is almost always its own passing trouble (a deploy
answering 404, a key being rotated); Svix, Stripe and Standard Webhooks retry it too.
Marketplace calls differ on purpose: a 4xx there means our request is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_WEBHOOK_RETRY_AFTER_S = 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    delays_s: tuple[float, ...]
    repeat_last: bool
    max_retry_after_s: float | None = None

    @property
    def max_attempts(self) -> int | None:
        """Attempts in all, or ``None`` when the policy never gives up."""
        return None if self.repeat_last else len(self.delays_s) + 1

    def delay_s(self, *, attempt: int, retry_after_s: float | None = None) -> float | None:
        """Seconds to wait after attempt number ``attempt`` failed; ``None`` when exhausted.

        Attempts keep counting across a manual redelivery, so a webhook delivery that
        already used its schedule gets exactly one more attempt.
        """
        attempt = max(attempt, 1)
        if attempt > len(self.delays_s):
            if not (self.repeat_last and self.delays_s):
                return None
            attempt = len(self.delays_s)
        delay = max(float(self.delays_s[attempt - 1]), 0.0)
        if retry_after_s is not None:
            cap = self.max_retry_after_s
            delay = max(delay, retry_after_s if cap is None else min(retry_after_s, cap))
        return delay

    def next_at(
        self, *, now: datetime, attempt: int, retry_after_s: float | None = None
    ) -> datetime | None:
        delay = self.delay_s(attempt=attempt, retry_after_s=retry_after_s)
        return None if delay is None else now + timedelta(seconds=delay)


SYNC_LOG_RETRY = RetryPolicy(delays_s=(300, 600, 1200, 2400, 3600), repeat_last=True)
INVENTORY_PUSH_RETRY = RetryPolicy(delays_s=(5, 10, 20, 40), repeat_last=True)


def webhook_retry(schedule: Sequence[float]) -> RetryPolicy:
    """The delivery policy of ``WEBHOOK_RETRY_SCHEDULE_S`` (delays between attempts)."""
    return RetryPolicy(
        delays_s=tuple(schedule), repeat_last=False, max_retry_after_s=MAX_WEBHOOK_RETRY_AFTER_S
    )


def sync_log_next_retry_at(
    *, now: datetime, attempt: int, retry_after_s: float | None = None
) -> datetime:
    """When a FAILED or RATE_LIMITED sync log that is not final is due again."""
    due = SYNC_LOG_RETRY.next_at(now=now, attempt=attempt, retry_after_s=retry_after_s)
    assert due is not None  # repeat_last: never exhausted
    return due
