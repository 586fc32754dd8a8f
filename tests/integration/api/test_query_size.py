"""MAX_QUERY_BYTES: a GraphQL document past the cap is refused before graphql-core lexes it.

A comment is no token, so the token limit does not bound the lexer: a multi-MiB comment
held the loop for seconds. The cap counts UTF-8 bytes, answers 413 ``QUERY_TOO_LARGE``
over HTTP (small and large bodies alike) and an ``error`` message over the websocket.
"""

from __future__ import annotations

import asyncio
import json

import graphql

from tests.conftest import Api
from tests.integration.api.test_edge import error_logs
from tests.integration.api.test_fuzz import row_counts
from tests.support.subscriptions import open_subscription

LIMIT = 64 * 1024  # the default MAX_QUERY_BYTES
MIB = 1024 * 1024
SUBSCRIPTION = "subscription($token: UUID!) { syncStatus(syncToken: $token) { syncStatus } }"


def padded(document: str, size: int, filler: str = "x") -> str:
    """``document`` and a comment, ``size`` UTF-8 bytes in all (``filler`` is one character)."""
    head = document + "\n#"
    return head + filler * ((size - len(head.encode())) // len(filler.encode()))


def too_large() -> dict[str, object]:
    return {
        "message": f"the GraphQL document is larger than {LIMIT} bytes",
        "extensions": {"code": "QUERY_TOO_LARGE"},
    }


async def test_a_document_at_the_cap_is_served_and_one_byte_more_is_refused(api: Api) -> None:
    # Given two documents of the cap's size and one byte more
    at_cap, past_cap = padded("{ __typename }", LIMIT), padded("{ __typename }", LIMIT + 1)
    assert (len(at_cap.encode()), len(past_cap.encode())) == (LIMIT, LIMIT + 1)
    before = await row_counts()

    # When each is sent
    with error_logs() as logged:
        served = await api.http.post("/graphql", json={"query": at_cap})
        refused = await api.http.post("/graphql", json={"query": past_cap})

    # Then the first is answered, the second refused with a code; nothing logged or stored
    assert (served.status_code, served.json()) == (200, {"data": {"__typename": "Query"}})
    assert refused.status_code == 413
    assert refused.json() == {"errors": [too_large()]}
    assert logged == []
    assert await row_counts() == before


async def test_the_cap_counts_utf8_bytes_not_characters(api: Api) -> None:
    # Given a document of fewer characters than the cap but more bytes (é is two bytes)
    document = padded("{ __typename }", LIMIT + 2, filler="é")
    assert len(document) < LIMIT < len(document.encode())

    response = await api.http.post("/graphql", json={"query": document})

    assert response.status_code == 413
    assert response.json() == {"errors": [too_large()]}


async def test_a_multi_mib_comment_is_refused_in_a_large_body_too(api: Api) -> None:
    # Given a 4 MiB comment and an unused variable, in a body decoded off the loop
    body = {"query": padded("{ __typename }", 4 * MIB), "variables": {"unused": "v"}}

    # When it is sent (bounded: lexing it took seconds before the cap)
    async with asyncio.timeout(20):
        response = await api.http.post("/graphql", json=body)

    # Then it is refused with the code, unlexed
    assert response.status_code == 413
    assert response.json() == {"errors": [too_large()]}


async def test_graphiql_introspection_passes(api: Api) -> None:
    # Given the richest introspection query graphql-core writes (GraphiQL sends its like)
    query = graphql.get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )

    body = await api.gql(query)

    # Then the schema is answered
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}


async def test_a_subscribe_message_past_the_cap_gets_a_coded_error(api: Api) -> None:
    # Given a websocket subscription whose document is one byte past the cap
    token = "00000000-0000-4000-8000-000000000000"
    ws = await open_subscription(api.base_url, token, padded(SUBSCRIPTION, LIMIT + 1))
    try:
        # When the server answers it
        async with asyncio.timeout(10):
            answer = json.loads(await ws.recv())
    finally:
        await ws.close()

    # Then it is an error message with the code, for that subscription
    assert answer == {"id": "1", "type": "error", "payload": [too_large()]}
