"""Multiplexed subscription events: one execution and one serialized message per
(operation, variables, event) in this process, shared by every subscriber it goes to.

The status hub hands the same event object to every subscriber of a store. Without
this, graphql-core executes the subscription's selection once per subscriber and the
view serializes the same payload once per subscriber. Here:

- ``MultiplexingExecutor`` (the schema's executor class) memoises a subscription
  event's result by the identities of its parsed operation (the parser cache returns
  one document per query text), its event object and the values of its variables.
  Only events of the types passed to ``multiplexing_executor`` are shared: their
  fields must read nothing but the event itself (no context, no caller), so the
  result is the same for every subscriber. A result with errors is never shared.
- ``SharedEncoder`` serializes a ``next`` message's payload once per result and
  splices each subscriber's operation id around it.

Both caches are small LRUs that hold the keyed objects themselves, so an identity can
not be reused by a different object while its entry lives.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

CACHE_SIZE = 256


class _Lru:
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


class MultiplexingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a shareable subscription event executes once per process."""

    shared_types: tuple[type, ...] = ()
    results = _Lru(CACHE_SIZE)
    _shared_key: tuple[int, int, Hashable] | None = None

    def build_per_event_executor(self, payload: Any) -> MultiplexingExecutor:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, MultiplexingExecutor)
        if isinstance(payload, self.shared_types):
            variables = _frozen(self.variable_values.coerced)
            if variables is not None:
                executor._shared_key = (id(self.operation), id(payload), variables)
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self._shared_key
        if key is None:
            return super().execute_operation(serially)
        cached = self.results.get(key)
        if cached is not None:
            operation, payload, result = cached
            if operation is self.operation and payload is self.root_value:
                return result
        result = super().execute_operation(serially)
        if isinstance(result, ExecutionResult) and not result.errors:
            self.results.put(key, (self.operation, self.root_value, result))
        return result


def multiplexing_executor(*shared_types: type) -> type[MultiplexingExecutor]:
    """The executor class that shares the execution of events of ``shared_types``."""
    return type(
        "MultiplexingExecutor",
        (MultiplexingExecutor,),
        {"shared_types": shared_types, "results": _Lru(CACHE_SIZE)},
    )


def _frozen(values: Mapping[str, Any]) -> Hashable | None:
    """The variables as a key, or None when one of them cannot be a key."""
    try:
        key = tuple(sorted(values.items()))
        hash(key)
    except TypeError:
        return None
    return key


class SharedEncoder:
    """``encode_json`` for a view: a ``next`` payload of a shared result is encoded once."""

    def __init__(self, encode: Callable[[object], str], size: int = CACHE_SIZE) -> None:
        self._encode = encode
        self.payloads = _Lru(size)

    def __call__(self, message: object) -> str:
        if not _is_plain_next(message):
            return self._encode(message)
        assert isinstance(message, Mapping)
        data = message["payload"]["data"]
        cached = self.payloads.get(id(data))
        if cached is None or cached[0] is not data:
            cached = (data, self._encode({"data": data}))
            self.payloads.put(id(data), cached)
        return f'{{"id":{json.dumps(message["id"])},"type":"next","payload":{cached[1]}}}'


def _is_plain_next(message: object) -> bool:
    """A graphql-transport-ws ``next`` message whose payload is nothing but ``data``."""
    return (
        isinstance(message, Mapping)
        and message.keys() == {"id", "type", "payload"}
        and message["type"] == "next"
        and isinstance(message["payload"], Mapping)
        and message["payload"].keys() == {"data"}
        and isinstance(message["id"], str)
    )
