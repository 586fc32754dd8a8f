"""A webhook receiver that hangs past WEBHOOK_TIMEOUT_S (2 s here).

What must hold: the attempt is recorded as failed (a timeout, no status code) and the
delivery is retried on its schedule; the worker is not stalled meanwhile: a sync run
and its other deliveries go on while the receiver hangs.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import Faults, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_a_hanging_receiver_fails_the_attempt_and_never_stalls_the_worker(
    faults: Faults,
) -> None:
    # Given a receiver that answers 6 s late (WEBHOOK_TIMEOUT_S=2) and a worker
    faults.receiver.hang_s = 6
    store_id, _ = await faults.register_store("hanging")
    await faults.register_webhook("SYNC_STARTED")
    await faults.start_worker()

    # When two syncs run, one after the other, each emitting sync.started
    for _ in range(2):
        job = (
            await faults.gql(
                "mutation($s: UUID!) { triggerSync(storeId: $s) { id } }", {"s": str(store_id)}
            )
        )["data"]["triggerSync"]["id"]

        async def finished(job_id: str = job) -> bool:
            status = await faults.db.fetchval("SELECT status FROM job WHERE id=$1::uuid", job_id)
            return bool(status == "SUCCESS")

        await wait_for(finished, 20, "a sync run finishes while the receiver hangs")

    # Then each delivery has failed attempts recorded (no status, a timeout error) and
    # was retried (WEBHOOK_RETRY_SCHEDULE_S=1,1,1), and nothing stayed claimed
    async def retried() -> bool:
        rows = await faults.db.fetch(
            "SELECT d.id, count(a.id) AS n FROM webhook_delivery d"
            " JOIN webhook_delivery_attempt a ON a.delivery_id = d.id GROUP BY d.id"
        )
        return len(rows) == 2 and all(row["n"] >= 2 for row in rows)

    await wait_for(retried, 30, "both deliveries attempted twice or more")
    attempts = await faults.db.fetch(
        "SELECT status_code, error_class, duration_ms FROM webhook_delivery_attempt"
    )
    assert {row["status_code"] for row in attempts} == {None}
    assert all(row["error_class"] for row in attempts)
    assert max(row["duration_ms"] for row in attempts) < 10_000  # cut at the timeout
    statuses = await faults.db.fetch("SELECT status FROM webhook_delivery")
    assert {row["status"] for row in statuses} <= {"PENDING", "FAILED"}
    assert faults.alive() == {"api": True, "worker": True}
