"""Live status fan-out: 1,000 subscribers on one API process (PostgreSQL + Redis).

    .venv/bin/python bench/subscriptions.py [--subscribers 1000] [--changes 5] [--workers 1]

Each change is an importOrder on the same store; for every subscriber the latency is
the time from the mutation's answer to the message's arrival (0 when it arrives
first). Prints p50/p99 (target p99 < 100 ms for 1,000 on one process; < 500 ms for
10,000 over `serve --workers 2`) and, as the baseline of the same run, a raw Redis
PUBLISH reaching as many plain Redis subscribers (one connection each, capped at
1,000) from the same client process. Loopback only; bounded in count and time.
BENCH_REDIS_URL picks the Redis database (it is flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REDIS_URL, gql, register_store, stack, wait_ready

CONNECT_CONCURRENCY = 50
READY_TIMEOUT_S = 300
BASELINE_SUBSCRIBERS_MAX = 1000

IMPORT = """mutation($t: UUID!, $r: String!) { importOrder(input: {syncToken: $t, receipt: $r}) {
  duplicate } }"""
SUBSCRIBE = """subscription($t: UUID!) { syncStatus(syncToken: $t) { importedOrders } }"""


async def subscriber(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    arrivals: list[list[float]],
    ready: asyncio.Event,
    count: list[int],
    total: int,
    changes: int,
    gate: asyncio.Semaphore,
) -> None:
    async with gate:  # a bounded number of handshakes in flight
        ws = await session.ws_connect(url, protocols=["graphql-transport-ws"])
        await ws.send_json({"type": "connection_init", "payload": {}})
        await ws.receive_json(timeout=60)
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"t": token}},
            }
        )
        first = await ws.receive_json(timeout=60)
    async with ws:
        seen = first["payload"]["data"]["syncStatus"]["importedOrders"]
        count[0] += 1
        if count[0] == total:
            ready.set()
        while seen < changes:
            message = await ws.receive_json(timeout=60)
            now = time.perf_counter()
            value = message["payload"]["data"]["syncStatus"]["importedOrders"]
            if value > seen:
                arrivals[value - 1].append(now)
                seen = value


async def redis_baseline(subscribers: int, rounds: int) -> list[float]:
    """PUBLISH → each of ``subscribers`` plain Redis subscribers (one connection each)."""
    client = aioredis.from_url(REDIS_URL)
    pools = [aioredis.from_url(REDIS_URL, socket_connect_timeout=30) for _ in range(subscribers)]
    subs = [pool.pubsub() for pool in pools]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def subscribe(sub: aioredis.client.PubSub) -> None:
        async with gate:
            await sub.subscribe("bench:baseline")

    await asyncio.gather(*(subscribe(sub) for sub in subs))
    latencies: list[float] = []

    async def listen(sub: aioredis.client.PubSub, started: list[float]) -> None:
        while await sub.get_message(ignore_subscribe_messages=True, timeout=10) is None:
            pass
        latencies.append(time.perf_counter() - started[0])

    try:
        for _ in range(rounds):
            started = [0.0]
            listeners = [asyncio.create_task(listen(sub, started)) for sub in subs]
            await asyncio.sleep(0.2)  # every listener waiting
            started[0] = time.perf_counter()
            await client.publish("bench:baseline", "x")
            await asyncio.wait_for(asyncio.gather(*listeners), timeout=60)
    finally:
        for sub in subs:
            await sub.aclose()
        for pool in pools:
            await pool.aclose()
        await client.aclose()
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main(subscribers: int, changes: int, workers: int) -> None:
    async with stack(api=workers == 1) as bench:
        if workers > 1:
            port = bench.base_url.rsplit(":", 1)[1]
            bench.start("serve", "--port", port, "--workers", str(workers))
            await wait_ready(bench.base_url)
        key = bench.run("apikey", "create", "--org", "bench").strip().splitlines()[-1]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            _, token = await register_store(session, bench.base_url, key, "s")
            ws_url = bench.base_url.replace("http", "ws", 1) + "/graphql"
            arrivals: list[list[float]] = [[] for _ in range(changes)]
            ready = asyncio.Event()
            count = [0]
            gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
            started = time.perf_counter()
            tasks = [
                asyncio.create_task(
                    subscriber(
                        session, ws_url, token, arrivals, ready, count, subscribers, changes, gate
                    )
                )
                for _ in range(subscribers)
            ]
            await asyncio.wait_for(ready.wait(), timeout=READY_TIMEOUT_S)
            connected_s = time.perf_counter() - started
            answered: list[float] = []
            for index in range(changes):
                await asyncio.sleep(0.5)
                await gql(session, bench.base_url, IMPORT, {"t": token, "r": f"SUB-{index}-1"})
                answered.append(time.perf_counter())
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    latencies = [
        max(0.0, arrival - answered[i]) for i, group in enumerate(arrivals) for arrival in group
    ]
    print(
        f"subscribers {subscribers} over {workers} process(es), changes {changes}, "
        f"messages {len(latencies)} (expected {subscribers * changes}); "
        f"all subscribed (first report each) in {connected_s:.1f} s"
    )
    target = 100 if workers == 1 else 500
    print(
        f"fan-out latency  p50 {pct(latencies, 0.5):7.2f} ms  p99 {pct(latencies, 0.99):7.2f} ms"
        f"  (target p99 < {target} ms)"
    )
    baseline_n = min(subscribers, BASELINE_SUBSCRIBERS_MAX)
    baseline = await redis_baseline(baseline_n, rounds=changes)
    print(
        f"baseline: raw Redis publish→{baseline_n} subscribers p50 {pct(baseline, 0.5):6.2f} ms "
        f"p99 {pct(baseline, 0.99):6.2f} ms"
    )
    print(
        f"ratio p99 fan-out / p99 raw = {pct(latencies, 0.99) / pct(baseline, 0.99):.1f}x;"
        f" mean {statistics.mean(latencies) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.subscribers <= 10_000 or not 1 <= args.changes <= 20:
        parser.error("--subscribers 1..10000, --changes 1..20")
    asyncio.run(main(args.subscribers, args.changes, args.workers))
