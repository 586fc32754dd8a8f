"""Input hygiene at the edge, the same on every database.

PostgreSQL refuses NUL in text and a lone UTF-16 surrogate cannot be encoded at all,
while SQLite would store both: such a string is refused before anything runs, with
``BAD_USER_INPUT``, wherever it appears (variables or literals of the document).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

_SURROGATES = re.compile("[\ud800-\udfff]")
MESSAGE = "text inputs must not contain NUL characters or unpaired UTF-16 surrogates"


def is_forbidden(text: str) -> bool:
    """NUL, or a lone surrogate (only possible in non-ASCII text: the regex runs only then)."""
    return "\x00" in text or (not text.isascii() and _SURROGATES.search(text) is not None)


def has_forbidden_text(value: Any) -> bool:
    """True when a string anywhere inside ``value`` (dicts, lists) is refused."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if is_forbidden(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


class _Strings(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if is_forbidden(node.value):
            self.found = True


class InputHygiene(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        refused = has_forbidden_text(context.variables)
        document = context.graphql_document
        if not refused and document is not None:
            strings = _Strings()
            visit(document, strings)
            refused = strings.found
        if refused:
            # Strawberry answers pre-execution errors and executes nothing.
            error = GraphQLError(MESSAGE, extensions={"code": "BAD_USER_INPUT"})
            context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield
