"""The package's layering, read from its source: data walks one way.

    app, cli, jobs ──▶ resolvers ──▶ schema (types) ──▶ services ──▶ models
                                                    └─▶ marketplaces, webhooks (clients)

Every import of every module is checked (function-local ones too), so a forbidden
arrow fails here before a reviewer has to spot it; and no query runs from ``schema/``
or ``resolvers/``: they call services.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "marketsync"

# (importer prefix, forbidden prefixes)
FORBIDDEN: list[tuple[str, tuple[str, ...]]] = [
    (
        "marketsync.services",
        (
            "marketsync.schema",
            "marketsync.resolvers",
            "marketsync.jobs",
            "marketsync.app",
            "marketsync.cli",
            "marketsync.asgi",
            "strawberry",
            "dramatiq",
            "starlette",
            "redis.exceptions",
            "cryptography",
        ),
    ),
    (
        "marketsync.models",
        (
            "marketsync.services",
            "marketsync.schema",
            "marketsync.resolvers",
            "marketsync.jobs",
            "marketsync.app",
            "marketsync.runtime",
            "marketsync.marketplaces",
            "marketsync.webhooks",
        ),
    ),
    ("marketsync.schema", ("marketsync.resolvers", "marketsync.jobs", "marketsync.app")),
    ("marketsync.resolvers", ("marketsync.jobs", "marketsync.app", "tortoise")),
    (
        "marketsync.marketplaces",
        ("marketsync.services", "marketsync.schema", "marketsync.resolvers", "marketsync.jobs"),
    ),
    (
        "marketsync.webhooks",
        ("marketsync.services", "marketsync.schema", "marketsync.resolvers", "marketsync.jobs"),
    ),
    ("marketsync.config", ("marketsync.",)),
]

QUERY_METHODS = frozenset(
    {
        "all",
        "annotate",
        "bulk_create",
        "bulk_update",
        "count",
        "create",
        "delete",
        "exclude",
        "exists",
        "filter",
        "first",
        "get",
        "get_or_create",
        "get_or_none",
        "raw",
        "select_for_update",
        "select_related",
        "update",
        "update_or_create",
        "values",
        "values_list",
    }
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), ast.parse(path.read_text(), filename=str(path))


def imports_of(name: str, tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.rsplit(".", node.level)[0]
                yield f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def under(name: str, prefix: str) -> bool:
    if prefix.endswith("."):
        return name.startswith(prefix)
    return name == prefix or name.startswith(f"{prefix}.")


def test_no_module_imports_across_a_forbidden_arrow() -> None:
    violations = [
        f"{name} imports {target}"
        for name, tree in modules()
        for importer, forbidden in FORBIDDEN
        if under(name, importer)
        for target in imports_of(name, tree)
        if any(under(target, prefix) for prefix in forbidden)
    ]
    assert violations == []


def model_queries(tree: ast.Module) -> Iterator[str]:
    """Calls like ``models.Store.filter(...)`` or ``Store.get(...)`` on a model class."""
    model_names = {"Store", "SyncLog", "Job", "ApiKey", "InventoryBatch", "InventoryItemState"}
    model_names |= {"WebhookEndpoint", "WebhookDelivery", "WebhookEventRecord", "DeliveryAttempt"}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in QUERY_METHODS:
            continue
        owner = node.func.value
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        if owner_name in model_names:
            yield f"{owner_name}.{node.func.attr} (line {node.lineno})"


@pytest.mark.parametrize("layer", ["marketsync.schema", "marketsync.resolvers"])
def test_no_query_runs_from_the_api_layers(layer: str) -> None:
    queries = [
        f"{name}: {query}"
        for name, tree in modules()
        if under(name, layer)
        for query in model_queries(tree)
    ]
    assert queries == []


def test_the_checks_see_what_they_look_for() -> None:
    # The walkers themselves: a forbidden import and a query are found when present.
    tree = ast.parse(
        "from marketsync.schema.store import Store\n"
        "def f():\n    from marketsync import models\n    return models.Store.filter(id=1)\n"
    )
    assert "marketsync.schema.store" in set(imports_of("marketsync.services.x", tree))
    assert list(model_queries(tree)) == ["Store.filter (line 4)"]
    assert under("marketsync.services.sync.engine", "marketsync.services")
    assert not under("marketsync.servicesx", "marketsync.services")
