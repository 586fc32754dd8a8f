"""/health latency while big request bodies arrive (`marketsync serve`, PostgreSQL + Redis).

    .venv/bin/python bench/edge.py [--samples 200] [--bodies 3]

Samples GET /health (one request at a time, 10 ms apart) while idle (the baseline of
the same run), then while ``--bodies`` concurrent 16 MiB bodies of each shape are posted
to /graphql again and again. Prints p50/p99/max per phase and the p99 ratio to idle.
Shapes: one 16 MiB string; ~900,000 small values (just under MAX_REQUEST_JSON_VALUES);
2,000,000 values (refused before decoding). Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import stack

MIB = 1024 * 1024
QUERY = "{ __typename }"


def shapes() -> dict[str, bytes]:
    string = json.dumps({"query": QUERY, "variables": {"pad": "x" * (16 * MIB - 200)}})
    head = json.dumps({"query": QUERY})[:-1] + ', "variables": {"pad": ['
    dense = head + ",".join(["1"] * 900_000) + "]}}"
    refused = head + ",".join(["1"] * 2_000_000) + "]}}"
    return {
        "16 MiB string": string.encode(),
        "900k values": dense.encode(),
        "2M values (refused)": refused.encode(),
    }


async def sample_health(
    session: aiohttp.ClientSession, url: str, samples: int, stop: asyncio.Event | None = None
) -> list[float]:
    latencies: list[float] = []
    while len(latencies) < samples and not (stop and stop.is_set()):
        started = time.perf_counter()
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=30)) as response:
            await response.read()
            assert response.status == 200
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return latencies


async def post_until(
    session: aiohttp.ClientSession, url: str, body: bytes, stop: asyncio.Event
) -> list[int]:
    statuses: list[int] = []
    headers = {"content-type": "application/json"}
    while not stop.is_set():
        timeout = aiohttp.ClientTimeout(total=120)
        async with session.post(url, data=body, headers=headers, timeout=timeout) as response:
            await response.read()
            statuses.append(response.status)
    return statuses


def summary(name: str, latencies: list[float], idle_p99: float | None) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    ratio = f"  p99 x{p99 / idle_p99:.1f} idle" if idle_p99 else ""
    return (
        f"{name:<22} n={len(ordered):<4} p50 {statistics.median(ordered) * 1000:7.1f} ms"
        f"  p99 {p99 * 1000:7.1f} ms  max {ordered[-1] * 1000:7.1f} ms{ratio}"
    )


async def main(samples: int, bodies: int) -> None:
    async with stack() as bench, aiohttp.ClientSession() as health, aiohttp.ClientSession() as big:
        health_url, graphql_url = f"{bench.base_url}/health", f"{bench.base_url}/graphql"
        idle = await sample_health(health, health_url, samples)
        idle_p99 = sorted(idle)[min(len(idle) - 1, int(len(idle) * 0.99))]
        print(summary("idle", idle, None))
        for name, body in shapes().items():
            stop = asyncio.Event()
            posters = [
                asyncio.create_task(post_until(big, graphql_url, body, stop)) for _ in range(bodies)
            ]
            await asyncio.sleep(0.2)
            try:
                busy = await asyncio.wait_for(sample_health(health, health_url, samples), 600)
            finally:
                stop.set()
                statuses = [s for result in await asyncio.gather(*posters) for s in result]
            print(summary(name, busy, idle_p99), f" bodies answered {sorted(set(statuses))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--bodies", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.samples, args.bodies))
