"""registerWebhook and the webhooks query: secrets, idempotence, the limit, URL checks, auth."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from marketsync.errors import UserInputError
from marketsync.models import WebhookEndpoint
from marketsync.models.enums import WebhookEventType
from marketsync.services.webhooks.endpoints import register_webhook as register_service
from tests.conftest import ORG, OTHER_ORG, Api
from tests.support.graphql import error_codes
from tests.support.webhooks import REGISTER_WEBHOOK, register_webhook

URL = "https://hooks.example.com/marketsync"
LIST = "query($org: String!) { webhooks(organizationId: $org) { id event targetUrl isActive } }"


def register_input(
    url: str = URL, org: str = ORG, event: str = "SYNC_COMPLETED"
) -> dict[str, object]:
    return {"input": {"organizationId": org, "event": event, "targetUrl": url}}


async def test_a_new_endpoint_gets_a_secret_once_stored_encrypted(api: Api) -> None:
    payload = await register_webhook(api, URL)
    webhook = payload["webhook"]
    secret = payload["signingSecret"]

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert webhook["organizationId"] == ORG
    assert webhook["event"] == "SYNC_COMPLETED"
    assert webhook["targetUrl"] == URL
    assert webhook["isActive"] is True
    row = await WebhookEndpoint.get(id=webhook["id"])
    assert secret not in row.secret_encrypted
    assert api.rt.vault.webhook_secrets.decrypt(row.secret_encrypted) == secret


async def test_registering_the_same_endpoint_again_returns_it_without_a_secret(api: Api) -> None:
    first = await register_webhook(api, URL)
    second = await register_webhook(api, f"  {URL} ")
    other_event = await register_webhook(api, URL, "SYNC_FAILED")

    assert second["webhook"] == first["webhook"]
    assert second["signingSecret"] is None
    assert other_event["webhook"]["id"] != first["webhook"]["id"]
    assert other_event["signingSecret"] not in (None, first["signingSecret"])
    row = await WebhookEndpoint.get(id=first["webhook"]["id"])
    assert api.rt.vault.webhook_secrets.decrypt(row.secret_encrypted) == first["signingSecret"]
    body = await api.gql(LIST, {"org": ORG}, key=api.key)
    assert body["data"]["webhooks"] == [
        {
            "id": first["webhook"]["id"],
            "event": "SYNC_COMPLETED",
            "targetUrl": URL,
            "isActive": True,
        },
        {
            "id": other_event["webhook"]["id"],
            "event": "SYNC_FAILED",
            "targetUrl": URL,
            "isActive": True,
        },
    ]


async def test_the_endpoint_limit_counts_rows_per_organization(api: Api) -> None:
    assert api.settings.webhook_max_endpoints_per_org == 3
    for index in range(3):
        await register_webhook(api, f"{URL}/{index}")
    await WebhookEndpoint.filter(target_url=f"{URL}/0").update(is_active=False)

    body = await api.gql(REGISTER_WEBHOOK, register_input(f"{URL}/3"), key=api.key)
    again = await register_webhook(api, f"{URL}/0")  # an existing row is not a new one
    elsewhere = await register_webhook(api, f"{URL}/3", org=OTHER_ORG, key=api.other_key)

    assert body["data"]["registerWebhook"] == {
        "signingSecret": None,
        "webhook": None,
        "userErrors": [
            {
                "field": ["input"],
                "code": "LIMIT_REACHED",
                "message": "an organization can register at most 3 webhook endpoints",
            }
        ],
    }
    assert again["webhook"]["isActive"] is True  # and it was reactivated
    assert elsewhere["signingSecret"] is not None
    assert await WebhookEndpoint.filter(organization_id=ORG).count() == 3
    assert not await WebhookEndpoint.exists(organization_id=ORG, target_url=f"{URL}/3")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "hooks.example.com/x",
        "http://",
        "https://user:password@hooks.example.com/x",
        "javascript:alert(1)",
        "",
        "http://hooks.example.com:99999/x",
    ],
)
async def test_urls_that_are_not_http_or_https_are_refused(api: Api, url: str) -> None:
    body = await api.gql(REGISTER_WEBHOOK, register_input(url), key=api.key)

    payload = body["data"]["registerWebhook"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_URL", ["input", "targetUrl"])
    ]
    assert payload["webhook"] is None
    assert payload["signingSecret"] is None
    assert await WebhookEndpoint.all().count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",  # a hostname that resolves to loopback
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:a9fe:a9fe]/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
        "http://224.0.0.1/hook",
    ],
)
async def test_private_targets_are_refused_when_private_targets_are_not_allowed(
    api: Api, url: str
) -> None:
    guarded = dataclasses.replace(
        api.rt, settings=api.settings.model_copy(update={"webhook_allow_private_targets": False})
    )
    with pytest.raises(UserInputError) as refused:
        await register_service(
            rt=guarded, organization_id=ORG, event=WebhookEventType.SYNC_STARTED, target_url=url
        )

    assert (refused.value.code, refused.value.field) == ("PRIVATE_TARGET", ["input", "targetUrl"])
    assert await WebhookEndpoint.all().count() == 0


@pytest.mark.parametrize("url", ["http://93.184.216.34/hook", "https://no-such-host.invalid/hook"])
async def test_public_and_unresolvable_targets_are_accepted_under_the_guard(
    api: Api, url: str
) -> None:
    guarded = dataclasses.replace(
        api.rt, settings=api.settings.model_copy(update={"webhook_allow_private_targets": False})
    )
    result = await register_service(
        rt=guarded, organization_id=ORG, event=WebhookEventType.SYNC_STARTED, target_url=url
    )

    assert result.created is True
    assert result.endpoint.target_url == url


async def test_registration_needs_a_key_of_the_input_organization(api: Api) -> None:
    no_key = await api.gql(REGISTER_WEBHOOK, register_input())
    other = await api.gql(REGISTER_WEBHOOK, register_input(), key=api.other_key)
    empty = await api.gql(REGISTER_WEBHOOK, register_input(org=""), key=api.key)
    # Authentication and the organization check come before input validation.
    invalid_elsewhere = await api.gql(
        REGISTER_WEBHOOK, register_input("ftp://x", org=ORG), key=api.other_key
    )
    bad_key = await api.gql(REGISTER_WEBHOOK, register_input(), key="not-a-key")

    assert error_codes(no_key) == ["UNAUTHENTICATED"]
    assert error_codes(other) == ["FORBIDDEN"]
    assert error_codes(empty) == ["FORBIDDEN"]
    assert error_codes(invalid_elsewhere) == ["FORBIDDEN"]
    assert error_codes(bad_key) == ["UNAUTHENTICATED"]
    assert no_key["data"] is None
    assert await WebhookEndpoint.all().count() == 0


async def test_the_webhooks_query_needs_a_key_of_the_organization(api: Api) -> None:
    await register_webhook(api, URL)

    no_key = await api.gql(LIST, {"org": ORG})
    other = await api.gql(LIST, {"org": ORG}, key=api.other_key)
    own_elsewhere = await api.gql(LIST, {"org": OTHER_ORG}, key=api.other_key)

    assert error_codes(no_key) == ["UNAUTHENTICATED"]
    assert error_codes(other) == ["FORBIDDEN"]
    assert own_elsewhere["data"]["webhooks"] == []
