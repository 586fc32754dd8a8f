"""The `marketsync` command."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from marketsync.config import Settings
GRACEFUL_SHUTDOWN_S = 5  # SIGTERM to exit: serve, dev and worker stop within ~10 s


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


def _settings() -> Settings:
    from marketsync.config import Settings

    return Settings()  # not cached: `dev` changes the environment before the app reads it


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
    from marketsync.edge import WS_MAX_MESSAGE_BYTES

    get_settings.cache_clear()  # read again: the server's own URL is known only now
    settings = get_settings()
    _configure_logging()
    uvicorn.run(
        "marketsync.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,  # uvicorn's loggers propagate to our root handler
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=False,
        # A bigger websocket frame closes the socket (1009) before anything decodes it.
        ws_max_size=min(settings.max_request_bytes, WS_MAX_MESSAGE_BYTES),
        # Open websockets and slow requests get this long after SIGTERM, then are cut.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
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


_HELD: list[object] = []  # the dev lock lives as long as the process


def _hold_database(database_url: str) -> None:
    """One `dev` per SQLite file: a second one refuses to start, saying why."""
    from marketsync.db import DatabaseInUseError, hold_sqlite_file

    try:
        _HELD.append(hold_sqlite_file(database_url))
    except DatabaseInUseError as error:
        raise click.ClickException(str(error)) from error


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


@main.command()
@click.option("--host", default=lambda: _settings().host, show_default="127.0.0.1")
@click.option("--port", default=lambda: _settings().port, type=int, show_default="8000")
def dev(host: str, port: int) -> None:
    """Everything in one process: SQLite, in-process broker, worker, scheduler and mocks."""
    os.environ["MARKETSYNC_MODE"] = "dev"
    from marketsync.config import get_settings
    from marketsync.migrator import apply_migrations
    from marketsync.services.apikeys import create_api_key

    settings = get_settings()
    _hold_database(settings.database_url)
    _run(lambda: apply_migrations(settings.database_url))
    key = _run(lambda: _with_db(lambda: create_api_key(organization_id="demo")))
    base = f"http://{_local(host)}:{port}"
    click.echo(f"GraphiQL: {base}/graphql")
    click.echo(f"API key (demo): {key}")
    sys.stdout.flush()
    _serve(host, port)


@main.command()
@click.option("--host", default=lambda: _settings().host, show_default="127.0.0.1")
@click.option("--port", default=lambda: _settings().port, type=int, show_default="8000")
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
    if not settings.marketplace_base_url and not settings.is_live:
        raise click.ClickException("`marketsync worker` needs MARKETPLACE_BASE_URL (mock mode)")
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
            "--worker-shutdown-timeout",
            str(int(GRACEFUL_SHUTDOWN_S * 1000)),
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

    if not get_settings().redis_url and mode != "once":
        raise click.ClickException(
            "`marketsync scheduler --loop` needs REDIS_URL (`dev` runs its own; without"
            " Redis, `scheduler --once` runs the due work in-process, e.g. from cron)"
        )
    _check_secret_key()
    _configure_logging()
    if not asyncio.run(run_scheduler(once=mode == "once")):
        raise click.ClickException("the in-process run hit its deadline with work unfinished")


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
@click.option("--org", "--organization", "org", required=True, help="the key's organization")
@click.option("--name", default=None, help="a label to tell keys apart in `apikey list`")
def apikey_create(org: str, name: str | None) -> None:
    """Print a new API key for ORG (stored hashed; shown once)."""
    from marketsync.services.apikeys import create_api_key

    key = _run(
        lambda: _with_db(lambda: _user_errors(create_api_key(organization_id=org, name=name)))
    )
    click.echo(f"API key for {org} (shown once):")
    click.echo(key)


@apikey.command("list")
@click.option("--org", "--organization", "org", default=None, help="only this organization's")
def apikey_list(org: str | None) -> None:
    """List keys: id, organization, name, prefix, created, last used, revoked (never the key)."""
    from marketsync.services.apikeys import list_api_keys

    keys = _run(lambda: _with_db(lambda: list_api_keys(organization_id=org)))
    rows = [("ID", "ORGANIZATION", "NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED")]
    for key in keys:
        times = (key.created_at, key.last_used_at, key.revoked_at)
        stamps = tuple(t.isoformat(timespec="seconds") if t else "-" for t in times)
        rows.append((str(key.id), key.organization_id, key.name or "-", key.prefix, *stamps))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@apikey.command("revoke")
@click.argument("key_id")
def apikey_revoke(key_id: str) -> None:
    """Revoke a key at once, in every process (idempotent)."""
    from marketsync.services.apikeys import revoke_api_key

    done = _run(lambda: _with_db(lambda: _user_errors(revoke_api_key(key_id=key_id))))
    state = "was already revoked" if done.already_revoked else "revoked"
    click.echo(f"API key {done.key.id} ({done.key.organization_id}, {done.key.prefix}) {state}")


async def _user_errors(action: Awaitable[Any]) -> Any:
    """A caller's mistake (bad input, unknown id) as a one-line error and exit code 1."""
    from marketsync.errors import NotFoundError, UserInputError

    try:
        return await action
    except (UserInputError, NotFoundError) as error:
        raise click.ClickException(str(error)) from None


@main.command("rotate-secrets")
@click.option("--batch-size", default=500, type=click.IntRange(1, 10_000), show_default=True)
def rotate_secrets(batch_size: int) -> None:
    """Re-encrypt every stored secret under the current SECRET_KEY (SECRET_KEY_FALLBACKS read)."""
    from marketsync.config import get_settings
    from marketsync.runtime import open_vault
    from marketsync.services.rotation import rotate_secrets as rotate

    _check_secret_key()
    vault = open_vault(get_settings())
    report = _run(lambda: _with_db(lambda: rotate(vault=vault, batch_size=batch_size)))
    click.echo(
        f"rotated: {report.rotated}, already current: {report.current}, "
        f"unreadable: {len(report.unreadable)}"
    )
    for table, row_id in report.unreadable:
        click.echo(f"unreadable: {table} {row_id} (no configured key decrypts it)", err=True)
    for table, row_id in report.conflicts:
        click.echo(f"still changing: {table} {row_id} (run rotate-secrets again)", err=True)
    if report.rotated == 0 and report.ok:
        click.echo("nothing to rotate: every secret is under the current key")
    sys.exit(0 if report.ok else 1)


@main.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("export")
def schema_export() -> None:
    """Print the SDL."""
    from marketsync.resolvers.root import export_sdl

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
@click.option("--receiver-url", default=None, help="the URL the deployment reaches our receiver at")
@click.option("--receiver-host", default="127.0.0.1", show_default=True)
@click.option("--retry-wait", default=330.0, show_default=True, help="seconds to wait for a retry")
@click.option("--redis-url", default=None, help="the deployment's Redis, to show the dedup TTL")
@click.option("--worker-log", default=None, help="the worker's log file, to quote the job")
def proof(url: str, api_key: str, out: str | None, **options: Any) -> None:
    """Run the proof scenario against a live deployment."""
    from marketsync.proof import FAILED_PREFIX, run_proof

    options["retry_wait_s"] = options.pop("retry_wait")
    report, ok = _run(lambda: run_proof(url=url, api_key=api_key, **options))
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(report)
    click.echo(report)
    if not ok:
        reason = next((line for line in report.splitlines() if line.startswith(FAILED_PREFIX)), "")
        raise click.ClickException(reason or "proof failed")
