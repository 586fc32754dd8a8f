"""Live status fan-out: 1,000 subscribers on one API process (PostgreSQL + Redis).

    .venv/bin/python bench/subscriptions.py [--subscribers 1000] [--changes 5]

Each change is an importOrder on the same store; for every subscriber the latency is
the time from the mutation's answer to the message's arrival (0 when it arrives
first). Prints p50/p99 (target p99 < 100 ms) and, as the baseline of the same run, a
raw Redis PUBLISH → subscriber round trip. Loopback only; bounded.
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
from harness import REDIS_URL, gql, register_store, stack

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
) -> None:
    async with session.ws_connect(url, protocols=["graphql-transport-ws"]) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        await ws.receive_json(timeout=30)
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"t": token}},
            }
        )
        first = await ws.receive_json(timeout=30)
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


async def redis_baseline(rounds: int = 200) -> list[float]:
    client = aioredis.from_url(REDIS_URL)
    pubsub = client.pubsub()
    await pubsub.subscribe("bench:baseline")
    await pubsub.get_message(timeout=1)
    latencies = []
    for _ in range(rounds):
        started = time.perf_counter()
        await client.publish("bench:baseline", "x")
        while await pubsub.get_message(ignore_subscribe_messages=True, timeout=1) is None:
            pass
        latencies.append(time.perf_counter() - started)
    await pubsub.aclose()
    await client.aclose()
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main(subscribers: int, changes: int) -> None:
    async with stack() as bench:
        key = bench.run("apikey", "create", "--org", "bench").strip().splitlines()[-1]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            _, token = await register_store(session, bench.base_url, key, "s")
            ws_url = bench.base_url.replace("http", "ws", 1) + "/graphql"
            arrivals: list[list[float]] = [[] for _ in range(changes)]
            ready = asyncio.Event()
            count = [0]
            tasks = [
                asyncio.create_task(
                    subscriber(session, ws_url, token, arrivals, ready, count, subscribers, changes)
                )
                for _ in range(subscribers)
            ]
            await asyncio.wait_for(ready.wait(), timeout=120)
            answered: list[float] = []
            for index in range(changes):
                await asyncio.sleep(0.5)
                await gql(session, bench.base_url, IMPORT, {"t": token, "r": f"SUB-{index}-1"})
                answered.append(time.perf_counter())
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    latencies = [
        max(0.0, arrival - answered[i]) for i, group in enumerate(arrivals) for arrival in group
    ]
    baseline = await redis_baseline()
    print(
        f"subscribers {subscribers}, changes {changes}, messages {len(latencies)} "
        f"(expected {subscribers * changes})"
    )
    print(
        f"fan-out latency  p50 {pct(latencies, 0.5):7.2f} ms  p99 {pct(latencies, 0.99):7.2f} ms"
        f"  (target p99 < 100 ms)"
    )
    print(
        f"baseline: raw Redis publish→subscriber p50 {pct(baseline, 0.5):6.2f} ms "
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
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.changes))
