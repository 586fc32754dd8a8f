"""Property-based fuzzing of every query and mutation of the served schema, on SQLite.

hypothesis-graphql writes documents that are valid against the schema, with random
arguments (NUL included) and random selections; the custom scalars (UUID, DateTime,
Decimal, JSON) get their own strategies, and ids, sync tokens and organization ids are
sometimes real ones, so that the resolvers get past the first lookup. Each answer must
be a non-5xx JSON body whose every error has ``extensions.code`` and none of them is the
masked INTERNAL_SERVER_ERROR, with no error logged; when the answer refuses (errors or
userErrors), no table changed its row count.

The number of examples is bounded (``FUZZ_EXAMPLES``, 15 per operation by default: the
file stays near a minute on a loaded 2-core machine; set more for a deeper run) and
derandomized, so CI runs the same documents every time.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from tortoise import Tortoise

from marketsync.resolvers.root import schema
from tests.conftest import ORG, OTHER_ORG, Api, import_order, register_store
from tests.integration.api.test_edge import error_logs

SDL = schema.as_str()
_SERVED = schema._schema
QUERY_FIELDS = list(_SERVED.query_type.fields) if _SERVED.query_type else []
MUTATION_FIELDS = list(_SERVED.mutation_type.fields) if _SERVED.mutation_type else []
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
COUNTED = (
    "store",
    "sync_log",
    "job",
    "webhook_endpoint",
    "webhook_delivery",
    "inventory_item_state",
    "inventory_batch",
)
SETTLE_S = 5.0
REQUEST_S = 60.0


@dataclass
class Seeded:
    """Real values of one organization, for the strategies to pick now and then."""

    uuids: list[str]
    strings: list[str]
    strategies: dict[str, st.SearchStrategy[str]] = field(default_factory=dict)
    # Set after an accepted answer: background work it started may still add rows.
    unsettled: bool = True

    def strategy(self, name: str) -> st.SearchStrategy[str]:
        if name not in self.strategies:
            self.strategies[name] = _operations(name, self)
        return self.strategies[name]


def _scalars(seeded: Seeded) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    text = st.text(max_size=40)
    return {
        "UUID": st.one_of(st.sampled_from(seeded.uuids), st.uuids().map(str), text).map(
            nodes.String
        ),
        "DateTime": st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"), text).map(
            nodes.String
        ),
        "Decimal": st.one_of(
            st.decimals(allow_nan=True, allow_infinity=True).map(str).map(nodes.String),
            st.sampled_from(["1e1000000", "1_000", " 1 ", "-0", "12.50", "9" * 40]).map(
                nodes.String
            ),
            st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
            st.integers().map(nodes.Int),
            st.decimals(allow_nan=False, allow_infinity=False, places=2)
            .map(Decimal)
            .map(str)
            .map(nodes.Float),
        ),
        "JSON": st.one_of(text.map(nodes.String), st.integers().map(nodes.Int)),
        # Organization ids, receipts, barcodes…: real ones sometimes.
        "String": st.one_of(st.sampled_from(seeded.strings), st.text(max_size=300)).map(
            nodes.String
        ),
    }


def _operations(name: str, seeded: Seeded) -> st.SearchStrategy[str]:
    build = queries if name in QUERY_FIELDS else mutations
    return build(SDL, fields=[name], custom_scalars=_scalars(seeded))


def with_user_errors(document: str) -> str:
    """Adds ``userErrors { code }`` to each root field whose payload has it, so that a
    refusal is seen whatever the strategy selected (AST nodes are frozen: rebuilt)."""
    parsed = graphql.parse(document)
    extra = graphql.parse("{ userErrors { code } }").definitions[0]
    assert isinstance(extra, graphql.OperationDefinitionNode)
    definitions = []
    for definition in parsed.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            root = _SERVED.get_root_type(definition.operation)
            assert root is not None
            selections = tuple(
                _with_extra(selection, root, extra.selection_set.selections)
                for selection in definition.selection_set.selections
            )
            selection_set = replace(definition.selection_set, selections=selections)
            definition = replace(definition, selection_set=selection_set)
        definitions.append(definition)
    return graphql.print_ast(replace(parsed, definitions=tuple(definitions)))


def _with_extra(
    selection: graphql.SelectionNode,
    root: graphql.GraphQLObjectType,
    extra: tuple[graphql.SelectionNode, ...],
) -> graphql.SelectionNode:
    if not isinstance(selection, graphql.FieldNode) or selection.selection_set is None:
        return selection
    payload = graphql.get_named_type(root.fields[selection.name.value].type)
    if not isinstance(payload, graphql.GraphQLObjectType) or "userErrors" not in payload.fields:
        return selection
    inner = selection.selection_set
    return replace(selection, selection_set=replace(inner, selections=(*inner.selections, *extra)))


def refused(body: dict[str, Any]) -> bool:
    if body.get("errors"):
        return True
    return any(
        isinstance(payload, dict) and payload.get("userErrors")
        for payload in (body.get("data") or {}).values()
    )


async def row_counts() -> dict[str, int]:
    conn = Tortoise.get_connection("default")
    counts: dict[str, int] = {}
    for table in COUNTED:
        rows = await conn.execute_query_dict(f'SELECT COUNT(*) AS n FROM "{table}"')  # noqa: S608
        counts[table] = int(rows[0]["n"])
    return counts


async def settled_counts() -> dict[str, int]:
    """Row counts once background work (an enqueued sync, a delivery) stopped adding rows."""
    counts = await row_counts()
    async with asyncio.timeout(SETTLE_S):
        while True:
            await asyncio.sleep(0.05)
            again = await row_counts()
            if again == counts:
                return counts
            counts = again


@pytest.fixture
async def seeded(api: Api) -> Seeded:
    if not api.settings.database_url.startswith("sqlite"):
        pytest.skip("fuzzed on SQLite; each hygiene rule runs on both databases elsewhere")
    store = await register_store(api)
    log = await import_order(api, store.sync_token, "R-1001")
    return Seeded(
        uuids=[store.id, store.sync_token, str(log["syncLog"]["id"])],
        strings=[ORG, OTHER_ORG, "shop-1", "R-1001", "USD", "https://example.com/hook"],
    )


@pytest.mark.parametrize("operation", QUERY_FIELDS + MUTATION_FIELDS)
async def test_no_operation_answers_a_server_error(
    api: Api, seeded: Seeded, operation: str
) -> None:
    # Hypothesis runs in a thread and sends each example to this loop, which keeps running
    # between examples (the embedded worker's background work needs it).
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        # No shrinking: a failure prints its document at once instead of minutes later.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        # Given a document for the operation, sent with the key, another org's key or none
        document = with_user_errors(data.draw(seeded.strategy(operation), label="document"))
        key = data.draw(st.sampled_from([api.key, api.other_key, None]), label="key")
        note(document)
        check = asyncio.run_coroutine_threadsafe(check_answer(api, seeded, document, key), loop)
        check.result(timeout=REQUEST_S)

    await asyncio.to_thread(fuzz)


async def check_answer(api: Api, seeded: Seeded, document: str, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    before = await settled_counts() if seeded.unsettled else await row_counts()

    # When it is sent
    with error_logs() as logged:
        response = await api.http.post("/graphql", json={"query": document}, headers=headers)

    # Then: no 5xx, every error coded and none masked, nothing logged as an error
    assert response.status_code < 500, response.text
    body = response.json()
    errors = body.get("errors") or []
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    assert None not in codes, body
    assert "INTERNAL_SERVER_ERROR" not in codes, body
    assert all(error["message"] != "Internal server error." for error in errors), body
    assert logged == [], logged
    # And a refusal changed nothing
    seeded.unsettled = not refused(body)
    if not seeded.unsettled:
        assert await row_counts() == before, body


# --- what the fuzzing found ------------------------------------------------------------


@pytest.mark.parametrize(
    ("scalar_argument", "literal"),
    [
        ('salePrice: "1e1000000" listPrice: "1"', '"1e1000000"'),
        ('salePrice: "1" listPrice: "1_000"', '"1_000"'),
    ],
)
async def test_a_literal_the_decimal_scalar_refuses_is_bad_user_input(
    api: Api, scalar_argument: str, literal: str
) -> None:
    # Given a store, and a price written inline (not as a variable) that Decimal refuses
    store = await register_store(api)
    document = (
        f'mutation {{ pushInventory(input: {{ storeId: "{store.id}", items: [{{ '
        f'barcode: "b-1", quantity: 1, {scalar_argument}, currencyType: "TRY" }}] }}) '
        "{ chunkCount userErrors { code } } }"
    )
    before = await row_counts()

    # When it is sent
    with error_logs() as logged:
        body = await api.gql(document, key=api.key)

    # Then it is the caller's input, coded, with the scalar's own message; nothing logged or stored
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == (
        "Expected value of type 'Decimal', but encountered error 'a decimal is written like "
        f"12.34: at most 15 digits before the point and 6 after'; found: {literal}."
    )
    assert logged == []
    assert await row_counts() == before
