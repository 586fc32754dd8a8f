"""The proof's later steps: webhooks, inventory, a real sync retry, the worker's log.

Split from ``proof`` to keep each module readable; ``proof.Proof`` is the shared state.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from aiohttp import web
from standardwebhooks import Webhook

if TYPE_CHECKING:
    from marketsync.proof import Proof

RATE_LIMITED_RECEIPT = "PROOF-15"  # the mock answers 429 (1 + 5 is a multiple of 6)
REGISTER_WEBHOOK = """mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) {
  signingSecret webhook { id } userErrors { code message } } }"""
PUSH = """mutation($i: PushInventoryInput!) { pushInventory(input: $i) {
  dryRun writeEffective chunkCount enqueuedCount dedupCount dedupWindowMs
  chunks { chunkIndex itemCount bodyHash dedup jobId } userErrors { code message } } }"""
JOB = "query($j: UUID!) { job(id: $j) { id status summary error attempts } }"
BATCH = """query($s: UUID!, $b: String!) { inventoryBatch(storeId: $s, batchRequestId: $b) {
  complete itemCount failedItemCount confirmedUpserted items { barcode status } } }"""
LOGS = """query($s: UUID!) { store(id: $s) { syncLogs(status: RATE_LIMITED, first: 5) {
  edges { node { receipt status attempt nextRetryAt } } } } }"""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


class Receiver:
    """The proof's own webhook endpoint: records what arrives, answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str) -> None:
        app = web.Application()
        app.router.add_post("/proof-webhook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _receive(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def wait_job(p: Proof, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = (await p.gql(JOB, {"j": job_id}))["data"]["job"]
        if job["status"] in ("SUCCESS", "FAILED"):
            return dict(job)
        await asyncio.sleep(0.3)
    raise AssertionError(f"job {job_id} unfinished after {timeout_s:.0f} s (is a worker running?)")


async def register_webhook(p: Proof) -> str:
    receiver: Receiver = p.facts["receiver"]
    url = p.receiver_url or f"http://{p.receiver_host}:{receiver.port}/proof-webhook"
    body = await p.gql(
        REGISTER_WEBHOOK,
        {"i": {"organizationId": p.facts["org"], "event": "SYNC_COMPLETED", "targetUrl": url}},
    )
    payload = body["data"]["registerWebhook"]
    expect(not payload["userErrors"], f"registerWebhook refused {url}: {payload['userErrors']}")
    p.facts["secret"] = payload["signingSecret"]
    return f"sync.completed → `{url}`, a `whsec_` signing secret answered once"


async def sync_retry(p: Proof) -> str:
    """Wait until the rate-limited log is due (its nextRetryAt), trigger, see it retried."""
    deadline = time.monotonic() + p.retry_wait_s
    while True:
        edges = (await p.gql(LOGS, {"s": p.facts["store"]}))["data"]["store"]["syncLogs"]["edges"]
        logs = {e["node"]["receipt"]: e["node"] for e in edges}
        expect(RATE_LIMITED_RECEIPT in logs, f"{RATE_LIMITED_RECEIPT} is not RATE_LIMITED")
        before = logs[RATE_LIMITED_RECEIPT]
        due_in = (datetime.fromisoformat(before["nextRetryAt"]) - datetime.now(UTC)).total_seconds()
        if due_in <= 0:
            break
        expect(
            time.monotonic() + due_in <= deadline + 1,
            f"{RATE_LIMITED_RECEIPT} is due in {due_in:.0f} s, beyond --retry-wait"
            f" {p.retry_wait_s:.0f} s (the contract's first backoff is 5 minutes)",
        )
        p.progress(f"waiting for {RATE_LIMITED_RECEIPT}'s nextRetryAt ({due_in:.0f} s)")
        await asyncio.sleep(min(5.0, max(0.5, due_in)))
    body = await p.gql(
        "mutation($s: UUID!) { triggerSync(storeId: $s) { id status } }", {"s": p.facts["store"]}
    )
    job = await wait_job(p, body["data"]["triggerSync"]["id"])
    p.facts["job"] = job["id"]
    summary = job["summary"] or {}
    expect(job["status"] == "SUCCESS", f"job {job['id']} {job['status']}: {job['error']}")
    expect(summary.get("processed", 0) > 0, f"the run retried nothing: {json.dumps(summary)}")
    edges = (await p.gql(LOGS, {"s": p.facts["store"]}))["data"]["store"]["syncLogs"]["edges"]
    after = {e["node"]["receipt"]: e["node"] for e in edges}[RATE_LIMITED_RECEIPT]
    expect(after["attempt"] == before["attempt"] + 1, f"attempt {before['attempt']} → {after}")
    return (
        f"job {job['id']} → SUCCESS `{json.dumps(summary)}`; {RATE_LIMITED_RECEIPT} retried:"
        f" attempt {before['attempt']} → {after['attempt']}, still {after['status']}"
    )


async def webhook_delivered(p: Proof) -> str:
    receiver: Receiver = p.facts["receiver"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for headers, raw in receiver.received:
            body = json.loads(raw)
            if body.get("storeId") == p.facts["store"] and body.get("event") == "sync.completed":
                lower = {k.lower(): v for k, v in headers.items()}
                Webhook(p.facts["secret"]).verify(raw, lower)  # raises when it does not verify
                return (
                    f"sync.completed for job {body['data'].get('jobId')} arrived,"
                    f" webhook-id `{lower['webhook-id']}`: Standard Webhooks signature verified"
                )
        await asyncio.sleep(0.3)
    raise AssertionError(f"no sync.completed arrived in 30 s ({len(receiver.received)} other)")


def _items(count: int, *, prefix: str) -> list[dict[str, Any]]:
    return [
        {"barcode": f"{prefix}-{i:05d}", "quantity": i % 50, "salePrice": "9.50",
         "listPrice": "12.00", "currencyType": "TRY"}
        for i in range(count)
    ]  # fmt: skip


async def inventory_dry_run(p: Proof) -> str:
    variables = {"i": {"storeId": p.facts["store"], "items": _items(1001, prefix="DRY"),
                       "dryRun": True}}  # fmt: skip
    payload = (await p.gql(PUSH, variables))["data"]["pushInventory"]
    expect(not payload["userErrors"], str(payload["userErrors"]))
    sizes = [chunk["itemCount"] for chunk in payload["chunks"]]
    expect(sizes == [1000, 1] and payload["dryRun"], f"chunks {sizes}")
    for chunk in payload["chunks"]:
        job = await wait_job(p, chunk["jobId"])
        expect(job["status"] == "SUCCESS", f"dry-run job {job}")
        expect((job["summary"] or {}).get("remoteCall") is False, f"a dry run called out: {job}")
    return "1,001 items → chunks of 1000 + 1, both jobs SUCCESS without a marketplace call"


async def inventory_write(p: Proof) -> str:
    items = _items(3, prefix=f"W{int(time.time())}")
    items[2]["salePrice"] = "99.00"  # above its listPrice: the marketplace fails this item
    variables = {"i": {"storeId": p.facts["store"], "items": items, "forceWrite": True}}
    p.facts["write_items"] = variables
    payload = (await p.gql(PUSH, variables))["data"]["pushInventory"]
    expect(not payload["userErrors"], str(payload["userErrors"]))
    expect(payload["writeEffective"], "forceWrite is not allowed on this deployment")
    chunk = payload["chunks"][0]
    p.facts["write_chunk"] = chunk
    job = await wait_job(p, chunk["jobId"])
    expect(job["status"] == "SUCCESS", f"push job {job}")
    p.facts["batch"] = (job["summary"] or {})["batchRequestId"]
    return f"3 items pushed (forceWrite), job {job['id']} → batch `{p.facts['batch']}`"


async def inventory_dedup(p: Proof) -> str:
    payload = (await p.gql(PUSH, p.facts["write_items"]))["data"]["pushInventory"]
    first = p.facts["write_chunk"]
    chunk = payload["chunks"][0]
    expect(payload["dedupCount"] == 1 and chunk["dedup"], f"not deduplicated: {payload}")
    expect(chunk["jobId"] == first["jobId"], "the repeat did not point at the first job")
    key = f"marketsync:inventory:dedup:{p.facts['store']}:{chunk['bodyHash']}:1"
    if p.redis_url:
        client = aioredis.from_url(p.redis_url)
        try:
            ttl = await client.ttl(key)
        finally:
            await client.aclose()
        expect(ttl > 0, f"{key} has no TTL ({ttl})")
        where = f"Redis key `{key}` TTL {ttl} s"
    else:
        where = f"key `{key}` (embedded Redis: pass --redis-url to read its TTL)"
    return (
        f"the same push again → dedup, job {chunk['jobId']} reused, window"
        f" {payload['dedupWindowMs'] // 1000} s; {where}"
    )


async def inventory_confirmed(p: Proof) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batch = (await p.gql(BATCH, {"s": p.facts["store"], "b": p.facts["batch"]}))["data"][
            "inventoryBatch"
        ]
        if batch["complete"]:
            statuses = sorted(item["status"] for item in batch["items"])
            expect(statuses == ["FAILED", "SUCCESS", "SUCCESS"], f"items {statuses}")
            expect(batch["confirmedUpserted"] == 2, f"confirmed {batch['confirmedUpserted']}")
            return "batch polled to complete: 2 SUCCESS confirmed, 1 FAILED (sale > list)"
        await asyncio.sleep(0.5)
    raise AssertionError("the batch was not confirmed in 60 s")


async def worker_log(p: Proof) -> str:
    job_id = p.facts.get("job")
    if p.worker_log is None:
        return "worker log not reachable from here (pass --worker-log FILE to quote it)"
    expect(job_id is not None, "no sync job to look for")
    text = await asyncio.to_thread(Path(p.worker_log).read_text, errors="replace")
    lines = [line.strip() for line in text.splitlines() if str(job_id) in line]
    expect(bool(lines), f"no line of {p.worker_log} names job {job_id}")
    return "`" + "` / `".join(lines[-3:])[:600] + "`"
