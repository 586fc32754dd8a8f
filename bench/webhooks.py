"""Webhook delivery throughput and latency against a raw aiohttp POST loop, same run.

    .venv/bin/python bench/webhooks.py [--deliveries 2000] [--threads 8] [--paced 500]
                                       [--rate 100]

A production-shaped stack on loopback: PostgreSQL, Redis, one `marketsync worker`
process (``--threads`` actor threads) and a minimal receiver in its own process.

(a) raw: ``--deliveries`` POSTs of a signed event body straight from aiohttp to the
    receiver, one at a time (a1) and ``--threads`` at a time (a, the fair baseline: the
    worker runs that many deliveries at once);
(b) backlog: ``--deliveries`` committed events, one delivery each, each commit's
    doorbell rung at once; the
    worker claims, signs, POSTs, records: deliveries/s from the first doorbell to the
    last arrival, and the ratio b/a (target >= 0.7);
(c) paced: ``--paced`` events committed one by one at ``--rate`` per second, each rung
    after its commit as the sync engine does: p50/p99 from commit to the first attempt
    reaching the receiver (target p99 < 250 ms).

Everything is bounded (``--max-seconds`` per phase) and stays on 127.0.0.1. Redis db 12
(``BENCH_REDIS_URL``) keeps its messages away from the other benchmarks' workers.
``--poll-ms`` sets Dramatiq's longest idle poll: its default of 1 s is what an idle
worker adds to the first delivery after a quiet spell (try ``--rate 2``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

# A Redis database of its own: other benchmarks flush db 10 and their workers would
# consume this one's messages.
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness import REDIS_URL, Result, free_port, load, stack

ORG = "bench"


# --- the receiver (its own process) -------------------------------------------------


def serve_receiver(port: int) -> None:
    """A minimal ASGI receiver: answers 200, remembers the first arrival per webhook-id."""
    import uvicorn

    arrivals: dict[str, float] = {}
    posts = 0

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal posts
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if scope["method"] == "POST":
            posts += 1
            for name, value in scope["headers"]:
                if name == b"webhook-id":
                    arrivals.setdefault(value.decode(), time.time())
            body = b'{"ok":true}'
        elif scope["method"] == "DELETE":
            arrivals.clear()
            posts = 0
            body = b"{}"
        else:
            body = json.dumps({"posts": posts, "arrivals": arrivals}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )


async def receiver_stats(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url) as response:
        stats: dict[str, Any] = await response.json()
        return stats


async def wait_for_receiver(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            await receiver_stats(session, url)
            return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the receiver did not start")


# --- the bench ------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def main(args: argparse.Namespace) -> None:
    from pydantic import SecretStr
    from tortoise import Tortoise
    from tortoise.transactions import in_transaction

    from marketsync.config import Settings
    from marketsync.crypto import Vault
    from marketsync.db import tortoise_config
    from marketsync.jobs.broker import BrokerDispatcher, attach_actors, make_broker
    from marketsync.models import WebhookDelivery, WebhookEndpoint
    from marketsync.models.enums import DeliveryStatus, WebhookEventType
    from marketsync.services.webhooks.delivery import wire_body
    from marketsync.services.webhooks.outbox import emit_event, ring_deliveries
    from marketsync.webhooks.signing import generate_secret, signature_headers

    port = free_port()
    hook_url = f"http://127.0.0.1:{port}/hook"
    stats_url = f"http://127.0.0.1:{port}/stats"
    receiver = subprocess.Popen(  # noqa: ASYNC220  started once, before any measurement
        [sys.executable, __file__, "--serve-receiver", str(port)]
    )
    async with stack(api=False, extra_env={"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}) as bench:
        settings = Settings(
            database_url=bench.env["DATABASE_URL"],
            redis_url=REDIS_URL,
            secret_key=SecretStr(bench.env["SECRET_KEY"]),
        )
        await Tortoise.init(
            config=tortoise_config(settings.database_url), _enable_global_fallback=True
        )
        broker = make_broker(settings)
        attach_actors(broker)
        dispatcher = BrokerDispatcher(broker)

        class Doorbell:  # what ring_deliveries needs of a Runtime
            def __init__(self) -> None:
                self.dispatcher = dispatcher

        secret = generate_secret()
        await WebhookEndpoint.create(
            organization_id=ORG,
            event=WebhookEventType.SYNC_COMPLETED,
            target_url=hook_url,
            secret_encrypted=Vault(bench.env["SECRET_KEY"]).webhook_secrets.encrypt(secret),
        )
        worker = bench.start(
            "worker",
            "--processes",
            "1",
            "--threads",
            str(args.threads),
            env={
                "dramatiq_worker_timeout": str(args.poll_ms),
                "dramatiq_queue_prefetch": str(args.prefetch),
            },
        )
        connector = aiohttp.TCPConnector(limit=args.threads)
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                await wait_for_receiver(session, stats_url)

                async def commit_event(index: int) -> list[Any]:
                    async with in_transaction() as conn:
                        return await emit_event(
                            conn=conn,
                            event=WebhookEventType.SYNC_COMPLETED,
                            organization_id=ORG,
                            store_id=None,
                            data={
                                "jobId": f"bench-{index}",
                                "syncStatus": "SUCCESS",
                                "importedOrders": index,
                                "processed": 1,
                            },
                        )

                # (a) raw POST loop, the same body shape, signed once.
                body = wire_body(
                    {
                        "eventId": "raw",
                        "event": "sync.completed",
                        "timestamp": "2026-01-01T00:00:00.000Z",
                        "organizationId": ORG,
                        "storeId": None,
                        "data": {"jobId": "bench", "syncStatus": "SUCCESS"},
                    }
                )
                headers = signature_headers(
                    secret=secret, event_id="raw", timestamp=int(time.time()), body=body
                )

                async def post(_: int) -> bool:
                    async with session.post(hook_url, data=body, headers=headers) as response:
                        await response.read()
                        return response.status == 200

                await load("warm-up", post, total=200, concurrency=args.threads)
                raw_loop = await load(
                    "(a1) raw aiohttp POST loop",
                    post,
                    total=args.deliveries,
                    concurrency=1,
                    max_seconds=args.max_seconds,
                )
                raw = await load(
                    f"(a) raw aiohttp POST x{args.threads}",
                    post,
                    total=args.deliveries,
                    concurrency=args.threads,
                    max_seconds=args.max_seconds,
                )

                # Warm the worker up before measuring. Ring until it answers: a message
                # that arrives while the worker process still boots is lost (the sweep
                # would ring it again in production; the bench does it here).
                warm_up = await commit_event(-1)
                for _ in range(30):
                    await ring_deliveries(rt=Doorbell(), delivery_ids=warm_up)
                    if await wait_until(
                        lambda: _succeeded(WebhookDelivery, DeliveryStatus, 1), 1.0
                    ):
                        break
                else:
                    raise RuntimeError("the worker did not deliver the warm-up event")

                # (b) a backlog of committed events, rung at once.
                commits = [await commit_event(index) for index in range(args.deliveries)]
                async with session.delete(stats_url):
                    pass
                started_wall = time.time()
                started = time.perf_counter()
                for ids in commits:  # one doorbell per commit, as the sync engine rings
                    await ring_deliveries(rt=Doorbell(), delivery_ids=ids)
                done = await wait_until(
                    lambda: _succeeded(WebhookDelivery, DeliveryStatus, args.deliveries + 1),
                    args.max_seconds,
                )
                elapsed_poll = time.perf_counter() - started
                stats = await receiver_stats(session, stats_url)
                arrivals = list(stats["arrivals"].values())
                last_arrival = max(arrivals, default=started_wall)
                backlog_seconds = last_arrival - started_wall if done else elapsed_poll
                backlog = Result(
                    "(b) worker, backlog",
                    len(stats["arrivals"]),
                    backlog_seconds,
                    [],
                    args.deliveries - len(stats["arrivals"]),
                )

                # (c) paced events: commit, ring, measure commit -> first attempt.
                async with session.delete(stats_url):
                    pass
                committed: dict[str, float] = {}
                interval = 1.0 / args.rate
                next_at = time.perf_counter()
                paced_total = args.deliveries + 1 + args.paced
                for index in range(args.paced):
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += interval
                    new_ids = await commit_event(10**6 + index)
                    committed_at = time.time()
                    await ring_deliveries(rt=Doorbell(), delivery_ids=new_ids)
                    rows = await WebhookDelivery.filter(id__in=new_ids).values_list(
                        "event_record_id", flat=True
                    )
                    committed[str(rows[0])] = committed_at
                await wait_until(
                    lambda: _succeeded(WebhookDelivery, DeliveryStatus, paced_total),
                    args.max_seconds,
                )
                stats = await receiver_stats(session, stats_url)
                latencies = [
                    stats["arrivals"][event_id] - at
                    for event_id, at in committed.items()
                    if event_id in stats["arrivals"]
                ]
        finally:
            stop_worker(worker)
            await Tortoise.close_connections()
            receiver.terminate()
            receiver.wait(timeout=10)

    ratio = backlog.rate / raw.rate if raw.rate else 0.0
    loop_ratio = backlog.rate / raw_loop.rate if raw_loop.rate else 0.0
    print(f"worker: 1 process x {args.threads} threads; raw loop concurrency {args.threads}")
    print(
        f"dramatiq polling: worker_timeout {args.poll_ms} ms, prefetch "
        f"{args.prefetch or 2 * args.threads}"
    )
    print(raw_loop.line())
    print(raw.line())
    print(f"{backlog.name:<34} {backlog.rate:9.1f}/s  n={backlog.count} missing={backlog.errors}")
    print(f"ratio b/a = {ratio:.2f}  (target >= 0.7; same concurrency as the worker)")
    print(f"ratio b/a1 = {loop_ratio:.2f}  (against the one-at-a-time loop)")
    print(
        f"(c) paced {args.rate:.0f}/s, n={len(latencies)}/{args.paced}: commit -> first "
        f"attempt p50 {pct(latencies, 0.5):.1f} ms  p99 {pct(latencies, 0.99):.1f} ms  "
        f"max {max(latencies, default=0) * 1000:.1f} ms  (target p99 < 250 ms)"
    )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Dramatiq's main process only: it forwards one to its worker process,
    and a second one (from signalling the whole group) turns the graceful stop into a
    ``sys.exit`` that leaves the process hanging on its threads."""
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


async def _succeeded(model: Any, status: Any, count: int) -> bool:
    return bool(await model.filter(status=status.SUCCESS).count() >= count)


async def wait_until(check: Any, max_seconds: float) -> bool:
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--paced", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument(
        "--poll-ms",
        type=int,
        default=1000,
        help="Dramatiq's longest idle poll (dramatiq_worker_timeout)",
    )
    parser.add_argument(
        "--prefetch",
        type=int,
        default=0,
        help="messages a worker holds (dramatiq_queue_prefetch; 0: 2 x threads)",
    )
    parser.add_argument("--serve-receiver", type=int, default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_receiver is not None:
        serve_receiver(arguments.serve_receiver)
    else:
        asyncio.run(main(arguments))
