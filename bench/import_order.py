"""importOrder throughput against `{ __typename }`, one uvicorn worker on PostgreSQL + Redis.

    .venv/bin/python bench/import_order.py [--requests 3000] [--concurrency 32] [--workers 1]

Prints requests/s and p50/p99 for (a) `{ __typename }`, (b) importOrder of a receipt
seen before, (c) importOrder of new receipts, and the ratios b/a and c/a measured in
the same run (targets: b/a >= 0.6, c/a >= 0.3). Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import gql, load, register_store, stack, wait_ready

IMPORT = """mutation($t: UUID!, $r: String!) { importOrder(input: {syncToken: $t, receipt: $r}) {
  duplicate syncLog { id status } userErrors { code } } }"""


async def main(requests: int, concurrency: int, workers: int) -> None:
    async with stack(api=False) as bench:
        port = bench.base_url.rsplit(":", 1)[1]
        bench.start("serve", "--port", port, "--workers", str(workers))
        await wait_ready(bench.base_url)
        key = bench.run("apikey", "create", "--org", "bench").strip().splitlines()[-1]
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            url = bench.base_url
            _, token = await register_store(session, url, key, "b1")
            await gql(session, url, IMPORT, {"t": token, "r": "SEEN-1"})

            async def typename(_: int) -> bool:
                body = await gql(session, url, "{ __typename }")
                return "errors" not in body

            async def seen(_: int) -> bool:
                body = await gql(session, url, IMPORT, {"t": token, "r": "SEEN-1"})
                return bool(body["data"]["importOrder"]["duplicate"])

            async def new(index: int) -> bool:
                body = await gql(session, url, IMPORT, {"t": token, "r": f"NEW-{index}-1"})
                return body["data"]["importOrder"]["duplicate"] is False

            await load("warm-up", typename, total=300, concurrency=concurrency)
            a = await load("(a) { __typename }", typename, total=requests, concurrency=concurrency)
            b = await load(
                "(b) importOrder, seen receipt", seen, total=requests, concurrency=concurrency
            )
            c = await load(
                "(c) importOrder, new receipt", new, total=requests, concurrency=concurrency
            )
    print(f"serve --workers {workers}")
    for result in (a, b, c):
        print(result.line())
    print(f"ratio b/a = {b.rate / a.rate:.2f}  (target >= 0.6)")
    print(f"ratio c/a = {c.rate / a.rate:.2f}  (target >= 0.3)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="API processes (serve --workers)")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, args.workers))
