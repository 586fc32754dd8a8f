"""A query cancelled at any point of its connection entry never leaves the SQLite lock taken.

Tortoise's own client leaves its lock acquired when a task is cancelled while the
connection opens lazily; every later query then waits forever (the embedded wedge).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tortoise.backends.sqlite.client import SqliteClient

from marketsync.dbengines.sqlite import SafeSqliteClient

CANCEL_POINTS = range(0, 12)  # how many loop turns the query gets before it is cancelled


async def _cancel_after(client: SqliteClient, turns: int) -> None:
    task = asyncio.create_task(client.execute_query("SELECT 1"))
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("turns", CANCEL_POINTS)
async def test_safe_client_answers_after_a_cancelled_first_query(
    tmp_path: Path, turns: int
) -> None:
    client = SafeSqliteClient(file_path=str(tmp_path / "t.db"), connection_name="t")
    try:
        await _cancel_after(client, turns)

        _, rows = await asyncio.wait_for(client.execute_query("SELECT 1 AS one"), 5)

        assert [dict(row) for row in rows] == [{"one": 1}]
        assert not client._lock.locked()
    finally:
        await client.close()


async def test_stock_client_wedges_on_the_same_cancellation(tmp_path: Path) -> None:
    """Proves the test above can fail: Tortoise's own client keeps its lock for good."""
    client = SqliteClient(file_path=str(tmp_path / "t.db"), connection_name="t")
    try:
        await _cancel_after(client, 1)

        assert client._lock.locked()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.execute_query("SELECT 1"), 0.5)
    finally:
        client._lock.release()
        await client.close()
