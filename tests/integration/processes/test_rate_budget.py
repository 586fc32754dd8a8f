"""Rate budgets across processes: two `marketsync worker` processes spend one Amazon
seller account's bucket (MARKETPLACE_RATE_LIMITS=AMAZON=2/s:5) against the Amazon fake,
a real HTTP server on 127.0.0.1, in MARKETPLACE_MODE=live.

The bucket is per (marketplace, seller account): the selling partner id is what
Amazon meters. The account is connected as two stores (organizations org-a and org-b),
so that both worker processes sync at the same time (one store is synced by one
process at a time: the store lock) and draw on the one bucket in Redis.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.integration.marketplaces.live import LWA_CLIENT_ID, LWA_CLIENT_SECRET
from tests.integration.processes.conftest import Deployment
from tests.support.fakes.amazon import AmazonFake
from tests.support.fakes.base import Seen
from tests.support.graphql import REGISTER_STORE, store_input
from tests.support.processes import Proc

SELLER = "A2EUQ1WTGCTBG2"
REFRESH_TOKEN = "Atzr|IwEBIrate-budget-refresh-token"
RATE_PER_S, BURST = 2.0, 5
LOGS_PER_STORE = 30
WAIT_S = 60.0  # 60 calls at 2/s with a burst of 5 take ~28 s


class TimedAmazonFake(AmazonFake):
    """The Amazon fake, noting when each API call arrived."""

    def __init__(self) -> None:
        super().__init__(
            client_id=LWA_CLIENT_ID, client_secret=LWA_CLIENT_SECRET, refresh_tokens={REFRESH_TOKEN}
        )
        self.api_arrivals: list[float] = []

    async def record(self, request: web.Request, kind: str) -> Seen:
        if kind == "api":
            self.api_arrivals.append(time.monotonic())
        return await super().record(request, kind)


@pytest.fixture
async def amazon() -> AsyncIterator[TimedAmazonFake]:
    fake = TimedAmazonFake()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def register_amazon_store(deployment: Deployment, org: str, key: str) -> uuid.UUID:
    body = await deployment.gql(
        REGISTER_STORE,
        {
            "input": store_input(
                org, SELLER, marketplace="AMAZON", accessToken=REFRESH_TOKEN, currency="USD"
            )
        },
        key=key,
    )
    return uuid.UUID(body["data"]["registerStore"]["storeId"])


def worst_excess(arrivals: list[float]) -> float:
    """The most calls any window [t_i, t_j] held beyond what the bucket allows in it
    (burst + rate x length); <= 0 everywhere means the bucket was never exceeded."""
    times = sorted(arrivals)
    worst = float("-inf")
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - (BURST + RATE_PER_S * (times[j] - start)))
    return worst


def most_in_one_second(arrivals: list[float]) -> int:
    times = sorted(arrivals)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


async def wait_running(deployment: Deployment, job_id: uuid.UUID, workers: list[Proc]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if await deployment.db.fetchval("SELECT started_at FROM job WHERE id = $1", job_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the first sync never started:\n" + workers[0].output())


async def test_two_workers_never_exceed_one_amazon_bucket(
    deployment: Deployment, amazon: TimedAmazonFake
) -> None:
    # Given one Amazon seller account connected as two stores, 30 due logs each, all
    # of them orders the fake knows
    key_b = deployment.stack.run("apikey", "create", "--org", "org-b").strip().splitlines()[-1]
    stores = [
        await register_amazon_store(deployment, "org-a", deployment.key),
        await register_amazon_store(deployment, "org-b", key_b),
    ]
    receipts: dict[uuid.UUID, list[str]] = {}
    for s, store_id in enumerate(stores):
        receipts[store_id] = [f"11{s}-{i:07d}-0000001" for i in range(LOGS_PER_STORE)]
        for receipt in receipts[store_id]:
            amazon.add_order(receipt, "12.50")
        await deployment.add_due_logs(store_id, receipts[store_id])
    live = {
        "MARKETPLACE_MODE": "live",
        "AMAZON_SP_API_URL": amazon.url,
        "AMAZON_LWA_URL": f"{amazon.url}/auth/o2/token",
        "AMAZON_LWA_CLIENT_ID": LWA_CLIENT_ID,
        "AMAZON_LWA_CLIENT_SECRET": LWA_CLIENT_SECRET,
        "MARKETPLACE_RATE_LIMITS": f"AMAZON={RATE_PER_S:g}/s:{BURST}",
        "SYNC_LOCK_TTL_S": "120",  # one chunk outlasts the fixture's 4 s lock
    }
    workers = [
        deployment.stack.start(
            f"worker-{n}", "worker", "--processes", "1", "--threads", "1", env=live
        )
        for n in (1, 2)
    ]
    jobs = [await deployment.add_job(store_id) for store_id in stores]

    # When both workers sync at once, one store each
    deployment.send_sync(jobs[0])
    await wait_running(deployment, jobs[0], workers)
    # Worker 1 is busy (one thread) and holds at most one more message (Dramatiq
    # prefetches two per thread): of two copies of the second sync's message, worker 2
    # gets one. The copy that worker 1 may hold finds the sync finished and does nothing
    # (actors are idempotent).
    deployment.send_sync(jobs[1])
    deployment.send_sync(jobs[1])
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        finished = await deployment.db.fetchval(
            "SELECT count(*) FROM job WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL",
            jobs,
        )
        if finished == len(jobs):
            break
        await asyncio.sleep(0.1)
    outputs = [worker.log.read_text(errors="replace") for worker in workers]
    assert finished == len(jobs), "\n".join(outputs)

    # Then each process ran one of the syncs, and the two overlapped in time
    finished_lines = [
        [line for line in output.splitlines() if "store_sync_finished" in line]
        for output in outputs
    ]
    ran = [[any(str(job) in line for line in lines) for job in jobs] for lines in finished_lines]
    assert sorted(ran) == [[False, True], [True, False]], "\n".join(outputs)
    spans = await deployment.db.fetch(
        "SELECT started_at, finished_at, status, summary FROM job WHERE id = ANY($1::uuid[])",
        jobs,
    )
    assert max(row["started_at"] for row in spans) < min(row["finished_at"] for row in spans)
    assert [row["status"] for row in spans] == ["SUCCESS", "SUCCESS"]

    # And the fake never saw more than the bucket allows, one token of slack aside:
    # one call per log, no 429 needed, no retry
    assert len(amazon.api_arrivals) == 2 * LOGS_PER_STORE
    assert worst_excess(amazon.api_arrivals) <= 1.0, sorted(amazon.api_arrivals)
    assert most_in_one_second(amazon.api_arrivals) <= BURST + RATE_PER_S + 1
    assert sorted(seen.path.rsplit("/", 1)[-1] for seen in amazon.requests("api")) == sorted(
        r for rs in receipts.values() for r in rs
    )
    assert 1 <= amazon.calls["token"] <= 2  # one exchange, two at most if they raced

    # And nothing was lost: every log SUCCESS at its second attempt, counted once
    rows = await deployment.db.fetch(
        "SELECT store_id, receipt, status, attempt, order_id, amount, currency, error_details,"
        " next_retry_at FROM sync_log ORDER BY receipt"
    )
    assert len(rows) == 2 * LOGS_PER_STORE
    for row in rows:
        assert (row["status"], row["attempt"], row["order_id"], str(row["amount"])) == (
            "SUCCESS",
            2,
            row["receipt"],
            "12.50",
        )
        assert (row["currency"], row["error_details"], row["next_retry_at"]) == ("USD", None, None)
    imported = await deployment.db.fetch(
        "SELECT id, imported_orders FROM store WHERE id = ANY($1::uuid[])", stores
    )
    assert {row["id"]: row["imported_orders"] for row in imported} == {
        store_id: LOGS_PER_STORE for store_id in stores
    }
