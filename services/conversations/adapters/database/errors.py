"""Telling a database that is away (retry later) from a statement that failed."""

import asyncio

import asyncpg

_DATABASE_UNAVAILABLE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    # A server shutting down or restarting, or cancelling a statement (SQLSTATE class 57).
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    # A connection left mid-protocol by a server that went away.
    asyncpg.exceptions.InternalClientError,
    OSError,
    asyncio.TimeoutError,
)

# Failures of one statement, not of the database: the same statement fails again.
_STATEMENT_FAILED = (asyncpg.exceptions.QueryCanceledError, asyncpg.exceptions.DataError)


def database_unavailable(exc: BaseException) -> bool:
    """True for a failure to reach PostgreSQL, which the caller may retry later."""
    return isinstance(exc, _DATABASE_UNAVAILABLE)


def statement_failed(exc: BaseException) -> bool:
    """True for a statement the server cancelled (statement_timeout, which the statement pools
    set under their client-side timeout) or refused for its arguments: the statement's failure,
    though database_unavailable counts a cancellation among its classes."""
    return isinstance(exc, _STATEMENT_FAILED)


def one_row_may_fail(exc: Exception) -> bool:
    """Errors one row of a batch can cause: a value refused (SQLSTATE class 22), a constraint
    (23), a deadlock with another transaction (40)."""
    return isinstance(
        exc,
        asyncpg.exceptions.DataError
        | asyncpg.exceptions.IntegrityConstraintViolationError
        | asyncpg.exceptions.TransactionRollbackError,
    )
