"""Live status fan-out: one Redis pattern subscription per process, bounded queues per subscriber.

Writers publish a doorbell (``marketsync:status:<store id>``) after they commit. The
hub computes the store's report once per doorbell (coalescing bursts) and hands
the same report to every subscriber of that store, so 1,000 subscribers cost one
report and two Redis connections, not 1,000 of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

import redis.asyncio as aioredis
import structlog

from marketsync.runtime import STATUS_CHANNEL_PREFIX

log = structlog.get_logger(__name__)
R = TypeVar("R")
QUEUE_SIZE = 8
COALESCE_S = 0.01
OWNER_CACHE_SIZE = 100_000


class StatusHub(Generic[R]):
    """Subscribers by store, or by organization (every store of it, through ``owner``)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        load: Callable[[uuid.UUID], Awaitable[R]],
        owner: Callable[[uuid.UUID], Awaitable[str | None]] | None = None,
    ) -> None:
        self._redis = redis
        self._load = load
        self._owner = owner
        self._owners: dict[uuid.UUID, str | None] = {}  # a store never changes organization
        self._queues: dict[uuid.UUID, set[asyncio.Queue[R]]] = defaultdict(set)
        self._org_queues: dict[str, set[asyncio.Queue[R]]] = defaultdict(set)
        self._refreshing: set[uuid.UUID] = set()
        self._dirty: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="status-hub")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def subscriber_count(self) -> int:
        stores = sum(len(queues) for queues in self._queues.values())
        return stores + sum(len(queues) for queues in self._org_queues.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, store_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[R]]:
        async with _registered(self._queues, store_id) as queue:
            yield queue

    @contextlib.asynccontextmanager
    async def subscribe_organization(self, organization_id: str) -> AsyncIterator[asyncio.Queue[R]]:
        """Reports of every store of the organization, one per change, no initial burst."""
        async with _registered(self._org_queues, organization_id) as queue:
            yield queue

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(f"{STATUS_CHANNEL_PREFIX}*")
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    self._ring(channel.removeprefix(STATUS_CHANNEL_PREFIX))
            except asyncio.CancelledError:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                raise
            except Exception:
                log.exception("status_hub_listen_failed")
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await asyncio.sleep(1)

    def _ring(self, raw_id: str) -> None:
        try:
            store_id = uuid.UUID(raw_id)
        except ValueError:
            return
        if store_id not in self._queues and not self._org_queues:
            return
        if store_id in self._refreshing:
            self._dirty.add(store_id)
            return
        self._refreshing.add(store_id)
        task = asyncio.create_task(self._refresh(store_id))
        self._tasks.add(task)  # a reference, so the task is not collected mid-run
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, store_id: uuid.UUID) -> None:
        try:
            while True:
                # Coalesce a burst: an import rings at its claim and again at its result,
                # usually milliseconds apart; one report then serves both doorbells.
                await asyncio.sleep(COALESCE_S)
                self._dirty.discard(store_id)
                try:
                    report = await self._load(store_id)
                except Exception:
                    log.exception("status_report_failed", store_id=str(store_id))
                    return
                queues = list(self._queues.get(store_id, ()))
                if self._org_queues:
                    organization = await self._organization_of(store_id)
                    if organization is not None:
                        queues.extend(self._org_queues.get(organization, ()))
                for queue in queues:
                    _offer(queue, report)
                if store_id not in self._dirty:
                    return
        finally:
            self._refreshing.discard(store_id)

    async def _organization_of(self, store_id: uuid.UUID) -> str | None:
        if self._owner is None:
            return None
        organization = self._owners.get(store_id)
        if organization is None:
            organization = await self._owner(store_id)
            if len(self._owners) >= OWNER_CACHE_SIZE:
                self._owners.clear()
            if organization is not None:
                self._owners[store_id] = organization
        return organization


K = TypeVar("K")


@contextlib.asynccontextmanager
async def _registered(
    table: dict[K, set[asyncio.Queue[R]]], key: K
) -> AsyncIterator[asyncio.Queue[R]]:
    queue: asyncio.Queue[R] = asyncio.Queue(maxsize=QUEUE_SIZE)
    table[key].add(queue)
    try:
        yield queue
    finally:
        queues = table.get(key)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del table[key]


def _offer(queue: asyncio.Queue[R], report: R) -> None:
    """Keep the newest: with an organization's queue, drop the oldest report when full."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(report)
