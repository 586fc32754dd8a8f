"""Live status fan-out: one Redis pattern subscription per process, bounded queues per subscriber.

Writers publish a doorbell (``marketsync:status:<store id>``) after they commit. The
hub computes the store's report once per doorbell (coalescing bursts) and hands
the same report object to every subscriber of that store, so 1,000 subscribers cost one
report and two Redis connections, not 1,000 of each.

Loads are shared: concurrent callers that need a report of the same store await one
load, provided it started after the moment they need to see (a change's doorbell, or a
subscriber's registration). A load that started earlier may miss that change, so it is
never joined. A finished load's report keeps serving new subscribers of the store until
the store's next doorbell: it started after every doorbell heard so far, so it holds
every change those announced (a writer rings after its commit), and a change whose
doorbell comes later reaches the subscriber through its queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

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
        self._dirty: dict[uuid.UUID, int] = {}  # store → ticket of its latest unserved doorbell
        self._tickets = itertools.count()
        self._loads: dict[uuid.UUID, tuple[int, asyncio.Future[R]]] = {}
        # For subscribed stores only: the newest finished load, and the latest doorbell.
        self._fresh: dict[uuid.UUID, tuple[int, R]] = {}
        self._rung: dict[uuid.UUID, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="status-hub")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        tasks: list[asyncio.Future[Any]] = [*self._tasks]
        tasks.extend(future for _, future in self._loads.values())
        if self._task is not None:
            tasks.append(self._task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @property
    def subscriber_count(self) -> int:
        stores = sum(len(queues) for queues in self._queues.values())
        return stores + sum(len(queues) for queues in self._org_queues.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, store_id: uuid.UUID) -> AsyncIterator[StoreFeed[R]]:
        """The store's report now (``current``), then one per change (``get``)."""
        try:
            async with _registered(self._queues, store_id) as queue:
                yield StoreFeed(self, store_id, queue, self._ticket())
        finally:
            if store_id not in self._queues:
                self._fresh.pop(store_id, None)
                self._rung.pop(store_id, None)

    @contextlib.asynccontextmanager
    async def subscribe_organization(self, organization_id: str) -> AsyncIterator[asyncio.Queue[R]]:
        """Reports of every store of the organization, one per change, no initial burst."""
        async with _registered(self._org_queues, organization_id) as queue:
            yield queue

    async def report(self, store_id: uuid.UUID, *, not_before: int) -> R:
        """The store's report from a load started after ticket ``not_before``, or from
        the newest finished load when no doorbell of the store came since it started.

        Concurrent callers share that load: one query for a thousand waiters. A caller
        cancelled while waiting does not cancel the load the others wait for.
        """
        fresh = self._fresh.get(store_id)
        if fresh is not None and fresh[0] > self._rung.get(store_id, -1):
            return fresh[1]  # no doorbell since it started: as current as a new load
        entry = self._loads.get(store_id)
        if entry is None or entry[0] < not_before:
            entry = (self._ticket(), asyncio.ensure_future(self._load(store_id)))
            self._loads[store_id] = entry
            entry[1].add_done_callback(functools.partial(self._forget_load, store_id, entry))
        return await asyncio.shield(entry[1])

    def _forget_load(
        self, store_id: uuid.UUID, entry: tuple[int, asyncio.Future[R]], future: asyncio.Future[R]
    ) -> None:
        if self._loads.get(store_id) is entry:
            del self._loads[store_id]
        if future.cancelled() or future.exception() is not None:
            return  # (the exception is retrieved: its waiters, if any, saw it already)
        fresh = self._fresh.get(store_id)
        if store_id in self._queues and (fresh is None or fresh[0] < entry[0]):
            self._fresh[store_id] = (entry[0], future.result())

    def _ticket(self) -> int:
        """A moment in the hub's order of events: loads and registrations each take one."""
        return next(self._tickets)

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(f"{STATUS_CHANNEL_PREFIX}*")
                # Doorbells may have been missed while unsubscribed: no report loaded
                # before now (finished or in flight) serves a new subscriber.
                ticket = self._ticket()
                self._rung.update(dict.fromkeys(self._queues, ticket))
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
        ticket = self._ticket()
        if store_id in self._queues:
            self._rung[store_id] = ticket
        if store_id in self._refreshing:
            self._dirty[store_id] = ticket
            return
        self._refreshing.add(store_id)
        task = asyncio.create_task(self._refresh(store_id, ticket))
        self._tasks.add(task)  # a reference, so the task is not collected mid-run
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, store_id: uuid.UUID, ticket: int) -> None:
        sent: R | None = None
        try:
            while True:
                # Coalesce a burst: an import rings at its claim and again at its result,
                # usually milliseconds apart; one report then serves both doorbells.
                await asyncio.sleep(COALESCE_S)
                ticket = self._dirty.pop(store_id, ticket)
                try:
                    report = await self.report(store_id, not_before=ticket)
                except Exception:
                    log.exception("status_report_failed", store_id=str(store_id))
                    return
                if report == sent:  # a doorbell of this run that changed nothing
                    if store_id not in self._dirty:
                        return
                    continue
                sent = report
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


class StoreFeed(Generic[R]):
    """One subscriber of one store: its report now, then the report after each change."""

    def __init__(
        self, hub: StatusHub[R], store_id: uuid.UUID, queue: asyncio.Queue[R], ticket: int
    ) -> None:
        self._hub = hub
        self._store_id = store_id
        self._queue = queue
        self._ticket = ticket

    async def current(self) -> R:
        """Shared with every subscriber that registered before the same load started."""
        return await self._hub.report(self._store_id, not_before=self._ticket)

    async def get(self) -> R:
        return await self._queue.get()

    def pending(self) -> int:
        """Reports queued and not yet taken."""
        return self._queue.qsize()


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
