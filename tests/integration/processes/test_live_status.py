"""Live status across processes: a worker's change reaches API subscribers through Redis."""

from __future__ import annotations

import asyncio
import uuid

from tests.integration.processes.conftest import Deployment
from tests.support.processes import wait_for_output
from tests.support.subscriptions import next_message, open_subscription


async def redis_clients(deployment: Deployment) -> int:
    return len(await deployment.redis.client_list())


async def test_a_worker_change_reaches_200_subscribers_without_redis_growth(
    deployment: Deployment,
) -> None:
    store_id, token = await deployment.register_store("live")
    await deployment.add_due_logs(store_id, ["R-1", "R-3", "R-5"])
    worker = deployment.stack.start("worker", "worker", "--processes", "1", "--threads", "2")
    await wait_for_output(worker, "worker_started")
    first = await open_subscription(deployment.base_url, token)
    await next_message(first)
    clients_with_one = await redis_clients(deployment)

    sockets = [await open_subscription(deployment.base_url, token) for _ in range(199)]
    initial = await asyncio.gather(*(next_message(ws) for ws in sockets))
    sockets.append(first)
    clients_with_200 = await redis_clients(deployment)

    job_id = await deployment.add_job(store_id)
    deployment.send_sync(job_id)

    async def until_three(ws) -> dict:  # type: ignore[no-untyped-def,type-arg]
        while True:
            report = (await next_message(ws, timeout_s=30))["payload"]["data"]["syncStatus"]
            if report["importedOrders"] == 3:
                return report  # type: ignore[no-any-return]

    finals = await asyncio.gather(*(until_three(ws) for ws in sockets))
    for ws in sockets:
        await ws.close()

    assert {m["payload"]["data"]["syncStatus"]["importedOrders"] for m in initial} == {0}
    assert len(finals) == 200
    assert {(r["importedOrders"], r["syncStatus"], r["failedCount"]) for r in finals} == {
        (3, "SUCCESS", 0)
    }
    assert clients_with_200 - clients_with_one <= 2


ORG_STATUS = """subscription($org: String!) { organizationSyncStatus(organizationId: $org) {
  storeId importedOrders syncStatus } }"""


async def test_a_worker_change_reaches_the_organization_subscription_and_no_other(
    deployment: Deployment,
) -> None:
    # Given two stores of org-a with due logs, a store of org-b, and an org-a subscriber
    own, _ = await deployment.register_store("org-own")
    other_own, _ = await deployment.register_store("org-other-own")
    await deployment.add_due_logs(own, ["O-1", "O-3"])
    other_key = deployment.stack.run("apikey", "create", "--org", "org-b").strip().splitlines()[-1]
    body = await deployment.gql(
        "mutation($i: RegisterStoreInput!) { registerStore(input: $i) { storeId } }",
        {
            "i": {
                "organizationId": "org-b",
                "marketplace": "ETSY",
                "externalStoreId": "foreign",
                "storeName": "foreign",
                "accessToken": "token",
                "currency": "USD",
            }
        },
        key=other_key,
    )
    foreign = uuid.UUID(body["data"]["registerStore"]["storeId"])
    await deployment.add_due_logs(foreign, ["F-1"])
    worker = deployment.stack.start("worker", "worker", "--processes", "1", "--threads", "2")
    await wait_for_output(worker, "worker_started")
    ws = await open_subscription(
        deployment.base_url,
        "",
        ORG_STATUS,
        init={"Authorization": f"Bearer {deployment.key}"},
        variables={"org": "org-a"},
    )
    try:
        # When separate worker processes sync the foreign store, then the own one
        deployment.send_sync(await deployment.add_job(foreign))
        deployment.send_sync(await deployment.add_job(own))
        reports = []
        while not reports or reports[-1]["importedOrders"] != 2:
            message = await next_message(ws, timeout_s=30)
            reports.append(message["payload"]["data"]["organizationSyncStatus"])
    finally:
        await ws.close()

    # Then the subscriber saw its own store reach 2 imports, and never org-b's store
    assert {report["storeId"] for report in reports} <= {str(own), str(other_own)}
    assert reports[-1] == {"storeId": str(own), "importedOrders": 2, "syncStatus": "SUCCESS"}
