"""PostgreSQL drops every connection of the deployment (``pg_terminate_backend``) while a
worker syncs a store with many due logs and imports keep arriving.

What must hold: the run resumes (the actor retries the transient error) and ends
SUCCESS; nothing is counted twice: importedOrders equals the SUCCESS logs, every receipt
has one row, each due log was attempted exactly once more (attempt 1 -> 2) and each
import once (attempt 1); the API answers right after the drop, on new connections.

Known gap (services/sync/engine.py, reported to the lead): when the failure hits the
run's chunk loop, ``_run_locked`` finishes the job FAILED before re-raising, so the
actor's retry finds a finished job and does nothing; the logs stay due and the next
sync (scheduler or triggerSync) resumes them. Only a failure before the chunk loop is
resumed by the actor retry itself. The test accepts both paths, prints which one ran,
and checks the counts either way.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from marketsync.ids import new_id
from marketsync.marketplaces.rules import ValidationOutcome, validation_outcome
from tests.faults.conftest import TEST_APPLICATION, Faults, wait_for
from tests.support.graphql import IMPORT_ORDER, SYNC_STATUS

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
DUE = 2400  # long enough a run (several seconds on an idle machine) for the drops to hit it
DROPS = 3
# What a query on a dropped connection raises (asyncpg's names, as the job records them)
DROP_ERRORS = {
    "InternalClientError",
    "ConnectionDoesNotExistError",
    "AdminShutdownError",
    "InterfaceError",
}
TRIGGER = "mutation($s: UUID!) { triggerSync(storeId: $s) { id status } }"
# Every backend of the deployment's database but the test's own readers (kept so the
# test can check the outcome without racing its own reconnects).
TERMINATE = (
    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND application_name <> $1) AS dropped"
)
# The same, only for backends in the middle of a statement or a transaction: an idle
# connection's loss is noticed by asyncpg before its next use, a busy one's is not.
TERMINATE_BUSY = TERMINATE.replace(
    "AND application_name", "AND state IN ('active', 'idle in transaction') AND application_name"
)


async def add_due_logs(faults: Faults, store_id: Any, receipts: list[str]) -> None:
    now = datetime.now(UTC)
    await faults.db.executemany(
        "INSERT INTO sync_log (id, store_id, receipt, status, error_details, attempt,"
        " next_retry_at, created_at, updated_at) VALUES ($1,$2,$3,'FAILED','transport_error',"
        " 1,$4,$5,$6)",
        [
            (
                new_id(),
                store_id,
                r,
                now - timedelta(minutes=1),
                now + timedelta(microseconds=i),
                now,
            )
            for i, r in enumerate(receipts)
        ],
    )


async def test_dropped_connections_resume_the_run_without_double_counting(
    faults: Faults,
) -> None:
    # Given a store with DUE due logs (valid receipts, attempt 1) and a slow worker
    store_id, token = await faults.register_store("pg-drop")
    due = [f"DUE-{n}-1" for n in range(DUE)]
    assert {validation_outcome(r) for r in due} == {ValidationOutcome.VALID}
    await add_due_logs(faults, store_id, due)
    worker = await faults.start_worker(SYNC_CONCURRENCY="2", SYNC_MAX_ITERATIONS="30")
    answers: dict[str, list[str]] = {}  # receipt -> every answer (status or error code)
    stop = asyncio.Event()

    async def import_load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            receipt = f"LIVE-{n}-1"
            while True:  # a client repeats a failed import; the receipt makes it idempotent
                body = await faults.gql(
                    IMPORT_ORDER, {"input": {"syncToken": token, "receipt": receipt}}, auth=False
                )
                data = (body.get("data") or {}).get("importOrder")
                answer = data["syncLog"]["status"] if data else "ERROR"
                answers.setdefault(receipt, []).append(answer)
                if data:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.1)

    load = asyncio.create_task(import_load())
    try:
        job_id = (await faults.gql(TRIGGER, {"s": str(store_id)}))["data"]["triggerSync"]["id"]

        async def run_under_way() -> bool:
            done = await faults.db.fetchval(
                "SELECT count(*) FROM sync_log WHERE store_id=$1 AND status='SUCCESS'"
                " AND receipt LIKE 'DUE-%'",
                store_id,
            )
            return bool(done >= 50)

        await wait_for(run_under_way, 60, "the sync run under way")

        # When every connection of the deployment is terminated, DROPS times
        dropped = []
        for _ in range(DROPS):
            dropped.append(await faults.db.fetchval(TERMINATE, TEST_APPLICATION))
            await asyncio.sleep(0.3)
        dropped_at = time.monotonic()

        # Then the API answers at once, on new connections
        status = await faults.gql(SYNC_STATUS, {"token": token}, auth=False)
        first_answer_s = time.monotonic() - dropped_at
        assert "errors" not in status, status
        assert status["data"]["syncStatus"]["storeId"] == str(store_id)

        # When, until the worker has had to retry, each backend caught mid-statement or
        # mid-transaction is terminated too
        busy_drops = 0
        deadline = time.monotonic() + 30
        while "Retrying message" not in worker.output() and time.monotonic() < deadline:
            busy_drops += await faults.db.fetchval(TERMINATE_BUSY, TEST_APPLICATION)
            await asyncio.sleep(0.01)

        # And the run resumes and ends SUCCESS
        async def run_finished() -> bool:
            state = await faults.db.fetchval("SELECT status FROM job WHERE id=$1::uuid", job_id)
            return bool(state in ("SUCCESS", "FAILED"))

        await wait_for(run_finished, 90, "the sync job finished")
        job = await faults.db.fetchrow(
            "SELECT status, attempts, error FROM job WHERE id=$1::uuid", job_id
        )
        resumed_by = "actor retry"
        if job["status"] == "FAILED":
            # A failure inside the run's chunk loop ends the job FAILED (the engine
            # finishes it before re-raising), so the actor's retry finds it finished:
            # the logs stay due and the next sync resumes them (see the note at the top).
            assert job["error"].split(":")[0] in DROP_ERRORS, job["error"]
            resumed_by = "next sync"
            job_id = (await faults.gql(TRIGGER, {"s": str(store_id)}))["data"]["triggerSync"]["id"]
            await wait_for(run_finished, 90, "the next sync finished")
        await asyncio.sleep(1)  # a few more imports after the run
    finally:
        stop.set()
        await asyncio.wait_for(load, 30)

    first_job = job
    job = await faults.db.fetchrow(
        "SELECT status, attempts, error FROM job WHERE id=$1::uuid", job_id
    )
    retried = worker.output().count("Retrying message")
    print(f"dropped {dropped} backends, then {busy_drops} busy ones;"
          f" API answered {first_answer_s:.2f} s after;"
          f" first job {first_job['status']} after {first_job['attempts']} runs,"
          f" {retried} actor retries, resumed by {resumed_by};"
          f" {len(answers)} imports, {sum(len(a) for a in answers.values())} requests")  # fmt: skip
    assert job["status"] == "SUCCESS", (job, worker.output())
    assert dropped[0] > 0  # the API, the worker (and their pools) lost connections
    # the drops hit the run mid-way: it ran again (the actor's retry; each run counts in
    # attempts) or it ended FAILED and the next sync resumed it
    assert first_job["attempts"] >= 2 or resumed_by == "next sync", worker.output()

    # And the database: one row per receipt, each due log attempted exactly once more,
    # each import once, importedOrders equal to the SUCCESS logs
    rows = await faults.db.fetch(
        "SELECT receipt, status, attempt FROM sync_log WHERE store_id=$1", store_id
    )
    by_receipt: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        by_receipt.setdefault(row["receipt"], []).append((row["status"], row["attempt"]))
    assert sorted(by_receipt) == sorted([*due, *answers])
    assert {r: v for r, v in by_receipt.items() if len(v) != 1} == {}
    assert {r: by_receipt[r][0] for r in due} == {r: ("SUCCESS", 2) for r in due}
    # an import that answered (first time or on repeat) SUCCESS was attempted once
    succeeded = [r for r, a in answers.items() if "SUCCESS" in a]
    assert {r: by_receipt[r][0] for r in succeeded} == {r: ("SUCCESS", 1) for r in succeeded}
    success = sum(v[0][0] == "SUCCESS" for v in by_receipt.values())
    imported = await faults.db.fetchval("SELECT imported_orders FROM store WHERE id=$1", store_id)
    assert imported == success
    # And no job stays unfinished; the marketplace saw every due receipt
    unfinished = await faults.db.fetchval(
        "SELECT count(*) FROM job WHERE status IN ('QUEUED','RUNNING')"
    )
    assert unfinished == 0
    async with httpx.AsyncClient() as client:
        calls = (await client.get(f"{faults.stack.env['MARKETPLACE_BASE_URL']}/_calls")).json()
    assert {f"etsy/{r}" for r in due} <= set(calls["validate"])
    print(f"rows checked: {len(rows)} logs ({DUE} due, {len(answers)} imports), 1 store")
