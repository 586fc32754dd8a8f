"""Schema migrations with aerich: one folder per dialect, both made from the same models.

aerich writes raw SQL for one dialect, so ``migrations/sqlite`` and
``migrations/postgres`` are generated side by side (``make migrations NAME=...``) and
a test fails when either drifts from the models.
"""

from __future__ import annotations

from pathlib import Path

from aerich import Command
from aerich.migrate import Migrate
from tortoise import Tortoise

from marketsync.db import dialect_of, tortoise_config

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"
APP = "models"


def migrations_location(database_url: str, root: Path = MIGRATIONS_ROOT) -> Path:
    return root / dialect_of(database_url)


async def apply_migrations(database_url: str) -> list[str]:
    """Apply every migration not yet applied; returns the files applied now.

    Opens and closes its own Tortoise connections: call it before the app's own init.
    """
    location = migrations_location(database_url)
    command = Command(tortoise_config(database_url), app=APP, location=str(location))
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        if not await _applied_versions():
            await command.init_db(safe=True)
            return migration_files(database_url)
        await command.init()
        return await command.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()


def migration_files(database_url: str) -> list[str]:
    folder = migrations_location(database_url) / APP
    return sorted(
        (p.name for p in folder.glob("*.py") if p.stem.split("_", 1)[0].isdigit()),
        key=lambda name: int(name.split("_", 1)[0]),
    )


async def pending_migrations(database_url: str) -> list[str]:
    """Migration files on disk that the database has not applied (Tortoise already up)."""
    applied = set(await _applied_versions())
    return [name for name in migration_files(database_url) if name not in applied]


async def make_migration(database_url: str, name: str, root: Path = MIGRATIONS_ROOT) -> str:
    """Write the migration that brings ``root/<dialect>`` up to the models ("" if none)."""
    location = migrations_location(database_url, root)
    command = Command(tortoise_config(database_url), app=APP, location=str(location))
    if not (location / APP).exists():
        await command.init_migrations(safe=True)
        return "initial"
    _forget_previous_diff()
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await command.init(offline=True)
        return await command.migrate(name=name, no_input=True, offline=True)
    finally:
        await Tortoise.close_connections()


def _forget_previous_diff() -> None:
    """aerich (0.10.1) collects a diff's SQL in lists on the ``Migrate`` class and never
    empties them: the second dialect made in one process would repeat the first's SQL."""
    for name in (
        "upgrade_operators",
        "downgrade_operators",
        "_upgrade_fk_m2m_index_operators",
        "_downgrade_fk_m2m_index_operators",
        "_upgrade_m2m",
        "_downgrade_m2m",
    ):
        setattr(Migrate, name, [])


async def _applied_versions() -> list[str]:
    conn = Tortoise.get_connection("default")
    if conn.schema_generator.DIALECT == "sqlite":
        exists = "SELECT name FROM sqlite_master WHERE type='table' AND name='aerich'"
    else:
        exists = "SELECT tablename FROM pg_tables WHERE tablename='aerich'"
    if not await conn.execute_query_dict(exists):
        return []
    rows = await conn.execute_query_dict("SELECT version FROM aerich WHERE app='models'")
    return [row["version"] for row in rows]


def schema_sql(dialect: str) -> str:
    """The SQL of every migration for ``dialect``, in order (what `db schema-sql` prints)."""
    from aerich.utils import import_py_file

    folder = MIGRATIONS_ROOT / dialect / APP
    url = "postgres://x@localhost/x" if dialect == "postgres" else "sqlite://:memory:"
    parts = []
    for name in migration_files(url):
        module = import_py_file(folder / name)
        parts.append(f"-- {name}\n" + _upgrade_sql(module).strip() + "\n")
    return "\n".join(parts)


def _upgrade_sql(module: object) -> str:
    import asyncio
    import inspect

    upgrade = module.upgrade  # type: ignore[attr-defined]
    result = upgrade(None)
    return asyncio.run(result) if inspect.iscoroutine(result) else str(result)
