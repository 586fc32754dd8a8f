"""Tortoise's SQLite client with cancellation-safe connection and transaction entry."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import (
    ConnectionWrapper,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections


class SafeConnectionWrapper(ConnectionWrapper[Any]):
    async def __aenter__(self) -> Any:
        await self._lock.acquire()
        try:
            await self.ensure_connection()
        except BaseException:
            self._lock.release()
            raise
        return self.connection


class SafeSqliteTransactionContext(SqliteTransactionContext):
    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        token = None
        try:
            await self.ensure_connection()
            token = self.token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            if token is not None:
                get_connections().reset(token)
            self._trxlock.release()
            raise
        return self.connection  # type: ignore[no-any-return]


class SafeSqliteTransactionWrapper(SqliteTransactionWrapper):
    def acquire_connection(self) -> ConnectionWrapper[Any]:
        return SafeConnectionWrapper(self._lock, self)


class SafeSqliteClient(SqliteClient):
    def acquire_connection(self) -> ConnectionWrapper[Any]:
        return SafeConnectionWrapper(self._lock, self)

    def _in_transaction(self) -> TransactionContext:
        return SafeSqliteTransactionContext(SafeSqliteTransactionWrapper(self), self._lock)


client_class = SafeSqliteClient
