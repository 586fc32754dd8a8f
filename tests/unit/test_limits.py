"""The depth rule the schema uses allows 10 levels below the root field and refuses 11."""

from __future__ import annotations

from graphql import build_schema, parse, validate

from marketsync.schema import LIMIT_RULES, MAX_DEPTH

NODES = build_schema("type Node { id: ID child: Node } type Query { root: Node }")


def chain(levels: int) -> str:
    return "{ root { " + "child { " * levels + "id" + " }" * (levels + 1) + " }"


def test_depth_limit() -> None:
    assert MAX_DEPTH == 10
    assert validate(NODES, parse(chain(9)), LIMIT_RULES) == []
    errors = validate(NODES, parse(chain(10)), LIMIT_RULES)
    assert [e.message for e in errors] == ["'anonymous' exceeds maximum operation depth of 10"]
