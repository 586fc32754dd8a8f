"""The served schema covers the contract's, and `schema.graphql` is what the code serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    Undefined,
    build_schema,
    print_ast,
)
from graphql.utilities import ast_from_value

from marketsync.resolvers.root import export_sdl, schema

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "tests" / "contract" / "schema.graphql"
SHARED_CONTRACT = ROOT.parent / "shared" / "contract" / "schema.graphql"


def contract_schema():  # type: ignore[no-untyped-def]
    return build_schema(CONTRACT.read_text())


def default_text(arg) -> str | None:  # type: ignore[no-untyped-def]
    """An argument's or input field's default as SDL text (``= null`` counts as none)."""
    text = _default_text(arg)
    return None if text == "null" else text


def _default_text(arg) -> str | None:  # type: ignore[no-untyped-def]
    default = getattr(arg, "default", None)
    if default is not None and getattr(default, "literal", None) is not None:
        return print_ast(default.literal)
    if default is not None and getattr(default, "value", Undefined) is not Undefined:
        return print_ast(ast_from_value(default.value, arg.type))
    if arg.default_value is not Undefined:
        return print_ast(ast_from_value(arg.default_value, arg.type))
    return None


def test_repo_schema_file_is_the_export() -> None:
    assert (ROOT / "schema.graphql").read_text() == export_sdl(), (
        "schema.graphql drifted: run `marketsync schema export > schema.graphql`"
    )


def test_vendored_contract_matches_shared_when_present() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip("../shared/contract is not beside this checkout")
    assert CONTRACT.read_text() == SHARED_CONTRACT.read_text()


def test_every_contract_type_field_and_argument_is_served_with_its_type() -> None:
    served = schema._schema
    missing: list[str] = []
    for name, expected in contract_schema().type_map.items():
        if name.startswith("__"):
            continue
        actual = served.type_map.get(name)
        if actual is None:
            missing.append(f"type {name}")
            continue
        if isinstance(expected, GraphQLEnumType):
            assert isinstance(actual, GraphQLEnumType), name
            missing += [f"{name}.{v}" for v in expected.values if v not in actual.values]
        elif isinstance(
            expected, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            for field_name, field in expected.fields.items():
                served_field = actual.fields.get(field_name)  # type: ignore[union-attr]
                if served_field is None:
                    missing.append(f"{name}.{field_name}")
                    continue
                if str(served_field.type) != str(field.type):
                    missing.append(f"{name}.{field_name}: {served_field.type} != {field.type}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    served_arg = served_field.args.get(arg_name)
                    if served_arg is None or str(served_arg.type) != str(arg.type):
                        missing.append(f"{name}.{field_name}({arg_name}: {arg.type})")
                    elif default_text(arg) != default_text(served_arg):
                        missing.append(f"{name}.{field_name}({arg_name}) default")
                is_input = isinstance(expected, GraphQLInputObjectType)
                if is_input and default_text(field) != default_text(served_field):
                    missing.append(f"{name}.{field_name} default")
    assert missing == []
