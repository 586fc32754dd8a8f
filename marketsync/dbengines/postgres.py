"""Tortoise's asyncpg client whose transaction entry gives its pooled connection back
when it fails (a cancellation during ``BEGIN`` would otherwise leak it)."""

from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections


class SafeTransactionContextPooled(TransactionContextPooled):
    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool: Any = self.client._parent._pool
        self.client._connection = await pool.acquire()
        token = None
        try:
            token = self.token = get_connections().set(self.connection_name, self.client)
            await self.client.begin()
        except BaseException:
            if token is not None:
                get_connections().reset(token)
            await pool.release(self.client._connection)
            raise
        return self.client


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]  # untyped base
    """No reset query on release: it was a second round trip per query (py-spy: as long
    as the query itself). asyncpg still rolls back an open transaction on release; we
    hold no session state (advisory locks, LISTEN, cursors, session SETs) to undo."""

    def get_reset_query(self) -> str:
        return ""


class SafeAsyncpgDBClient(AsyncpgDBClient):
    connection_class = PooledConnection

    def _in_transaction(self) -> TransactionContext:
        return SafeTransactionContextPooled(TransactionWrapper(self), self._pool_init_lock)


client_class = SafeAsyncpgDBClient
