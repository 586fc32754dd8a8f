"""`marketsync proof`: run the proof scenario against a live deployment, write Markdown.

Each step is one real call to the deployment (HTTP or websocket) and is checked; the
pack lists every step with its outcome, so a reader sees what was shown and what was
not. The proof runs its own webhook receiver (``--receiver-url`` when the deployment
reaches it under another address). The first failing step ends the run: later steps
are listed as not run, and the exit code is 1. On a terminal each step prints a
progress line as it goes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from marketsync import proof_steps as steps

REGISTER = """mutation($i: RegisterStoreInput!) { registerStore(input: $i) {
  storeId syncToken created userErrors { code message } } }"""
IMPORT = """mutation($t: UUID!, $r: String!) { importOrder(input: {syncToken: $t, receipt: $r}) {
  duplicate userErrors { code } syncLog { id status errorDetails attempt orderId amount } } }"""
STATUS = """query($t: UUID!) { syncStatus(syncToken: $t) {
  syncStatus importedOrders failedCount rateLimitedCount pendingCount } }"""
SUBSCRIBE = (
    """subscription($t: UUID!) { syncStatus(syncToken: $t) { syncStatus importedOrders } }"""
)


@dataclass
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class Proof:
    base: str
    key: str
    session: aiohttp.ClientSession
    receiver_url: str | None = None
    receiver_host: str = "127.0.0.1"
    retry_wait_s: float = 330.0
    redis_url: str | None = None
    worker_log: str | None = None
    steps: list[Step] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def progress(self, line: str) -> None:
        if sys.stderr.isatty():
            print(f"  … {line}", file=sys.stderr, flush=True)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, auth: bool = True
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.key}"} if auth else {}
        async with self.session.post(
            f"{self.base}/graphql",
            headers=headers,
            json={"query": query, "variables": variables or {}},
        ) as r:
            body: dict[str, Any] = await r.json()
            return body

    async def step(self, name: str, check: Callable[[], Awaitable[str]]) -> bool:
        number = len(self.steps) + 1
        if sys.stderr.isatty():
            print(f"[{number}] {name} …", file=sys.stderr, flush=True)
        try:
            detail = await check()
            self.steps.append(Step(name, True, detail))
        except Exception as exc:
            self.steps.append(Step(name, False, f"{type(exc).__name__}: {exc}"))
        if sys.stderr.isatty():
            print(f"[{number}] {name}: {'ok' if self.steps[-1].ok else 'FAIL'}", file=sys.stderr)
        return self.steps[-1].ok


def _base(url: str) -> str:
    url = url.rstrip("/")
    return url.removesuffix("/graphql")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


async def run_proof(*, url: str, api_key: str, **options: Any) -> tuple[str, bool]:
    """The Markdown pack and whether every step passed. ``options``: Proof's settings.

    A failed pack ends with a line naming the failed step and why."""
    base = _base(url)
    receiver = steps.Receiver()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        proof = Proof(base, api_key, session, **options)
        await receiver.start(proof.receiver_host)
        proof.facts["receiver"] = receiver
        try:
            await _scenario(proof)
        finally:
            await receiver.stop()
    ok = len(proof.steps) == len(STEP_NAMES) and all(step.ok for step in proof.steps)
    report = _render(proof, ok)
    failed = next((step for step in proof.steps if not step.ok), None)
    if failed is not None:
        report += f"\n{FAILED_PREFIX}'{failed.name}': {failed.detail}\n"
    return report, ok


FAILED_PREFIX = "proof failed at step "


async def _scenario(p: Proof) -> None:
    async def health() -> str:
        async with p.session.get(f"{p.base}/health") as h, p.session.get(f"{p.base}/ready") as r:
            _expect(h.status == 200 and r.status == 200, f"health {h.status}, ready {r.status}")
            return f"/health 200, /ready 200 {await r.text()}"

    async def organization() -> str:
        body = await p.gql("{ viewer { organizationId } }")
        p.facts["org"] = body["data"]["viewer"]["organizationId"]
        return f"the key belongs to `{p.facts['org']}`"

    async def register() -> str:
        external = f"proof-{int(time.time())}"
        variables = {
            "i": {
                "organizationId": p.facts["org"],
                "marketplace": "ETSY",
                "externalStoreId": external,
                "storeName": "Proof shop",
                "accessToken": "proof-token",
                "currency": "USD",
            }
        }
        first = (await p.gql(REGISTER, variables))["data"]["registerStore"]
        variables["i"]["storeName"] = "Proof shop (renamed)"
        again = (await p.gql(REGISTER, variables))["data"]["registerStore"]
        _expect(first["created"] and not again["created"], "upsert flags wrong")
        _expect(first["storeId"] == again["storeId"], "upsert changed the id")
        p.facts.update(store=first["storeId"], token=first["syncToken"])
        return f"store {first['storeId']} created, then updated with the same id and token"

    async def imports() -> str:
        outcomes = {}
        for receipt in ("PROOF-1001", "PROOF-1002", "PROOF-15"):
            body = await p.gql(IMPORT, {"t": p.facts["token"], "r": receipt}, auth=False)
            outcomes[receipt] = body["data"]["importOrder"]["syncLog"]["status"]
        _expect(
            outcomes
            == {"PROOF-1001": "SUCCESS", "PROOF-1002": "FAILED", "PROOF-15": "RATE_LIMITED"},
            f"outcomes {outcomes}",
        )
        return ", ".join(f"`{r}` → {s}" for r, s in outcomes.items())

    async def duplicate() -> str:
        body = await p.gql(IMPORT, {"t": p.facts["token"], "r": "PROOF-1001"}, auth=False)
        _expect(body["data"]["importOrder"]["duplicate"] is True, "not marked duplicate")
        return "the same receipt again answers the stored log with duplicate: true"

    async def status() -> str:
        report = (await p.gql(STATUS, {"t": p.facts["token"]}, auth=False))["data"]["syncStatus"]
        _expect(report["importedOrders"] == 1 and report["syncStatus"] == "PARTIAL", str(report))
        return f"`{json.dumps(report)}`"

    async def subscription() -> str:
        ws_url = p.base.replace("http", "ws", 1) + "/graphql"
        async with p.session.ws_connect(ws_url, protocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {}})
            _expect((await ws.receive_json(timeout=10))["type"] == "connection_ack", "no ack")
            await ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"t": p.facts["token"]}},
                }
            )
            first = await ws.receive_json(timeout=10)
            await p.gql(IMPORT, {"t": p.facts["token"], "r": "PROOF-2001"}, auth=False)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                message = await ws.receive_json(timeout=10)
                if message["payload"]["data"]["syncStatus"]["importedOrders"] == 2:
                    return f"first {first['payload']['data']}, then importedOrders 2 pushed live"
        raise AssertionError("no live update")

    async def auth() -> str:
        body = await p.gql(
            REGISTER,
            {
                "i": {
                    "organizationId": "x",
                    "marketplace": "ETSY",
                    "externalStoreId": "x",
                    "storeName": "x",
                    "accessToken": "x",
                    "currency": "USD",
                }
            },
            auth=False,
        )
        code = body["errors"][0]["extensions"]["code"]
        _expect(code == "UNAUTHENTICATED", code)
        return "registerStore without a key → UNAUTHENTICATED"

    checks: list[Callable[[], Awaitable[str]]] = [
        health,
        organization,
        register,
        lambda: steps.register_webhook(p),
        imports,
        duplicate,
        status,
        subscription,
        auth,
        lambda: steps.sync_retry(p),
        lambda: steps.webhook_delivered(p),
        lambda: steps.inventory_dry_run(p),
        lambda: steps.inventory_write(p),
        lambda: steps.inventory_dedup(p),
        lambda: steps.inventory_confirmed(p),
        lambda: steps.worker_log(p),
    ]
    for name, check in zip(STEP_NAMES, checks, strict=True):
        if not await p.step(name, check):
            return


STEP_NAMES = (
    "Health and readiness",
    "API key",
    "registerStore is an upsert",
    "registerWebhook to the proof's receiver",
    "importOrder outcomes",
    "importOrder is idempotent",
    "syncStatus report",
    "syncStatus subscription",
    "Authentication",
    "triggerSync retries a due log",
    "Webhook delivered and its signature verified",
    "Inventory dry run of 1,001 items",
    "Inventory forced write",
    "Inventory dedup on repeat",
    "Inventory batch polled to confirmed",
    "Worker log for the job",
)


def _render(p: Proof, ok: bool) -> str:
    lines = [
        "# marketsync proof pack",
        "",
        f"- deployment: `{p.base}`",
        f"- run at: {datetime.now(UTC).isoformat()}",
        f"- result: **{'PASS' if ok else 'FAIL'}** "
        f"({sum(s.ok for s in p.steps)}/{len(STEP_NAMES)} steps)",
        "",
        "| step | result | what was seen |",
        "|---|---|---|",
    ]
    lines += [
        f"| {s.name} | {'pass' if s.ok else 'FAIL'} | {s.detail.replace('|', '/')} |"
        for s in p.steps
    ]
    lines += [f"| {name} | not run | after a failed step |" for name in STEP_NAMES[len(p.steps) :]]
    return "\n".join(lines) + "\n"
