"""Migrations: both dialects match the models, and the indexes the queries need exist."""

from __future__ import annotations

import subprocess
import sys

from tortoise import Tortoise

from tests.conftest import Api

EXPECTED = {
    "sync_log": [
        ("status", "next_retry_at"),
        ("store_id", "status"),
        ("store_id", "created_at"),
        ("store_id", "receipt"),
    ],
    "store": [
        ("organization_id", "marketplace", "external_store_id"),
        ("sync_token",),
        ("created_at", "id"),
    ],
    "webhook_delivery": [("status", "next_retry_at"), ("event_record_id", "endpoint_id")],
    "webhook_endpoint": [("organization_id", "event", "target_url")],
    "api_key": [("key_hash",)],
}


def test_models_and_both_migration_folders_agree() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "marketsync.devtools.make_migrations", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no changes" in done.stdout


async def index_columns(table: str) -> set[tuple[str, ...]]:
    conn = Tortoise.get_connection("default")
    if conn.schema_generator.DIALECT == "sqlite":
        found = set()
        for index in await conn.execute_query_dict(f"PRAGMA index_list('{table}')"):
            info = await conn.execute_query_dict(f"PRAGMA index_info('{index['name']}')")
            found.add(tuple(row["name"] for row in sorted(info, key=lambda r: r["seqno"])))
        return found
    rows = await conn.execute_query_dict(
        "SELECT array_agg(a.attname ORDER BY k.ord) AS cols FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE t.relname = $1 GROUP BY i.indexrelid",
        [table],
    )
    return {tuple(row["cols"]) for row in rows}


async def test_indexes_exist(api: Api) -> None:
    missing = [
        (table, columns)
        for table, wanted in EXPECTED.items()
        for columns in wanted
        if columns not in await index_columns(table)
    ]
    assert missing == []
