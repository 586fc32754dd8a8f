"""The Schema object's configuration: limits, extensions and error handling.

The root operation types live in ``resolvers/root.py``, which calls ``build_schema``:
that way ``schema/`` (types) never imports ``resolvers/`` (which import the types).
"""

from __future__ import annotations

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from marketsync.multiplex import multiplexing_executor
from marketsync.schema.descriptions import apply_descriptions
from marketsync.schema.errors import CodedErrors, log_unexpected
from marketsync.schema.hygiene import InputHygiene
from marketsync.schema.limits import DocumentLimits
from marketsync.schema.scalars import SCALAR_MAP

MAX_TOKENS = 4000
# Built once; linear in the document (see schema/limits.py for why not Strawberry's).
LIMIT_RULES: list[type[ASTValidationRule]] = [DocumentLimits]


class MarketsyncSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors, execution_context.operation_name if execution_context else None)


def build_schema(
    *, query: type, mutation: type, subscription: type, shared_events: tuple[type, ...] = ()
) -> MarketsyncSchema:
    """``shared_events``: subscription event types executed once per process (multiplex.py)."""
    schema = MarketsyncSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=multiplexing_executor(*shared_events),
        extensions=[
            CodedErrors,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: AddValidationRules(LIMIT_RULES),
            InputHygiene,  # last: its check runs after ValidationCache has set the errors
        ],
    )
    apply_descriptions(schema._schema)
    return schema
