"""Errors on the wire: domain errors get ``extensions.code``; anything unexpected is masked.

Validation and parse errors (no original error) pass unchanged; a masked error is
logged by Strawberry with its traceback, and its message never reaches the client.
"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from marketsync.errors import AuthenticationError, NotFoundError, PermissionDeniedError

_CODED = (NotFoundError, AuthenticationError, PermissionDeniedError)


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, _CODED):
        return True
    return isinstance(original, GraphQLError) and bool((original.extensions or {}).get("code"))


class CodedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_expected(error),
                         error_message="Internal server error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        shaped: list[GraphQLError] = []
        for error in errors:
            original = error.original_error
            if isinstance(original, _CODED):
                shaped.append(self._with_code(error, original.code))
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
