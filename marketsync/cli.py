"""The `marketsync` command."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import click


def _run(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(factory())


async def _with_db(action: Callable[[], Awaitable[Any]]) -> Any:
    from tortoise import Tortoise

    from marketsync.config import get_settings
    from marketsync.db import tortoise_config

    await Tortoise.init(config=tortoise_config(get_settings().database_url))
    try:
        return await action()
    finally:
        await Tortoise.close_connections()


@click.group()
def main() -> None:
    """marketsync: keeps marketplace stores in sync, behind a GraphQL API."""


def _configure_logging() -> None:
    """Logging for this process. The processes uvicorn and dramatiq start for us set
    theirs up in the modules they import (``asgi``, ``jobs.worker``), the same way."""
    from marketsync.config import get_settings
    from marketsync.logs import configure_logging

    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)


def _serve(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    os.environ.setdefault("MARKETSYNC_SELF_URL", f"http://{_local(host)}:{port}")
    from marketsync.config import get_settings

    _configure_logging()
    uvicorn.run(
        "marketsync.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,  # uvicorn's loggers propagate to our root handler
        log_level=get_settings().log_level.lower(),
        access_log=False,
        proxy_headers=False,
    )


def _check_secret_key() -> None:
    """Outside `dev`, SECRET_KEY is required: fail at the prompt, not in a worker's boot."""
    from marketsync.config import get_settings
    from marketsync.errors import ConfigurationError
    from marketsync.runtime import resolve_secret_key

    try:
        resolve_secret_key(get_settings())
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from error


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


@main.command()
@click.option(
    "--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1"
)
@click.option(
    "--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int, show_default="8000"
)
def dev(host: str, port: int) -> None:
    """Everything in one process: SQLite, in-process broker, worker, scheduler and mocks."""
    os.environ["MARKETSYNC_MODE"] = "dev"
    from marketsync.config import get_settings
    from marketsync.migrator import apply_migrations
    from marketsync.services.apikeys import create_api_key

    settings = get_settings()
    _run(lambda: apply_migrations(settings.database_url))
    key = _run(lambda: _with_db(lambda: create_api_key(organization_id="demo")))
    base = f"http://{_local(host)}:{port}"
    click.echo(f"GraphiQL: {base}/graphql")
    click.echo(f"API key (demo): {key}")
    sys.stdout.flush()
    _serve(host, port)


@main.command()
@click.option(
    "--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1"
)
@click.option(
    "--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int, show_default="8000"
)
@click.option("--workers", default=1, type=int, show_default=True)
def serve(host: str, port: int, workers: int) -> None:
    """The API alone (uvicorn) against DATABASE_URL and REDIS_URL."""
    _check_secret_key()
    _serve(host, port, workers)


@main.command()
@click.option("--processes", default=2, type=int, show_default=True)
@click.option("--threads", default=8, type=int, show_default=True)
@click.option("--metrics-port", default=None, type=int, help="serve Prometheus metrics here")
def worker(processes: int, threads: int, metrics_port: int | None) -> None:
    """The Dramatiq worker for every actor (needs REDIS_URL)."""
    # Read when dramatiq.worker is imported, so set first. Consumers poll an idle queue
    # every second by default; 100 ms keeps a doorbell's latency low when traffic is light.
    os.environ.setdefault("dramatiq_worker_timeout", "100")
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    from marketsync.config import get_settings
    from marketsync.jobs.broker import QUEUES

    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException("`marketsync worker` needs REDIS_URL (`dev` runs its own)")
    if not settings.marketplace_base_url:
        raise click.ClickException("`marketsync worker` needs MARKETPLACE_BASE_URL")
    _check_secret_key()
    if metrics_port is not None:
        os.environ["dramatiq_prom_port"] = str(metrics_port)  # noqa: SIM112  (Dramatiq reads this name)
    _configure_logging()
    args = make_argument_parser().parse_args(  # type: ignore[no-untyped-call]
        [
            "marketsync.jobs.worker",
            "--skip-logging",  # no basicConfig: ours is set up here and in each worker process
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            "--queues",
            *QUEUES,
        ]
    )
    sys.exit(dramatiq_main(args))  # type: ignore[no-untyped-call]


@main.command()
@click.option("--once", "mode", flag_value="once", help="run one tick and exit")
@click.option("--loop", "mode", flag_value="loop", default=True, help="tick forever (default)")
def scheduler(mode: str) -> None:
    """APScheduler: enqueues due store syncs, webhook deliveries and inventory polls."""
    from marketsync.config import get_settings
    from marketsync.jobs.process import run_scheduler

    if not get_settings().redis_url:
        raise click.ClickException("`marketsync scheduler` needs REDIS_URL (`dev` runs its own)")
    _check_secret_key()
    _configure_logging()
    asyncio.run(run_scheduler(once=mode == "once"))


@main.command()
def migrate() -> None:
    """Apply the aerich migrations to DATABASE_URL."""
    from marketsync.config import get_settings
    from marketsync.migrator import apply_migrations

    applied = _run(lambda: apply_migrations(get_settings().database_url))
    click.echo(
        f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")
    )


@main.group()
def apikey() -> None:
    """API keys."""


@apikey.command("create")
@click.option("--org", required=True, help="the organization the key belongs to")
def apikey_create(org: str) -> None:
    """Print a new API key for ORG (stored hashed; shown once)."""
    from marketsync.services.apikeys import create_api_key

    key = _run(lambda: _with_db(lambda: create_api_key(organization_id=org)))
    click.echo(f"API key for {org} (shown once):")
    click.echo(key)


@main.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("export")
def schema_export() -> None:
    """Print the SDL."""
    from marketsync.schema import export_sdl

    click.echo(export_sdl(), nl=False)


@main.group()
def db() -> None:
    """Database helpers."""


@db.command("schema-sql")
def db_schema_sql() -> None:
    """Print the SQL schema for PostgreSQL (from the migrations)."""
    from marketsync.migrator import schema_sql

    click.echo(schema_sql("postgres"))


@main.command("mock-webhook")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=4000, type=int, show_default=True)
@click.option("--secret", default=None, help="whsec_… secret to verify signatures with")
def mock_webhook(host: str, port: int, secret: str | None) -> None:
    """A webhook receiver for manual tests: POST /webhook, GET /webhook/received."""
    from marketsync.webhooks.receiver import run_mock_webhook

    run_mock_webhook(host=host, port=port, secret=secret)


@main.command()
@click.option("--url", required=True, help="base URL or the /graphql URL of a deployment")
@click.option("--api-key", required=True)
@click.option("--out", default=None, help="write the Markdown proof pack here")
def proof(url: str, api_key: str, out: str | None) -> None:
    """Run the proof scenario against a live deployment."""
    from marketsync.proof import run_proof

    report, ok = _run(lambda: run_proof(url=url, api_key=api_key))
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(report)
    click.echo(report)
    sys.exit(0 if ok else 1)
