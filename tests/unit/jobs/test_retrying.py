"""Which actor failures are retried: transient ones, however deep in the chain."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from marketsync.jobs.retrying import MAX_RETRIES, is_transient, retry_transient


def raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as chained:
        return chained


def test_a_connection_refused_mid_termination_is_transient() -> None:
    # What asyncpg raises for a query on a pooled connection the server has just
    # terminated (pg_terminate_backend), seen in tests/faults/test_pg_connections_dropped
    error = asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert is_transient(error) is True
    assert is_transient(raised_from(RuntimeError("wrapped"), error)) is True
    assert is_transient(asyncpg.exceptions.AdminShutdownError("terminated")) is True
    assert is_transient(DBConnectionError("gone")) is True


def test_bugs_and_bad_data_are_not_retried() -> None:
    assert is_transient(KeyError("missing")) is False
    assert is_transient(ValueError("bad")) is False
    assert retry_transient(0, ValueError("bad")) is False
    # Tortoise's IntegrityError is an OperationalError, but a constraint never relents
    assert is_transient(IntegrityError("duplicate key")) is False
    assert is_transient(OperationalError("server closed the connection")) is True


def test_transient_errors_are_retried_max_retries_times() -> None:
    error = asyncpg.InternalClientError("cannot switch to state 12")
    assert [retry_transient(n, error) for n in range(MAX_RETRIES + 1)] == [True] * MAX_RETRIES + [
        False
    ]
