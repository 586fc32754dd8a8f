"""Tortoise database engines that survive cancellation.

Tortoise 1.1.9 takes a lock (SQLite) or a pooled connection (PostgreSQL) in a context
manager's ``__aenter__`` and then awaits more work (opening the connection, ``BEGIN``).
A task cancelled during that await leaves ``__aenter__`` by exception, so ``__aexit__``
never runs: on SQLite the single connection's lock stays taken for good and every later
query waits forever (the "embedded wedge": graphql-core cancels sibling resolvers when
one root field fails); on PostgreSQL a pooled connection leaks. These subclasses undo
what ``__aenter__`` took when it fails, whatever the exception, and ``open_connections``
opens every connection eagerly at start-up so no request pays for, or is cancelled
inside, the lazy connect.

``db.tortoise_config`` names these modules as the engines; they behave exactly like
Tortoise's own otherwise.
"""

from __future__ import annotations

from tortoise import connections


async def open_connections() -> None:
    """Open every configured connection now (SQLite file, PostgreSQL pool)."""
    for connection in connections.all():
        await connection.execute_query("SELECT 1")
