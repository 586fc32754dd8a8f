"""The docs explorer is a user's manual: every type, field, argument, input field and
enum value of the served schema has a description (contract, "Schema descriptions")."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
)

from marketsync.resolvers.root import schema
from marketsync.schema.descriptions import apply_descriptions


def undescribed(named: GraphQLNamedType) -> list[str]:
    missing = [] if named.description else [named.name]
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            if not field.description:
                missing.append(f"{named.name}.{field_name}")
            missing += [
                f"{named.name}.{field_name}({arg_name})"
                for arg_name, arg in field.args.items()
                if not arg.description
            ]
    elif isinstance(named, GraphQLInputObjectType):
        missing += [
            f"{named.name}.{name}" for name, field in named.fields.items() if not field.description
        ]
    elif isinstance(named, GraphQLEnumType):
        missing += [
            f"{named.name}.{name}" for name, value in named.values.items() if not value.description
        ]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    served = schema._schema
    missing = [
        item
        for name, named in sorted(served.type_map.items())
        if not name.startswith("__")
        for item in undescribed(named)
    ]
    assert missing == []


def test_the_check_sees_a_missing_description() -> None:
    bare = GraphQLEnumType("Bare", {"A": 1})
    assert undescribed(bare) == ["Bare", "Bare.A"]


def test_every_description_in_the_table_describes_something_served() -> None:
    assert apply_descriptions(schema._schema) == []
