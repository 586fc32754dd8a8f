"""Tortoise's asyncpg client whose transaction entry gives its pooled connection back
when it fails (a cancellation during ``BEGIN`` would otherwise leak it)."""

from __future__ import annotations

from typing import Any

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


class SafeAsyncpgDBClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return SafeTransactionContextPooled(TransactionWrapper(self), self._pool_init_lock)


client_class = SafeAsyncpgDBClient
