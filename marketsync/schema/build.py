"""The Schema object's configuration: limits, extensions and error handling.

The root operation types live in ``resolvers/root.py``, which calls ``build_schema``:
that way ``schema/`` (types) never imports ``resolvers/`` (which import the types).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from marketsync.multiplex import multiplexing_executor
from marketsync.schema.descriptions import apply_descriptions
from marketsync.schema.errors import CodedErrors, log_unexpected
from marketsync.schema.hygiene import InputHygiene, has_forbidden_text
from marketsync.schema.limits import DocumentLimits
from marketsync.schema.prepared import PreparedDocuments, RememberPrepared
from marketsync.schema.scalars import SCALAR_MAP

MAX_TOKENS = 4000
# Built once; linear in the document (see schema/limits.py for why not Strawberry's).
LIMIT_RULES: list[type[ASTValidationRule]] = [DocumentLimits]


class MarketsyncSchema(strawberry.Schema):
    prepared: PreparedDocuments

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A prepared document (see schema/prepared.py) skips the extension pipeline."""
        prepared = self.prepared.get(query, operation_name) if query else None
        if (
            prepared is None
            or (
                allowed_operation_types is not None
                and prepared.operation_type not in allowed_operation_types
            )
            or has_forbidden_text(variable_values)
        ):
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        result: GraphQLExecutionResult = await await_maybe(
            self._get_execute_function()(
                self._schema,
                prepared.document,
                root_value=root_value,
                variable_values=variable_values,
                operation_name=operation_name,
                context_value=context_value,
                is_awaitable=optimized_is_awaitable,
                **execution_context_class_kwargs(self.execution_context_class),
                **self._get_custom_context_kwargs(operation_extensions),
            )
        )
        errors = result.errors
        if errors:  # as the pipeline: logged first, then coded and masked
            log_unexpected(errors, prepared.operation_name)
            errors = CodedErrors()._process_errors(errors)
        return ExecutionResult(data=result.data, errors=errors, extensions={})

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
            InputHygiene,  # its check runs after ValidationCache has set the errors
            RememberPrepared,  # last: sees every error of parse and validation
        ],
    )
    schema.prepared = PreparedDocuments()
    apply_descriptions(schema._schema)
    return schema
