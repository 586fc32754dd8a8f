"""Prepared executions: a document that parsed and validated cleanly runs without the
per-request extension pipeline.

Strawberry runs six extension hooks per request (parse cache, token limit, validation
cache, limit rules, hygiene, error coding), each an async context manager, even when
the same document was checked a moment ago; for ``{ __typename }`` or a seen
``importOrder`` that machinery costs more than the work. The first request of a
(document, operation name) goes through the whole pipeline; ``RememberPrepared`` (the
last extension) records it when it produced no error at all. Later requests with that
text reuse the parsed document and skip parse and validation; what depends on the
request itself is still done each time: the operation type against the allowed ones,
input hygiene of the variables, logging and coding of errors (the same functions the
extensions call). Anything else falls back to the full pipeline.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

MAX_PREPARED = 512
# Longer documents are not kept: the cache then holds at most 512 x 16 KiB of text.
MAX_PREPARED_CHARS = 16 * 1024


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    operation_type: OperationType
    operation_name: str | None


class PreparedDocuments:
    """A bounded LRU of documents that passed parse, validation and literal hygiene."""

    def __init__(self, maxsize: int = MAX_PREPARED) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, str | None], Prepared] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> Prepared | None:
        key = (query, operation_name)
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, query: str, operation_name: str | None, prepared: Prepared) -> None:
        self._items[(query, operation_name)] = prepared
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class RememberPrepared(SchemaExtension):
    """Last extension: after validation, record a document that raised no error."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        query = context.query
        if context.pre_execution_errors or document is None or not query:
            return
        if len(query) > MAX_PREPARED_CHARS:
            return
        prepared = getattr(context.schema, "prepared", None)
        if isinstance(prepared, PreparedDocuments):
            prepared.put(
                query,
                getattr(context, "_provided_operation_name", None),  # an InitVar: kept private
                Prepared(document, context.operation_type, context.operation_name),
            )
