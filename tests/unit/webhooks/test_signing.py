from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from marketsync.webhooks.signing import generate_secret, signature_headers, verify

BODY = b'{"eventId":"0190a1b2-0000-7000-8000-000000000001","event":"sync.completed","data":{}}'
EVENT_ID = "0190a1b2-0000-7000-8000-000000000001"


@pytest.fixture
def secret() -> str:
    return generate_secret()


def test_generated_secret_is_whsec_base64_of_24_to_32_bytes(secret: str) -> None:
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert 24 <= len(key) <= 32
    assert generate_secret() != secret


def test_headers_are_exactly_the_contract_set(secret: str) -> None:
    now = int(time.time())

    headers = signature_headers(secret=secret, event_id=EVENT_ID, timestamp=now, body=BODY)

    assert set(headers) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "X-Event-Id",
        "X-Webhook-Signature",
        "X-Webhook-Timestamp",
        "Content-Type",
    }
    assert headers["webhook-id"] == EVENT_ID
    assert headers["X-Event-Id"] == EVENT_ID
    assert headers["webhook-timestamp"] == str(now)
    assert headers["X-Webhook-Timestamp"] == headers["webhook-timestamp"]
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")


def test_standard_webhooks_library_verifies_the_headers(secret: str) -> None:
    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )

    payload = Webhook(secret).verify(BODY, headers)

    assert payload["eventId"] == EVENT_ID


def test_standard_signature_is_hmac_of_id_timestamp_body(secret: str) -> None:
    now = int(time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{EVENT_ID}.{now}.".encode() + BODY
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()

    headers = signature_headers(secret=secret, event_id=EVENT_ID, timestamp=now, body=BODY)

    assert headers["webhook-signature"] == f"v1,{expected}"


def test_legacy_signature_is_hex_hmac_of_body_with_the_same_key(secret: str) -> None:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, BODY, hashlib.sha256).hexdigest()

    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )

    assert headers["X-Webhook-Signature"] == f"sha256={expected}"


def test_verify_accepts_own_headers_in_any_case(secret: str) -> None:
    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )
    shouted = {name.upper(): value for name, value in headers.items()}

    assert verify(secret=secret, headers=headers, body=BODY) is True
    assert verify(secret=secret, headers=shouted, body=BODY) is True


def test_tampered_body_fails(secret: str) -> None:
    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )

    assert (
        verify(secret=secret, headers=headers, body=BODY.replace(b"completed", b"failed")) is False
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)


def test_other_secret_fails(secret: str) -> None:
    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )

    assert verify(secret=generate_secret(), headers=headers, body=BODY) is False


def test_stale_timestamp_fails(secret: str) -> None:
    an_hour_ago = int(time.time()) - 3600
    headers = signature_headers(secret=secret, event_id=EVENT_ID, timestamp=an_hour_ago, body=BODY)

    assert verify(secret=secret, headers=headers, body=BODY) is False


@pytest.mark.parametrize(
    "broken",
    [
        {"webhook-signature": "garbage"},
        {"webhook-signature": "v1,!!!not-base64"},
        {"webhook-timestamp": "yesterday"},
        {"webhook-id": ""},
    ],
)
def test_malformed_headers_fail_without_raising(secret: str, broken: dict[str, str]) -> None:
    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )
    headers = {**headers, **broken}

    assert verify(secret=secret, headers=headers, body=BODY) is False


def test_legacy_header_alone_is_not_enough(secret: str) -> None:
    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )
    legacy_only = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}

    assert verify(secret=secret, headers=legacy_only, body=BODY) is False


def test_non_utf8_body_fails_without_raising(secret: str) -> None:
    headers = signature_headers(
        secret=secret, event_id=EVENT_ID, timestamp=int(time.time()), body=BODY
    )

    assert verify(secret=secret, headers=headers, body=b"\xff\xfe") is False
