"""Prepared executions: a repeated document skips the pipeline, never its checks.

Each test sends the same document twice: the first request goes through the extensions
and prepares it, the second takes the prepared path; both must answer the same.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest
import strawberry
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from marketsync.schema.build import MarketsyncSchema, build_schema
from marketsync.schema.hygiene import MESSAGE


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, text: str) -> str:
        return text

    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("secret internals")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def noop(self) -> bool:
        return True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:  # never subscribed here
        yield 1


ECHO = "query($t: String!) { echo(text: $t) }"


def _schema() -> MarketsyncSchema:
    return build_schema(query=Query, mutation=Mutation, subscription=Subscription)


async def test_a_clean_document_is_prepared_once_and_answers_the_same() -> None:
    schema = _schema()
    first = await schema.execute(ECHO, {"t": "a"})
    assert len(schema.prepared) == 1
    second = await schema.execute(ECHO, {"t": "b"})
    assert (first.data, first.errors) == ({"echo": "a"}, None)
    assert (second.data, second.errors) == ({"echo": "b"}, None)
    assert len(schema.prepared) == 1


async def test_a_document_with_errors_is_never_prepared() -> None:
    schema = _schema()
    for _ in range(2):
        result = await schema.execute("{ nope }")  # unknown field: validation error
        assert result.errors is not None
        assert result.errors[0].extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
    refused = await schema.execute('{ echo(text: "a\\u0000b") }')
    assert refused.errors is not None
    assert refused.errors[0].message == MESSAGE
    assert len(schema.prepared) == 0


async def test_the_prepared_path_still_refuses_forbidden_variables() -> None:
    schema = _schema()
    await schema.execute(ECHO, {"t": "fine"})
    for bad in ("a\x00b", "a\ud800b"):
        result = await schema.execute(ECHO, {"t": bad})
        assert result.data is None
        assert result.errors is not None
        assert [(e.message, e.extensions) for e in result.errors] == [
            (MESSAGE, {"code": "BAD_USER_INPUT"})
        ]


async def test_the_prepared_path_masks_unexpected_errors() -> None:
    schema = _schema()
    answers = [await schema.execute("{ broken }") for _ in range(2)]
    assert len(schema.prepared) == 1
    for result in answers:
        assert result.errors is not None
        assert [(e.message, e.extensions) for e in result.errors] == [
            ("Internal server error.", {"code": "INTERNAL_SERVER_ERROR"})
        ]
        assert "secret" not in str(result.errors[0].formatted)


async def test_the_prepared_path_keeps_the_allowed_operation_types() -> None:
    schema = _schema()
    await schema.execute("mutation { noop }")
    only_queries = {OperationType.QUERY}
    # Strawberry's own refusal, as without a prepared document (the edge turns it into a 400)
    with pytest.raises(InvalidOperationTypeError):
        await schema.execute("mutation { noop }", allowed_operation_types=only_queries)
