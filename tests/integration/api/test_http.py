"""HTTP surface: bodies, limits, masking, health, readiness, metrics and GraphiQL."""

from __future__ import annotations

import time
import uuid

import pytest
from structlog.testing import capture_logs

from marketsync.models import Store, SyncLog
from tests.conftest import Api, import_order, register_store
from tests.support.graphql import error_codes


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "3", "null", "not json"])
async def test_bodies_that_are_not_a_json_object_answer_400(api: Api, body: str) -> None:
    response = await api.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400


async def test_aliases_and_tokens_are_limited(api: Api) -> None:
    aliases = await api.gql("{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }")
    tokens = await api.gql("{ " + "__typename " * 4001 + "}")
    fine = await api.gql("{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }")

    assert aliases.get("data") is None
    assert "aliases" in aliases["errors"][0]["message"]
    assert tokens.get("data") is None
    assert "errors" not in fine


async def test_unexpected_errors_are_masked_and_logged(api: Api) -> None:
    store = await register_store(api)
    await Store.filter(id=uuid.UUID(store.id)).update(access_token_encrypted="garbage")

    with capture_logs() as logged:
        body = await api.gql(
            'mutation($t: UUID!) { importOrder(input: {syncToken: $t, receipt: "R-1"}) '
            "{ duplicate } }",
            {"t": store.sync_token},
        )

    assert error_codes(body) == ["INTERNAL_SERVER_ERROR"]
    assert body["errors"][0]["message"] == "Internal server error."
    assert "garbage" not in str(body)
    assert "InvalidToken" not in str(body)
    assert "UnreadableSecretError" not in str(body)
    assert await SyncLog.filter(store_id=uuid.UUID(store.id)).count() == 1
    errors = [entry for entry in logged if entry["event"] == "graphql_unexpected_error"]
    assert [(e["path"], e["error"]) for e in errors] == [(["importOrder"], "UnreadableSecretError")]
    assert "garbage" not in str(errors)


async def test_health_ready_metrics_and_graphiql(api: Api) -> None:
    health = await api.http.get("/health")
    ready = await api.http.get("/ready")
    metrics = await api.http.get("/metrics")
    ide = await api.http.get("/graphql", headers={"accept": "text/html"})

    assert health.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["migrations"] == "ok"
    assert metrics.status_code == 200
    assert "marketsync_order_imports_total" in metrics.text
    assert ide.status_code == 200
    assert "graphiql" in ide.text.lower()


async def test_imports_are_counted_in_metrics(api: Api) -> None:
    store = await register_store(api)
    before = (await api.http.get("/metrics")).text
    await import_order(api, store.sync_token, "R-1")
    await import_order(api, store.sync_token, "R-1")
    after = (await api.http.get("/metrics")).text

    def value(text: str, labels: str) -> float:
        prefix = f"marketsync_order_imports_total{{{labels}}} "
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(lines[0].split()[-1]) if lines else 0.0

    assert value(after, 'outcome="SUCCESS"') - value(before, 'outcome="SUCCESS"') == 1
    assert value(after, 'outcome="duplicate"') - value(before, 'outcome="duplicate"') == 1


async def test_request_errors_carry_codes(api: Api) -> None:
    bad_uuid = await api.gql(
        "query($t: UUID!) { syncStatus(syncToken: $t) { syncStatus } }", {"t": "not-a-uuid"}
    )
    unknown_field = await api.gql("{ nope }")

    assert error_codes(bad_uuid) == ["BAD_USER_INPUT"]
    assert error_codes(unknown_field) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_keyless_fragment_bomb_is_refused_at_once_and_health_stays_fast(api: Api) -> None:
    spreads = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    bomb = f"{{ ...F0 }} {spreads} fragment F30 on Query {{ __typename }}"

    started = time.perf_counter()
    body = await api.gql(bomb)
    elapsed = time.perf_counter() - started
    health = await api.http.get("/health", timeout=2)

    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert elapsed < 5  # bounded: 2^30 expansions used to freeze the process
    assert health.status_code == 200
