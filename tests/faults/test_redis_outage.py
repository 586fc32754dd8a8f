"""Redis stopped under load: the database is the truth, Redis only a doorbell and a lock.

What must hold: during the outage every importOrder answers what the marketplace says
(SUCCESS / FAILED / RATE_LIMITED, never INTERNAL_SERVER_ERROR) and triggerSync answers a
job or a coded error other than INTERNAL_SERVER_ERROR; after Redis is back, with no
process restarted, one row per receipt, one delivery per (event, endpoint), no job
left QUEUED, the worker runs a new sync, the scheduler ticks and a subscription opened
before the outage receives an update again.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from marketsync.marketplaces.rules import ValidationOutcome, validation_outcome
from tests.faults.conftest import Faults, wait_for
from tests.support.graphql import IMPORT_ORDER
from tests.support.subscriptions import next_message, open_subscription

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
OUTAGE_S = 15
EXPECTED = {
    ValidationOutcome.VALID: "SUCCESS",
    ValidationOutcome.INVALID: "FAILED",
    ValidationOutcome.RATE_LIMITED: "RATE_LIMITED",
}
TRIGGER = "mutation($s: UUID!) { triggerSync(storeId: $s) { id status } }"


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "?") for e in body.get("errors") or []]


async def test_a_redis_outage_loses_nothing_and_every_process_recovers(faults: Faults) -> None:
    # Given the whole stack, two stores, webhooks for every sync event and a subscription
    stores = [await faults.register_store(f"outage-{n}") for n in range(2)]
    for event in ("SYNC_STARTED", "SYNC_COMPLETED", "SYNC_FAILED"):
        await faults.register_webhook(event)
    await faults.start_worker()
    faults.start_scheduler()
    ws = await open_subscription(faults.base_url, stores[0][1])
    assert (await next_message(ws))["type"] == "next"

    imports: list[tuple[str, str, float]] = []  # receipt, answer, sent at
    triggers: list[tuple[str, float]] = []  # job id or error code, sent at
    stop = asyncio.Event()

    async def import_load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            receipt = f"OUT-{n}-{n % 10}"
            token = stores[n % 2][1]
            body = await faults.gql(
                IMPORT_ORDER, {"input": {"syncToken": token, "receipt": receipt}}, auth=False
            )
            data = (body.get("data") or {}).get("importOrder")
            answer = data["syncLog"]["status"] if data else ",".join(codes(body))
            imports.append((receipt, answer, time.monotonic()))
            await asyncio.sleep(0.25)

    async def trigger_load() -> None:
        while not stop.is_set():
            for store_id, _ in stores:
                body = await faults.gql(TRIGGER, {"s": str(store_id)})
                data = (body.get("data") or {}).get("triggerSync")
                triggers.append((data["id"] if data else ",".join(codes(body)), time.monotonic()))
            await asyncio.sleep(3)

    load = [asyncio.create_task(import_load()), asyncio.create_task(trigger_load())]
    try:
        # When Redis stops for OUTAGE_S seconds in the middle of the load
        await asyncio.sleep(4)
        down_at = time.monotonic()
        faults.redis.stop()
        await asyncio.sleep(OUTAGE_S)
        faults.redis.launch()
        await faults.redis.wait_ready()
        up_at = time.monotonic()
        await asyncio.sleep(4)
    finally:
        stop.set()
        await asyncio.gather(*load)

    # Then every import answered as the marketplace says, before, during and after
    during = [(r, a) for r, a, at in imports if down_at <= at <= up_at]
    print(f"outage {up_at - down_at:.1f} s: {len(during)} imports, "
          f"{sum(down_at <= at <= up_at for _, at in triggers)} triggerSync during it")  # fmt: skip
    assert len(during) >= 10  # the outage was exercised (one every 0.25 s plus its latency)
    wrong = [(r, a) for r, a, _ in imports if a != EXPECTED[validation_outcome(r)]]
    assert wrong == []
    # triggerSync answered a job or a coded error, never an internal error
    assert not [t for t, _ in triggers if "INTERNAL_SERVER_ERROR" in t or t == ""]

    # And after recovery: one row per receipt, nothing lost
    receipts = [r for r, _, _ in imports]
    rows = await faults.db.fetch("SELECT receipt, count(*) AS n FROM sync_log GROUP BY receipt")
    assert {row["receipt"]: row["n"] for row in rows} == {r: 1 for r in receipts}

    # no job stays QUEUED (the sweep re-sends what the outage left unsent)
    async def none_queued() -> bool:
        return not await faults.db.fetchval(
            "SELECT count(*) FROM job WHERE status IN ('QUEUED','RUNNING')"
        )

    await wait_for(none_queued, 40, "every job finished after Redis came back")

    # one delivery per (event, endpoint), each delivered once it is done
    per_event = await faults.db.fetch(
        "SELECT event_record_id, endpoint_id, count(*) AS n FROM webhook_delivery"
        " GROUP BY event_record_id, endpoint_id HAVING count(*) > 1"
    )
    assert per_event == []
    events = await faults.db.fetchval("SELECT count(*) FROM webhook_event")

    async def all_delivered() -> bool:
        pending = await faults.db.fetchval(
            "SELECT count(*) FROM webhook_delivery WHERE status <> 'SUCCESS'"
        )
        return pending == 0

    await wait_for(all_delivered, 60, "every delivery SUCCESS")
    deliveries = await faults.db.fetchval("SELECT count(*) FROM webhook_delivery")
    assert deliveries == events > 0
    assert len(set(faults.receiver.event_ids)) == events

    # the worker, the scheduler and the subscription recovered without a restart
    assert faults.alive() == {"api": True, "worker": True, "scheduler": True}
    before = (faults.stack.folder / "heartbeat").stat().st_mtime
    body = await faults.gql(IMPORT_ORDER, {"input": {"syncToken": stores[0][1], "receipt": "A-1"}},
                            auth=False)  # fmt: skip
    assert body["data"]["importOrder"]["syncLog"]["status"] == "SUCCESS"
    seen = None
    for _ in range(20):
        message = await next_message(ws, 10)
        if message["payload"]["data"]["syncStatus"]["importedOrders"] == await faults.db.fetchval(
            "SELECT imported_orders FROM store WHERE id=$1", stores[0][0]
        ):
            seen = message
            break
    assert seen is not None
    await ws.close()
    # a retry made due now is run by the worker (enqueued by the scheduler or triggerSync)
    made_due = await faults.db.fetchval("SELECT now()")
    await faults.db.execute("UPDATE sync_log SET next_retry_at=now() - interval '1 minute'"
                            " WHERE status='FAILED' AND store_id=$1", stores[0][0])  # fmt: skip
    await faults.gql(TRIGGER, {"s": str(stores[0][0])})  # even receipts: the FAILED ones

    async def retried() -> bool:
        return bool(await faults.db.fetchval(
            "SELECT count(*) FROM job WHERE status='SUCCESS' AND finished_at > $1"
            " AND (summary->>'processed')::int > 0", made_due))  # fmt: skip

    await wait_for(retried, 30, "a sync made due after recovery runs and retries logs")
    await wait_for(
        lambda: asyncio.sleep(0, (faults.stack.folder / "heartbeat").stat().st_mtime > before),
        10,
        "the scheduler ticks again",
    )
    checked = await faults.db.fetchval("SELECT count(*) FROM sync_log")
    print(f"rows checked: {checked} logs, {deliveries} deliveries, {len(triggers)} triggers")
