"""webhookDeliveries and redeliverWebhook over GraphQL: pages, filters, replay, auth."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

from standardwebhooks import Webhook

from marketsync.models import WebhookDelivery
from marketsync.models.enums import DeliveryStatus, WebhookEventType
from tests.conftest import ORG, OTHER_ORG, Api
from tests.support.graphql import error_codes
from tests.support.webhook_receivers import Answer, eventually, serve_receiver
from tests.support.webhooks import DELIVERIES, REDELIVER, attempts, delivery, emit, register_webhook

URL = "https://hooks.example.com/marketsync"


async def wait_for_status(delivery_id: uuid.UUID, status: DeliveryStatus) -> None:
    async def check() -> bool:
        return (await delivery(delivery_id)).status == status

    await eventually(check)


async def test_deliveries_are_listed_newest_first_by_page_and_status(api: Api) -> None:
    registered = await register_webhook(api, URL)
    await register_webhook(api, URL, org=OTHER_ORG, key=api.other_key)
    ids = []
    for number in range(3):
        (delivery_id,) = await emit(api.rt, data={"n": number}, ring=False)
        ids.append(delivery_id)
    await emit(api.rt, org=OTHER_ORG, ring=False)
    await WebhookDelivery.filter(id=ids[1]).update(status=DeliveryStatus.FAILED)

    first = await api.gql(DELIVERIES, {"org": ORG, "first": 2}, key=api.key)
    page = first["data"]["webhookDeliveries"]
    rest = await api.gql(
        DELIVERIES, {"org": ORG, "first": 2, "after": page["pageInfo"]["endCursor"]}, key=api.key
    )
    failed = await api.gql(DELIVERIES, {"org": ORG, "status": "FAILED"}, key=api.key)

    assert [edge["node"]["id"] for edge in page["edges"]] == [str(ids[2]), str(ids[1])]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    rest_page = rest["data"]["webhookDeliveries"]
    assert [edge["node"]["id"] for edge in rest_page["edges"]] == [str(ids[0])]
    assert rest_page["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["id"] for e in failed["data"]["webhookDeliveries"]["edges"]] == [str(ids[1])]
    node = page["edges"][0]["node"]
    payload = node["payload"]
    assert node["eventId"] == payload["eventId"]
    assert node["event"] == "SYNC_COMPLETED"
    assert payload["event"] == "sync.completed"
    assert payload["organizationId"] == ORG
    assert payload["data"] == {"n": 2}
    assert node["endpoint"] == registered["webhook"]
    assert (node["status"], node["attempt"], node["attempts"]) == ("PENDING", 0, [])
    assert (node["nextRetryAt"], node["lastError"], node["lastResponseStatus"]) == (
        None,
        None,
        None,
    )


async def test_the_deliveries_query_needs_a_key_of_the_organization(api: Api) -> None:
    no_key = await api.gql(DELIVERIES, {"org": ORG})
    other = await api.gql(DELIVERIES, {"org": ORG}, key=api.other_key)
    negative = await api.gql(DELIVERIES, {"org": ORG, "first": -1}, key=api.key)

    assert error_codes(no_key) == ["UNAUTHENTICATED"]
    assert error_codes(other) == ["FORBIDDEN"]
    assert error_codes(negative) == ["BAD_USER_INPUT"]


async def test_redelivery_sends_the_same_event_again_with_a_new_timestamp(api: Api) -> None:
    async with serve_receiver(Answer(200)) as receiver:
        registered = await register_webhook(api, receiver.url)
        (delivery_id,) = await emit(api.rt)
        await wait_for_status(delivery_id, DeliveryStatus.SUCCESS)
        await asyncio.sleep(1.05 - time.time() % 1)  # into the next second: a new timestamp

        body = await api.gql(REDELIVER, {"id": str(delivery_id)}, key=api.key)
        await wait_for_status(delivery_id, DeliveryStatus.SUCCESS)
        await eventually(lambda: _received(receiver.received, 2))
        listed = await api.gql(DELIVERIES, {"org": ORG}, key=api.key)

    answered = body["data"]["redeliverWebhook"]
    assert (answered["id"], answered["status"], answered["attempt"]) == (
        str(delivery_id),
        "PENDING",
        1,
    )
    first, second = receiver.received
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.headers["x-event-id"] == answered["eventId"]
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])
    assert second.headers["x-webhook-timestamp"] == second.headers["webhook-timestamp"]
    assert second.headers["webhook-signature"] != first.headers["webhook-signature"]
    assert Webhook(registered["signingSecret"]).verify(second.body, second.headers) == json.loads(
        second.body
    )
    node = listed["data"]["webhookDeliveries"]["edges"][0]["node"]
    assert (node["status"], node["attempt"], node["lastResponseStatus"]) == ("SUCCESS", 2, 200)
    assert [(a["attempt"], a["statusCode"]) for a in node["attempts"]] == [(2, 200), (1, 200)]


async def _received(received: list[object], count: int) -> bool:
    return len(received) >= count


async def test_redelivering_an_exhausted_delivery_makes_one_more_attempt(
    api: Api, tune: Callable[..., None]
) -> None:
    tune(webhook_retry_schedule_s=[0.1])
    async with serve_receiver(Answer(500)) as receiver:
        await register_webhook(api, receiver.url)
        (delivery_id,) = await emit(api.rt)
        await wait_for_status(delivery_id, DeliveryStatus.FAILED)
        await api.gql(REDELIVER, {"id": str(delivery_id)}, key=api.key)
        await eventually(lambda: _attempts_logged(delivery_id, 3))
        await wait_for_status(delivery_id, DeliveryStatus.FAILED)
        await asyncio.sleep(0.3)

    row = await delivery(delivery_id)
    assert (row.status, row.attempt, row.next_retry_at) == (DeliveryStatus.FAILED, 3, None)
    assert [a.status_code for a in await attempts(delivery_id)] == [500, 500, 500]
    assert len(receiver.received) == 3


async def _attempts_logged(delivery_id: uuid.UUID, count: int) -> bool:
    return len(await attempts(delivery_id)) >= count


async def test_redelivery_needs_a_key_and_answers_not_found_for_other_organizations(
    api: Api,
) -> None:
    await register_webhook(api, URL, org=OTHER_ORG, key=api.other_key)
    (foreign,) = await emit(
        api.rt, org=OTHER_ORG, event=WebhookEventType.SYNC_COMPLETED, ring=False
    )
    await WebhookDelivery.filter(id=foreign).update(status=DeliveryStatus.FAILED, attempt=4)

    no_key = await api.gql(REDELIVER, {"id": str(foreign)})
    other = await api.gql(REDELIVER, {"id": str(foreign)}, key=api.key)
    unknown = await api.gql(REDELIVER, {"id": str(uuid.uuid4())}, key=api.key)

    assert error_codes(no_key) == ["UNAUTHENTICATED"]
    assert error_codes(other) == ["NOT_FOUND"]
    assert error_codes(unknown) == ["NOT_FOUND"]
    row = await delivery(foreign)
    assert (row.status, row.attempt) == (DeliveryStatus.FAILED, 4)


async def test_redelivery_revokes_an_attempt_in_flight_which_is_still_logged(api: Api) -> None:
    async with serve_receiver(Answer(500, delay_s=0.5), Answer(200)) as receiver:
        await register_webhook(api, receiver.url)
        (delivery_id,) = await emit(api.rt)
        await eventually(lambda: _received(receiver.received, 1))  # attempt 1 is in flight

        await api.gql(REDELIVER, {"id": str(delivery_id)}, key=api.key)
        await eventually(lambda: _attempts_logged(delivery_id, 2))
        await asyncio.sleep(0.2)

    row = await delivery(delivery_id)
    assert (row.status, row.attempt, row.last_response_status) == (DeliveryStatus.SUCCESS, 2, 200)
    assert (row.next_retry_at, row.claimed_until) == (None, None)
    # The late 500 of the revoked attempt is logged but does not schedule a retry.
    assert sorted((a.attempt, a.status_code) for a in await attempts(delivery_id)) == [
        (1, 500),
        (2, 200),
    ]
    assert len(receiver.received) == 2
