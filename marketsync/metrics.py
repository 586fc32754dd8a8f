"""Prometheus metrics of the domain (process-local; each process serves its own)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ORDER_IMPORTS = Counter(
    "marketsync_order_imports_total", "importOrder calls by outcome", ["outcome"]
)
SYNC_RUNS = Counter("marketsync_sync_runs_total", "store sync runs by result", ["result"])
SYNC_LOGS_RETRIED = Counter(
    "marketsync_sync_logs_retried_total", "sync log retries by outcome", ["outcome"]
)
MARKETPLACE_LATENCY = Histogram(
    "marketsync_marketplace_call_seconds", "marketplace validate call latency"
)
