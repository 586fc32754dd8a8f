"""The repository tracks no database and no secret: every clone makes its own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_SUFFIXES = (".db", ".sqlite", ".sqlite3", "-wal", "-shm", ".pem", ".key")
FORBIDDEN_NAMES = (".marketsync-secret", ".env")


def tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run([git, "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_no_database_or_secret_file_is_tracked() -> None:
    offending = [
        path
        for path in tracked_files()
        if path.endswith(FORBIDDEN_SUFFIXES) or Path(path).name in FORBIDDEN_NAMES
    ]

    assert offending == []
