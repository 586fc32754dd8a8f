"""Outbox to receiver: real sync runs and emitted events, delivered by the embedded worker
to receivers on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from marketsync.messages import Actor
from marketsync.models import DeliveryAttempt, Job, WebhookDelivery, WebhookEventRecord
from marketsync.models.enums import DeliveryStatus, JobStatus
from marketsync.runtime import Dispatcher
from marketsync.services.due_work import enqueue_due_work
from marketsync.services.sync.enqueue import enqueue_store_sync
from marketsync.services.webhooks.delivery import answer_doorbell, deliver_due, drain_due
from marketsync.webhooks.sender import build_webhook_session
from tests.conftest import ORG, Api, import_order, register_store
from tests.support.webhook_receivers import Answer, ScriptedReceiver, eventually, serve_receiver
from tests.support.webhooks import (
    attempts,
    deliver_one,
    delivery,
    emit,
    endpoint,
    register_webhook,
)

SHORT = [0.2, 0.2, 0.2]
Check = Callable[[], Awaitable[bool]]


def legacy_signature(secret: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def has_status(delivery_id: uuid.UUID, status: DeliveryStatus) -> Check:
    async def check() -> bool:
        return (await delivery(delivery_id)).status == status

    return check


def has_received(receiver: ScriptedReceiver, count: int) -> Check:
    async def check() -> bool:
        return len(receiver.received) >= count

    return check


def count_succeeded(count: int) -> Check:
    async def check() -> bool:
        return await WebhookDelivery.filter(status=DeliveryStatus.SUCCESS).count() == count

    return check


async def test_a_sync_run_delivers_signed_started_and_completed_events(api: Api) -> None:
    async with serve_receiver(Answer(200)) as receiver:
        started = await register_webhook(api, receiver.url, "SYNC_STARTED")
        completed = await register_webhook(api, receiver.url, "SYNC_COMPLETED")
        store = await register_store(api)
        assert (await import_order(api, store.sync_token, "R-1"))["syncLog"]["status"] == "SUCCESS"

        job, _ = await enqueue_store_sync(rt=api.rt, store_id=uuid.UUID(store.id))
        await eventually(count_succeeded(2))

    secrets = {
        "sync.started": started["signingSecret"],
        "sync.completed": completed["signingSecret"],
    }
    assert len(receiver.received) == 2
    by_event = {json.loads(r.body)["event"]: r for r in receiver.received}
    assert sorted(by_event) == ["sync.completed", "sync.started"]
    for name, request in by_event.items():
        secret = secrets[name]
        headers = request.headers
        body = json.loads(request.body)
        # Standard Webhooks, checked with the package's own verifier.
        assert Webhook(secret).verify(request.body, headers) == body
        # The legacy body-only HMAC, keyed by the same bytes.
        assert headers["x-webhook-signature"] == legacy_signature(secret, request.body)
        assert headers["x-event-id"] == headers["webhook-id"] == body["eventId"]
        assert headers["x-webhook-timestamp"] == headers["webhook-timestamp"]
        assert headers["content-type"] == "application/json"
        assert list(body) == ["eventId", "event", "timestamp", "organizationId", "storeId", "data"]
        assert request.body == json.dumps(body, separators=(",", ":")).encode()
        assert body["organizationId"] == ORG
        assert body["storeId"] == store.id
        assert body["data"]["jobId"] == str(job.id)
        assert await WebhookEventRecord.exists(id=body["eventId"], event=name)
        # The other endpoint's secret does not verify this delivery.
        other = secrets["sync.started" if name == "sync.completed" else "sync.completed"]
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(request.body, headers)
    data = json.loads(by_event["sync.completed"].body)["data"]
    assert data["syncStatus"] == "SUCCESS"
    assert data["importedOrders"] == 1
    assert (await Job.get(id=job.id)).status == JobStatus.SUCCESS
    rows = await WebhookDelivery.all()
    assert [(row.status, row.attempt, row.last_response_status) for row in rows] == [
        (DeliveryStatus.SUCCESS, 1, 200),
        (DeliveryStatus.SUCCESS, 1, 200),
    ]


async def test_each_endpoint_is_retried_on_its_own(api: Api, tune: Callable[..., None]) -> None:
    tune(webhook_retry_schedule_s=SHORT)
    async with (
        serve_receiver(Answer(200)) as steady,
        serve_receiver(Answer(500), Answer(200)) as flaky,
    ):
        first = await register_webhook(api, steady.url)
        second = await register_webhook(api, flaky.url)
        ids = await emit(api.rt)
        by_endpoint = {str((await delivery(i)).endpoint_id): i for i in ids}
        steady_id = by_endpoint[first["webhook"]["id"]]
        flaky_id = by_endpoint[second["webhook"]["id"]]
        await eventually(has_status(flaky_id, DeliveryStatus.SUCCESS))
        await eventually(has_status(steady_id, DeliveryStatus.SUCCESS))
        # A tick after both answered 2xx sends nothing to either again.
        assert (await enqueue_due_work(rt=api.rt))["dueDeliveries"] == 0
        await asyncio.sleep(0.5)

    assert len(steady.received) == 1
    assert len(flaky.received) == 2
    event_ids = {r.headers["webhook-id"] for r in [*steady.received, *flaky.received]}
    assert len(event_ids) == 1
    assert flaky.received[1].at - flaky.received[0].at >= 0.2
    steady_row, flaky_row = await delivery(steady_id), await delivery(flaky_id)
    assert (steady_row.attempt, steady_row.last_response_status, steady_row.last_error) == (
        1,
        200,
        None,
    )
    assert (flaky_row.attempt, flaky_row.last_response_status, flaky_row.last_error) == (
        2,
        200,
        None,
    )
    assert flaky_row.next_retry_at is None
    assert flaky_row.claimed_until is None
    assert [(a.attempt, a.status_code) for a in await attempts(steady_id)] == [(1, 200)]
    flaky_attempts = await attempts(flaky_id)
    assert [(a.attempt, a.status_code, a.error_class, a.error) for a in flaky_attempts] == [
        (1, 500, "HTTPStatus", "HTTP 500"),
        (2, 200, None, None),
    ]
    assert flaky_attempts[0].response_excerpt == '{"ok":true}'
    assert (await endpoint(second["webhook"]["id"])).consecutive_failures == 0


async def test_a_receiver_that_times_out_is_retried_then_failed(
    api: Api, tune: Callable[..., None]
) -> None:
    tune(webhook_retry_schedule_s=[0.1, 0.1], webhook_timeout_s=0.3)
    async with serve_receiver(Answer(200, delay_s=1.0)) as slow:
        registered = await register_webhook(api, slow.url)
        (delivery_id,) = await emit(api.rt)
        await eventually(has_status(delivery_id, DeliveryStatus.FAILED))

    row = await delivery(delivery_id)
    assert (row.attempt, row.last_response_status, row.next_retry_at) == (3, None, None)
    assert row.last_error == "no response within the timeout"
    logged = await attempts(delivery_id)
    assert [(a.attempt, a.status_code, a.error_class) for a in logged] == [
        (1, None, "TimeoutError"),
        (2, None, "TimeoutError"),
        (3, None, "TimeoutError"),
    ]
    assert all(250 <= a.duration_ms < 1000 for a in logged)
    assert len(slow.received) == 3
    hook = await endpoint(registered["webhook"]["id"])
    assert (hook.consecutive_failures, hook.is_active) == (1, True)


async def test_retry_after_on_429_is_honoured_when_longer_than_the_schedule(
    api: Api, tune: Callable[..., None]
) -> None:
    tune(webhook_retry_schedule_s=SHORT)
    async with serve_receiver(Answer(429, headers={"Retry-After": "2"}), Answer(200)) as busy:
        await register_webhook(api, busy.url)
        (delivery_id,) = await emit(api.rt)
        await eventually(has_received(busy, 1))
        await eventually(lambda: _attempt_logged(delivery_id, 1))
        waiting = await delivery(delivery_id)
        (first_attempt,) = await attempts(delivery_id)
        await eventually(has_status(delivery_id, DeliveryStatus.SUCCESS), timeout_s=10)

    assert waiting.status == DeliveryStatus.PENDING
    assert (waiting.attempt, waiting.last_response_status) == (1, 429)
    assert waiting.next_retry_at is not None
    delay = (waiting.next_retry_at - first_attempt.created_at).total_seconds()
    assert 1.8 <= delay <= 2.2
    assert len(busy.received) == 2
    assert busy.received[1].at - busy.received[0].at >= 1.9
    assert (await delivery(delivery_id)).attempt == 2


async def _attempt_logged(delivery_id: uuid.UUID, count: int) -> bool:
    return len(await attempts(delivery_id)) >= count


async def test_a_lost_doorbell_is_rung_by_the_sweep_and_delivered_once(api: Api) -> None:
    async with serve_receiver(Answer(200)) as receiver:
        await register_webhook(api, receiver.url)
        (delivery_id,) = await emit(api.rt, ring=False)  # the worker was down
        await asyncio.sleep(0.3)
        assert receiver.received == []
        assert ((await delivery(delivery_id)).status, (await delivery(delivery_id)).attempt) == (
            DeliveryStatus.PENDING,
            0,
        )

        counts = await enqueue_due_work(rt=api.rt)
        await eventually(has_status(delivery_id, DeliveryStatus.SUCCESS))
        again = await enqueue_due_work(rt=api.rt)
        await asyncio.sleep(0.3)

    assert counts["dueDeliveries"] == 1
    assert again["dueDeliveries"] == 0
    assert len(receiver.received) == 1
    assert [(a.attempt, a.status_code) for a in await attempts(delivery_id)] == [(1, 200)]


async def test_a_broker_that_is_down_at_commit_loses_only_the_doorbell(api: Api) -> None:
    class BrokerDown:
        async def send(self, actor_name: str, *args: Any) -> None:
            raise ConnectionError("redis is down")

    down = dataclasses.replace(api.rt, dispatcher=BrokerDown())
    async with serve_receiver(Answer(200)) as receiver:
        await register_webhook(api, receiver.url)
        (delivery_id,) = await emit(down)  # rings through the failing broker: no exception
        await asyncio.sleep(0.3)
        assert receiver.received == []

        assert (await enqueue_due_work(rt=api.rt))["dueDeliveries"] == 1  # broker is back
        await eventually(has_status(delivery_id, DeliveryStatus.SUCCESS))
        await asyncio.sleep(0.2)

    assert len(receiver.received) == 1


async def test_two_workers_never_send_one_delivery_at_once(api: Api) -> None:
    async with serve_receiver(Answer(200, delay_s=0.2)) as receiver:
        await register_webhook(api, receiver.url)
        (delivery_id,) = await emit(api.rt, ring=False)
        outcomes = await asyncio.gather(*(deliver_one(api.rt, delivery_id) for _ in range(4)))

    sent = [outcome for outcome in outcomes if outcome is not None]
    assert len(sent) == 1
    assert (sent[0].status, sent[0].attempt) == (DeliveryStatus.SUCCESS, 1)
    assert len(receiver.received) == 1
    assert len(await attempts(delivery_id)) == 1
    # A finished delivery is left alone.
    assert await deliver_one(api.rt, delivery_id) is None


async def test_an_endpoint_is_deactivated_after_consecutive_exhausted_deliveries(
    api: Api, tune: Callable[..., None]
) -> None:
    tune(webhook_retry_schedule_s=[], webhook_disable_after=2)  # one attempt per delivery
    answers = [Answer(500), Answer(200), Answer(500), Answer(500), Answer(200)]
    async with serve_receiver(*answers) as receiver:
        registered = await register_webhook(api, receiver.url)
        endpoint_id = registered["webhook"]["id"]
        outcomes = []
        for _ in range(4):
            (delivery_id,) = await emit(api.rt)
            await eventually(lambda d=delivery_id: _finished(d))
            hook = await endpoint(endpoint_id)
            outcomes.append(
                ((await delivery(delivery_id)).status, hook.consecutive_failures, hook.is_active)
            )
        assert await emit(api.rt) == []  # an inactive endpoint gets no delivery
        await asyncio.sleep(0.2)
        assert len(receiver.received) == 4

        again = await register_webhook(api, receiver.url)
        (delivery_id,) = await emit(api.rt)
        await eventually(has_status(delivery_id, DeliveryStatus.SUCCESS))

    assert outcomes == [
        (DeliveryStatus.FAILED, 1, True),
        (DeliveryStatus.SUCCESS, 0, True),  # a success resets the count
        (DeliveryStatus.FAILED, 1, True),
        (DeliveryStatus.FAILED, 2, False),
    ]
    assert again["webhook"]["id"] == endpoint_id
    assert again["webhook"]["isActive"] is True
    assert again["signingSecret"] is None
    assert len(receiver.received) == 5
    assert (await endpoint(endpoint_id)).consecutive_failures == 0


async def _finished(delivery_id: uuid.UUID) -> bool:
    return (await delivery(delivery_id)).status != DeliveryStatus.PENDING


async def test_a_delivery_of_an_inactive_endpoint_waits_for_its_reactivation(api: Api) -> None:
    async with serve_receiver(Answer(200)) as receiver:
        registered = await register_webhook(api, receiver.url)
        endpoint_id = registered["webhook"]["id"]
        (delivery_id,) = await emit(api.rt, ring=False)
        hook = await endpoint(endpoint_id)
        hook.is_active = False
        hook.consecutive_failures = 20
        await hook.save()

        assert await deliver_one(api.rt, delivery_id) is None
        assert (await enqueue_due_work(rt=api.rt))["dueDeliveries"] == 0
        waiting = await delivery(delivery_id)
        await register_webhook(api, receiver.url)  # reactivates
        assert (await enqueue_due_work(rt=api.rt))["dueDeliveries"] == 1
        await eventually(has_status(delivery_id, DeliveryStatus.SUCCESS))

    assert (waiting.status, waiting.attempt, waiting.claimed_until) == (
        DeliveryStatus.PENDING,
        0,
        None,
    )
    assert len(receiver.received) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_guard_refuses_a_private_target_again_at_send_time(api: Api, host: str) -> None:
    async with serve_receiver(Answer(200)) as receiver:
        url = receiver.url.replace("127.0.0.1", host)
        await register_webhook(api, url)  # allowed: the test app runs with private targets on
        (delivery_id,) = await emit(api.rt, ring=False)
        guarded_settings = api.rt.settings.model_copy(
            update={"webhook_allow_private_targets": False}
        )
        async with build_webhook_session(allow_private=False) as session:
            guarded = dataclasses.replace(api.rt, settings=guarded_settings, webhook_http=session)
            outcome = await deliver_one(guarded, delivery_id)

    assert outcome is not None
    assert (outcome.status, outcome.attempt, outcome.response_status) == (
        DeliveryStatus.PENDING,
        1,
        None,
    )
    assert receiver.received == []
    (logged,) = await attempts(delivery_id)
    assert (logged.status_code, logged.error_class) == (None, "RefusedTargetError")
    assert "127.0.0.1" not in (logged.error or "")


async def test_a_doorbell_drains_the_oldest_due_deliveries_in_one_batch(api: Api) -> None:
    async with serve_receiver(Answer(200)) as receiver:
        await register_webhook(api, receiver.url)
        ids = [(await emit(api.rt, data={"n": n}, ring=False))[0] for n in range(8)]

        first = await deliver_due(rt=api.rt, limit=5)
        second = await deliver_due(rt=api.rt, limit=5)
        third = await deliver_due(rt=api.rt, limit=5)

    assert [outcome.delivery_id for outcome in first] == ids[:5]
    assert [outcome.delivery_id for outcome in second] == ids[5:]
    assert third == []
    assert {(o.status, o.attempt, o.response_status) for o in [*first, *second]} == {
        (DeliveryStatus.SUCCESS, 1, 200)
    }
    event_ids = [str((await delivery(i)).event_record_id) for i in ids]
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(event_ids)
    assert await WebhookDelivery.filter(status=DeliveryStatus.SUCCESS).count() == 8


async def test_concurrent_batches_split_the_due_deliveries_between_them(api: Api) -> None:
    async with serve_receiver(Answer(200, delay_s=0.05)) as receiver:
        await register_webhook(api, receiver.url)
        for n in range(20):
            await emit(api.rt, data={"n": n}, ring=False)

        batches = await asyncio.gather(*(deliver_due(rt=api.rt, limit=8) for _ in range(4)))

    sent = [outcome.delivery_id for batch in batches for outcome in batch]
    assert len(sent) == len(set(sent)) == 20
    assert len(receiver.received) == 20
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 20
    assert await DeliveryAttempt.all().count() == 20


@dataclasses.dataclass
class RecordingDispatcher:
    """Lists every message sent through it; passes them on to ``inner`` if given."""

    inner: Dispatcher | None
    sent: list[tuple[str, tuple[Any, ...], float | None]] = dataclasses.field(default_factory=list)

    async def send(self, actor_name: str, *args: Any) -> None:
        self.sent.append((actor_name, args, None))
        if self.inner is not None:
            await self.inner.send(actor_name, *args)

    async def send_delayed(self, actor_name: str, *args: Any, delay_s: float) -> None:
        self.sent.append((actor_name, args, delay_s))
        if self.inner is not None:
            await self.inner.send_delayed(actor_name, *args, delay_s=delay_s)


async def test_the_deliveries_of_one_commit_are_rung_with_one_message(api: Api) -> None:
    dispatcher = RecordingDispatcher(api.rt.dispatcher)
    recording = dataclasses.replace(api.rt, dispatcher=dispatcher)
    async with (
        serve_receiver(Answer(200)) as first,
        serve_receiver(Answer(200)) as second,
        serve_receiver(Answer(200)) as third,
    ):
        for receiver in (first, second, third):
            await register_webhook(api, receiver.url)
        ids = await emit(recording)
        await eventually(count_succeeded(3))
        assert (await enqueue_due_work(rt=api.rt))["dueDeliveries"] == 0
        await asyncio.sleep(0.3)

    assert len(ids) == 3
    assert dispatcher.sent == [(Actor.DELIVER_WEBHOOK, (str(ids[0]),), None)]
    assert [len(r.received) for r in (first, second, third)] == [1, 1, 1]
    event_ids = {r.headers["webhook-id"] for r in [*first.received, *second.received]}
    assert event_ids == {str((await delivery(ids[0])).event_record_id)}
    assert {r.headers["webhook-id"] for r in third.received} == event_ids
    for delivery_id in ids:
        assert [(a.attempt, a.status_code) for a in await attempts(delivery_id)] == [(1, 200)]


async def test_a_drain_loops_over_full_batches_up_to_its_bound(api: Api) -> None:
    async with serve_receiver(Answer(200)) as receiver:
        await register_webhook(api, receiver.url)
        ids = [(await emit(api.rt, data={"n": n}, ring=False))[0] for n in range(5)]

        bounded = await drain_due(rt=api.rt, limit=2, max_batches=2)
        rest = await drain_due(rt=api.rt, limit=2, max_batches=2)
        idle = await drain_due(rt=api.rt, limit=2, max_batches=2)

    assert [outcome.delivery_id for outcome in bounded.outcomes] == ids[:4]
    assert bounded.more is True  # stopped at its bound with a full batch: ring again
    assert [outcome.delivery_id for outcome in rest.outcomes] == ids[4:]
    assert rest.more is False
    assert (idle.outcomes, idle.more) == ([], False)
    assert len(receiver.received) == 5
    assert await DeliveryAttempt.all().count() == 5
    assert await WebhookDelivery.filter(status=DeliveryStatus.SUCCESS).count() == 5


async def test_a_doorbell_at_its_bound_rings_again_and_retries_share_delayed_doorbells(
    api: Api, tune: Callable[..., None]
) -> None:
    tune(webhook_retry_schedule_s=[30.0])
    dispatcher = RecordingDispatcher(None)  # nothing reaches the worker: we ring by hand
    recording = dataclasses.replace(api.rt, dispatcher=dispatcher)
    async with serve_receiver(*[Answer(500)] * 3) as receiver:
        await register_webhook(api, receiver.url)
        ids = [(await emit(api.rt, data={"n": n}, ring=False))[0] for n in range(3)]
        drained = await answer_doorbell(rt=recording, delivery_id=str(ids[0]))

    assert [(o.delivery_id, o.status, o.retry_in_s) for o in drained.outcomes] == [
        (delivery_id, DeliveryStatus.PENDING, 30.0) for delivery_id in ids
    ]
    assert drained.more is False
    # Three retries due at the same moment: one delayed doorbell, no immediate one.
    assert dispatcher.sent == [(Actor.DELIVER_WEBHOOK, (str(ids[0]),), 30.0)]
    assert len(receiver.received) == 3
