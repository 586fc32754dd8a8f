"""The shared encoder: one serialization per shared ``next`` payload, ids spliced per subscriber."""

from __future__ import annotations

import json

from marketsync.multiplex import SharedEncoder


class CountingEncode:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: object) -> str:
        self.calls += 1
        return json.dumps(data, separators=(",", ":"))


def test_a_shared_payload_is_encoded_once_for_every_subscriber() -> None:
    # Given one result's data, sent to three subscribers with their own operation ids
    encode = CountingEncode()
    encoder = SharedEncoder(encode)
    data = {"syncStatus": {"importedOrders": 1, "storeId": "s-1"}}
    ids = ["1", "2", 'a"b']

    # When each subscriber's next message is encoded
    texts = [encoder({"id": i, "type": "next", "payload": {"data": data}}) for i in ids]

    # Then the payload was serialized once and every message is the right JSON
    assert encode.calls == 1
    assert [json.loads(text) for text in texts] == [
        {"id": i, "type": "next", "payload": {"data": data}} for i in ids
    ]


def test_other_messages_are_encoded_as_they_are() -> None:
    # Given messages that are not a plain next payload (errors beside data, other types)
    encode = CountingEncode()
    encoder = SharedEncoder(encode)
    data = {"syncStatus": None}
    messages: list[dict[str, object]] = [
        {"id": "1", "type": "next", "payload": {"data": data, "errors": [{"message": "x"}]}},
        {"id": "1", "type": "complete"},
        {"data": data},
    ]

    # When they are encoded, twice each
    texts = [encoder(message) for message in messages * 2]

    # Then each was encoded in full every time, and nothing was cached
    assert encode.calls == len(messages) * 2
    assert [json.loads(text) for text in texts] == messages * 2
    assert encoder.payloads.hits == 0
