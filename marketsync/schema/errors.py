"""Errors on the wire: domain errors get ``extensions.code``; anything unexpected is masked.

Validation and parse errors (no original error) pass unchanged. An unexpected error
is logged once by ``log_unexpected`` (called from the schema's ``process_errors``)
with its path, operation and error class, and the client gets "Internal server
error." with code INTERNAL_SERVER_ERROR, never the exception's text.
"""

from __future__ import annotations

import structlog
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from marketsync.errors import AuthenticationError, NotFoundError, PermissionDeniedError

log = structlog.get_logger(__name__)
_CODED = (NotFoundError, AuthenticationError, PermissionDeniedError)
_BAD_VALUE_MESSAGES = ("Variable '$", "Expected value of type ")


def log_unexpected(errors: list[GraphQLError], operation: str | None) -> None:
    """Log what will be masked, with its traceback; expected errors are the caller's business."""
    for error in errors:
        if error.path is not None and not _is_expected(error):
            log.error(
                "graphql_unexpected_error",
                operation=operation,
                path=list(error.path),
                error=type(error.original_error).__name__,
                exc_info=error.original_error,
            )


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, _CODED):
        return True
    return isinstance(original, GraphQLError) and bool((original.extensions or {}).get("code"))


def _is_request_error(error: GraphQLError) -> bool:
    if error.path is not None or (error.extensions or {}).get("code"):
        return False
    # A literal our scalar refused (ValuesOfCorrectTypeRule keeps the parser's ValueError).
    return error.original_error is None or error.message.startswith(_BAD_VALUE_MESSAGES)


def _request_error_code(error: GraphQLError) -> str:
    """Errors of the request itself: bad values are the caller's input, the rest validation."""
    if error.original_error is not None or error.message.startswith(("Variable '$", "Argument '")):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class CodedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda error: not _is_expected(error),
            error_message="Internal server error.",
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        shaped: list[GraphQLError] = []
        for error in errors:
            original = error.original_error
            if isinstance(original, _CODED):
                shaped.append(self._with_code(error, original.code))
            elif _is_request_error(error):
                # No path: the request itself (parse, validation, variable values), not a
                # resolver; its message is about the caller's document and safe to show.
                shaped.append(self._with_code(error, _request_error_code(error)))
            elif not _is_expected(error):
                masked = self.anonymise_error(error)
                shaped.append(self._with_code(masked, "INTERNAL_SERVER_ERROR"))
            else:
                shaped.append(error)
        return shaped

    @staticmethod
    def _with_code(error: GraphQLError, code: str) -> GraphQLError:
        return GraphQLError(
            message=error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={**(error.extensions or {}), "code": code},
        )
