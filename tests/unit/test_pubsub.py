"""The status hub: one report load per store per change, shared by every subscriber.

The hub runs on an in-process fakeredis server of its own (no other publisher can
ring it); loads are counted by the load function passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import fakeredis

from marketsync.pubsub import StatusHub, StoreFeed
from marketsync.runtime import STATUS_CHANNEL_PREFIX

SUBSCRIBERS = 50


class CountingLoad:
    """The store's report is ``(store id, version)``; ``gate`` holds loads in flight."""

    def __init__(self) -> None:
        self.calls: list[uuid.UUID] = []
        self.version = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, store_id: uuid.UUID) -> tuple[uuid.UUID, int]:
        self.calls.append(store_id)
        version = self.version  # the snapshot is taken when the load starts
        await self.gate.wait()
        return store_id, version


Report = tuple[uuid.UUID, int]


async def _hub(load: CountingLoad) -> tuple[StatusHub[Report], fakeredis.FakeAsyncRedis]:
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    hub: StatusHub[Report] = StatusHub(redis, load)
    await hub.start()
    return hub, redis


@contextlib.asynccontextmanager
async def _subscribers(
    hub: StatusHub[Report], store: uuid.UUID, count: int
) -> AsyncIterator[list[StoreFeed[Report]]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(hub.subscribe(store)) for _ in range(count)]


async def test_subscribers_of_one_store_share_one_load_per_change() -> None:
    # Given SUBSCRIBERS subscribers of one store, all asking for the current report
    # while the first load is still running
    load = CountingLoad()
    hub, redis = await _hub(load)
    store, other = uuid.uuid4(), uuid.uuid4()
    try:
        async with _subscribers(hub, store, SUBSCRIBERS) as feeds:
            load.gate.clear()
            current = [asyncio.create_task(feed.current()) for feed in feeds]
            await asyncio.sleep(0.05)
            load.gate.set()
            firsts = await asyncio.wait_for(asyncio.gather(*current), timeout=5)

            # Then one load served them all, with one shared object
            assert load.calls == [store]
            assert firsts == [(store, 0)] * SUBSCRIBERS
            assert len({id(report) for report in firsts}) == 1

            # When the store changes twice, a doorbell each (and another store rings)
            for version in (1, 2):
                load.version = version
                await redis.publish(f"{STATUS_CHANNEL_PREFIX}{store}", "")
                await redis.publish(f"{STATUS_CHANNEL_PREFIX}{other}", "")
                reports = await asyncio.wait_for(
                    asyncio.gather(*(feed.get() for feed in feeds)), timeout=5
                )
                # Then each change cost exactly one more load, and every subscriber got
                # the same object holding the new report
                assert load.calls == [store] * (1 + version)
                assert reports == [(store, version)] * SUBSCRIBERS
                assert len({id(report) for report in reports}) == 1

            # And nothing else is queued: no subscriber got a second message per change
            assert all(feed.pending() == 0 for feed in feeds)
        assert hub.subscriber_count == 0
    finally:
        await hub.stop()
        await redis.aclose()


async def test_a_load_started_before_a_subscriber_registered_is_not_joined() -> None:
    # Given a load of the store in flight, started at version 0
    load = CountingLoad()
    hub, redis = await _hub(load)
    store = uuid.uuid4()
    try:
        load.gate.clear()
        async with hub.subscribe(store) as early:
            in_flight = asyncio.create_task(early.current())
            await asyncio.sleep(0.05)
            # When the store changes and then a subscriber registers
            load.version = 1
            async with hub.subscribe(store) as late:
                late_current = asyncio.create_task(late.current())
                await asyncio.sleep(0.05)
                load.gate.set()
                first_early, first_late = await asyncio.wait_for(
                    asyncio.gather(in_flight, late_current), timeout=5
                )
        # Then the late subscriber did not take the older snapshot: a second load ran
        assert load.calls == [store, store]
        assert first_early == (store, 0)
        assert first_late == (store, 1)
    finally:
        await hub.stop()
        await redis.aclose()


async def test_a_cancelled_waiter_does_not_cancel_the_shared_load() -> None:
    # Given two subscribers waiting on one load
    load = CountingLoad()
    hub, redis = await _hub(load)
    store = uuid.uuid4()
    try:
        load.gate.clear()
        async with hub.subscribe(store) as first, hub.subscribe(store) as second:
            gone = asyncio.create_task(first.current())
            staying = asyncio.create_task(second.current())
            await asyncio.sleep(0.05)
            # When one of them is cancelled (its socket closed) mid-load
            gone.cancel()
            load.gate.set()
            report = await asyncio.wait_for(staying, timeout=5)
        # Then the other still got the report of that one load
        assert report == (store, 0)
        assert load.calls == [store]
        assert gone.cancelled()
    finally:
        await hub.stop()
        await redis.aclose()


async def test_later_subscribers_reuse_the_last_report_until_the_next_doorbell() -> None:
    # Given one subscriber that has its first report
    load = CountingLoad()
    hub, redis = await _hub(load)
    store = uuid.uuid4()
    try:
        async with hub.subscribe(store) as first:
            assert await first.current() == (store, 0)
            # When a second subscriber comes later, with no change in between
            async with hub.subscribe(store) as second:
                # Then it gets the same report without a load
                assert await second.current() == (store, 0)
                assert load.calls == [store]

                # When the store changes and rings
                load.version = 1
                await redis.publish(f"{STATUS_CHANNEL_PREFIX}{store}", "")
                assert await asyncio.wait_for(first.get(), timeout=5) == (store, 1)
                assert await asyncio.wait_for(second.get(), timeout=5) == (store, 1)
                # Then a third subscriber gets the new report, from the doorbell's load
                async with hub.subscribe(store) as third:
                    assert await third.current() == (store, 1)
                assert load.calls == [store, store]

                # When the store changes but its doorbell has not been heard yet
                load.version = 2
                async with hub.subscribe(store) as fourth:
                    # Then the newest report is still served, and the doorbell, when it
                    # comes, brings the change to the new subscriber too
                    assert await fourth.current() == (store, 1)
                    await redis.publish(f"{STATUS_CHANNEL_PREFIX}{store}", "")
                    assert await asyncio.wait_for(fourth.get(), timeout=5) == (store, 2)
                assert load.calls == [store] * 3
    finally:
        await hub.stop()
        await redis.aclose()
