"""Write aerich migrations for both dialects from the models: `make migrations NAME=...`.

Run with ``--check`` to only report drift (exit 1) without writing, on copies of the
migration folders. SQLite needs no server; PostgreSQL's generation is offline too.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from marketsync.migrator import MIGRATIONS_ROOT, make_migration

DIALECT_URLS = {
    "sqlite": "sqlite://:memory:",
    "postgres": "postgres://postgres@127.0.0.1:5432/postgres",
}


async def generate(name: str, root: Path) -> dict[str, str]:
    return {
        dialect: await make_migration(url, name, root=root) for dialect, url in DIALECT_URLS.items()
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    names = [arg for arg in argv if not arg.startswith("--")]
    name = names[0] if names else "update"
    if check:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) / "migrations"
            shutil.copytree(MIGRATIONS_ROOT, root)
            written = asyncio.run(generate(name, root))
    else:
        written = asyncio.run(generate(name, MIGRATIONS_ROOT))
    drifted = {dialect: result for dialect, result in written.items() if result}
    for dialect, result in drifted.items():
        print(f"{dialect}: {'drift: ' if check else 'wrote '}{result}")
    if not drifted:
        print("no changes: migrations match the models")
    return 1 if check and drifted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
