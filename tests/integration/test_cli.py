"""The `marketsync` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def marketsync(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "marketsync", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


def test_schema_export_is_the_committed_sdl() -> None:
    done = marketsync("schema", "export")

    assert done.returncode == 0
    assert done.stdout == (ROOT / "schema.graphql").read_text()


def test_apikey_create_prints_the_key_alone_on_its_last_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'cli.db'}"}
    assert marketsync("migrate", env=env).returncode == 0

    first = marketsync("apikey", "create", "--org", "acme", env=env)
    second = marketsync("apikey", "create", "--org", "acme", env=env)

    keys = [done.stdout.strip().splitlines()[-1] for done in (first, second)]
    assert all(key.startswith("msk_") and " " not in key for key in keys)
    assert keys[0] != keys[1]


def test_schema_sql_is_postgres_ddl() -> None:
    done = marketsync("db", "schema-sql")

    assert done.returncode == 0
    assert 'CREATE TABLE IF NOT EXISTS "sync_log"' in done.stdout
    assert "TIMESTAMPTZ" in done.stdout
    assert "AUTOINCREMENT" not in done.stdout


def test_processes_outside_dev_refuse_to_start_without_a_secret_key() -> None:
    env = {
        "SECRET_KEY": "",
        "REDIS_URL": "redis://127.0.0.1:6379/9",
        "MARKETPLACE_BASE_URL": "http://127.0.0.1:1/mock",
    }
    short = marketsync("serve", env={"SECRET_KEY": "too-short"})
    worker = marketsync("worker", env={**env, "SECRET_KEY": "x" * 10})
    no_redis = marketsync("scheduler", env={"REDIS_URL": ""})

    assert short.returncode == 1
    assert "at least 32 characters" in short.stderr
    assert worker.returncode == 1
    assert "SECRET_KEY" in worker.stderr
    assert no_redis.returncode == 1
    assert "REDIS_URL" in no_redis.stderr


def test_dev_prints_graphiql_and_a_demo_key_and_serves(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketsync", "dev"],
        cwd=tmp_path,
        env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(2)]  # type: ignore[union-attr]
        key = lines[1].strip().removeprefix("API key (demo): ")
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        viewer = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ viewer { organizationId } }"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout:
            proc.stdout.close()

    assert lines[0].strip() == f"GraphiQL: http://127.0.0.1:{port}/graphql"
    assert lines[1].startswith("API key (demo): msk_")
    assert ready is not None
    assert ready.status_code == 200
    assert viewer.json() == {"data": {"viewer": {"organizationId": "demo"}}}
    assert (tmp_path / "marketsync.db").exists()
