"""Document limits: depth 10 below the root field, aliases, expanded selections; linear cost.

The fragment bomb (each fragment spreading the next one twice) used to take Strawberry's
depth rule 2^n steps; it is now refused in one pass, whatever n.
"""

from __future__ import annotations

import time

from graphql import build_schema, get_introspection_query, parse, validate

from marketsync.resolvers.root import schema
from marketsync.schema.build import LIMIT_RULES
from marketsync.schema.limits import MAX_ALIASES, MAX_DEPTH, MAX_SELECTIONS

NODES = build_schema("type Node { id: ID child: Node } type Query { root: Node }")


def chain(levels: int) -> str:
    return "{ root { " + "child { " * levels + "id" + " }" * (levels + 1) + " }"


def bomb(levels: int) -> str:
    spreads = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ ...F0 }} {spreads} fragment F{levels} on Query {{ __typename }}"


def codes(document: str) -> list[str | None]:
    errors = validate(NODES, parse(document), LIMIT_RULES)
    return [(e.extensions or {}).get("code") for e in errors]


def test_depth_limit() -> None:
    assert MAX_DEPTH == 10
    assert validate(NODES, parse(chain(9)), LIMIT_RULES) == []
    errors = validate(NODES, parse(chain(10)), LIMIT_RULES)
    assert [e.message for e in errors] == ["'anonymous' exceeds maximum operation depth of 10"]
    assert codes(chain(10)) == ["QUERY_TOO_DEEP"]


def test_depth_counts_through_fragments() -> None:
    document = "{ root { ...A } } fragment A on Node { " + "child { " * 10 + "id" + " }" * 10 + " }"
    assert codes(document) == ["QUERY_TOO_DEEP"]


def test_fragment_bomb_is_refused_in_linear_time() -> None:
    started = time.perf_counter()
    errors = validate(NODES, parse(bomb(60)), LIMIT_RULES)
    elapsed = time.perf_counter() - started

    assert [(e.extensions or {}).get("code") for e in errors] == ["QUERY_TOO_COMPLEX"]
    assert str(2**60) in errors[0].message
    assert elapsed < 1.0  # 2^60 expansions would never finish; a linear pass takes ~1 ms


def test_selection_budget_edge() -> None:
    small = bomb(12)  # 4,096 expanded __typename selections
    assert 2**12 <= MAX_SELECTIONS < 2**13
    assert codes(small) == []
    assert codes(bomb(13)) == ["QUERY_TOO_COMPLEX"]


def test_aliases_are_counted_per_expansion() -> None:
    ok = "{ " + " ".join(f"a{i}: root {{ id }}" for i in range(MAX_ALIASES)) + " }"
    assert codes(ok) == []
    spread_twice = "{ ...A ...A } fragment A on Query { " + ok[2:-2] + " }"
    assert codes(spread_twice) == ["TOO_MANY_ALIASES"]


def test_cyclic_fragments_do_not_loop() -> None:
    document = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    errors = validate(NODES, parse(document), LIMIT_RULES)
    assert [e.message for e in errors] == []  # the spec's NoFragmentCycles reports it


def test_graphiql_introspection_passes_the_limits() -> None:
    document = parse(get_introspection_query(descriptions=True))
    assert validate(schema._schema, document, LIMIT_RULES) == []
